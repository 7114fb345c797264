"""Use cases with an in-memory store and a fake payment provider: idempotency of placing and of
every saga step (activities run at least once), compensation, the read model and requests."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from orders import handlers
from orders.domain import IdempotencyKeyConflict, OrderLimits, ReservedLine, UnknownSku
from orders.handlers import Orders
from orders.order_index import OrderIndex
from orders.payments import Capture, PaymentDeclined, RefundReceipt
from orders.requests import RequestProblem, parse_place_order

from eventkit.store.memory import InMemoryEventStore

SHIP_TO = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}


class FakeGateway:
    """Remembers outcomes per idempotency key, as the port promises; declines `decline-*`."""

    def __init__(self) -> None:
        self.captures: dict[str, Capture] = {}
        self.refunds: dict[str, RefundReceipt] = {}

    def capture(
        self, *, idempotency_key: str, order_id: str, customer_id: str, amount_minor: int, currency: str
    ) -> Capture:
        if customer_id.startswith("decline-"):
            raise PaymentDeclined("card_declined", "the card was declined", idempotency_key=idempotency_key)
        return self.captures.setdefault(
            idempotency_key, Capture(f"pay-{uuid.uuid4().hex}", amount_minor, currency, datetime.now(UTC))
        )

    def refund(
        self, *, idempotency_key: str, payment_id: str, amount_minor: int, currency: str
    ) -> RefundReceipt:
        return self.refunds.setdefault(
            idempotency_key, RefundReceipt(f"re-{uuid.uuid4().hex}", payment_id, amount_minor, currency)
        )


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def orders(tmp_path: Path, gateway: FakeGateway) -> Orders:
    service = Orders(
        store=InMemoryEventStore(), gateway=lambda: gateway, index=OrderIndex(tmp_path / "index.db")
    )
    handlers.set_price(service, "SKU-1", 250, "EUR")
    return service


def place(orders: Orders, customer: str = "cust-1", key: str | None = None, quantity: int = 2) -> str:
    accepted = handlers.accept_order(
        orders,
        customer_id=customer,
        idempotency_key=key or uuid.uuid4().hex,
        lines=[("SKU-1", quantity)],
        ship_to=SHIP_TO,
    )
    return accepted.order.id


def reserve(orders: Orders, order_id: str) -> None:
    handlers.place_order(orders, order_id)
    handlers.record_reservation(
        orders, order_id, "res-1", [ReservedLine(sku="SKU-1", warehouse="W1", quantity=2)]
    )


def test_the_same_idempotency_key_returns_the_same_order_and_another_body_conflicts(orders: Orders) -> None:
    first = place(orders, key="k-1")
    again = handlers.accept_order(
        orders, customer_id="cust-1", idempotency_key="k-1", lines=[("SKU-1", 2)], ship_to=SHIP_TO
    )
    assert (again.order.id, again.created) == (first, False)
    assert place(orders, customer="cust-2", key="k-1") != first
    with pytest.raises(IdempotencyKeyConflict):
        handlers.accept_order(
            orders, customer_id="cust-1", idempotency_key="k-1", lines=[("SKU-1", 3)], ship_to=SHIP_TO
        )


def test_the_server_prices_the_order_and_refuses_an_unknown_sku(orders: Orders) -> None:
    order = handlers.get_order(orders, place(orders, quantity=3))
    assert (order.total_minor, order.currency, order.status) == (750, "EUR", "pending")
    with pytest.raises(UnknownSku):
        handlers.accept_order(
            orders, customer_id="c", idempotency_key="k", lines=[("NOPE", 1)], ship_to=SHIP_TO
        )


def test_activities_that_run_twice_charge_once_and_record_once(orders: Orders, gateway: FakeGateway) -> None:
    order_id = place(orders)
    reserve(orders, order_id)
    first = handlers.capture_payment(orders, order_id)
    second = handlers.capture_payment(orders, order_id)
    assert first == second and first["outcome"] == "captured"
    assert len(gateway.captures) == 1
    assert handlers.confirm_order(orders, order_id) and handlers.confirm_order(orders, order_id)
    assert handlers.request_fulfillment(orders, order_id) and handlers.request_fulfillment(orders, order_id)
    assert orders.store.stream_version(f"order-{order_id}") == 6


def test_a_decline_is_an_answer_and_cancelling_a_paid_order_refunds_it_once(
    orders: Orders, gateway: FakeGateway
) -> None:
    declined = place(orders, customer="decline-1")
    reserve(orders, declined)
    assert handlers.capture_payment(orders, declined)["outcome"] == "declined"
    paid = place(orders)
    reserve(orders, paid)
    handlers.capture_payment(orders, paid)
    handlers.cancel_order(orders, paid, "customer")
    handlers.cancel_order(orders, paid, "customer")
    order = handlers.get_order(orders, paid)
    assert order.cancellation is not None and order.cancellation.refund is not None
    assert order.cancellation.refund.amount_minor == 500 and len(gateway.refunds) == 1


def test_a_customers_orders_are_listed_by_status_in_pages(orders: Orders) -> None:
    ids = [place(orders, customer="cust-pages") for _ in range(5)]
    handlers.cancel_order(orders, ids[0], "customer")
    page, after = handlers.list_orders(orders, "cust-pages", None, 0, 3)
    rest, end = handlers.list_orders(orders, "cust-pages", None, after or 0, 3)
    cancelled, _ = handlers.list_orders(orders, "cust-pages", "cancelled", 0, 10)
    assert [o.id for o in page + rest] == ids and end is None
    assert [o.id for o in cancelled] == [ids[0]]


def test_a_request_with_a_price_or_an_unknown_field_is_refused_naming_the_field() -> None:
    body = {
        "customer_id": "c",
        "lines": [{"sku": "A", "quantity": 1, "unit_price_minor": 1}],
        "ship_to": SHIP_TO,
    }
    with pytest.raises(RequestProblem) as owned:
        parse_place_order(json.dumps(body).encode(), OrderLimits())
    with pytest.raises(RequestProblem) as too_big:
        parse_place_order(b" " * 70_000, OrderLimits())
    with pytest.raises(RequestProblem) as unknown:
        parse_place_order(
            json.dumps({**body, "lines": [{"sku": "A", "quantity": 1}], "gift": True}).encode(), OrderLimits()
        )
    assert (owned.value.status, owned.value.kind) == (422, "server-owned-field")
    assert owned.value.errors[0]["field"] == "lines[0].unit_price_minor"
    assert too_big.value.status == 413
    assert (unknown.value.kind, unknown.value.errors[0]["field"]) == ("invalid-request", "gift")
