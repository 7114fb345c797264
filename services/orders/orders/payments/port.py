"""The payment port: what the order saga needs from a payment provider, and nothing more.

Idempotency contract (the same as Stripe's `Idempotency-Key`): a provider remembers the first
*outcome* of every idempotency key. Calling again with the same key and the same request returns
that outcome — the same `Capture` / `RefundReceipt`, or the same `PaymentDeclined` — and never
charges or refunds a second time. The same key with a different request raises
`IdempotencyKeyReused`. A `PaymentUnavailable` is not an outcome: nothing was charged, and a
retry with the same key may succeed. The saga uses the keys `capture:{order_id}` and
`refund:{order_id}` (see `capture_key` / `refund_key`).

Errors, and what the caller does with them:

- `PaymentDeclined` (and its subclasses): permanent. Never retry; compensate.
- `PaymentUnavailable`: transient. Retry with the same key (the saga's
  `call_activity_with_retry`).
- `IdempotencyKeyReused`: a bug in the caller (one key, two different requests). Never retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Protocol


@dataclass(frozen=True)
class Capture:
    """A captured (charged) payment. `captured_at` is timezone-aware (UTC)."""

    payment_id: str
    amount_minor: int
    currency: str
    captured_at: datetime


@dataclass(frozen=True)
class RefundReceipt:
    """A refund of (part of) a captured payment."""

    refund_id: str
    payment_id: str
    amount_minor: int
    currency: str


def capture_key(order_id: str) -> str:
    """The idempotency key the saga uses to capture an order's payment."""
    return f"capture:{order_id}"


def refund_key(order_id: str) -> str:
    """The idempotency key the saga uses to refund an order's payment."""
    return f"refund:{order_id}"


def _context(idempotency_key: str | None, order_id: str | None = None, payment_id: str | None = None) -> str:
    parts = []
    if order_id is not None:
        parts.append(f"order {order_id!r}")
    if payment_id is not None:
        parts.append(f"payment {payment_id!r}")
    if idempotency_key is not None:
        parts.append(f"idempotency key {idempotency_key!r}")
    return f" ({', '.join(parts)})" if parts else ""


class PaymentError(Exception):
    """Base of every error a `PaymentGateway` raises on purpose.

    `idempotency_key` is the key of the request that failed (None when the request never got as
    far as a key, e.g. a configuration error).
    """

    idempotency_key: str | None

    def __init__(self, message: str, *, idempotency_key: str | None = None) -> None:
        super().__init__(message)
        self.idempotency_key = idempotency_key


class PaymentDeclined(PaymentError):
    """The provider refused the request: permanent, never retry (a retry gets the same answer).

    `code` is machine-readable (`card_declined`, `amount_too_large`, `payment_not_found`,
    `refund_exceeds_capture`, `currency_mismatch`, or a real provider's own code);
    `message` says what was wrong, for people.
    """

    code: str
    message: str
    order_id: str | None
    payment_id: str | None

    def __init__(
        self,
        code: str,
        message: str,
        *,
        idempotency_key: str | None = None,
        order_id: str | None = None,
        payment_id: str | None = None,
    ) -> None:
        super().__init__(
            f"payment declined: {code}{_context(idempotency_key, order_id, payment_id)}: {message}",
            idempotency_key=idempotency_key,
        )
        self.code = code
        self.message = message
        self.order_id = order_id
        self.payment_id = payment_id

    def __reduce__(self) -> tuple[object, ...]:
        rebuild = partial(
            type(self),
            idempotency_key=self.idempotency_key,
            order_id=self.order_id,
            payment_id=self.payment_id,
        )
        return (rebuild, (self.code, self.message))


class PaymentNotFound(PaymentDeclined):
    """A refund names a payment the provider never captured (code `payment_not_found`)."""


class RefundExceedsCapture(PaymentDeclined):
    """A refund asks for more than the captured amount minus earlier refunds
    (code `refund_exceeds_capture`)."""


class PaymentUnavailable(PaymentError):
    """The provider could not answer (timeout, outage, rate limit): transient, nothing was charged
    or refunded by this attempt. Retry with the same idempotency key."""

    def __init__(self, message: str, *, idempotency_key: str | None = None) -> None:
        super().__init__(
            f"payment provider unavailable{_context(idempotency_key)}: {message}",
            idempotency_key=idempotency_key,
        )
        self.reason = message

    def __reduce__(self) -> tuple[object, ...]:
        return (partial(type(self), idempotency_key=self.idempotency_key), (self.reason,))


class IdempotencyKeyReused(PaymentError):
    """The idempotency key was first used for a different request: a caller bug, never retry.

    `differences` names the request fields that differ from the first use of the key.
    """

    def __init__(self, idempotency_key: str, differences: tuple[str, ...]) -> None:
        fields = ", ".join(differences) if differences else "the operation"
        super().__init__(
            f"idempotency key {idempotency_key!r} was first used for a different request "
            f"(differs in: {fields}); use a new key for a new request",
            idempotency_key=idempotency_key,
        )
        self.differences = differences

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.idempotency_key, self.differences))


class PaymentGateway(Protocol):
    """A payment provider, as the saga sees it. Every method is idempotent per key (module doc)."""

    def capture(
        self, *, idempotency_key: str, order_id: str, customer_id: str, amount_minor: int, currency: str
    ) -> Capture:
        """Charge `amount_minor` (> 0, in the currency's minor unit) to the customer, once per key.

        Raises `PaymentDeclined` (permanent), `PaymentUnavailable` (transient: retry with the same
        key) or `IdempotencyKeyReused`.
        """
        ...

    def refund(
        self, *, idempotency_key: str, payment_id: str, amount_minor: int, currency: str
    ) -> RefundReceipt:
        """Refund `amount_minor` of a captured payment, once per key.

        Raises `PaymentNotFound` / `RefundExceedsCapture` / other `PaymentDeclined` (permanent),
        `PaymentUnavailable` (transient) or `IdempotencyKeyReused`.
        """
        ...
