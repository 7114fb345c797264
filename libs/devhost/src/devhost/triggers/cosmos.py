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
- **Leases** (``cosmos_leases``): one per (prefix, app, function, container), so every function
  of every app has its own position. A new lease starts at the feed's end ("from now") or at
  its beginning (``startFromBeginning``); an existing lease ignores both, as in Azure.
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
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.database = str(_setting(function, "databaseName", "database_name") or "")
        self.container = str(_setting(function, "containerName", "container_name") or "")
        self.max_items = _int_setting(function, DEFAULT_MAX_ITEMS, "maxItemsPerInvocation")
        self.poll_delay = _int_setting(function, DEFAULT_FEED_POLL_DELAY_MS, "feedPollDelay") / 1000

    async def start(self, ctx: AppContext) -> None:
        """Open the container and this function's lease, then follow the feed in the background.

        Raises CosmosTriggerError (missing database/container name), ConnectionNotFoundError,
        RealAzureNotSupportedError, StateLayoutError (a name unfit for a file name).
        """
        if not self.database or not self.container:
            raise CosmosTriggerError(
                f"function {self.function.name!r}: cosmosDBTrigger needs database_name and container_name"
            )
        ctx.connections.require_embedded(self.function.trigger.get("connection"), self.function.name)
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
        self._loop_task = asyncio.create_task(self._follow(position), name=f"cosmos:{self.function.name}")

    async def stop(self, drain: bool) -> None:
        self._stopping.set()
        if self._loop_task is not None:
            if not drain:
                self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
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

    async def _follow(self, position: int) -> None:
        assert self._ctx is not None and self._store is not None and self._leases is not None
        assert self._key is not None
        while not self._stopping.is_set():
            try:
                documents, last = await asyncio.to_thread(
                    read_documents, self._store, position, self.max_items
                )
            except Exception:
                log.exception("Reading the change feed of %s/%s failed", self.database, self.container)
                documents, last = [], position
            if not documents:
                if not await self._pause():
                    return
                continue
            batch = func.DocumentList(_document(fields) for fields in documents)
            reason = (
                f"New changes on container {self.container} at {datetime.now(UTC).isoformat()} "
                f"({len(documents)} document(s), feed positions {position + 1}..{last})"
            )
            result = await self._ctx.invoker.invoke(
                self.function,
                {self.function.trigger.name: batch},
                reason,
                use_retry=self.function.retry is not None,
            )
            if not result.succeeded:
                log.error(
                    "Function '%s' failed on changes %d..%d of %s/%s; as in Azure, the lease moves on "
                    "(add an @app.retry policy to retry a failed batch)",
                    self.function.name, position + 1, last, self.database, self.container,
                )  # fmt: skip
            await asyncio.to_thread(self._leases.checkpoint, self._key, last)
            position = last
