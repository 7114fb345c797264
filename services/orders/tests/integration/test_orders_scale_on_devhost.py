"""1,000 orders placed at once by many HTTP clients over 20 SKUs with scarce stock, on a real
`devhost run` with inventory: every order reaches its outcome, each SKU's units add up between
inventory's stock and the events on the topics, nothing is oversold, nobody is charged twice."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from orders.payments import SimulatedPaymentGateway

from devhost.testing import DevhostProcess, free_port_block

from .conftest import INVENTORY, ORDERS, OrdersHost
from .saga_invariants import (
    ORDER_TYPE,
    Placed,
    check_money,
    check_one_outcome,
    check_stock,
    peek_all,
    place,
    wait_all_final,
)

ORDERS_PLACED = 1_000
CLIENTS = 16
SKUS = 20
UNITS_PER_SKU = 30
"""1,000 orders of 1-2 units ask for about 1,500 units of the 600 in stock."""


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[OrdersHost]:
    env = {"ORDERS_RESERVATION_TIMEOUT_SECONDS": "120", "ORDERS_PAYMENT_RETRY_FIRST_MS": "100"}
    process = DevhostProcess([INVENTORY, ORDERS], tmp_path / "state", free_port_block(2), [], env)
    try:
        process.wait_running(0, INVENTORY.name)
        process.wait_running(1, ORDERS.name)
        yield OrdersHost(process, 1)
    finally:
        process.stop()


def wait_outcomes_published(host: OrdersHost, order_ids: set[str], timeout: float) -> None:
    """Bounded wait until topic `orders` carries a confirmed or cancelled event for every order
    (cheaper than polling 1,000 orders over HTTP)."""
    outcomes = {ORDER_TYPE.format("confirmed"), ORDER_TYPE.format("cancelled")}
    give_up = time.monotonic() + timeout
    while missing := order_ids - {
        e["subject"] for e in peek_all(host, "orders", "audit") if e["type"] in outcomes
    }:
        assert time.monotonic() < give_up, f"{len(missing)} order(s) have no outcome on topic orders"
        time.sleep(0.5)


@pytest.mark.timeout(300)
def test_a_thousand_concurrent_orders_over_scarce_stock_end_once_and_every_unit_adds_up(
    shop: OrdersHost,
) -> None:
    skus = [f"SKU-{n:02d}-{uuid.uuid4().hex[:6]}" for n in range(SKUS)]
    for sku in skus:
        shop.set_price(sku, 199)
    shop.upload_feed([(sku, "DE-BER1", UNITS_PER_SKU) for sku in skus])
    for sku in skus:
        shop.wait_available(sku, UNITS_PER_SKU)
    rng = random.Random()
    wanted = [
        (f"cust-{uuid.uuid4().hex[:12]}", [(rng.choice(skus), rng.randint(1, 2))])
        for _ in range(ORDERS_PLACED)
    ]

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as clients:
        placed: list[Placed] = list(
            clients.map(lambda order: place(lambda: shop, order[0], order[1], uuid.uuid4().hex), wanted)
        )
    accepted = time.monotonic() - started
    wait_outcomes_published(shop, {o.order_id for o in placed}, 240)
    published = time.monotonic() - started

    final = wait_all_final(shop, placed, 60)
    outcomes = check_one_outcome(shop, final)
    check_money(shop, final)
    check_stock(shop, placed, final, {sku: UNITS_PER_SKU for sku in skus})
    requested: Counter[str] = Counter()
    for event in peek_all(shop, "orders", "fulfillment"):
        for line in event["data"]["lines"]:
            requested[line["sku"]] += line["quantity"]
    confirmed: Counter[str] = Counter()
    for order in placed:
        if final[order.order_id]["status"] == "confirmed":
            confirmed.update({sku: quantity for sku, quantity in order.lines})
    assert requested == confirmed, "units in fulfillment-requested events != units of confirmed orders"
    for sku in skus:
        stock = shop.stock(sku)
        assert stock is not None and stock["available"] == UNITS_PER_SKU - requested[sku]
    ledger = SimulatedPaymentGateway(shop.layout.root / "payments" / "simulator.db")
    charged = Counter(charge.customer_id for charge in ledger.charges())
    assert charged and max(charged.values()) == 1, "a customer was charged twice"
    print(
        f"\n{len(placed)} orders accepted in {accepted:.1f} s, every outcome published after "
        f"{published:.1f} s: {outcomes}; {sum(requested.values())} of {SKUS * UNITS_PER_SKU} units requested"
    )
    assert len(final) == ORDERS_PLACED
    assert outcomes.counts["confirmed"] > 0 and outcomes.counts["cancelled (out-of-stock)"] > 0
