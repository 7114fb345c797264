"""How events and entity names are encoded in the namespace file, and checked on the way in."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from eventkit.bus.eventhubs.errors import EntityNameError, EventTooLargeError
from eventkit.bus.eventhubs.model import MAX_EVENT_SIZE, EventData, ReceivedEvent, from_epoch_ms
from eventkit.publisher import PropertyValue, TransportMessage

EventRow = tuple[bytes, str | None, str | None, str | None, str | None, str | None]
"""(body, properties JSON, content type, message id, correlation id, partition key)."""

ENTITY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9$](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$")

encode_properties = json.JSONEncoder(separators=(",", ":")).encode
decode_properties = json.JSONDecoder().decode

INSERT_EVENT = (
    "INSERT INTO events (hub_id, partition, sequence, byte_offset, enqueued_ms, body, properties,"
    " content_type, message_id, correlation_id, partition_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SELECT_EVENTS = (
    "SELECT sequence, byte_offset, enqueued_ms, body, properties, content_type, message_id,"
    " correlation_id, partition_key FROM events"
    " WHERE hub_id = ? AND partition = ? AND sequence >= ? ORDER BY sequence LIMIT ?"
)


class SentEvent(NamedTuple):
    """Where one sent event was stored."""

    partition_id: str
    sequence_number: int


@dataclass(frozen=True, slots=True)
class HubInfo:
    """A hub's row id, canonical name and partition count."""

    hub_id: int
    name: str
    partition_count: int


def check_entity_name(kind: str, name: str) -> str:
    """Return `name` when it is a valid event hub / consumer group name, else raise `EntityNameError`.

    Azure's rule: 1 to 256 letters, digits, periods, hyphens and underscores, starting and
    ending with a letter or digit (`$Default` is the one name allowed to start with `$`).
    """
    if not ENTITY_NAME_PATTERN.fullmatch(name) or (name.startswith("$") and name.lower() != "$default"):
        raise EntityNameError(
            f"{kind} name {name!r} is invalid: use 1-256 letters, digits, '.', '-' or '_',"
            " starting and ending with a letter or digit"
        )
    return name


def received_event(partition_id: str, row: tuple[Any, ...]) -> ReceivedEvent:
    sequence, offset, enqueued_ms, body, properties, content_type, message_id, correlation_id, key = row
    return ReceivedEvent(
        body=body,
        properties=decode_properties(properties) if properties else {},
        content_type=content_type,
        message_id=message_id,
        correlation_id=correlation_id,
        partition_key=key,
        partition_id=partition_id,
        sequence_number=sequence,
        offset=str(offset),
        enqueued_time=from_epoch_ms(enqueued_ms),
    )


def event_fields(
    event: EventData | TransportMessage,
) -> EventRow:
    """(body, properties JSON, content type, message id, correlation id, partition key)."""
    properties: Mapping[str, PropertyValue] = (
        event.application_properties if isinstance(event, TransportMessage) else event.properties
    )
    body, message_id = event.body, event.message_id
    if len(body) > MAX_EVENT_SIZE:
        raise EventTooLargeError(
            f"event {message_id!r} has a {len(body)}-byte body; the limit is {MAX_EVENT_SIZE} bytes"
        )
    encoded = encode_properties(properties) if properties else None
    return bytes(body), encoded, event.content_type, message_id, event.correlation_id, event.partition_key
