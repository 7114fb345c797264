"""Use cases: accept an order, the saga's steps, cancellation, the catalog and the queries.

Every change goes through `Repository.execute` (load -> decide -> append, retried on a version
clash). Handlers only append: the change-feed relay publishes (ARCHITECTURE.md section 5). Every
saga step is idempotent, so an activity that runs twice changes the order once; payment calls
carry the idempotency keys `capture:{order_id}` / `refund:{order_id}`, so the provider charges
and refunds once too.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from eventkit.mapper import EventMapper
from eventkit.repository import Repository
from eventkit.store import EventStore

from .domain import (
    DOMAIN_EVENTS,
    CancellationMode,
    CancellationReason,
    CatalogItem,
    Order,
    OrderLimits,
    OrderNotFound,
    Price,
    RefundRecord,
    ReservedLine,
    price_lines,
)
from .order_index import OrderIndex
from .payments import PaymentDeclined, PaymentGateway, capture_key, refund_key


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Orders:
    """The ports and settings the use cases need; built once per process by `bootstrap`."""

    store: EventStore
    gateway: Callable[[], PaymentGateway]
    index: OrderIndex
    limits: OrderLimits = field(default_factory=OrderLimits)
    clock: Callable[[], datetime] = _now
    mapper: EventMapper = field(default_factory=lambda: EventMapper(DOMAIN_EVENTS))

    def __post_init__(self) -> None:
        self.orders = Repository(self.store, self.mapper, Order)
        self.catalog = Repository(self.store, self.mapper, CatalogItem)


# --- placing --------------------------------------------------------------------------------


def order_id_for(customer_id: str, idempotency_key: str) -> str:
    """The order id of a customer's Idempotency-Key: the same pair always names the same order."""
    name = json.dumps([customer_id, idempotency_key])
    return f"ord-{uuid.uuid5(uuid.NAMESPACE_URL, 'nightshift:orders:' + name).hex}"


def fingerprint(customer_id: str, lines: Sequence[tuple[str, int]], ship_to: dict[str, Any]) -> str:
    """A digest of what the customer asked for, to tell a replay from a different request."""
    canonical = json.dumps(
        {"customer_id": customer_id, "lines": [list(x) for x in lines], "ship_to": ship_to},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Accepted:
    order: Order
    created: bool


def accept_order(
    orders: Orders,
    *,
    customer_id: str,
    idempotency_key: str,
    lines: Sequence[tuple[str, int]],
    ship_to: dict[str, Any],
) -> Accepted:
    """Price the order from the catalog and record it as pending. Idempotent by (customer,
    Idempotency-Key): a replay returns the first order, even if prices changed since. Raises
    `LimitExceeded`, `UnknownSku`, `CurrencyMismatch` (nothing recorded) and
    `IdempotencyKeyConflict` (the key was used for another request)."""
    order_id = order_id_for(customer_id, idempotency_key)
    digest = fingerprint(customer_id, lines, ship_to)
    existing = orders.orders.load(order_id)
    if existing.exists:
        existing.accept(
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            request_fingerprint=digest,
            lines=(),
            total_minor=0,
            currency="",
            ship_to=ship_to,
            at=orders.clock(),
        )  # raises IdempotencyKeyConflict for another request
        return Accepted(existing, created=False)
    prices = {sku: price_of(orders, sku) for sku, _ in lines}
    priced, total, currency = price_lines(lines, prices, orders.limits)

    def accept(order: Order) -> bool:
        return order.accept(
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            request_fingerprint=digest,
            lines=tuple(priced),
            total_minor=total,
            currency=currency,
            ship_to=ship_to,
            at=orders.clock(),
        )

    created = orders.orders.execute(order_id, accept)
    return Accepted(orders.orders.load(order_id), created)


def awaiting_saga(orders: Orders, order_ids: Sequence[str]) -> list[str]:
    """Those of `order_ids` still pending: accepted, and no saga step taken yet."""
    return [order_id for order_id in order_ids if orders.orders.load(order_id).status == "pending"]


# --- saga steps (activities) ----------------------------------------------------------------


def _snapshot(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "status": order.status,
        "cancellation_requested": order.cancellation_requested,
    }


def place_order(orders: Orders, order_id: str) -> dict[str, Any]:
    """Record OrderPlaced (once); returns the order's status. Raises `OrderNotFound`."""
    _require(orders, order_id)
    order = orders.orders.load(order_id)
    if order.status == "pending":
        orders.orders.execute(order_id, lambda o: o.place(orders.clock()))
        order = orders.orders.load(order_id)
    return _snapshot(order)


def record_reservation(
    orders: Orders, order_id: str, reservation_id: str, lines: Sequence[ReservedLine]
) -> dict[str, Any]:
    """Record inventory's reservation (once); returns the order's status."""
    orders.orders.execute(
        order_id, lambda o: o.record_reservation(reservation_id, tuple(lines), orders.clock())
    )
    return _snapshot(orders.orders.load(order_id))


CaptureOutcome = Literal["captured", "declined", "cancel-requested", "not-capturable"]


def capture_payment(orders: Orders, order_id: str) -> dict[str, Any]:
    """Charge the order's total once (key `capture:{order_id}`) and record PaymentCaptured.

    Returns {"outcome": "captured", "payment_id"}, {"outcome": "declined", "code"} (a decline is
    an answer: never retried), {"outcome": "cancel-requested"} (nothing charged) or
    {"outcome": "not-capturable"} (cancelled meanwhile). Raises `PaymentUnavailable` (retry: the
    same key never charges twice) and `IdempotencyKeyReused`."""
    order = orders.orders.load(order_id)
    if order.payment_id is not None:
        return {"outcome": "captured", "payment_id": order.payment_id}
    if order.status == "reserved" and order.cancellation_requested:
        return {"outcome": "cancel-requested"}
    if not order.may_capture():
        return {"outcome": "not-capturable", "status": order.status}
    try:
        capture = orders.gateway().capture(
            idempotency_key=capture_key(order_id),
            order_id=order_id,
            customer_id=order.customer_id,
            amount_minor=order.total_minor,
            currency=order.currency,
        )
    except PaymentDeclined as declined:
        return {"outcome": "declined", "code": declined.code, "message": declined.message}
    recorded_at = orders.clock()

    def record(o: Order) -> None:
        if o.status == "cancelled":  # cancelled while we charged: cancel_order refunds nothing
            return  # (it saw no payment), so the charge must be given back by the caller
        o.record_payment(capture.payment_id, capture.amount_minor, capture.currency, recorded_at)

    orders.orders.execute(order_id, record)
    if orders.orders.load(order_id).status == "cancelled":
        _refund(orders, order_id, capture.payment_id, capture.amount_minor, capture.currency)
        return {"outcome": "not-capturable", "status": "cancelled"}
    return {"outcome": "captured", "payment_id": capture.payment_id}


def confirm_order(orders: Orders, order_id: str) -> bool:
    """Record OrderConfirmed (once); False when the customer's cancellation came first."""
    return orders.orders.execute(order_id, lambda o: o.confirm(orders.clock()))


def request_fulfillment(orders: Orders, order_id: str) -> bool:
    """Record FulfillmentRequested (once); False when the customer's cancellation came first."""
    return orders.orders.execute(order_id, lambda o: o.request_fulfillment(orders.clock()))


def confirm_and_request_fulfillment(orders: Orders, order_id: str) -> bool:
    """Record OrderConfirmed and FulfillmentRequested in one append (once); False when the
    customer's cancellation came first, and then neither is recorded.

    One append leaves no moment between the two in which a cancellation could land: a
    cancellation is either seen here (the saga compensates; `order.confirmed` is never
    published) or comes after FulfillmentRequested (a refund after completion), so a published
    `order.confirmed` is always followed by `order.fulfillment-requested`."""

    def decide(order: Order) -> bool:
        at = orders.clock()
        return order.confirm(at) and order.request_fulfillment(at)

    return orders.orders.execute(order_id, decide)


def _refund(orders: Orders, order_id: str, payment_id: str, amount_minor: int, currency: str) -> RefundRecord:
    receipt = orders.gateway().refund(
        idempotency_key=refund_key(order_id),
        payment_id=payment_id,
        amount_minor=amount_minor,
        currency=currency,
    )
    return RefundRecord(
        refund_id=receipt.refund_id,
        payment_id=receipt.payment_id,
        amount_minor=receipt.amount_minor,
        currency=receipt.currency,
    )


def cancel_order(
    orders: Orders, order_id: str, reason: CancellationReason, detail: str | None = None
) -> dict[str, Any]:
    """Record OrderCancelled (once), refunding a captured payment first (key `refund:{order_id}`,
    so a repeat refunds once). Inventory releases the stock on the published event. Raises
    `PaymentUnavailable` (retry) and `PaymentDeclined` for a refund the provider refuses."""
    order = orders.orders.load(order_id)
    if order.status == "cancelled":
        return _snapshot(order)
    refund = None
    if order.payment_id is not None:
        refund = _refund(orders, order_id, order.payment_id, order.captured_minor, order.currency)
    orders.orders.execute(order_id, lambda o: o.cancel(reason, orders.clock(), refund, detail))
    return _snapshot(orders.orders.load(order_id))


# --- the customer's cancellation ------------------------------------------------------------


def request_cancellation(orders: Orders, order_id: str) -> CancellationMode:
    """Record the customer's request to cancel. "in-saga": the running saga compensates (raise
    its `cancel` event); "after-completion": the saga is done, start the refund orchestration.
    Raises `OrderNotFound` and `OrderAlreadyCancelled`."""
    _require(orders, order_id)
    return orders.orders.execute(order_id, lambda o: o.request_cancellation(orders.clock()))


# --- catalog ----------------------------------------------------------------------------------


def set_price(orders: Orders, sku: str, unit_price_minor: int, currency: str) -> Price:
    """Set a SKU's price (idempotent for an unchanged price). Raises `ValueError` if negative."""
    return orders.catalog.execute(
        sku, lambda item: item.set_price(unit_price_minor, currency, orders.clock())
    )


def price_of(orders: Orders, sku: str) -> Price | None:
    """The SKU's current price, or None if it has none."""
    return orders.catalog.load(sku).price


def list_catalog(orders: Orders, after: str, limit: int) -> list[tuple[str, Price]]:
    """Priced SKUs after `after` in code-point order, at most `limit`."""
    orders.index.catch_up(orders.store)
    result = []
    for sku in orders.index.skus(after, limit):
        price = price_of(orders, sku)
        if price is not None:
            result.append((sku, price))
    return result


# --- queries ----------------------------------------------------------------------------------


def _require(orders: Orders, order_id: str) -> Order:
    order = orders.orders.load(order_id)
    if not order.exists:
        raise OrderNotFound(f"no order has id {order_id!r}")
    return order


def get_order(orders: Orders, order_id: str) -> Order:
    """The order as its stream holds it. Raises `OrderNotFound`."""
    return _require(orders, order_id)


def list_orders(
    orders: Orders, customer_id: str, status: str | None, after_seq: int, limit: int
) -> tuple[list[Order], int | None]:
    """A page of the customer's orders, oldest first, and the position to continue after
    (None on the last page)."""
    orders.index.catch_up(orders.store)
    rows = orders.index.orders_of(customer_id, status, after_seq, limit + 1)
    page = rows[:limit]
    items = [orders.orders.load(row.order_id) for row in page]
    return items, (page[-1].seq if len(rows) > limit else None)
