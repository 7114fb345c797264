"""Fixtures for driving the orders app on a real `devhost run`, beside the inventory app, the way
a user would: prices through the catalog API, stock through an inventory feed upload, orders
through the order API; events read from the `orders` topic's subscriptions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, Response, free_port_block, http, wait_for

ORDERS = Path(__file__).resolve().parents[2]
INVENTORY = ORDERS.parent / "inventory"
WAIT = 60.0
SHIP_TO = {
    "name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}


class OrdersHost:
    """A running `devhost run` with the orders app (and inventory's, when started with it)."""

    def __init__(self, process: DevhostProcess, orders_index: int) -> None:
        self.process = process
        self.index = orders_index
        self.layout = StateLayout(process.state)

    def _key(self, app: str, admin: bool = False) -> dict[str, str]:
        keys = self.process.keys(app)
        return {"x-functions-key": str(keys["masterKey"] if admin else keys["functionKeys"]["default"])}

    @property
    def key(self) -> dict[str, str]:
        return self._key(ORDERS.name)

    @property
    def admin_key(self) -> dict[str, str]:
        return self._key(ORDERS.name, admin=True)

    def url(self, path: str) -> str:
        return self.process.url(self.index, path)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        return http(method, self.url(path), data, {**self.key, **(headers or {})})

    def set_price(self, sku: str, unit_price_minor: int) -> None:
        answer = http(
            "PUT",
            self.url(f"/api/catalog/{sku}"),
            json.dumps({"unit_price_minor": unit_price_minor, "currency": "EUR"}).encode(),
            self.admin_key,
        )
        assert answer.status == 200, answer.text

    def place(self, customer_id: str, lines: list[tuple[str, int]], key: str | None = None) -> Response:
        body = {
            "customer_id": customer_id,
            "lines": [{"sku": s, "quantity": q} for s, q in lines],
            "ship_to": SHIP_TO,
        }
        return self.call("POST", "/api/orders", body, {"Idempotency-Key": key or uuid.uuid4().hex})

    def order(self, order_id: str) -> dict[str, Any]:
        answer = self.call("GET", f"/api/orders/{order_id}")
        assert answer.status == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def wait_final(self, order_id: str, timeout: float = WAIT) -> dict[str, Any]:
        """Poll until the saga's outcome: confirmed with fulfilment requested, or cancelled."""

        def final() -> dict[str, Any] | None:
            body = self.order(order_id)
            done = body["status"] == "cancelled" or body["fulfillment_requested"]
            return body if done else None

        result: dict[str, Any] = wait_for(final, timeout, f"order {order_id} to be final")
        return result

    def wait_status(self, order_id: str, status: str) -> dict[str, Any]:
        result: dict[str, Any] = wait_for(
            lambda: (o := self.order(order_id))["status"] == status and o, WAIT, f"{order_id} to be {status}"
        )
        return result

    def peek(self, topic: str, subscription: str) -> list[dict[str, Any]]:
        """Every CloudEvent waiting on a subscription (peeked, not received)."""
        bus = self.layout.open_servicebus()
        try:
            messages = bus.peek(f"{topic}/subscriptions/{subscription}", max_messages=10_000)
        finally:
            bus.close()
        return [json.loads(bytes(m.body)) for m in messages]

    # --- inventory, when it runs beside ---------------------------------------------------

    def upload_feed(self, rows: list[tuple[str, str, int]]) -> None:
        """Drop a CSV feed (sku, warehouse, on hand) into inventory's uploads folder."""
        target = self.layout.blobs_root / "inventory-uploads" / "acme" / f"stock-{uuid.uuid4().hex[:8]}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(f"{sku},{warehouse},{on_hand},1.00\n" for sku, warehouse, on_hand in rows)
        temporary = target.with_name(f".tmp-{target.name}")
        temporary.write_text("sku,warehouse,on_hand,unit_cost\n" + lines)
        temporary.rename(target)

    def stock(self, sku: str) -> dict[str, Any] | None:
        answer = http("GET", self.process.url(0, f"/api/stock/{sku}"), headers=self._key(INVENTORY.name))
        if answer.status != 200:
            return None
        body: dict[str, Any] = answer.json()
        return body

    def wait_available(self, sku: str, available: int) -> None:
        wait_for(
            lambda: (s := self.stock(sku)) is not None and s["available"] == available,
            WAIT,
            f"{sku} at {available}",
        )


def _start(apps: list[Path], state: Path, env: dict[str, str]) -> DevhostProcess:
    process = DevhostProcess(apps, state, free_port_block(len(apps)), [], env)
    try:
        for index, app in enumerate(apps):
            process.wait_running(index, app.name)
    except BaseException:
        process.stop()
        raise
    return process


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrdersHost]:
    """Inventory (port +0) and orders (port +1) on one state folder; payments retried quickly."""
    state = tmp_path_factory.mktemp("orders-system") / "state"
    process = _start(
        [INVENTORY, ORDERS],
        state,
        {"ORDERS_RESERVATION_TIMEOUT_SECONDS": "60", "ORDERS_PAYMENT_RETRY_FIRST_MS": "100"},
    )
    try:
        yield OrdersHost(process, 1)
    finally:
        process.stop()


@pytest.fixture
def orders_alone(tmp_path: Path) -> Iterator[OrdersHost]:
    """The orders app without inventory (nobody answers reservations), a 2-second timeout."""
    process = _start([ORDERS], tmp_path / "state", {"ORDERS_RESERVATION_TIMEOUT_SECONDS": "2"})
    try:
        yield OrdersHost(process, 0)
    finally:
        process.stop()
