"""The order aggregate and pricing: rules, idempotent steps, and what a client may not set."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from orders.domain import (
    CatalogItem,
    IdempotencyKeyConflict,
    InvalidTransition,
    LimitExceeded,
    Order,
    OrderAlreadyCancelled,
    OrderLimits,
    Price,
    PricedLine,
    RefundRecord,
    ReservedLine,
    UnknownSku,
    price_lines,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SHIP_TO = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}


def accepted_order(fingerprint: str = "f1") -> Order:
    order = Order(f"ord-{uuid.uuid4().hex}")
    order.accept(
        customer_id="cust-1",
        idempotency_key="key-1",
        request_fingerprint=fingerprint,
        lines=(PricedLine(sku="SKU-1", quantity=2, unit_price_minor=250, line_total_minor=500),),
        total_minor=500,
        currency="EUR",
        ship_to=SHIP_TO,
        at=NOW,
    )
    return order


def reserved_order() -> Order:
    order = accepted_order()
    order.place(NOW)
    order.record_reservation("res-1", (ReservedLine(sku="SKU-1", warehouse="DE-BER1", quantity=2),), NOW)
    return order


def test_an_accepted_order_is_pending_and_its_replay_records_nothing() -> None:
    order = accepted_order()
    replayed = order.accept(
        customer_id="cust-1",
        idempotency_key="key-1",
        request_fingerprint="f1",
        lines=(),
        total_minor=0,
        currency="",
        ship_to={},
        at=NOW,
    )
    assert (order.status, order.stage, replayed, len(order.pending_events)) == (
        "pending",
        "validating",
        False,
        1,
    )


def test_the_same_key_with_another_request_is_a_conflict() -> None:
    order = accepted_order("f1")
    with pytest.raises(IdempotencyKeyConflict, match="key-1"):
        order.accept(
            customer_id="cust-1",
            idempotency_key="key-1",
            request_fingerprint="f2",
            lines=(),
            total_minor=0,
            currency="EUR",
            ship_to={},
            at=NOW,
        )


def test_every_saga_step_is_recorded_once_when_repeated() -> None:
    order = reserved_order()
    assert order.record_payment("pay-1", 500, "EUR", NOW) is True
    assert order.record_payment("pay-1", 500, "EUR", NOW) is False
    assert order.confirm(NOW) is True
    assert order.confirm(NOW) is True  # already confirmed: nothing new
    assert order.request_fulfillment(NOW) is True
    assert order.request_fulfillment(NOW) is True
    assert [type(e).__name__ for e in order.pending_events] == [
        "OrderAccepted",
        "OrderPlaced",
        "StockReserved",
        "PaymentCaptured",
        "OrderConfirmed",
        "FulfillmentRequested",
    ]
    assert order.saga_finished and order.status == "confirmed"


def test_a_cancellation_requested_before_capture_stops_the_charge_and_the_confirmation() -> None:
    order = reserved_order()
    assert order.request_cancellation(NOW) == "in-saga"
    assert order.may_capture() is False
    order.record_payment("pay-1", 500, "EUR", NOW)  # a capture that was already in flight
    assert order.confirm(NOW) is False
    assert order.status == "paid"


def test_a_paid_order_cannot_be_cancelled_without_a_refund() -> None:
    order = reserved_order()
    order.record_payment("pay-1", 500, "EUR", NOW)
    with pytest.raises(InvalidTransition, match="refund"):
        order.cancel("customer", NOW)
    refund = RefundRecord(refund_id="re-1", payment_id="pay-1", amount_minor=500, currency="EUR")
    assert order.cancel("customer", NOW, refund) is True
    assert order.cancellation is not None and order.cancellation.refund == refund
    assert order.cancellation.reservation_id == "res-1"


def test_a_confirmed_order_is_cancelled_after_completion_and_only_once() -> None:
    order = reserved_order()
    order.record_payment("pay-1", 500, "EUR", NOW)
    order.confirm(NOW)
    order.request_fulfillment(NOW)
    assert order.request_cancellation(NOW) == "after-completion"
    order.cancel(
        "customer", NOW, RefundRecord(refund_id="r", payment_id="pay-1", amount_minor=500, currency="EUR")
    )
    with pytest.raises(OrderAlreadyCancelled):
        order.request_cancellation(NOW)
    assert order.cancel("timeout", NOW) is False


def test_a_reservation_arriving_after_a_timeout_cancellation_is_not_recorded() -> None:
    order = accepted_order()
    order.place(NOW)
    order.cancel("timeout", NOW, detail="no answer")
    assert order.record_reservation("res-late", (), NOW) is False
    assert order.status == "cancelled" and order.reservation_id is None


def test_pricing_uses_the_catalog_and_refuses_unknown_skus_and_broken_limits() -> None:
    prices = {"A": Price(unit_price_minor=199, currency="EUR", updated_at=NOW), "B": None}
    lines, total, currency = price_lines([("A", 3)], prices, OrderLimits())
    assert (lines[0].line_total_minor, total, currency) == (597, 597, "EUR")
    with pytest.raises(UnknownSku) as unknown:
        price_lines([("A", 1), ("B", 1), ("C", 1)], prices, OrderLimits())
    assert unknown.value.skus == ["B", "C"]
    with pytest.raises(LimitExceeded, match=r"lines\[0\].quantity"):
        price_lines([("A", 11)], prices, OrderLimits(max_quantity=10))
    with pytest.raises(LimitExceeded, match="at most 1"):
        price_lines([("A", 1), ("A", 1)], prices, OrderLimits(max_lines=1))


def test_a_catalog_price_is_set_once_per_change_and_never_negative() -> None:
    item = CatalogItem("SKU-1")
    item.set_price(100, "EUR", NOW)
    item.set_price(100, "EUR", NOW)
    item.set_price(120, "EUR", NOW)
    assert len(item.pending_events) == 2 and item.price is not None and item.price.unit_price_minor == 120
    with pytest.raises(ValueError, match="negative"):
        item.set_price(-1, "EUR", NOW)
