"""The outbox relay on a real `devhost run`: what a feed changes reaches the `inventory-stock` hub
and the `inventory` topic exactly once, across a restart of devhost in the middle of a feed."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import wait_for

ADJUSTED = "com.nightshift.inventory.stock.adjusted.v1"
LOW = "com.nightshift.inventory.stock.low.v1"
WAIT = 60.0


def adjusted_of(host: Any, skus: set[str]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (key, event)
        for key, event in host.stock_hub_events()
        if event["type"] == ADJUSTED and event["data"]["sku"] in skus
    ]


@pytest.mark.timeout(180)
def test_every_stock_change_of_a_feed_reaches_the_hub_once_keyed_by_sku_across_a_restart(
    tmp_path: Path, start_inventory: Any
) -> None:
    host = start_inventory(tmp_path / "state")
    skus = [f"SKU-{uuid.uuid4().hex[:8]}" for _ in range(1000)]
    rows = [(sku, warehouse, 20 + i) for i, sku in enumerate(skus) for warehouse in ("DE-BER1", "DE-HAM1")]
    try:
        host.upload_feed(rows)
        wait_for(lambda: adjusted_of(host, set(skus)), WAIT, "the first stock.adjusted on the hub")
    finally:
        host.process.stop()  # SIGTERM while the relay is part-way through the feed (2,000 events)
    host = start_inventory(tmp_path / "state")
    try:
        wanted = len(rows)
        wait_for(lambda: len(adjusted_of(host, set(skus))) >= wanted, WAIT, f"{wanted} stock.adjusted")
        host.upload_feed([(skus[0], "DE-BER1", 7)])  # one more change after the restart
        wait_for(lambda: len(adjusted_of(host, set(skus))) >= wanted + 1, WAIT, "the later change")
        events = adjusted_of(host, set(skus))
    finally:
        host.process.stop()

    ids = Counter(event["id"] for _, event in events)
    assert [i for i, n in ids.items() if n > 1] == [] and len(events) == wanted + 1
    assert all(key == event["data"]["sku"] == event["subject"] for key, event in events)
    changes = Counter((e["data"]["sku"], e["data"]["warehouse"], e["data"]["on_hand"]) for _, e in events)
    assert changes == Counter({**{row: 1 for row in rows}, (skus[0], "DE-BER1", 7): 1})
    last_of_first = [e["data"] for _, e in events if e["data"]["sku"] == skus[0]][-1]
    assert (last_of_first["delta"], last_of_first["cause_id"].startswith("feed-")) == (-13, True)


@pytest.mark.timeout(120)
def test_stock_low_is_published_once_per_crossing_of_the_reorder_point(inventory_host: Any) -> None:
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    for on_hand in (5, 3, 50, 4):  # falls to 5 (low), 3 (still low), 50 (re-armed), 4 (low again)
        inventory_host.upload_feed([(sku, "DE-BER1", on_hand)])
        inventory_host.wait_stock(sku, on_hand)

    def lows() -> list[dict[str, Any]]:
        return [e for e in inventory_host.events_for_purchasing() if e["data"]["sku"] == sku]

    wait_for(lambda: len(lows()) >= 2, WAIT, "two stock.low events")
    wait_for(
        lambda: len([e for _, e in inventory_host.stock_hub_events() if e["data"]["sku"] == sku]) == 4,
        WAIT,
        "the four adjustments on the hub (the relay is past the last change)",
    )
    events = lows()
    assert [e["type"] for e in events] == [LOW, LOW]
    assert [(e["data"]["on_hand"], e["data"]["reorder_point"]) for e in events] == [(5, 10), (4, 10)]
    assert [e["data"]["warehouse"] for e in events] == ["DE-BER1", "DE-BER1"]
