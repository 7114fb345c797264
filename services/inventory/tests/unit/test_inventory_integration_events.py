"""Domain events become contract events with stable ids, on the right destination."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from inventory.handlers import Inventory, apply_feed, release_stock, reserve_stock
from inventory.integration import STOCK_HUB, TOPIC, outgoing_events

from eventkit.blobs import FileSystemBlobStore
from eventkit.envelope import data_model
from eventkit.store import InMemoryEventStore


def test_feed_reservation_and_release_publish_their_contract_events_once_each(tmp_path: Path) -> None:
    inventory = Inventory(
        store=InMemoryEventStore(), blobs=FileSystemBlobStore(tmp_path), default_reorder_point=3
    )
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    feed = f"sku,warehouse,on_hand,unit_cost\n{sku},DE-BER1,5,2.50\nbad,row\n"
    apply_feed(inventory, "acme/a.csv", "v1", io.BytesIO(feed.encode()))
    reserve_stock(inventory, "order-1", [(sku, 2)])
    reserve_stock(inventory, "order-2", [(sku, 9)])
    release_stock(inventory, "order-1")

    first = outgoing_events(inventory.store.read_all(), inventory.mapper)
    again = outgoing_events(inventory.store.read_all(), inventory.mapper)
    assert [e.event.get_id() for e in first] == [e.event.get_id() for e in again]
    routed = [(o.destination, o.event.get_type().split(".", 3)[3]) for o in first]
    assert routed == [
        (STOCK_HUB, "stock.adjusted.v1"),
        (TOPIC, "feed.processed.v1"),
        (TOPIC, "stock.low.v1"),
        (TOPIC, "stock.reserved.v1"),
        (TOPIC, "reservation.rejected.v1"),
        (TOPIC, "reservation.released.v1"),
    ]
    adjusted = data_model(first[0].event)
    assert adjusted.model_dump(exclude_none=True) == {
        "sku": sku,
        "warehouse": "DE-BER1",
        "on_hand": 5,
        "delta": 5,
        "reason": "feed",
        "cause_id": first[1].event.get_subject(),
        "unit_cost_minor": 250,
        "currency": "EUR",
    }
