"""The inventory app on a real `devhost run`: a supplier drops a CSV with one bad row."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, free_port_block, http, wait_for

APP = Path(__file__).resolve().parents[2]
WAIT = 60.0


@pytest.fixture
def devhost(tmp_path: Path) -> Iterator[DevhostProcess]:
    host = DevhostProcess([APP], tmp_path / "state", free_port_block(1), [], {})
    try:
        host.wait_running(0, APP.name)
        yield host
    finally:
        host.stop()


def feed_events(layout: StateLayout) -> list[dict[str, Any]]:
    bus = layout.open_servicebus()
    try:
        messages = bus.peek("inventory/subscriptions/reporting", max_messages=100)
    finally:
        bus.close()
    return [json.loads(bytes(m.body)) for m in messages]


@pytest.mark.timeout(120)
def test_a_dropped_feed_is_applied_its_bad_row_reported_and_its_stock_queryable(
    devhost: DevhostProcess,
) -> None:
    layout = StateLayout(devhost.state)
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    upload = layout.blobs_root / "inventory-uploads" / "acme" / f"stock-{uuid.uuid4().hex[:6]}.csv"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_text(f"sku,warehouse,on_hand,unit_cost\n{sku},DE-BER1,12,3.50\n{sku},DE-HAM1,-4,3.50\n")

    processed = wait_for(
        lambda: [e for e in feed_events(layout) if e["type"].endswith("feed.processed.v1")],
        WAIT,
        "feed.processed",
    )
    data = processed[0]["data"]
    assert (data["rows_total"], data["rows_applied"], data["rows_rejected"]) == (2, 1, 1)
    assert data["quarantine_location"] == f"inventory-quarantine/acme/{upload.name}.rejected.csv"

    key = {"x-functions-key": devhost.master_key(APP.name)}
    stock = http("GET", devhost.url(0, f"/api/stock/{sku}"), headers=key)
    assert stock.status == 200, stock.text
    assert stock.json()["warehouses"] == [
        {"warehouse": "DE-BER1", "on_hand": 12, "reserved": 0, "available": 12}
    ]
    rejected = http("GET", devhost.url(0, f"/api/feeds/{data['feed_id']}/rejected-rows"), headers=key)
    assert rejected.json()["rows"] == [
        {"line": 3, "reason": "negative count in on_hand: -4", "row": f"{sku},DE-HAM1,-4,3.50"}
    ]
    missing = http("GET", devhost.url(0, "/api/stock/NO-SUCH-SKU"), headers=key)
    assert missing.status == 404 and missing.headers.get("Content-Type", "").startswith(
        "application/problem+json"
    )
