"""A payment provider simulator behind the payment port, with deterministic rules.

It keeps a real ledger (SQLite, see `ledger`) and honours the port's idempotency contract across
processes: the charge and its idempotency record commit in one transaction, so a retried capture
never charges twice, even when two processes race with the same key or one is killed midway.

Rules, checked in this order (after the idempotency record: a decided key just replays):

1. customer id starting `flaky-`: the first `rules.flaky_failures` attempts per idempotency key
   raise `PaymentUnavailable` (counted in the ledger, so across processes and restarts); a
   refund follows the rule of the refunded payment's customer;
2. customer id starting `decline-`: `PaymentDeclined(code="card_declined")`;
3. `amount_minor > rules.decline_above`: `PaymentDeclined(code="amount_too_large")`;
4. refunds: unknown payment -> `PaymentNotFound`, another currency -> `currency_mismatch`, more
   than captured minus earlier refunds -> `RefundExceedsCapture`.

Every answer first waits `rules.latency_ms`, outside the ledger's lock.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from . import ledger
from .ledger import Charge, KeyRecord, Ledger, LedgerError, Refund
from .port import (
    Capture,
    IdempotencyKeyReused,
    PaymentDeclined,
    PaymentError,
    PaymentNotFound,
    PaymentUnavailable,
    RefundExceedsCapture,
    RefundReceipt,
)

DECLINE_PREFIX = "decline-"
FLAKY_PREFIX = "flaky-"
MAX_KEY_LENGTH = 255

_DECLINE_TYPES: dict[str, type[PaymentDeclined]] = {
    "payment_not_found": PaymentNotFound,
    "refund_exceeds_capture": RefundExceedsCapture,
}


@dataclass(frozen=True)
class SimulatorRules:
    """The simulator's knobs; each is a whole number >= 0 (`ValueError` otherwise)."""

    decline_above: int = 10_000_000
    flaky_failures: int = 2
    latency_ms: int = 0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"SimulatorRules.{field.name} must be a whole number >= 0, not {value!r}")


class SimulatedPaymentGateway:
    """A `PaymentGateway` whose ledger is the SQLite file `db_path` (created if missing).

    Safe to share between threads and between processes that open the same file. `sleep` is how
    the latency rule waits (`time.sleep`).
    """

    def __init__(
        self,
        db_path: Path,
        rules: SimulatorRules | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        busy_timeout_seconds: float = 30.0,
    ) -> None:
        self.rules = rules if rules is not None else SimulatorRules()
        self.db_path = Path(db_path)
        self._ledger = Ledger(self.db_path, busy_timeout_seconds=busy_timeout_seconds)
        self._sleep = sleep

    def capture(
        self, *, idempotency_key: str, order_id: str, customer_id: str, amount_minor: int, currency: str
    ) -> Capture:
        """See `PaymentGateway.capture`; the rules are in this module's doc."""
        _check_request(idempotency_key, amount_minor, currency, order_id=order_id, customer_id=customer_id)
        request = _canonical(
            operation="capture",
            order_id=order_id,
            customer_id=customer_id,
            amount_minor=amount_minor,
            currency=currency,
        )
        self._pause()
        with self._ledger.transaction() as connection:
            result = self._decide_capture(connection, idempotency_key, request)
        if isinstance(result, PaymentError):
            raise result
        return result

    def refund(
        self, *, idempotency_key: str, payment_id: str, amount_minor: int, currency: str
    ) -> RefundReceipt:
        """See `PaymentGateway.refund`; the rules are in this module's doc."""
        _check_request(idempotency_key, amount_minor, currency, payment_id=payment_id)
        request = _canonical(
            operation="refund", payment_id=payment_id, amount_minor=amount_minor, currency=currency
        )
        self._pause()
        with self._ledger.transaction() as connection:
            result = self._decide_refund(connection, idempotency_key, request)
        if isinstance(result, PaymentError):
            raise result
        return result

    def charges(self, order_id: str | None = None) -> list[Charge]:
        """The ledger's charges (one order's, or all), oldest first, with what was refunded."""
        return self._ledger.charges(order_id)

    def charge_count(self, order_id: str) -> int:
        """How many times the order was charged: 1 after any number of retries of one capture."""
        return len(self._ledger.charges(order_id))

    def refunds(self, payment_id: str | None = None) -> list[Refund]:
        """The ledger's refunds (one payment's, or all), oldest first."""
        return self._ledger.refunds(payment_id)

    def attempts(self, idempotency_key: str) -> int:
        """How many requests with this key reached a decision or a simulated outage."""
        return self._ledger.attempts(idempotency_key)

    def _pause(self) -> None:
        if self.rules.latency_ms:
            self._sleep(self.rules.latency_ms / 1000)

    def _decide_capture(
        self, connection: sqlite3.Connection, key: str, request: str
    ) -> Capture | PaymentError:
        fields_ = json.loads(request)
        order_id, customer_id = fields_["order_id"], fields_["customer_id"]
        amount_minor, currency = fields_["amount_minor"], fields_["currency"]
        record = ledger.read_key(connection, key)
        if record is not None and record.request != request:
            return IdempotencyKeyReused(key, _differences(record.request, request))
        if record is not None and record.outcome == "succeeded":
            charge = ledger.read_charge(connection, str(record.result_id))
            if charge is None:
                raise LedgerError(f"key {key!r} names charge {record.result_id!r}, missing from the ledger")
            return Capture(charge.payment_id, charge.amount_minor, charge.currency, charge.captured_at)
        if record is not None and record.outcome == "declined":
            return _replayed_decline(record, key, order_id=order_id)
        attempts = (record.attempts if record else 0) + 1
        now = datetime.now(UTC)
        outage = self._outage(customer_id, attempts, key)
        if outage is not None:
            ledger.record_attempt(connection, key, request, attempts, now.isoformat())
            return outage
        decline = self._capture_decline(customer_id, amount_minor, currency)
        if decline is not None:
            ledger.record_outcome(connection, key, request, attempts, now.isoformat(), decline=decline)
            return PaymentDeclined(*decline, idempotency_key=key, order_id=order_id)
        charge = Charge(
            f"pay_{uuid4().hex}", order_id, customer_id, amount_minor, currency, now, key, refunded_minor=0
        )
        ledger.insert_charge(connection, charge)
        ledger.record_outcome(
            connection, key, request, attempts, now.isoformat(), result_id=charge.payment_id
        )
        return Capture(charge.payment_id, amount_minor, currency, now)

    def _decide_refund(
        self, connection: sqlite3.Connection, key: str, request: str
    ) -> RefundReceipt | PaymentError:
        fields_ = json.loads(request)
        payment_id, amount_minor, currency = (
            fields_["payment_id"],
            fields_["amount_minor"],
            fields_["currency"],
        )
        record = ledger.read_key(connection, key)
        if record is not None and record.request != request:
            return IdempotencyKeyReused(key, _differences(record.request, request))
        payment = ledger.read_charge(connection, payment_id)
        order_id = payment.order_id if payment else None
        if record is not None and record.outcome == "succeeded":
            refund = ledger.read_refund(connection, str(record.result_id))
            if refund is None:
                raise LedgerError(f"key {key!r} names refund {record.result_id!r}, missing from the ledger")
            return RefundReceipt(refund.refund_id, refund.payment_id, refund.amount_minor, refund.currency)
        if record is not None and record.outcome == "declined":
            return _replayed_decline(record, key, order_id=order_id, payment_id=payment_id)
        attempts = (record.attempts if record else 0) + 1
        now = datetime.now(UTC)
        if payment is not None:
            outage = self._outage(payment.customer_id, attempts, key)
            if outage is not None:
                ledger.record_attempt(connection, key, request, attempts, now.isoformat())
                return outage
        decline = _refund_decline(payment, payment_id, amount_minor, currency)
        if decline is not None:
            ledger.record_outcome(connection, key, request, attempts, now.isoformat(), decline=decline)
            return _DECLINE_TYPES.get(decline[0], PaymentDeclined)(
                *decline, idempotency_key=key, order_id=order_id, payment_id=payment_id
            )
        refund = Refund(f"re_{uuid4().hex}", payment_id, amount_minor, currency, now, key)
        ledger.insert_refund(connection, refund)
        ledger.record_outcome(connection, key, request, attempts, now.isoformat(), result_id=refund.refund_id)
        return RefundReceipt(refund.refund_id, payment_id, amount_minor, currency)

    def _outage(self, customer_id: str, attempts: int, key: str) -> PaymentUnavailable | None:
        if not customer_id.startswith(FLAKY_PREFIX) or attempts > self.rules.flaky_failures:
            return None
        return PaymentUnavailable(
            f"simulated outage for customer {customer_id!r}: attempt {attempts} of the first "
            f"{self.rules.flaky_failures} with this key fails; retry with the same key",
            idempotency_key=key,
        )

    def _capture_decline(self, customer_id: str, amount_minor: int, currency: str) -> tuple[str, str] | None:
        if customer_id.startswith(DECLINE_PREFIX):
            return ("card_declined", f"the card of customer {customer_id!r} was declined")
        if amount_minor > self.rules.decline_above:
            return (
                "amount_too_large",
                f"amount {amount_minor} (minor units of {currency}) is above the limit "
                f"of {self.rules.decline_above}",
            )
        return None


def _refund_decline(
    payment: Charge | None, payment_id: str, amount_minor: int, currency: str
) -> tuple[str, str] | None:
    if payment is None:
        return ("payment_not_found", f"no captured payment {payment_id!r} to refund")
    if currency != payment.currency:
        return (
            "currency_mismatch",
            f"refund in {currency} of payment {payment_id!r} captured in {payment.currency}",
        )
    refundable = payment.amount_minor - payment.refunded_minor
    if amount_minor > refundable:
        return (
            "refund_exceeds_capture",
            f"refund of {amount_minor} exceeds what is left of payment {payment_id!r}: captured "
            f"{payment.amount_minor}, already refunded {payment.refunded_minor}, refundable "
            f"{refundable} (minor units of {currency})",
        )
    return None


def _replayed_decline(
    record: KeyRecord, key: str, *, order_id: str | None, payment_id: str | None = None
) -> PaymentDeclined:
    code, message = str(record.decline_code), str(record.decline_message)
    return _DECLINE_TYPES.get(code, PaymentDeclined)(
        code, message, idempotency_key=key, order_id=order_id, payment_id=payment_id
    )


def _canonical(**request: str | int) -> str:
    return json.dumps(request, sort_keys=True, separators=(",", ":"))


def _differences(first: str, this: str) -> tuple[str, ...]:
    before, after = json.loads(first), json.loads(this)
    return tuple(sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name)))


def _check_request(idempotency_key: str, amount_minor: int, currency: str, **identifiers: str) -> None:
    """Preconditions of the port: a caller bug breaks them, so they raise `ValueError`."""
    if not isinstance(idempotency_key, str) or not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH:
        raise ValueError(f"idempotency_key must be 1-{MAX_KEY_LENGTH} characters, not {idempotency_key!r}")
    for name, value in identifiers.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string, not {value!r} (key {idempotency_key!r})")
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise ValueError(
            f"amount_minor must be a whole number of minor units > 0, not {amount_minor!r} "
            f"(key {idempotency_key!r})"
        )
    if not (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isascii()
        and currency.isalpha()
        and currency.isupper()
    ):
        raise ValueError(
            f"currency must be an ISO 4217 code such as 'EUR', not {currency!r} (key {idempotency_key!r})"
        )
