"""The values an event store takes and returns."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JsonObject = dict[str, Any]
"""A dict that `json.dumps` accepts: str keys; str, int, float, bool, None, list and dict values."""


class _RandomPool(threading.local):
    """Random bytes fetched from the OS 4 KiB at a time per thread: a random UUID per event
    costs no system call (each one gives the GIL away and must wait to take it back). The pool
    remembers the process it was filled in, so a forked child never reuses its parent's bytes."""

    def __init__(self) -> None:
        self.pid, self.buffer, self.offset = 0, b"", 0

    def take16(self) -> bytes:
        if self.offset >= len(self.buffer) or self.pid != os.getpid():
            self.pid, self.buffer, self.offset = os.getpid(), os.urandom(4096), 0
        chunk = self.buffer[self.offset : self.offset + 16]
        self.offset += 16
        return chunk


_POOL = _RandomPool()


def _new_event_id() -> str:
    """A random (version 4) UUID from the OS's cryptographic random source, as `uuid.uuid4`."""
    return str(uuid.UUID(bytes=_POOL.take16(), version=4))


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. `event_id` is unique per event and stable across retries of the same
    decision (the CloudEvent `id`): keep the NewEvent and retry with it rather than rebuilding it."""

    type: str
    data: JsonObject
    metadata: JsonObject = field(default_factory=dict)
    event_id: str = field(default_factory=_new_event_id)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as committed.

    `version` is 1-based and contiguous within its stream. `position` is the event's place in
    the store-wide feed (`EventStore.read_all`); each adapter documents how positions follow
    commit order. `recorded_at` is the UTC time the append was accepted.
    """

    stream_id: str
    version: int
    position: int
    type: str
    data: JsonObject
    metadata: JsonObject
    event_id: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Tracking:
    """What an idempotent consumer records with its change: `consumer` is its name, `key` what
    it processed (an event id, or "stream:version"). A (consumer, key) pair is recorded once."""

    consumer: str
    key: str


@dataclass(frozen=True, slots=True)
class StreamAppend:
    """One stream's part of `EventStore.append_many`: append `events` to `stream_id` if it is at
    `expected_version` (0 = the stream does not exist yet)."""

    stream_id: str
    expected_version: int
    events: Sequence[NewEvent]
