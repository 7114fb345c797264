"""What the order and catalog aggregates share: their errors, value objects and limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from contracts.api import SKU_PATTERN as SKU_PATTERN  # the APIs' SKU rule, for the domain's users


class OrdersError(Exception):
    """Base of the rule violations the orders domain raises."""


class UnknownSku(OrdersError):
    """An order names SKUs the catalog has no price for; nothing was recorded."""

    def __init__(self, skus: list[str]) -> None:
        super().__init__(f"no catalog price for SKU(s) {', '.join(repr(s) for s in skus)}")
        self.skus = skus


class LimitExceeded(OrdersError):
    """An order breaks one of the limits (lines per order, quantity per line)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class CurrencyMismatch(OrdersError):
    """An order's lines are priced in more than one currency; an order never mixes currencies."""


class OrderNotFound(OrdersError):
    """No order has this id."""


class OrderAlreadyCancelled(OrdersError):
    """The order was cancelled before; a second cancellation changes nothing."""


class IdempotencyKeyConflict(OrdersError):
    """The Idempotency-Key was first used with a different request body."""


class InvalidTransition(OrdersError):
    """A saga step does not fit the order's state (a bug, or a step out of order)."""


@dataclass(frozen=True)
class OrderLimits:
    """Limits on one order (settings ORDERS_MAX_LINES, ORDERS_MAX_QUANTITY, ORDERS_MAX_BODY_BYTES)."""

    max_lines: int = 100
    max_quantity: int = 1_000
    max_body_bytes: int = 64 * 1024


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PricedLine(_Value):
    """One order line as the server priced it from its catalog."""

    sku: str
    quantity: int
    unit_price_minor: int
    line_total_minor: int


class ReservedLine(_Value):
    """Units of one SKU inventory holds at one warehouse for the order."""

    sku: str
    warehouse: str
    quantity: int


class RefundRecord(_Value):
    """Money given back to the customer after a cancellation."""

    refund_id: str
    payment_id: str
    amount_minor: int
    currency: str


class Price(_Value):
    """A catalog price: minor units of `currency` per unit."""

    unit_price_minor: int
    currency: str
    updated_at: datetime
