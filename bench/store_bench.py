"""EventStore (SQLite adapter) append throughput, single-event and batched appends."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eventkit.store import NewEvent, SQLiteEventStore

STREAMS = 100


def payloads(count: int) -> list[dict[str, Any]]:
    """Events shaped like a supplier feed's stock adjustments (~200 bytes of JSON)."""
    return [
        {
            "sku": f"SKU-{i % 5000:05d}",
            "warehouse": "WH-LON-1",
            "on_hand": i % 977,
            "delta": (i % 13) - 6,
            "reason": "feed",
            "cause_id": f"feed-{i // 2000:04d}",
        }
        for i in range(count)
    ]


def store_appends(path: Path, events: Sequence[dict[str, Any]], batch: int) -> float:
    """Events/s appended through `SQLiteEventStore.append`, `batch` events per append, spread
    over STREAMS streams with the expected version tracked by the caller."""
    store = SQLiteEventStore(path)
    versions = [0] * STREAMS
    new_events = [NewEvent(type="StockAdjusted", data=e) for e in events]
    started = time.perf_counter()
    for n, start in enumerate(range(0, len(new_events), batch)):
        stream = n % STREAMS
        chunk = new_events[start : start + batch]
        versions[stream] = store.append(f"stock-{stream}", versions[stream], chunk)
    elapsed = time.perf_counter() - started
    store.close()
    return len(events) / elapsed
