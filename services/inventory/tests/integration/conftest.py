"""Fixtures for driving the inventory app on a real `devhost run`, the way a user would: files
dropped into the uploads folder, order events published on the `orders` topic, results read from
the `inventory` topic (with `devhost tail`), the `inventory-stock` hub and the HTTP API."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.v1.event import CloudEvent

from contracts.common import OrderLine
from contracts.orders import OrderCancelledV1, OrderPlacedV1
from devhost.state import StateLayout
from devhost.testing import DevhostProcess, Response, free_port_block, http, wait_for
from eventkit import envelope
from eventkit.bus.eventhubs import PartitionReader
from eventkit.bus.servicebus import EmbeddedServiceBus, EntityNotFound
from eventkit.publishing.embedded import EmbeddedPublisher

APP = Path(__file__).resolve().parents[2]
WAIT = 60.0
DEVHOST_CLI = str(Path(sys.executable).with_name("devhost"))


def _placed(order_id: str, lines: list[tuple[str, int]], event_id: str | None = None) -> CloudEvent:
    """An `orders.order.placed.v1` CloudEvent as the orders service would publish it."""
    model = OrderPlacedV1(
        order_id=order_id,
        customer_id=f"cust-{uuid.uuid4().hex[:8]}",
        lines=[
            OrderLine(sku=sku, quantity=qty, unit_price_minor=100, line_total_minor=100 * qty)
            for sku, qty in lines
        ],
        total_minor=sum(100 * qty for _, qty in lines),
        currency="EUR",
        placed_at=datetime.now(UTC),
    )
    return envelope.build(model, subject=order_id, event_id=event_id)


def _cancelled(order_id: str) -> CloudEvent:
    """An `orders.order.cancelled.v1` CloudEvent for `order_id` (cancelled by the customer)."""
    return envelope.build(OrderCancelledV1(order_id=order_id, reason="customer"), subject=order_id)


class InventoryHost:
    """One running inventory app and the ways a user reaches it."""

    def __init__(self, process: DevhostProcess) -> None:
        self.process = process
        self.layout = StateLayout(process.state)

    placed = staticmethod(_placed)
    cancelled = staticmethod(_cancelled)

    @property
    def key(self) -> dict[str, str]:
        return {"x-functions-key": str(self.process.keys(APP.name)["functionKeys"]["default"])}

    def get(self, path: str) -> Response:
        return http("GET", self.process.url(0, path), headers=self.key)

    def upload_feed(self, rows: list[tuple[str, str, int]], supplier: str = "acme") -> str:
        """Drop a CSV feed (sku, warehouse, on hand) into the uploads folder; returns its blob name."""
        name = f"{supplier}/stock-{uuid.uuid4().hex[:8]}.csv"
        target = self.layout.blobs_root / "inventory-uploads" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(f"{sku},{warehouse},{on_hand},1.00\n" for sku, warehouse, on_hand in rows)
        temporary = target.with_name(f".tmp-{target.name}")
        temporary.write_text("sku,warehouse,on_hand,unit_cost\n" + lines)
        temporary.rename(target)
        return name

    def wait_stock(self, sku: str, on_hand: int) -> dict[str, Any]:
        """Poll `GET /api/stock/{sku}` until the SKU has `on_hand` units in all; its body."""

        def ready() -> dict[str, Any] | None:
            answer = self.get(f"/api/stock/{sku}")
            if answer.status != 200:
                return None
            body: dict[str, Any] = answer.json()
            return body if sum(w["on_hand"] for w in body["warehouses"]) == on_hand else None

        result: dict[str, Any] = wait_for(ready, WAIT, f"stock of {sku} to reach {on_hand}")
        return result

    def publish_orders(self, events: list[CloudEvent]) -> None:
        """Publish order events on the `orders` topic once devhost provisioned the subscription."""
        bus = self.layout.open_servicebus()
        try:
            wait_for(
                lambda: any(s.name == "inventory" for s in _subscriptions(bus, "orders")),
                WAIT,
                "subscription orders/inventory",
            )
            EmbeddedPublisher(bus).publish("orders", events)
        finally:
            bus.close()

    def events_for_orders(self) -> list[dict[str, Any]]:
        """Every CloudEvent waiting on the `inventory` topic's `orders` subscription (peeked)."""
        return self._peek("inventory/subscriptions/orders")

    def all_events(self) -> list[dict[str, Any]]:
        """Every CloudEvent the app published on the `inventory` topic (the local-only `audit`
        subscription of devhost.namespace.json, which has no filter)."""
        return self._peek("inventory/subscriptions/audit")

    def events_for_reporting(self) -> list[dict[str, Any]]:
        return self._peek("inventory/subscriptions/reporting")

    def events_for_purchasing(self) -> list[dict[str, Any]]:
        return self._peek("inventory/subscriptions/purchasing")

    def _peek(self, path: str) -> list[dict[str, Any]]:
        """What `devhost tail PATH --json` prints (a peek: nothing is taken off the subscription)."""
        state = str(self.process.state)
        command = [DEVHOST_CLI, "tail", path, "--json", "--timeout", "0.2", "--state", state]
        done = subprocess.run(command, capture_output=True, text=True, timeout=WAIT, check=False)
        if done.returncode != 0:
            raise AssertionError(f"devhost tail {path} exited {done.returncode}: {done.stderr.strip()}")
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def stock_hub_events(self) -> list[tuple[str, dict[str, Any]]]:
        """Every event on hub `inventory-stock` (consumer group `$Default`, from the start), as
        (partition key, CloudEvent)."""
        hubs = self.layout.open_eventhubs()
        try:
            result: list[tuple[str, dict[str, Any]]] = []
            for partition in hubs.get_partition_ids("inventory-stock"):
                reader = PartitionReader(hubs, "inventory-stock", "$Default", partition, "@earliest")
                while batch := reader.receive(1000, max_wait_time=0):
                    result.extend((str(e.partition_key), json.loads(bytes(e.body))) for e in batch)
            return result
        finally:
            hubs.close()


def _subscriptions(bus: EmbeddedServiceBus, topic: str) -> list[Any]:
    try:
        return list(bus.list_subscriptions(topic))
    except EntityNotFound:
        return []


def start(state: Path) -> DevhostProcess:
    process = DevhostProcess([APP], state, free_port_block(1), [], {})
    try:
        process.wait_running(0, APP.name)
    except BaseException:
        process.stop()
        raise
    return process


@pytest.fixture
def start_inventory() -> Iterator[Callable[[Path], InventoryHost]]:
    """Starts the app on a given state folder (again, for restarts); stops what is left at the end."""
    started: list[DevhostProcess] = []

    def run(state: Path) -> InventoryHost:
        process = start(state)
        started.append(process)
        return InventoryHost(process)

    yield run
    for process in started:
        process.stop()


@pytest.fixture
def inventory_host(tmp_path: Path) -> Iterator[InventoryHost]:
    process = start(tmp_path / "state")
    try:
        yield InventoryHost(process)
    finally:
        process.stop()
