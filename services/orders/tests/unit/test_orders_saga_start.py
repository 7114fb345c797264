"""Sagas are started from the change feed: every accepted order that is still pending gets one,
however often the feed delivers its OrderAccepted, and a replayed feed never restarts a saga that
already took a step."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from orders import handlers
from orders.handlers import Orders
from orders.integration import accepted_orders
from orders.order_index import OrderIndex

from eventkit.store import StoredEvent
from eventkit.store.memory import InMemoryEventStore

SHIP_TO = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}


def no_gateway() -> Any:
    raise AssertionError("starting sagas never pays")


@pytest.fixture
def orders(tmp_path: Path) -> Orders:
    service = Orders(store=InMemoryEventStore(), gateway=no_gateway, index=OrderIndex(tmp_path / "i.db"))
    handlers.set_price(service, "SKU-1", 250, "EUR")
    return service


def accept(orders: Orders) -> str:
    return handlers.accept_order(
        orders,
        customer_id=f"cust-{uuid.uuid4().hex[:8]}",
        idempotency_key=uuid.uuid4().hex,
        lines=[("SKU-1", 1)],
        ship_to=SHIP_TO,
    ).order.id


def feed_documents(events: list[StoredEvent]) -> list[dict[str, Any]]:
    """One change-feed document per event, in the shape devhost's and Azure's feed hand over."""
    return [
        {
            "id": f"{event.version:020d}",
            "streamId": event.stream_id,
            "kind": "append",
            "firstVersion": event.version,
            "recordedAt": event.recorded_at.isoformat(),
            "events": [{"eventId": event.event_id, "type": event.type, "data": event.data, "metadata": {}}],
        }
        for event in events
    ]


def test_every_accepted_order_in_the_feed_is_named_once_per_acceptance(orders: Orders) -> None:
    first, second = accept(orders), accept(orders)
    handlers.place_order(orders, first)

    documents = feed_documents(orders.store.read_all())

    assert accepted_orders(documents) == [first, second]
    assert accepted_orders([*documents, {"kind": "tracking"}]) == [first, second]


def test_only_orders_still_pending_get_a_saga_so_a_replayed_feed_restarts_none(orders: Orders) -> None:
    started, waiting = accept(orders), accept(orders)
    handlers.place_order(orders, started)

    replayed = accepted_orders(feed_documents(orders.store.read_all()) * 2)

    assert handlers.awaiting_saga(orders, replayed) == [waiting, waiting]
