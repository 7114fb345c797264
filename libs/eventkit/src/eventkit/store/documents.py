"""The change-feed document of one append: the shape `CosmosEventStore` writes (and devhost's Cosmos
DB trigger delivers), and reading it back into `StoredEvent`s.

One document per append (`kind` = `append`): `id` (the first version, zero-padded), `streamId`
(the partition key), `firstVersion`, `lastVersion`, `recordedAt` (ISO 8601) and `events`, each
`eventId`, `type`, `data`, `metadata`. Tracking documents (`kind` = `tracking`) share the container
and are skipped by readers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from eventkit.store.events import NewEvent, StoredEvent


def append_document(
    stream_id: str, expected_version: int, events: Sequence[NewEvent], recorded_at: datetime
) -> dict[str, Any]:
    """The document of `events` appended to `stream_id` after `expected_version`."""
    return {
        "id": f"{expected_version + 1:020d}",
        "streamId": stream_id,
        "kind": "append",
        "firstVersion": expected_version + 1,
        "lastVersion": expected_version + len(events),
        "recordedAt": recorded_at.isoformat(),
        "events": [
            {"eventId": e.event_id, "type": e.type, "data": e.data, "metadata": e.metadata} for e in events
        ],
    }


def recorded_time(value: object) -> datetime:
    """`recordedAt` as an aware datetime. A time without an offset is UTC: the Functions host's
    Cosmos DB extension may re-serialise date strings and drop the offset the store wrote.
    Anything else (missing, not a time) is now, so one odd document never stops a relay."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return datetime.now(UTC)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def events_of_document(document: Mapping[str, Any], position_of_first: int = 0) -> list[StoredEvent]:
    """The events of one append document, the first at `position_of_first` (0: unknown, as in a
    change-feed batch)."""
    recorded_at = recorded_time(document.get("recordedAt"))
    first = int(document["firstVersion"])
    stream_id = str(document["streamId"])
    return [
        StoredEvent(
            stream_id=stream_id,
            version=first + index,
            position=position_of_first + index if position_of_first else 0,
            type=str(event["type"]),
            data=event["data"],
            metadata=event.get("metadata") or {},
            event_id=str(event["eventId"]),
            recorded_at=recorded_at,
        )
        for index, event in enumerate(document["events"])
    ]


def events_of_change_feed(documents: Iterable[Mapping[str, Any]]) -> list[StoredEvent]:
    """The events of a change-feed batch, in its order: appends only (tracking documents are
    skipped)."""
    return [
        event
        for document in documents
        if document.get("kind") == "append"
        for event in events_of_document(document)
    ]
