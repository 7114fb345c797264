"""The orders domain: the `Order` and `CatalogItem` aggregates, their events and rules (no I/O)."""

from eventkit.aggregate import DomainEvent

from .catalog import CatalogItem, PriceSet
from .common import (
    SKU_PATTERN,
    CurrencyMismatch,
    IdempotencyKeyConflict,
    InvalidTransition,
    LimitExceeded,
    OrderAlreadyCancelled,
    OrderLimits,
    OrderNotFound,
    OrdersError,
    Price,
    PricedLine,
    RefundRecord,
    ReservedLine,
    UnknownSku,
)
from .order import (
    ORDER_EVENTS,
    STAGES,
    CancellationMode,
    CancellationReason,
    CancellationRequested,
    FulfillmentRequested,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    OrderStatus,
    PaymentCaptured,
    StockReserved,
)
from .pricing import check_limits, price_lines

DOMAIN_EVENTS: tuple[type[DomainEvent], ...] = (*ORDER_EVENTS, PriceSet)

__all__ = [
    "DOMAIN_EVENTS",
    "ORDER_EVENTS",
    "SKU_PATTERN",
    "STAGES",
    "CancellationMode",
    "CancellationReason",
    "CancellationRequested",
    "CatalogItem",
    "CurrencyMismatch",
    "FulfillmentRequested",
    "IdempotencyKeyConflict",
    "InvalidTransition",
    "LimitExceeded",
    "Order",
    "OrderAccepted",
    "OrderAlreadyCancelled",
    "OrderCancelled",
    "OrderConfirmed",
    "OrderLimits",
    "OrderNotFound",
    "OrderPlaced",
    "OrderStatus",
    "OrdersError",
    "PaymentCaptured",
    "Price",
    "PriceSet",
    "PricedLine",
    "RefundRecord",
    "ReservedLine",
    "StockReserved",
    "UnknownSku",
    "check_limits",
    "price_lines",
]
