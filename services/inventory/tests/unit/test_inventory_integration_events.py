"""Domain events become contract events with stable ids, on the right destination."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inventory.handlers import Inventory, apply_feed, release_stock, reserve_stock
from inventory.integration import STOCK_HUB, TOPIC, outgoing_events, relay

from eventkit import envelope
from eventkit.blobs import FileSystemBlobStore
from eventkit.envelope import CloudEvent, data_model
from eventkit.publisher import Publisher
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


class RecordingPublisher(Publisher):
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[str]]] = []

    def publish(self, destination: str, events: Sequence[CloudEvent]) -> None:
        self.sent.append((destination, [e.get_type().split(".", 3)[3] for e in events]))


def _documents(store: InMemoryEventStore) -> list[dict[str, Any]]:
    """The store's appends as change-feed documents (one per event is enough for the relay)."""
    return [
        {
            "kind": "append",
            "streamId": e.stream_id,
            "firstVersion": e.version,
            "recordedAt": e.recorded_at.isoformat(),
            "events": [{"eventId": e.event_id, "type": e.type, "data": e.data, "metadata": e.metadata}],
        }
        for e in store.read_all(0, 10_000)
    ]


def test_stock_events_built_from_stored_data_equal_those_built_through_the_contract_models(
    tmp_path: Path,
) -> None:
    store = InMemoryEventStore()
    inventory = Inventory(store=store, blobs=FileSystemBlobStore(tmp_path), default_reorder_point=10)
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    feed = f"sku,warehouse,on_hand,unit_cost,currency\n{sku},DE-BER1,50,2.50,USD\n{sku},DE-BER1,4,0.1,\n"
    apply_feed(inventory, "acme/a.csv", "v1", io.BytesIO(feed.encode()))
    apply_feed(
        inventory,
        "acme/b.jsonl",
        "v1",
        io.BytesIO(b'{"sku":"%s","warehouse":"FR-PAR1","on_hand":0,"unit_cost":3}\n' % sku.encode()),
    )
    stock = inventory.stock
    stock.execute(
        sku,
        lambda item: item.reserve("order-1", 4),
        metadata={"correlation_id": "c-1", "causation_id": "e-1"},
    )
    stored = store.read_all(0, 10_000)

    fast = outgoing_events(stored, inventory.mapper)
    slow = outgoing_events(stored, inventory.mapper, fast=False)

    assert [(o.destination, o.event.get_attributes(), o.event.get_data()) for o in fast] == [
        (o.destination, o.event.get_attributes(), o.event.get_data()) for o in slow
    ]
    assert [envelope.encode(o.event) for o in fast] == [envelope.encode(o.event) for o in slow]
    kinds = [o.event.get_type().split(".", 3)[3] for o in fast]
    assert kinds.count("stock.adjusted.v1") == 2 and kinds.count("stock.low.v1") == 2
    assert all(data_model(o.event) for o in fast)


def test_the_relay_publishes_one_batch_per_destination_the_hub_first(tmp_path: Path) -> None:
    store = InMemoryEventStore()
    inventory = Inventory(store=store, blobs=FileSystemBlobStore(tmp_path), default_reorder_point=10)
    skus = [f"SKU-{uuid.uuid4().hex[:6]}" for _ in range(3)]
    feed = "sku,warehouse,on_hand,unit_cost\n" + "".join(
        f"{s},DE-BER1,{n},1.00\n" for n, s in enumerate(skus)
    )
    apply_feed(inventory, "acme/a.csv", "v1", io.BytesIO(feed.encode()))
    publisher = RecordingPublisher()

    sent = relay(_documents(store), inventory.mapper, {STOCK_HUB: publisher, TOPIC: publisher})

    assert sent == 2 + 3 + 1  # adjusted x2 (a count of 0 on a new SKU confirms), low x3, processed
    assert publisher.sent == [
        (STOCK_HUB, ["stock.adjusted.v1"] * 2),
        (TOPIC, ["stock.low.v1"] * 3 + ["feed.processed.v1"]),
    ]
