"""The Cosmos DB change feed trigger (``cosmosDBTrigger``, extension 4.x) over eventkit's embedded store.

The monitored container is ``StateLayout.open_cosmos_container(databaseName, containerName)``, a
SQLiteEventStore whose ``read_all(after_position)`` is the change feed. Settings, with Azure's
defaults: ``connection`` (must resolve to embedded), ``databaseName``, ``containerName``,
``leaseDatabaseName`` (= databaseName), ``leaseContainerName`` (``leases``),
``leaseContainerPrefix`` (empty), ``startFromBeginning`` (false: start from now),
``maxItemsPerInvocation`` (100 documents), ``feedPollDelay`` (5000 ms).

- **Documents** mirror what ``eventkit.store.cosmos.CosmosEventStore`` writes: one document per
  append — ``{"id": "<first version, 20 digits>", "streamId", "kind": "append", "firstVersion",
  "lastVersion", "recordedAt", "events": [{"eventId", "type", "data", "metadata"}]}`` plus the
  system properties ``_lsn`` (the feed position of its last event) and ``_ts`` — so a relay
  reading the documents works the same on Azure and on devhost. The events of one append are
  found again as the consecutive feed entries of one stream with one commit time.
- **Feed ranges**: the app setting ``DEVHOST_COSMOS_FEED_RANGES`` (1..64; unset or empty = 1;
  anything else raises CosmosTriggerError naming the setting, and the function is in error)
  splits the feed into N ranges followed at once, as Azure follows one lease per physical
  partition. A stream (the partition key) belongs to range ``zlib.crc32(stream_id) % N`` (not
  Azure's partition-key hash ranges), so its events keep their order; each range is invoked one
  batch at a time in feed order, different ranges concurrently, with no order across ranges
  (as in Azure with several physical partitions).
- **Leases** (``cosmos_leases``): one per (prefix, app, function, container), so every function
  of every app has its own position. A new lease starts at the feed's end ("from now") or at
  its beginning (``startFromBeginning``); an existing lease ignores both, as in Azure. Whatever
  the range count, the lease holds ONE position (not one lease per range): the lowest position
  every range has delivered to. After a restart every range starts there, so none misses a
  change and a faster range may see a few of its changes again (at-least-once, as Azure's change
  feed); the count may change between runs.
- **Batches** are bounded from the events' keys alone (`read_document_bounds`, no JSON decoded),
  the next one read ahead while the function runs on the current one; the function gets a
  `FeedDocuments` (a ``func.DocumentList``) that reads its documents when first used. With
  ``FUNCTIONS_WORKER_PROCESS_COUNT`` > 1 a batch crosses to a language-worker child as its
  container, positions and range (`devhost.language_marshal.FeedReference`), and the child reads
  the documents itself.
- **Checkpointing** after every invocation. As Azure's trigger, a failed invocation is *not*
  redelivered unless the function has an ``@app.retry`` policy (Azure applies retry policies to
  this trigger): the invoker retries the same batch per the policy (``max_retry_count`` -1 holds
  the feed until it succeeds); when it still fails, the error is logged and the lease moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from devhost.errors import DevhostError
from devhost.indexing import FunctionInfo
from devhost.state import StateLayout
from devhost.triggers.base import AppContext
from devhost.triggers.cosmos_leases import LeaseKey, LeaseStore
from eventkit.store import SQLiteEventStore
from eventkit.store.events import StoredEvent

log = logging.getLogger("devhost.cosmos")

DEFAULT_MAX_ITEMS = 100
DEFAULT_FEED_POLL_DELAY_MS = 5000
_PAGE = 5000
_MIN_PAGE = 64


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
    """Up to ``max_documents`` whole append documents after feed position ``after``.

    Returns the documents and the position of their last event (``after`` when there are none).
    An append is never split across two batches. Each feed event is read (and its JSON decoded)
    once: pages are sized from the events per document seen so far, so that at most one
    document beyond the batch is read, to learn that the last one is complete.
    """
    grouper = _Documents()
    documents = grouper.documents
    position, page, read = after, max_documents + 1, 0
    while True:
        events = store.read_all(position, page)
        for event in events:
            if len(documents) == max_documents and not grouper.continues(event):
                return documents, int(documents[-1]["_lsn"])
            grouper.add(event)
        if len(events) < page:
            break
        position = events[-1].position
        read += len(events)
        wanted = max_documents + 1 - len(documents)
        page = min(_PAGE, max(_MIN_PAGE, -(-wanted * read // len(documents)) + 1))
    return documents, int(documents[-1]["_lsn"]) if documents else after


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
    ``max_documents``, as `read_documents` would return for the whole feed), and the position
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


def _setting(function: FunctionInfo, *names: str) -> Any:
    for name in names:
        value = function.trigger.get(name)
        if value is not None and value != "":
            return value
    return None


def _int_setting(function: FunctionInfo, default: int, *names: str) -> int:
    value = _setting(function, *names)
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise CosmosTriggerError(
            f"function {function.name!r}: cosmosDBTrigger {names[0]} must be an integer, got {value!r}"
        ) from None
    if number < 1:
        raise CosmosTriggerError(f"function {function.name!r}: cosmosDBTrigger {names[0]} must be at least 1")
    return number


def _bool_setting(function: FunctionInfo, *names: str) -> bool:
    value = _setting(function, *names)
    return value is True or str(value).strip().lower() == "true"


class CosmosDBTrigger:
    """The ``cosmosDBTrigger`` plugin for one function."""

    retry_policies_apply = True

    def __init__(self, function: FunctionInfo) -> None:
        self.function = function
        self._ctx: AppContext | None = None
        self._store: SQLiteEventStore | None = None
        self._leases: LeaseStore | None = None
        self._key: LeaseKey | None = None
        self._loop_tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.feed_ranges = 1
        self._progress: dict[int, int] = {}  # feed range index -> position it has delivered to
        self._checkpointed = 0
        self._lease_lock = asyncio.Lock()
        self.database = str(_setting(function, "databaseName", "database_name") or "")
        self.container = str(_setting(function, "containerName", "container_name") or "")
        self.max_items = _int_setting(function, DEFAULT_MAX_ITEMS, "maxItemsPerInvocation")
        self.poll_delay = _int_setting(function, DEFAULT_FEED_POLL_DELAY_MS, "feedPollDelay") / 1000

    async def start(self, ctx: AppContext) -> None:
        """Open the container and this function's lease, then follow the feed in the background.

        With ``DEVHOST_COSMOS_FEED_RANGES`` = N above 1, the feed is followed as N ranges at
        once (Azure: one lease per physical partition), each in its own order; the lease holds
        the lowest position all of them have delivered to.

        Raises CosmosTriggerError (missing database/container name, a bad range count),
        ConnectionNotFoundError, RealAzureNotSupportedError, StateLayoutError (a name unfit for
        a file name).
        """
        if not self.database or not self.container:
            raise CosmosTriggerError(
                f"function {self.function.name!r}: cosmosDBTrigger needs database_name and container_name"
            )
        ctx.connections.require_embedded(self.function.trigger.get("connection"), self.function.name)
        self.feed_ranges = feed_range_count(ctx.settings.get(FEED_RANGES_SETTING))
        self._ctx = ctx
        layout = StateLayout(ctx.state_dir)
        lease_database = str(_setting(self.function, "leaseDatabaseName") or self.database)
        lease_container = str(_setting(self.function, "leaseContainerName") or "leases")
        lease_path = layout.cosmos_container_path(lease_database, lease_container)
        self._leases = LeaseStore(lease_path.with_name(f"{lease_container}.leases.db"))
        self._store = await asyncio.to_thread(layout.open_cosmos_container, self.database, self.container)
        self._key = LeaseKey(
            str(_setting(self.function, "leaseContainerPrefix") or ""),
            ctx.app_name,
            self.function.name,
            self.database,
            self.container,
        )
        position = self._leases.position(self._key)
        if position is None:
            start_at = (
                0
                if _bool_setting(self.function, "startFromBeginning")
                else await asyncio.to_thread(feed_end, self._store)
            )
            position = self._leases.create_if_missing(self._key, start_at)
        self._checkpointed = position
        self._progress = dict.fromkeys(range(self.feed_ranges), position)
        self._loop_tasks = [
            asyncio.create_task(
                self._follow(FeedRange(index, self.feed_ranges), position),
                name=f"cosmos:{self.function.name}:{index + 1}/{self.feed_ranges}",
            )
            for index in range(self.feed_ranges)
        ]

    async def stop(self, drain: bool) -> None:
        self._stopping.set()
        for task in self._loop_tasks:
            if not drain:
                task.cancel()
        for task in self._loop_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._leases is not None:
            self._leases.close()
        if self._store is not None:
            self._store.close()

    def admin_arguments(self, input_text: str) -> dict[str, Any]:
        """``{"input": "<JSON document or array>"}`` → a DocumentList of those documents."""
        try:
            parsed = json.loads(input_text) if input_text.strip() else []
        except json.JSONDecodeError as error:
            raise ValueError(
                f"input for a Cosmos DB trigger must be a JSON document or array: {error}"
            ) from error
        items = parsed if isinstance(parsed, list) else [parsed]
        if not all(isinstance(item, dict) for item in items):
            raise ValueError("input for a Cosmos DB trigger must be JSON objects (documents)")
        return {self.function.trigger.name: func.DocumentList(func.Document.from_dict(i) for i in items)}

    async def _pause(self) -> bool:
        """Wait ``feedPollDelay``; False when the trigger is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.poll_delay)
        return not self._stopping.is_set()

    async def _read(self, feed_range: FeedRange, position: int) -> tuple[int, int]:
        """(documents, last position) of the range's next batch after `position`; (0, p) when
        it has nothing new up to p, or the feed could not be read (logged; p = position)."""
        assert self._store is not None
        try:
            return await asyncio.to_thread(
                read_document_bounds, self._store, position, self.max_items, feed_range
            )
        except Exception:
            log.exception("Reading the change feed of %s/%s failed", self.database, self.container)
            return 0, position

    async def _follow(self, feed_range: FeedRange, position: int) -> None:
        """Invoke the function on each batch of the range in feed order, one at a time,
        checkpointing after each. The next batch is read while the function runs on the current
        one (it starts where the current one ends whatever the outcome), so reading the feed
        overlaps the invocation instead of adding to it."""
        ahead: asyncio.Task[tuple[int, int]] | None = None
        try:
            while not self._stopping.is_set():
                count, last = await (ahead if ahead is not None else self._read(feed_range, position))
                ahead = None
                if not count:
                    if last > position:  # only other ranges' changes: nothing to deliver up to there
                        position = last
                        await self._checkpoint(feed_range, position)
                    if not await self._pause():
                        return
                    continue
                ahead = asyncio.create_task(self._read(feed_range, last))
                await self._deliver(feed_range, count, position, last)
                position = last
                await self._checkpoint(feed_range, position)
        finally:
            if ahead is not None:  # let the read finish (it is short) before the store closes
                with contextlib.suppress(asyncio.CancelledError):
                    await ahead

    async def _checkpoint(self, feed_range: FeedRange, position: int) -> None:
        """Record the range's progress; the lease moves to the lowest progress of all ranges, so
        after a restart no range has missed a change (a faster one may see a few again)."""
        assert self._leases is not None and self._key is not None
        self._progress[feed_range.index] = position
        async with self._lease_lock:  # one lease write at a time: a lower one never lands last
            lowest = min(self._progress.values())
            if lowest > self._checkpointed:
                await asyncio.to_thread(self._leases.checkpoint, self._key, lowest)
                self._checkpointed = lowest

    async def _deliver(self, feed_range: FeedRange, count: int, position: int, last: int) -> None:
        """One invocation on the range's `count` documents after `position` through `last`."""
        assert self._ctx is not None and self._store is not None
        batch = FeedDocuments(self.database, self.container, self._store, position, last, feed_range)
        ranged = f", feed range {feed_range}" if feed_range.count > 1 else ""
        reason = (
            f"New changes on container {self.container} at {datetime.now(UTC).isoformat()} "
            f"({count} document(s), feed positions {position + 1}..{last}{ranged})"
        )
        result = await self._ctx.invoker.invoke(
            self.function,
            {self.function.trigger.name: batch},
            reason,
            use_retry=self.function.retry is not None,
        )
        if not result.succeeded:
            log.error(
                "Function '%s' failed on changes %d..%d%s of %s/%s; as in Azure, the lease moves on "
                "(add an @app.retry policy to retry a failed batch)",
                self.function.name, position + 1, last, ranged, self.database, self.container,
            )  # fmt: skip
