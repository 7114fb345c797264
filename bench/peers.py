"""The peers every figure is compared with, run in the same process on the same disk:
raw SQLite inserts (the floor any SQLite-backed design pays) and Huey's `SqliteHuey` storage
(a popular SQLite task queue doing the equivalent work)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from huey.storage import SqliteStorage


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def raw_sqlite_inserts(path: Path, payloads: Sequence[dict[str, Any]], batch: int) -> float:
    """Rows/s: JSON-encode each payload and INSERT it into a plain table, `batch` rows per
    transaction (executemany), WAL + synchronous=NORMAL like the embedded adapters."""
    connection = _connect(path)
    connection.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, kind TEXT, body TEXT, ts INTEGER)")
    started = time.perf_counter()
    for start in range(0, len(payloads), batch):
        chunk = payloads[start : start + batch]
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO rows (kind, body, ts) VALUES (?, ?, ?)",
            [("bench", json.dumps(p), 0) for p in chunk],
        )
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return len(payloads) / elapsed


def huey_enqueue(path: Path, payloads: Sequence[dict[str, Any]]) -> float:
    """Items/s: `SqliteStorage.enqueue` of each JSON-encoded payload (Huey has no batch enqueue)."""
    storage = SqliteStorage(name="bench", filename=str(path))
    started = time.perf_counter()
    for payload in payloads:
        storage.enqueue(json.dumps(payload).encode())
    elapsed = time.perf_counter() - started
    storage.close()
    return len(payloads) / elapsed


def huey_round_trip(path: Path, payloads: Sequence[dict[str, Any]], consumers: int) -> float:
    """Messages/s: enqueue every payload, then `consumers` threads dequeue until empty
    (Huey's dequeue deletes the row: the equivalent of receive + complete)."""
    storage = SqliteStorage(name="bench", filename=str(path))
    bodies = [json.dumps(p).encode() for p in payloads]
    started = time.perf_counter()
    for body in bodies:
        storage.enqueue(body)
    received = [0] * consumers

    def consume(index: int) -> None:
        worker = SqliteStorage(name="bench", filename=str(path))
        while worker.dequeue() is not None:
            received[index] += 1
        worker.close()

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(consumers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    storage.close()
    if sum(received) != len(payloads):
        raise AssertionError(f"huey lost messages: {sum(received)} of {len(payloads)}")
    return len(payloads) / elapsed
