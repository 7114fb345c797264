"""Test and benchmark support: a manual clock and entry points for other processes.

The process functions are module-level so `multiprocessing` (spawn) can start them; each
opens its own `EmbeddedServiceBus` on the shared file, as a devhost app process does.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path

from .messages import OutgoingMessage
from .namespace import EmbeddedServiceBus


class ManualClock:
    """A clock that only moves when told to; pass it as `EmbeddedServiceBus(clock=...)`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by `delta` (seconds or a timedelta); returns the new now."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step
            return self._now


def produce(db: Path, entity: str, count: int, prefix: str, batch: int = 100) -> None:
    """Send `count` messages whose bodies and ids are `<prefix>-<n>`, in batches."""
    with EmbeddedServiceBus(db) as bus:
        for start in range(0, count, batch):
            ids = [f"{prefix}-{n}" for n in range(start, min(start + batch, count))]
            bus.send(entity, [OutgoingMessage(i.encode(), message_id=i) for i in ids])


def consume(
    db: Path,
    entity_path: str,
    results: Queue[list[str]],
    idle_seconds: float = 1.0,
    limit: int | None = None,
    start: Barrier | None = None,
) -> None:
    """Receive and complete until nothing arrives for `idle_seconds` (or `limit` messages were done).

    Puts each completed batch's bodies on `results`. With `start`, waits at that barrier
    first, so several consumer processes begin together.
    """
    done = 0
    with EmbeddedServiceBus(db) as bus:
        if start is not None:
            start.wait()
        while limit is None or done < limit:
            batch = bus.receive(entity_path, max_messages=50, max_wait_time=idle_seconds)
            if not batch:
                return
            bus.complete_many([m.lock_token for m in batch if m.lock_token is not None])
            results.put([m.body.decode() for m in batch])
            done += len(batch)


def hold_locks(db: Path, entity_path: str, count: int, locked: Event) -> None:
    """Lock `count` messages, signal `locked`, then block forever (the test kills this process)."""
    with EmbeddedServiceBus(db) as bus:
        held = 0
        while held < count:
            held += len(bus.receive(entity_path, max_messages=count - held, max_wait_time=5))
        locked.set()
        threading.Event().wait()
