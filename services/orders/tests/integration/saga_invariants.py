"""What must hold for every order once the system is quiet, checked from independent records:
the order API, the order's event stream, the `orders` topic, the payment ledger, and inventory's
stock API with the `inventory` topic. Used by the crash and the scale tests.

- one outcome: each order is final, its stream holds at most one of each saga step and ends in
  exactly one outcome (FulfillmentRequested or OrderCancelled; both only when the customer
  cancelled a confirmed order, the cancel then comes last and carries a refund); the topic holds
  the same, with no event id twice;
- money: at most one charge per order; a charge of a confirmed order is never refunded, a charge
  of a cancelled order is refunded in full; every confirmed order was charged its total;
- stock: reserved units of each SKU = units of its confirmed orders, on hand unchanged,
  available = on hand - reserved (so never oversold); each cancelled order's reservation is
  released, no confirmed order's is.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from orders.payments import SimulatedPaymentGateway

from devhost.testing import Response

from .conftest import OrdersHost

ORDER_TYPE = "com.nightshift.orders.order.{}.v1"
INVENTORY_TYPE = "com.nightshift.inventory.{}.v1"
RETRYABLE_STATUSES = frozenset({502, 503, 504})


@dataclass
class Placed:
    """One order as its customer placed it."""

    order_id: str
    customer_id: str
    lines: list[tuple[str, int]]
    cancel_answer: int | None = None
    """202 (it will end cancelled) or 409 (it was cancelled first) once the customer asked."""


@dataclass
class Outcomes:
    """How the orders ended, for the test's report."""

    counts: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        return ", ".join(f"{name} {count}" for name, count in sorted(self.counts.items()))


def retrying(call: Callable[[], Response], deadline: float = 90.0) -> Response:
    """Repeat a request while the app is down (connection refused or reset, 502-504), as a client
    with an Idempotency-Key does; raises `AssertionError` after `deadline` seconds."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            answer = call()
            if answer.status not in RETRYABLE_STATUSES:
                return answer
        except OSError:
            pass
        if time.monotonic() > give_up:
            raise AssertionError(f"the app did not answer within {deadline} s")
        time.sleep(0.1)


def place(host: Callable[[], OrdersHost], customer_id: str, lines: list[tuple[str, int]], key: str) -> Placed:
    """Place an order, retrying with the same Idempotency-Key until it is accepted (202)."""
    answer = retrying(lambda: host().place(customer_id, lines, key=key))
    assert answer.status == 202, answer.text
    return Placed(str(answer.json()["order_id"]), customer_id, lines)


def cancel(host: Callable[[], OrdersHost], order: Placed) -> int:
    """Ask to cancel (retrying while the app is down); 202, or 409 when it was cancelled first."""
    answer = retrying(lambda: host().call("POST", f"/api/orders/{order.order_id}/cancel"))
    assert answer.status in (202, 409), answer.text
    order.cancel_answer = answer.status
    return answer.status


def body_of(host: OrdersHost, order: Placed) -> dict[str, Any] | None:
    """The order's body once final: cancelled, or confirmed with fulfilment requested unless a
    cancellation was accepted (202: the refund is still running)."""
    answer = retrying(lambda: host.call("GET", f"/api/orders/{order.order_id}"))
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    if body["status"] == "cancelled":
        return body
    return body if body["fulfillment_requested"] and order.cancel_answer != 202 else None


def wait_all_final(host: OrdersHost, orders: Iterable[Placed], timeout: float) -> dict[str, dict[str, Any]]:
    """Every order's final body (bounded wait over all of them); raises `AssertionError` naming
    how many are not final."""
    pending = {o.order_id: o for o in orders}
    final: dict[str, dict[str, Any]] = {}
    give_up = time.monotonic() + timeout
    while pending:
        for order in list(pending.values()):
            body = body_of(host, order)
            if body is not None:
                final[order.order_id] = body
                del pending[order.order_id]
        if pending and time.monotonic() > give_up:
            sample = sorted(pending)[:3]
            raise AssertionError(f"{len(pending)} order(s) not final after {timeout} s, e.g. {sample}")
        if pending:
            time.sleep(0.2)
    return final


def peek_all(host: OrdersHost, topic: str, subscription: str) -> list[dict[str, Any]]:
    """Every CloudEvent on a subscription, in sequence order (peeked in pages, not received)."""
    bus = host.layout.open_servicebus()
    events: list[dict[str, Any]] = []
    after = 0
    try:
        while batch := bus.peek(
            f"{topic}/subscriptions/{subscription}", max_messages=5000, from_sequence_number=after
        ):
            events.extend(json.loads(bytes(m.body)) for m in batch)
            after = batch[-1].sequence_number + 1
    finally:
        bus.close()
    return events


def check_one_outcome(host: OrdersHost, final: dict[str, dict[str, Any]]) -> Outcomes:
    """Stream and topic: one outcome per order (see the module's doc)."""
    store = host.layout.open_cosmos_container("nightshift", "orders")
    outcomes = Outcomes()
    try:
        for order_id, body in final.items():
            types = [e.type.removeprefix("orders.") for e in store.read_stream(f"order-{order_id}")]
            steps = Counter(types)
            assert steps["OrderPlaced"] == 1, (order_id, types)
            for step in ("StockReserved", "PaymentCaptured", "OrderConfirmed", "FulfillmentRequested"):
                assert steps[step] <= 1, (order_id, types)
            ends = [t for t in types if t in ("FulfillmentRequested", "OrderCancelled")]
            if body["status"] == "confirmed":
                assert ends == ["FulfillmentRequested"], (order_id, types)
                outcomes.counts["confirmed"] += 1
            else:
                reason = body["cancellation"]["reason"]
                assert ends in (["OrderCancelled"], ["FulfillmentRequested", "OrderCancelled"]), (
                    order_id,
                    types,
                )
                assert types[-1] == "OrderCancelled", (order_id, types)
                assert steps["OrderConfirmed"] == steps["FulfillmentRequested"], (
                    "confirmed, unfulfilled",
                    types,
                )
                if len(ends) == 2:
                    assert reason == "customer" and body["cancellation"]["refund"], (order_id, body)
                    reason = "customer, after confirmation"
                outcomes.counts[f"cancelled ({reason})"] += 1
    finally:
        store.close()
    expected: dict[str, list[str]] = {}
    for order_id, body in final.items():
        after_confirmation = body["status"] == "cancelled" and body["fulfillment_requested"]
        expected[order_id] = ["confirmed", "cancelled"] if after_confirmation else [body["status"]]
    give_up = time.monotonic() + 60  # the relay publishes the last outcomes a moment later
    while (ended := _published_outcomes(host, expected)) != expected:
        wrong = {o: ended[o] for o in expected if ended[o] != expected[o]}
        too_many = {o: e for o, e in wrong.items() if len(e) >= len(expected[o])}
        assert not too_many and time.monotonic() < give_up, f"outcomes on topic orders: {wrong}"
        time.sleep(0.2)
    return outcomes


def _published_outcomes(host: OrdersHost, orders: Iterable[str]) -> dict[str, list[str]]:
    """confirmed/cancelled events per order on `orders/audit`; asserts no event id came twice."""
    published = peek_all(host, "orders", "audit")
    ids = Counter(e["id"] for e in published)
    assert [i for i, n in ids.items() if n > 1] == [], "an event was published twice"
    ended: dict[str, list[str]] = {order_id: [] for order_id in orders}
    for event in published:
        if event["subject"] in ended and event["type"] in (
            ORDER_TYPE.format("confirmed"),
            ORDER_TYPE.format("cancelled"),
        ):
            ended[event["subject"]].append(event["type"].split(".")[-2])
    return ended


def check_money(host: OrdersHost, final: dict[str, dict[str, Any]]) -> None:
    """Ledger: at most one charge per order; refunds only (and in full) for cancelled orders."""
    ledger = SimulatedPaymentGateway(host.layout.root / "payments" / "simulator.db")
    charges = Counter(c.order_id for c in ledger.charges())
    assert [o for o, n in charges.items() if n > 1] == [], "an order was charged twice"
    for charge in ledger.charges():
        body = final.get(charge.order_id)
        if body is None:
            continue  # another test's order on the same system
        if body["status"] == "confirmed":
            assert charge.refunded_minor == 0, (charge, body)
            assert (charge.payment_id, charge.amount_minor) == (body["payment_id"], body["total_minor"])
        else:
            assert charge.refunded_minor == charge.amount_minor, (
                "cancelled but kept the money",
                charge,
                body,
            )
            assert len(ledger.refunds(charge.payment_id)) == 1, charge
    for order_id, body in final.items():
        if body["status"] == "confirmed":
            assert charges[order_id] == 1, (order_id, body)


def reserved_units(host: OrdersHost, sku: str) -> tuple[int, int, int]:
    """(on hand, reserved, available) of a SKU over all warehouses, from inventory's API."""
    stock = retrying_stock(host, sku)
    on_hand = sum(w["on_hand"] for w in stock["warehouses"])
    reserved = sum(w["reserved"] for w in stock["warehouses"])
    return on_hand, reserved, int(stock["available"])


def retrying_stock(host: OrdersHost, sku: str) -> dict[str, Any]:
    stock: dict[str, Any] | None = None
    give_up = time.monotonic() + 30
    while stock is None:
        with contextlib.suppress(OSError):
            stock = host.stock(sku)
        assert stock is not None or time.monotonic() < give_up, f"inventory has no stock for {sku}"
        if stock is None:
            time.sleep(0.1)
    return stock


def check_stock(
    host: OrdersHost, orders: Iterable[Placed], final: dict[str, dict[str, Any]], seeded: dict[str, int]
) -> None:
    """Inventory: each SKU's reserved units are its confirmed orders' units (waiting, bounded, for
    inventory to handle the last cancellations), on hand unchanged, never oversold; every
    cancelled order's reservation released."""
    confirmed: Counter[str] = Counter()
    for order in orders:
        if final[order.order_id]["status"] == "confirmed":
            for sku, quantity in order.lines:
                confirmed[sku] += quantity
    expected = {sku: (on_hand, confirmed[sku], on_hand - confirmed[sku]) for sku, on_hand in seeded.items()}
    give_up = time.monotonic() + 60
    while (actual := {sku: reserved_units(host, sku) for sku in seeded}) != expected:
        for sku, (on_hand, reserved, _) in actual.items():
            assert on_hand == seeded[sku] and reserved <= on_hand, f"{sku} oversold: {actual[sku]}"
        assert time.monotonic() < give_up, f"stock (on hand, reserved, available) {actual} != {expected}"
        time.sleep(0.2)
    give_up = time.monotonic() + 60  # inventory's relay publishes the last releases a moment later
    while held := _held_reservations(host, final):
        assert time.monotonic() < give_up, f"reservations held or released wrongly: {held}"
        time.sleep(0.2)


def _held_reservations(host: OrdersHost, final: dict[str, dict[str, Any]]) -> list[tuple[str, str, int]]:
    """(order id, status, releases) of orders whose reservation is wrongly held or released,
    from the `inventory` topic."""
    reserved_for: set[str] = set()
    released_for: Counter[str] = Counter()
    for event in peek_all(host, "inventory", "audit"):
        if event["type"] == INVENTORY_TYPE.format("stock.reserved"):
            reserved_for.add(event["data"]["order_id"])
        elif event["type"] == INVENTORY_TYPE.format("reservation.released"):
            released_for[event["data"]["order_id"]] += 1
    wrong = []
    for order_id, body in final.items():
        if body["status"] == "confirmed":
            ok = order_id in reserved_for and released_for[order_id] == 0
        else:
            ok = order_id not in reserved_for or released_for[order_id] == 1
        if not ok:
            wrong.append((order_id, body["status"], released_for[order_id]))
    return wrong
