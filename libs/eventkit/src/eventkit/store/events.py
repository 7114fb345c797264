"""The values an event store takes and returns."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JsonObject = dict[str, Any]
"""A dict that `json.dumps` accepts: str keys; str, int, float, bool, None, list and dict values."""


class _RandomPool(threading.local):
    """Random bytes fetched from the OS 4 KiB at a time per thread, kept as hex: a random UUID per
    event costs no system call (each one gives the GIL away and must wait to take it back) and no
    integer arithmetic. A forked child empties its pools (`os.register_at_fork`), so it never
    reuses its parent's bytes."""

    generation = 0  # bumped in a forked child: every thread's pool is refilled before use

    def __init__(self) -> None:
        self.hex, self.offset, self.filled_in = "", 0, -1

    def take32(self) -> str:
        """32 fresh random hex digits (16 bytes)."""
        offset = self.offset
        if offset >= len(self.hex) or self.filled_in != _RandomPool.generation:
            self.hex, offset, self.filled_in = os.urandom(4096).hex(), 0, _RandomPool.generation
        self.offset = offset + 32
        return self.hex[offset : offset + 32]


def _forked() -> None:
    _RandomPool.generation += 1


os.register_at_fork(after_in_child=_forked)
_POOL = _RandomPool()
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
"""The RFC 4122 variant (bits 10) over the third group's first hex digit, keeping its low bits."""


def _new_event_id() -> str:
    """A random (version 4) UUID from the OS's cryptographic random source, as `uuid.uuid4`
    writes it: `str(uuid.UUID(bytes=random, version=4))`, without building the integer."""
    h = _POOL.take32()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


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
