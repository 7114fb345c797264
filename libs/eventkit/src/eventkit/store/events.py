"""The values an event store takes and returns."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JsonObject = dict[str, Any]
"""A dict that `json.dumps` accepts: str keys; str, int, float, bool, None, list and dict values."""


def _new_event_id() -> str:
    return str(uuid.uuid4())


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
