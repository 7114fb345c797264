"""In-memory EventStore for unit tests of services: same contract, no I/O, one process.

Data and metadata are copied through JSON on the way in and out, so a test catches values that
a real store would refuse and cannot mutate stored events by accident. Positions are assigned
under one lock, so they are contiguous and follow commit order exactly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from eventkit.store.errors import AlreadyProcessed, BatchConcurrencyError, ConcurrencyError
from eventkit.store.events import NewEvent, StoredEvent, StreamAppend, Tracking
from eventkit.store.port import (
    EventStore,
    check_append,
    check_append_many,
    check_feed_args,
    check_stream_id,
    check_tracking,
    dump_json,
)


class InMemoryEventStore(EventStore):
    """Thread-safe, process-local event store. Nothing survives the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[str, list[StoredEvent]] = {}
        self._feed: list[StoredEvent] = []
        self._processed: set[tuple[str, str]] = set()

    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        tracking: Tracking | None = None,
    ) -> int:
        check_append(stream_id, expected_version, events)
        if tracking is not None:
            check_tracking(tracking.consumer, tracking.key)
        encoded = [(e, dump_json(e.data, "data", e), dump_json(e.metadata, "metadata", e)) for e in events]
        with self._lock:
            stream = self._streams.get(stream_id, [])
            if len(stream) != expected_version:
                raise ConcurrencyError(stream_id, expected_version, len(stream))
            if tracking is not None and (tracking.consumer, tracking.key) in self._processed:
                raise AlreadyProcessed(tracking.consumer, tracking.key)
            now = datetime.now(UTC)
            stored = [
                StoredEvent(
                    stream_id=stream_id,
                    version=expected_version + index,
                    position=len(self._feed) + index,
                    type=event.type,
                    data=json.loads(data),
                    metadata=json.loads(metadata),
                    event_id=event.event_id,
                    recorded_at=now,
                )
                for index, (event, data, metadata) in enumerate(encoded, start=1)
            ]
            self._streams[stream_id] = stream + stored
            self._feed.extend(stored)
            if tracking is not None:
                self._processed.add((tracking.consumer, tracking.key))
            return expected_version + len(stored)

    def append_many(self, appends: Sequence[StreamAppend]) -> list[int]:
        """Atomic under the store's lock: every stream's events, or `BatchConcurrencyError` naming
        each clashing stream and nothing written."""
        check_append_many(appends)
        encoded = [
            [(e, dump_json(e.data, "data", e), dump_json(e.metadata, "metadata", e)) for e in part.events]
            for part in appends
        ]
        with self._lock:
            conflicts = [
                ConcurrencyError(
                    part.stream_id, part.expected_version, len(self._streams.get(part.stream_id, []))
                )
                for part in appends
                if len(self._streams.get(part.stream_id, [])) != part.expected_version
            ]
            if conflicts:
                raise BatchConcurrencyError(conflicts)
            now = datetime.now(UTC)
            for part, events in zip(appends, encoded, strict=True):
                stored = [
                    StoredEvent(
                        stream_id=part.stream_id,
                        version=part.expected_version + index,
                        position=len(self._feed) + index,
                        type=event.type,
                        data=json.loads(data),
                        metadata=json.loads(metadata),
                        event_id=event.event_id,
                        recorded_at=now,
                    )
                    for index, (event, data, metadata) in enumerate(events, start=1)
                ]
                self._streams[part.stream_id] = self._streams.get(part.stream_id, []) + stored
                self._feed.extend(stored)
            return [part.expected_version + len(part.events) for part in appends]

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[StoredEvent]:
        check_stream_id(stream_id)
        with self._lock:
            stream = self._streams.get(stream_id, [])
        return [_copy(e) for e in stream[max(from_version, 1) - 1 :]]

    def stream_version(self, stream_id: str) -> int:
        check_stream_id(stream_id)
        with self._lock:
            return len(self._streams.get(stream_id, []))

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        check_feed_args(after_position, limit)
        with self._lock:
            selected = self._feed[after_position : after_position + limit]
        return [_copy(e) for e in selected]

    def has_processed(self, consumer: str, key: str) -> bool:
        with self._lock:
            return (consumer, key) in self._processed

    def record_processed(self, consumer: str, key: str) -> None:
        check_tracking(consumer, key)
        with self._lock:
            if (consumer, key) in self._processed:
                raise AlreadyProcessed(consumer, key)
            self._processed.add((consumer, key))

    def close(self) -> None:
        """Nothing to release; the data stays readable for assertions after close."""


def _copy(event: StoredEvent) -> StoredEvent:
    return StoredEvent(
        stream_id=event.stream_id,
        version=event.version,
        position=event.position,
        type=event.type,
        data=json.loads(json.dumps(event.data)),
        metadata=json.loads(json.dumps(event.metadata)),
        event_id=event.event_id,
        recorded_at=event.recorded_at,
    )
