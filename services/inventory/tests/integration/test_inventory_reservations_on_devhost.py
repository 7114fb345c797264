"""Orders reserve and release stock through the bus, on a real `devhost run`: order events go on
the `orders` topic, decisions come back on the `inventory` topic's `orders` subscription."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devhost.testing import wait_for

RESERVED = "com.nightshift.inventory.stock.reserved.v1"
REJECTED = "com.nightshift.inventory.reservation.rejected.v1"
RELEASED = "com.nightshift.inventory.reservation.released.v1"
WAIT = 60.0


def new_sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:8]}"


def new_order() -> str:
    return f"ord-{uuid.uuid4().hex[:12]}"


def decisions(host: Any, order_id: str) -> list[dict[str, Any]]:
    """What the orders service receives about `order_id` on its subscription."""
    return [e for e in host.events_for_orders() if e["data"]["order_id"] == order_id]


def releases(host: Any, order_id: str) -> list[dict[str, Any]]:
    """Releases of `order_id` published on the topic (no system subscription takes them yet)."""
    return [e for e in host.all_events() if e["type"] == RELEASED and e["data"]["order_id"] == order_id]


def wait_decision(host: Any, order_id: str) -> dict[str, Any]:
    found = wait_for(lambda: decisions(host, order_id), WAIT, f"a reservation decision for {order_id}")
    return dict(found[0])


@pytest.mark.timeout(120)
def test_an_order_for_stocked_skus_is_reserved_and_a_short_one_rejected_with_its_short_lines(
    inventory_host: Any,
) -> None:
    plenty, scarce = new_sku(), new_sku()
    inventory_host.upload_feed([(plenty, "DE-BER1", 8), (plenty, "DE-HAM1", 5), (scarce, "DE-BER1", 2)])
    inventory_host.wait_stock(plenty, 13)
    inventory_host.wait_stock(scarce, 2)
    fits, short = new_order(), new_order()

    # Orders are separate sessions and run concurrently, so the short order is published only
    # once the first is decided: which warehouse the first order drains is then fixed.
    inventory_host.publish_orders([inventory_host.placed(fits, [(plenty, 10)])])
    reserved = wait_decision(inventory_host, fits)
    inventory_host.publish_orders([inventory_host.placed(short, [(plenty, 1), (scarce, 3)])])
    assert reserved["type"] == RESERVED
    assert reserved["subject"] == fits
    assert reserved["data"]["lines"] == [
        {"sku": plenty, "warehouse": "DE-BER1", "quantity": 8},
        {"sku": plenty, "warehouse": "DE-HAM1", "quantity": 2},
    ]
    rejected = wait_decision(inventory_host, short)
    assert rejected["type"] == REJECTED
    assert rejected["data"]["reason"] == "insufficient-stock"
    assert rejected["data"]["short_lines"] == [{"sku": scarce, "requested": 3, "available": 2}]
    stock = inventory_host.get(f"/api/stock/{plenty}").json()
    assert stock["available"] == 3  # the short order gave back the unit it had taken of `plenty`
    assert [(w["on_hand"], w["reserved"]) for w in stock["warehouses"]] == [(8, 8), (5, 2)]


@pytest.mark.timeout(120)
def test_an_order_for_a_sku_nobody_stocks_is_rejected_as_unknown(inventory_host: Any) -> None:
    order = new_order()
    inventory_host.publish_orders([inventory_host.placed(order, [(new_sku(), 1)])])

    rejected = wait_decision(inventory_host, order)
    assert rejected["type"] == REJECTED
    assert rejected["data"]["reason"] == "unknown-sku"


@pytest.mark.timeout(120)
def test_a_cancelled_order_releases_its_stock_once(inventory_host: Any) -> None:
    sku, order = new_sku(), new_order()
    inventory_host.upload_feed([(sku, "DE-BER1", 20)])
    inventory_host.wait_stock(sku, 20)
    inventory_host.publish_orders([inventory_host.placed(order, [(sku, 7)])])
    reservation_id = wait_decision(inventory_host, order)["data"]["reservation_id"]
    assert inventory_host.get(f"/api/stock/{sku}").json()["available"] == 13

    inventory_host.publish_orders([inventory_host.cancelled(order)])
    inventory_host.publish_orders([inventory_host.cancelled(order)])  # a second cancellation (new event id)

    released = wait_for(
        lambda: releases(inventory_host, order),
        WAIT,
        "reservation.released",
    )
    assert released[0]["data"] == {
        "order_id": order,
        "reservation_id": reservation_id,
        "reason": "order-cancelled",
    }
    wait_for(lambda: inventory_host.get(f"/api/stock/{sku}").json()["available"] == 20, WAIT, "stock back")
    processed = wait_for(lambda: _bus_idle(inventory_host), WAIT, "orders/inventory to drain")
    assert processed
    assert len(releases(inventory_host, order)) == 1


@pytest.mark.timeout(120)
def test_a_repeated_order_placed_changes_nothing(inventory_host: Any) -> None:
    sku, order = new_sku(), new_order()
    inventory_host.upload_feed([(sku, "DE-BER1", 10)])
    inventory_host.wait_stock(sku, 10)
    first = inventory_host.placed(order, [(sku, 4)])
    inventory_host.publish_orders([first])
    wait_decision(inventory_host, order)

    inventory_host.publish_orders(
        [inventory_host.placed(order, [(sku, 4)], event_id=first.get_id())]
    )  # same event id
    inventory_host.publish_orders([inventory_host.placed(order, [(sku, 4)])])  # same order, new event id
    wait_for(lambda: _bus_idle(inventory_host), WAIT, "orders/inventory to drain")

    stock = inventory_host.get(f"/api/stock/{sku}").json()
    assert (stock["available"], stock["warehouses"][0]["reserved"]) == (6, 4)
    assert len(decisions(inventory_host, order)) == 1


@pytest.mark.timeout(180)
def test_200_concurrent_orders_for_stock_of_50_reserve_exactly_50_and_reject_the_rest(
    inventory_host: Any,
) -> None:
    sku = new_sku()
    inventory_host.upload_feed([(sku, "DE-BER1", 30), (sku, "DE-HAM1", 20)])
    inventory_host.wait_stock(sku, 50)
    orders = [new_order() for _ in range(200)]

    with ThreadPoolExecutor(max_workers=8) as pool:  # eight publishers sending at once
        list(
            pool.map(lambda o: inventory_host.publish_orders([inventory_host.placed(o, [(sku, 1)])]), orders)
        )

    def all_decided() -> list[dict[str, Any]] | None:
        mine = [e for e in inventory_host.events_for_orders() if e["data"]["order_id"] in set(orders)]
        return mine if len(mine) >= len(orders) else None

    outcome = wait_for(all_decided, 150.0, "a decision for every one of the 200 orders")
    by_type: dict[str, int] = {}
    for event in outcome:
        by_type[event["type"]] = by_type.get(event["type"], 0) + 1
    assert by_type == {RESERVED: 50, REJECTED: 150}
    assert (
        sum(line["quantity"] for e in outcome if e["type"] == RESERVED for line in e["data"]["lines"]) == 50
    )
    stock = inventory_host.get(f"/api/stock/{sku}").json()
    assert stock["available"] == 0
    assert [(w["warehouse"], w["on_hand"], w["reserved"]) for w in stock["warehouses"]] == [
        ("DE-BER1", 30, 30),
        ("DE-HAM1", 20, 20),
    ]


def _bus_idle(host: Any) -> bool:
    bus = host.layout.open_servicebus()
    try:
        return bool(bus.runtime_properties("orders/subscriptions/inventory").active_message_count == 0)
    finally:
        bus.close()
