"""`Order` (stream `order-<order id>`): one customer order from acceptance to its saga's outcome.

Status: pending (accepted, priced) -> placed -> reserved -> paid -> confirmed, or cancelled from
any of them. Every command is idempotent: repeating a step the order has taken records nothing,
so a saga activity that runs twice (at-least-once delivery) changes the order once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from eventkit.aggregate import Aggregate, DomainEvent

from .common import (
    IdempotencyKeyConflict,
    InvalidTransition,
    OrderAlreadyCancelled,
    PricedLine,
    RefundRecord,
    ReservedLine,
)

OrderStatus = Literal["new", "pending", "placed", "reserved", "paid", "confirmed", "cancelled"]
CancellationReason = Literal["out-of-stock", "payment-declined", "timeout", "customer"]
CancellationMode = Literal["in-saga", "after-completion"]

STAGES: dict[str, str] = {
    "pending": "validating",
    "placed": "awaiting-stock",
    "reserved": "capturing-payment",
    "paid": "confirming",
    "confirmed": "fulfillment-requested",
    "cancelled": "cancelled",
}
"""The saga's stage per status: the text `set_custom_status` reports and GET shows as `stage`."""


class OrderAccepted(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "orders.OrderAccepted"
    customer_id: str
    idempotency_key: str
    request_fingerprint: str
    lines: tuple[PricedLine, ...]
    total_minor: int
    currency: str
    ship_to: dict[str, Any]
    at: datetime


class OrderPlaced(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "orders.OrderPlaced"
    customer_id: str
    lines: tuple[PricedLine, ...]
    total_minor: int
    currency: str
    placed_at: datetime
    at: datetime


class StockReserved(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "orders.StockReserved"
    reservation_id: str
    lines: tuple[ReservedLine, ...]
    at: datetime


class PaymentCaptured(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "orders.PaymentCaptured"
    payment_id: str
    amount_minor: int
    currency: str
    at: datetime


class OrderConfirmed(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "orders.OrderConfirmed"
    reservation_id: str | None
    payment_id: str | None
    at: datetime


class FulfillmentRequested(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "orders.FulfillmentRequested"
    customer_id: str
    reservation_id: str
    lines: tuple[ReservedLine, ...]
    ship_to: dict[str, Any]
    at: datetime


class CancellationRequested(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "orders.CancellationRequested"
    at: datetime


class OrderCancelled(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "orders.OrderCancelled"
    reason: CancellationReason
    reservation_id: str | None
    refund: RefundRecord | None = None
    detail: str | None = None
    at: datetime


ORDER_EVENTS: tuple[type[DomainEvent], ...] = (
    OrderAccepted,
    OrderPlaced,
    StockReserved,
    PaymentCaptured,
    OrderConfirmed,
    FulfillmentRequested,
    CancellationRequested,
    OrderCancelled,
)


class Order(Aggregate[DomainEvent]):
    """An order's state folded from its events; commands decide the saga's steps."""

    STREAM_PREFIX: ClassVar[str] = "order"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: OrderStatus = "new"
        self.customer_id = ""
        self.idempotency_key = ""
        self.request_fingerprint = ""
        self.lines: tuple[PricedLine, ...] = ()
        self.total_minor = 0
        self.currency = ""
        self.ship_to: dict[str, Any] = {}
        self.placed_at: datetime | None = None
        self.updated_at: datetime | None = None
        self.reservation_id: str | None = None
        self.reserved_lines: tuple[ReservedLine, ...] = ()
        self.payment_id: str | None = None
        self.captured_minor = 0
        self.fulfillment_requested = False
        self.cancellation_requested = False
        self.cancellation: OrderCancelled | None = None

    @property
    def exists(self) -> bool:
        return self.status != "new"

    @property
    def stage(self) -> str:
        return STAGES.get(self.status, self.status)

    @property
    def saga_finished(self) -> bool:
        """Whether the saga reached its outcome: confirmed with fulfilment requested, or cancelled."""
        return self.status == "cancelled" or self.fulfillment_requested

    # --- acceptance ---------------------------------------------------------------------

    def accept(
        self,
        *,
        customer_id: str,
        idempotency_key: str,
        request_fingerprint: str,
        lines: tuple[PricedLine, ...],
        total_minor: int,
        currency: str,
        ship_to: dict[str, Any],
        at: datetime,
    ) -> bool:
        """Accept a priced order. Returns True when accepted now, False when this id already holds
        the same request (an Idempotency-Key replay). Raises `IdempotencyKeyConflict` when it holds
        a different request."""
        if self.exists:
            if self.request_fingerprint != request_fingerprint:
                raise IdempotencyKeyConflict(
                    f"Idempotency-Key {idempotency_key!r} was first used for another request "
                    f"(order {self.id}); use a new key for a new order"
                )
            return False
        self._record(
            OrderAccepted(
                customer_id=customer_id,
                idempotency_key=idempotency_key,
                request_fingerprint=request_fingerprint,
                lines=lines,
                total_minor=total_minor,
                currency=currency,
                ship_to=ship_to,
                at=at,
            )
        )
        return True

    # --- saga steps ---------------------------------------------------------------------

    def place(self, at: datetime) -> bool:
        """Record OrderPlaced (published: inventory reserves on it). False when the order is past
        pending (placed before, or cancelled). Raises `InvalidTransition` for an unknown order."""
        self._require_exists()
        if self.status != "pending":
            return False
        self._record(
            OrderPlaced(
                customer_id=self.customer_id,
                lines=self.lines,
                total_minor=self.total_minor,
                currency=self.currency,
                placed_at=self.placed_at or at,
                at=at,
            )
        )
        return True

    def record_reservation(self, reservation_id: str, lines: tuple[ReservedLine, ...], at: datetime) -> bool:
        """Record inventory's reservation; False (nothing recorded) unless the order is placed."""
        self._require_exists()
        if self.status != "placed":
            return False
        self._record(StockReserved(reservation_id=reservation_id, lines=lines, at=at))
        return True

    def may_capture(self) -> bool:
        """Whether the saga may charge the customer now: reserved and no cancellation asked for."""
        return self.status == "reserved" and not self.cancellation_requested

    def record_payment(self, payment_id: str, amount_minor: int, currency: str, at: datetime) -> bool:
        """Record the captured payment; False when already recorded. Raises `InvalidTransition`
        when the order is neither reserved nor paid (cancelled: the caller must refund)."""
        self._require_exists()
        if self.payment_id is not None:
            return False
        if self.status != "reserved":
            raise InvalidTransition(f"order {self.id} is {self.status}; a payment needs a reserved order")
        self._record(
            PaymentCaptured(payment_id=payment_id, amount_minor=amount_minor, currency=currency, at=at)
        )
        return True

    def confirm(self, at: datetime) -> bool:
        """Record OrderConfirmed once paid. False when confirmed before, or when the customer asked
        to cancel (the saga then compensates instead)."""
        if self.status != "paid" or self.cancellation_requested:
            return self.status == "confirmed"
        self._record(OrderConfirmed(reservation_id=self.reservation_id, payment_id=self.payment_id, at=at))
        return True

    def request_fulfillment(self, at: datetime) -> bool:
        """Record FulfillmentRequested once confirmed: the saga's last step. True when it is
        recorded (now or before); False when a cancellation came first."""
        if self.fulfillment_requested:
            return True
        if self.status != "confirmed" or self.cancellation_requested:
            return False
        self._record(
            FulfillmentRequested(
                customer_id=self.customer_id,
                reservation_id=self.reservation_id or "",
                lines=self.reserved_lines,
                ship_to=self.ship_to,
                at=at,
            )
        )
        return True

    # --- cancellation -------------------------------------------------------------------

    def request_cancellation(self, at: datetime) -> CancellationMode:
        """The customer asks to cancel. Returns "in-saga" when the running saga will compensate,
        "after-completion" when the saga finished (confirmed) and a refund must be started.
        Idempotent until cancelled; raises `OrderAlreadyCancelled` after, `InvalidTransition` for
        an unknown order."""
        self._require_exists()
        if self.status == "cancelled":
            raise OrderAlreadyCancelled(f"order {self.id} is already cancelled")
        if not self.cancellation_requested:
            self._record(CancellationRequested(at=at))
        return "after-completion" if self.fulfillment_requested else "in-saga"

    def cancel(
        self,
        reason: CancellationReason,
        at: datetime,
        refund: RefundRecord | None = None,
        detail: str | None = None,
    ) -> bool:
        """Record OrderCancelled (published: inventory releases the order's stock). False when
        cancelled before. Raises `InvalidTransition` when money was captured and no refund is given."""
        self._require_exists()
        if self.status == "cancelled":
            return False
        if self.payment_id is not None and refund is None:
            raise InvalidTransition(
                f"order {self.id} was paid ({self.payment_id}); cancelling it needs a refund"
            )
        self._record(
            OrderCancelled(
                reason=reason, reservation_id=self.reservation_id, refund=refund, detail=detail, at=at
            )
        )
        return True

    def _require_exists(self) -> None:
        if not self.exists:
            raise InvalidTransition(f"order {self.id} does not exist")

    # --- fold ---------------------------------------------------------------------------

    def _apply(self, event: DomainEvent) -> None:
        self.updated_at = getattr(event, "at", self.updated_at)
        if isinstance(event, OrderAccepted):
            self.status = "pending"
            self.customer_id = event.customer_id
            self.idempotency_key = event.idempotency_key
            self.request_fingerprint = event.request_fingerprint
            self.lines = event.lines
            self.total_minor = event.total_minor
            self.currency = event.currency
            self.ship_to = dict(event.ship_to)
            self.placed_at = event.at
        elif isinstance(event, OrderPlaced):
            self.status = "placed"
        elif isinstance(event, StockReserved):
            self.status = "reserved"
            self.reservation_id = event.reservation_id
            self.reserved_lines = event.lines
        elif isinstance(event, PaymentCaptured):
            self.status = "paid"
            self.payment_id = event.payment_id
            self.captured_minor = event.amount_minor
        elif isinstance(event, OrderConfirmed):
            self.status = "confirmed"
        elif isinstance(event, FulfillmentRequested):
            self.fulfillment_requested = True
        elif isinstance(event, CancellationRequested):
            self.cancellation_requested = True
        elif isinstance(event, OrderCancelled):
            self.status = "cancelled"
            self.cancellation = event
