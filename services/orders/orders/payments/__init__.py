"""The payment port, its embedded simulator, and the factory that picks one from settings.

The saga depends on `PaymentGateway` only; `gateway_from_settings` builds the configured
adapter once per process. See services/orders/docs/payments.md.
"""

from .factory import (
    PROVIDER_SETTING,
    PROVIDERS,
    PaymentSettingsError,
    gateway_from_settings,
    simulator_rules,
)
from .ledger import Charge, LedgerError, Refund
from .port import (
    Capture,
    IdempotencyKeyReused,
    PaymentDeclined,
    PaymentError,
    PaymentGateway,
    PaymentNotFound,
    PaymentUnavailable,
    RefundExceedsCapture,
    RefundReceipt,
    capture_key,
    refund_key,
)
from .simulator import SimulatedPaymentGateway, SimulatorRules

__all__ = [
    "PROVIDERS",
    "PROVIDER_SETTING",
    "Capture",
    "Charge",
    "IdempotencyKeyReused",
    "LedgerError",
    "PaymentDeclined",
    "PaymentError",
    "PaymentGateway",
    "PaymentNotFound",
    "PaymentSettingsError",
    "PaymentUnavailable",
    "Refund",
    "RefundExceedsCapture",
    "RefundReceipt",
    "SimulatedPaymentGateway",
    "SimulatorRules",
    "capture_key",
    "gateway_from_settings",
    "refund_key",
    "simulator_rules",
]
