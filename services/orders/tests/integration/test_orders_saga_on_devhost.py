"""The order saga end to end on a real `devhost run` with inventory beside it: the real Durable
SDK, inventory's reservations over the bus, the simulated payment provider."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devhost.testing import wait_for

from .conftest import WAIT

FULFILLMENT = "com.nightshift.orders.order.fulfillment-requested.v1"
RELEASED = "com.nightshift.inventory.reservation.released.v1"


def new_sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:8]}"


def new_customer(prefix: str = "cust") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def stocked(system: Any, on_hand: int, price: int = 250) -> str:
    sku = new_sku()
    system.set_price(sku, price)
    system.upload_feed([(sku, "DE-BER1", on_hand)])
    system.wait_available(sku, on_hand)
    return sku


def events_for(system: Any, subscription: str, order_id: str) -> list[dict[str, Any]]:
    return [e for e in system.peek("orders", subscription) if e["subject"] == order_id]


@pytest.mark.timeout(120)
def test_an_in_stock_order_is_confirmed_and_fulfilment_is_asked_for_on_its_subscription(system: Any) -> None:
    sku = stocked(system, 10, price=250)
    placed = system.place(new_customer(), [(sku, 3)])
    assert placed.status == 202
    order_id = placed.json()["order_id"]
    assert placed.headers["Location"] == placed.json()["status_url"]
    assert system.order(order_id)["status"] in {"pending", "placed", "reserved", "paid", "confirmed"}

    order = system.wait_final(order_id)

    assert (order["status"], order["stage"], order["total_minor"]) == (
        "confirmed",
        "fulfillment-requested",
        750,
    )
    assert order["payment_id"] and order["reservation_id"]
    requested = wait_for(lambda: events_for(system, "fulfillment", order_id), WAIT, "fulfillment-requested")
    assert [e["type"] for e in requested] == [FULFILLMENT]
    assert requested[0]["data"]["lines"] == [{"sku": sku, "warehouse": "DE-BER1", "quantity": 3}]
    assert requested[0]["data"]["reservation_id"] == order["reservation_id"]
    published = [
        e["type"].split(".")[-2]
        for e in wait_for(
            lambda: len(events_for(system, "audit", order_id)) >= 4 and events_for(system, "audit", order_id),
            WAIT,
            "4 events",
        )
    ]
    assert published == ["placed", "payment-captured", "confirmed", "fulfillment-requested"]
    assert system.stock(sku)["available"] == 7


@pytest.mark.timeout(120)
def test_an_order_beyond_the_stock_is_cancelled_as_out_of_stock(system: Any) -> None:
    sku = stocked(system, 2)
    order_id = system.place(new_customer(), [(sku, 5)]).json()["order_id"]

    order = system.wait_final(order_id)

    assert (order["status"], order["cancellation"]) == (
        "cancelled",
        {"reason": "out-of-stock", "refund": None},
    )
    assert order["payment_id"] is None
    assert system.stock(sku)["available"] == 2


@pytest.mark.timeout(120)
def test_a_declined_payment_cancels_the_order_and_inventory_releases_its_stock(system: Any) -> None:
    sku = stocked(system, 10)
    order_id = system.place(new_customer("decline"), [(sku, 4)]).json()["order_id"]

    order = system.wait_final(order_id)

    assert order["cancellation"] == {"reason": "payment-declined", "refund": None}
    assert order["reservation_id"] is not None  # it was reserved before the payment failed
    system.wait_available(sku, 10)
    cancelled = [
        e
        for e in system.peek("orders", "audit")
        if e["subject"] == order_id and e["type"].endswith("cancelled.v1")
    ]
    assert cancelled[0]["data"]["reservation_id"] == order["reservation_id"]


@pytest.mark.timeout(120)
def test_a_customer_cancel_of_a_confirmed_order_refunds_it_and_releases_the_stock(system: Any) -> None:
    sku = stocked(system, 5)
    order_id = system.place(new_customer(), [(sku, 2)]).json()["order_id"]
    system.wait_final(order_id)

    asked = system.call("POST", f"/api/orders/{order_id}/cancel")
    order = system.wait_status(order_id, "cancelled")
    again = system.call("POST", f"/api/orders/{order_id}/cancel")

    assert asked.status == 202 and again.status == 409
    assert order["cancellation"]["reason"] == "customer"
    assert order["cancellation"]["refund"]["amount_minor"] == 500
    assert order["cancellation"]["refund"]["payment_id"] == order["payment_id"]
    system.wait_available(sku, 5)


@pytest.mark.timeout(120)
def test_the_same_idempotency_key_returns_the_same_order_and_another_body_is_a_conflict(system: Any) -> None:
    sku = stocked(system, 10)
    customer, key = new_customer(), uuid.uuid4().hex
    first = system.place(customer, [(sku, 1)], key=key)
    second = system.place(customer, [(sku, 1)], key=key)
    other = system.place(customer, [(sku, 2)], key=key)

    assert (first.status, second.status) == (202, 202)
    assert first.json()["order_id"] == second.json()["order_id"]
    assert other.status == 409 and other.json()["type"].endswith("/idempotency-key-reused")
    system.wait_final(first.json()["order_id"])
    listed = system.call("GET", f"/api/orders?customer_id={customer}").json()["items"]
    assert [o["order_id"] for o in listed] == [first.json()["order_id"]]
    assert system.stock(sku)["available"] == 9


@pytest.mark.timeout(120)
def test_server_owned_fields_and_unknown_skus_are_refused_with_problem_details(system: Any) -> None:
    sku = stocked(system, 1)
    body = {"customer_id": new_customer(), "lines": [{"sku": sku, "quantity": 1}], "total_minor": 1}
    body["ship_to"] = {"name": "A", "line1": "B", "city": "C", "postal_code": "1", "country": "DE"}
    owned = system.call("POST", "/api/orders", body, {"Idempotency-Key": "k"})
    unknown = system.place(new_customer(), [(new_sku(), 1)])
    keyless = system.call("POST", "/api/orders", {**body, "total_minor": None})

    assert owned.status == 422 and owned.json()["type"].endswith("/server-owned-field")
    assert owned.json()["errors"][0]["field"] == "total_minor"
    assert owned.headers["Content-Type"].startswith("application/problem+json")
    assert unknown.status == 422 and unknown.json()["type"].endswith("/unknown-sku")
    assert keyless.status == 400 and keyless.json()["type"].endswith("/missing-idempotency-key")


@pytest.mark.timeout(120)
def test_an_order_nobody_reserves_is_cancelled_on_timeout_and_a_customer_can_cancel_while_it_waits(
    orders_alone: Any,
) -> None:
    sku = new_sku()
    orders_alone.set_price(sku, 100)
    waiting = orders_alone.place(new_customer(), [(sku, 1)]).json()["order_id"]
    timed_out = orders_alone.place(new_customer(), [(sku, 1)]).json()["order_id"]
    orders_alone.wait_status(waiting, "placed")
    assert orders_alone.call("POST", f"/api/orders/{waiting}/cancel").status == 202

    cancelled = orders_alone.wait_final(waiting)
    expired = orders_alone.wait_final(timed_out)

    assert cancelled["cancellation"] == {"reason": "customer", "refund": None}
    assert expired["cancellation"] == {"reason": "timeout", "refund": None}

    def to_inventory() -> list[str]:
        return [
            e["type"].split(".")[-2]
            for e in orders_alone.peek("orders", "inventory")
            if e["subject"] == timed_out
        ]

    # inventory, when back, handles them in order (one session per order): reserves, then releases
    assert wait_for(lambda: len(to_inventory()) == 2 and to_inventory(), WAIT, "2 events") == [
        "placed",
        "cancelled",
    ]
