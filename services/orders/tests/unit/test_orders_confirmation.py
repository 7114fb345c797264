"""The saga's last step records OrderConfirmed and FulfillmentRequested in one append, so a
customer's cancellation is either seen before both (no `order.confirmed` is ever published for
an order that is then cancelled without fulfilment) or comes after both (a refund)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from orders import handlers
from orders.domain import ReservedLine
from orders.handlers import Orders
from orders.order_index import OrderIndex
from orders.payments import Capture, RefundReceipt

from eventkit.store.memory import InMemoryEventStore

SHIP_TO = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}


class Gateway:
    """Captures and refunds once per idempotency key."""

    def capture(
        self, *, idempotency_key: str, order_id: str, customer_id: str, amount_minor: int, currency: str
    ) -> Capture:
        return Capture(f"pay-{order_id}", amount_minor, currency, datetime.now(UTC))

    def refund(
        self, *, idempotency_key: str, payment_id: str, amount_minor: int, currency: str
    ) -> RefundReceipt:
        return RefundReceipt(f"re-{payment_id}", payment_id, amount_minor, currency)


@pytest.fixture
def orders(tmp_path: Path) -> Orders:
    service = Orders(store=InMemoryEventStore(), gateway=Gateway, index=OrderIndex(tmp_path / "index.db"))
    handlers.set_price(service, "SKU-1", 250, "EUR")
    return service


def paid_order(orders: Orders) -> str:
    order_id = handlers.accept_order(
        orders,
        customer_id=f"cust-{uuid.uuid4().hex[:8]}",
        idempotency_key=uuid.uuid4().hex,
        lines=[("SKU-1", 1)],
        ship_to=SHIP_TO,
    ).order.id
    handlers.place_order(orders, order_id)
    handlers.record_reservation(
        orders, order_id, "res-1", [ReservedLine(sku="SKU-1", warehouse="W1", quantity=1)]
    )
    assert handlers.capture_payment(orders, order_id)["outcome"] == "captured"
    return order_id


def event_types(orders: Orders, order_id: str) -> list[str]:
    return [e.type.removeprefix("orders.") for e in orders.store.read_stream(f"order-{order_id}")]


def test_confirmation_and_the_fulfilment_request_are_one_append_and_a_repeat_records_nothing(
    orders: Orders,
) -> None:
    order_id = paid_order(orders)

    assert handlers.confirm_and_request_fulfillment(orders, order_id) is True
    assert handlers.confirm_and_request_fulfillment(orders, order_id) is True

    stream = orders.store.read_stream(f"order-{order_id}")
    assert [e.type for e in stream][-2:] == ["orders.OrderConfirmed", "orders.FulfillmentRequested"]
    assert len(stream) == 6
    assert handlers.get_order(orders, order_id).saga_finished


def test_a_cancellation_asked_for_before_confirmation_records_neither_event(orders: Orders) -> None:
    order_id = paid_order(orders)
    assert handlers.request_cancellation(orders, order_id) == "in-saga"

    assert handlers.confirm_and_request_fulfillment(orders, order_id) is False

    handlers.cancel_order(orders, order_id, "customer")
    assert event_types(orders, order_id)[-2:] == ["CancellationRequested", "OrderCancelled"]
    assert "OrderConfirmed" not in event_types(orders, order_id)


def test_a_cancellation_after_confirmation_is_a_refund_after_completion(orders: Orders) -> None:
    order_id = paid_order(orders)
    handlers.confirm_and_request_fulfillment(orders, order_id)

    assert handlers.request_cancellation(orders, order_id) == "after-completion"
