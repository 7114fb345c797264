"""The embedded container's change feed as the Cosmos DB trigger reads it: append documents,
batch bounds from event keys alone, feed ranges, and the lazily read `FeedDocuments` a function
(or a language-worker child) gets. Used by `devhost.triggers.cosmos`."""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import azure.functions as func

from devhost.errors import DevhostError
from eventkit.store import SQLiteEventStore
from eventkit.store.events import StoredEvent

_PAGE = 5000


class CosmosTriggerError(DevhostError):
    """A cosmosDBTrigger binding lacks a setting or holds one of the wrong shape."""


class _Documents:
    """Groups feed events into append documents, one event at a time.

    An event continues the current document when it is the next version of the same stream,
    at the next feed position, with the same commit time; anything else starts a new one. The
    commit time is compared as a datetime (the store gives every event a UTC one), so the ISO
    text is made once per document, not once per event."""

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []
        self._events: list[dict[str, Any]] = []
        self._stream = ""
        self._next_version = 0
        self._next_position = 0
        self._recorded_at: datetime | None = None

    def continues(self, event: StoredEvent) -> bool:
        """Whether `event` belongs to the last document (False when there is none)."""
        return (
            event.position == self._next_position
            and event.version == self._next_version
            and event.stream_id == self._stream
            and event.recorded_at == self._recorded_at
        )

    def add(self, event: StoredEvent) -> None:
        """Append `event` to the last document, or start a new document with it."""
        if self.documents and self.continues(event):
            current = self.documents[-1]
            current["lastVersion"] = event.version
            current["_lsn"] = event.position
        else:
            self._events = []
            self._stream = event.stream_id
            self._recorded_at = event.recorded_at
            self.documents.append(
                {
                    "id": f"{event.version:020d}",
                    "streamId": event.stream_id,
                    "kind": "append",
                    "firstVersion": event.version,
                    "lastVersion": event.version,
                    "recordedAt": event.recorded_at.isoformat(),
                    "events": self._events,
                    "_lsn": event.position,
                    "_ts": int(event.recorded_at.timestamp()),
                }
            )
        self._next_version = event.version + 1
        self._next_position = event.position + 1
        self._events.append(
            {"eventId": event.event_id, "type": event.type, "data": event.data, "metadata": event.metadata}
        )


def append_documents(events: list[StoredEvent]) -> list[dict[str, Any]]:
    """Group feed events into one document per append, in the shape of the Cosmos adapter."""
    grouper = _Documents()
    for event in events:
        grouper.add(event)
    return grouper.documents


def read_documents(
    store: SQLiteEventStore, after: int, max_documents: int
) -> tuple[list[dict[str, Any]], int]:
    """Up to ``max_documents`` whole append documents after feed position ``after``, and the
    position of their last event (``after`` when there are none). An append is never split
    across two batches. What the trigger hands a function, read at once."""
    count, last = read_document_bounds(store, after, max_documents)
    return (read_documents_between(store, after, last) if count else []), last


@dataclass(frozen=True)
class FeedRange:
    """One of `count` feed ranges of a container (Azure: a physical partition's key range, each
    with its own lease): the streams whose CRC-32 modulo `count` is `index`. A stream (the
    partition key) is always in the same range, so its events keep their order."""

    index: int = 0
    count: int = 1

    def holds(self, stream_id: str) -> bool:
        return self.count == 1 or zlib.crc32(stream_id.encode()) % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index + 1}/{self.count}"


WHOLE_FEED = FeedRange()
FEED_RANGES_SETTING = "DEVHOST_COSMOS_FEED_RANGES"
MAX_FEED_RANGES = 64


def feed_range_count(value: str | None) -> int:
    """The ``DEVHOST_COSMOS_FEED_RANGES`` app setting: 1 (unset or empty) to 64.

    Raises CosmosTriggerError naming the setting for anything else."""
    if value is None or not value.strip():
        return 1
    try:
        count = int(value)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_FEED_RANGES:
        raise CosmosTriggerError(
            f"{FEED_RANGES_SETTING} must be a whole number from 1 to {MAX_FEED_RANGES}, got {value!r}"
        )
    return count


def read_document_bounds(
    store: SQLiteEventStore, after: int, max_documents: int, feed_range: FeedRange = WHOLE_FEED
) -> tuple[int, int]:
    """How many whole append documents of `feed_range` follow feed position ``after`` (at most
    ``max_documents``; an append is never split), and the position
    of their last event; ``(0, p)`` when there are none, where ``p`` is how far the feed was
    looked at (events of other ranges need not be looked at again). Read from the events' keys
    only: no event content is read or decoded."""
    count, last, position = 0, after, after
    stream, next_version, next_position, recorded = "", 0, 0, -1
    while True:
        keys = store.read_all_keys(position, _PAGE)
        for key in keys:
            if not feed_range.holds(key.stream_id):
                if not count:
                    last = key.position
                continue
            continues = (
                count
                and key.position == next_position
                and key.version == next_version
                and key.stream_id == stream
                and key.recorded_at_micros == recorded
            )
            if not continues:
                if count == max_documents:
                    return count, last
                count += 1
                stream, recorded = key.stream_id, key.recorded_at_micros
            next_version, next_position, last = key.version + 1, key.position + 1, key.position
        if len(keys) < _PAGE:
            return count, last
        position = keys[-1].position


def read_documents_between(
    store: SQLiteEventStore, after: int, last: int, feed_range: FeedRange = WHOLE_FEED
) -> list[dict[str, Any]]:
    """The append documents of `feed_range` at feed positions ``after + 1 .. last`` (bounds
    that `read_document_bounds` gave, so no append is split). Only that range's events are
    decoded."""
    grouper = _Documents()
    position = after
    while position < last:
        limit = min(_PAGE, last - position)
        if feed_range.count == 1:
            events = store.read_all(position, limit)
            if not events:
                break
            position = events[-1].position
        else:
            keys = store.read_all_keys(position, limit)
            if not keys:
                break
            position = keys[-1].position
            events = store.read_positions(
                [k.position for k in keys if k.position <= last and feed_range.holds(k.stream_id)]
            )
        for event in events:
            if event.position > last:
                return grouper.documents
            grouper.add(event)
    return grouper.documents


class FeedDocuments(func.DocumentList):
    """The ``func.DocumentList`` of one change-feed batch, read when first used.

    It stands for the documents of feed positions ``after + 1 .. last`` of an embedded
    container, so the trigger learns a batch's bounds from the events' keys alone, and a
    language-worker child handed the batch (`devhost.language_marshal.FeedReference`) reads the
    documents from the container itself instead of receiving them through the pipe. Reading
    happens once, in the thread that first looks at the list (the function's)."""

    def __init__(
        self,
        database: str,
        container: str,
        store: SQLiteEventStore,
        after: int,
        last: int,
        feed_range: FeedRange = WHOLE_FEED,
    ) -> None:
        self.database, self.container, self.after, self.last = database, container, after, last
        self.feed_range = feed_range
        self._store: SQLiteEventStore | None = store
        self._loaded: list[func.Document] | None = None
        self._lock = threading.Lock()
        self._built = False
        super().__init__()  # assigns data = [], which must not count as the documents
        self._built = True

    @property  # UserList keeps its items in a plain attribute; here they are read when first used
    def data(self) -> list[func.Document]:
        loaded = self._loaded
        if loaded is None:
            with self._lock:
                if self._loaded is None:
                    assert self._store is not None
                    documents = read_documents_between(self._store, self.after, self.last, self.feed_range)
                    self._loaded = [_document(fields) for fields in documents]
                loaded = self._loaded
        return loaded

    @data.setter
    def data(self, value: list[func.Document]) -> None:
        if self._built:
            self._loaded = list(value)

    def __reduce__(self) -> Any:  # pickled (a return value, an output) as the plain list it is
        return (func.DocumentList, (list(self.data),))


def _document(fields: dict[str, Any]) -> func.Document:
    """`func.Document.from_dict(fields)` without its copy and its per-key `__setitem__` calls:
    the document takes `fields` (a dict the feed reader just built and nobody else holds)."""
    document = func.Document()
    document.data = fields
    return document


def feed_end(store: SQLiteEventStore) -> int:
    """The position of the last change in the feed (0 when empty): "now" for a new lease."""
    position = 0
    while True:
        page = store.read_all(position, _PAGE)
        if not page:
            return position
        position = page[-1].position
