"""The query read model: orders by customer and status, and the catalog's SKUs, in SQLite.

It is a projection of the event store's feed (`EventStore.read_all`), caught up before every
query, so a list shows every order accepted before it was asked for. It holds nothing the store
does not: delete the file and it is rebuilt from position 0 (ARCHITECTURE.md section 5). Several
processes may share one file: a catch-up runs in one `BEGIN IMMEDIATE` transaction that moves the
recorded position with the rows, so no event is applied twice or skipped.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from eventkit.store import EventStore, StoredEvent

STATUS_BY_EVENT = {
    "orders.OrderAccepted": "pending",
    "orders.OrderPlaced": "placed",
    "orders.StockReserved": "reserved",
    "orders.PaymentCaptured": "paid",
    "orders.OrderConfirmed": "confirmed",
    "orders.OrderCancelled": "cancelled",
}
FEED_BATCH = 1_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS position (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
  seq INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL UNIQUE,
  customer_id TEXT NOT NULL,
  status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, seq);
CREATE TABLE IF NOT EXISTS catalog (sku TEXT PRIMARY KEY);
"""


@dataclass(frozen=True)
class IndexedOrder:
    seq: int
    order_id: str
    status: str


class OrderIndex:
    """The read model in the SQLite file at `path` (created with its folder if missing)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO position (id, value) VALUES (1, 0)")

    def catch_up(self, store: EventStore) -> int:
        """Apply every event committed since the last catch-up; returns the new position."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                position = int(self._db.execute("SELECT value FROM position").fetchone()[0])
                while batch := store.read_all(after_position=position, limit=FEED_BATCH):
                    for event in batch:
                        self._apply(event)
                    position = batch[-1].position
                self._db.execute("UPDATE position SET value = ?", (position,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return position

    def _apply(self, event: StoredEvent) -> None:
        if event.stream_id.startswith("order-"):
            order_id = event.stream_id.removeprefix("order-")
            status = STATUS_BY_EVENT.get(event.type)
            if event.type == "orders.OrderAccepted":
                self._db.execute(
                    "INSERT OR IGNORE INTO orders (order_id, customer_id, status) VALUES (?, ?, ?)",
                    (order_id, str(event.data["customer_id"]), "pending"),
                )
            elif status is not None:
                self._db.execute("UPDATE orders SET status = ? WHERE order_id = ?", (status, order_id))
        elif event.stream_id.startswith("catalog-") and event.type == "orders.PriceSet":
            self._db.execute("INSERT OR IGNORE INTO catalog (sku) VALUES (?)", (str(event.data["sku"]),))

    def orders_of(
        self, customer_id: str, status: str | None, after_seq: int, limit: int
    ) -> list[IndexedOrder]:
        """The customer's orders (of `status` if given) after `after_seq`, oldest first."""
        query = "SELECT seq, order_id, status FROM orders WHERE customer_id = ? AND seq > ?"
        args: list[object] = [customer_id, after_seq]
        if status is not None:
            query += " AND status = ?"
            args.append(status)
        query += " ORDER BY seq LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        return [IndexedOrder(int(seq), str(order_id), str(state)) for seq, order_id, state in rows]

    def skus(self, after: str, limit: int) -> list[str]:
        """Catalog SKUs after `after` in code-point order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT sku FROM catalog WHERE sku > ? ORDER BY sku LIMIT ?", (after, limit)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
