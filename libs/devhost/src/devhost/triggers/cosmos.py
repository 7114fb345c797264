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
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from devhost.errors import DevhostError
from devhost.indexing import FunctionInfo
from devhost.settings import resolve_binding
from devhost.state import StateLayout
from devhost.triggers.base import AppContext
from devhost.triggers.cosmos_feed import (
    FEED_RANGES_SETTING,
    CosmosTriggerError,
    FeedDocuments,
    FeedRange,
    feed_end,
    feed_range_count,
    read_document_bounds,
)
from devhost.triggers.cosmos_leases import LeaseKey, LeaseStore
from eventkit.store import SQLiteEventStore

log = logging.getLogger("devhost.cosmos")

DEFAULT_MAX_ITEMS = 100
DEFAULT_FEED_POLL_DELAY_MS = 5000


def _setting(function: FunctionInfo, *names: str) -> Any:
    for name in names:
        value = function.trigger.get(name)
        if value is not None and value != "":
            return value
    return None


def _lease_identity(settings: dict[str, Any]) -> tuple[str, ...]:
    """What names a trigger's leases in Azure: the monitored container, the lease container and
    the prefix (lease ids are prefix + account + database + container + range, not the function)."""

    def value(*names: str, default: str = "") -> str:
        return str(next((settings[n] for n in names if settings.get(n) not in (None, "")), default))

    database = value("databaseName", "database_name")
    return (
        value("connection").lower(),  # setting names are case-insensitive; Cosmos names are not
        database,
        value("containerName", "container_name"),
        value("leaseDatabaseName", default=database),
        value("leaseContainerName", default="leases"),
        value("leaseContainerPrefix"),
    )


def _refuse_shared_leases(function: FunctionInfo, ctx: AppContext) -> None:
    """Raises CosmosTriggerError when another Cosmos DB trigger of the app would share this one's
    leases: on Azure each lease (and so each change) would go to only one of the functions.
    devhost keeps a lease per function, so without this check the app would work here and lose
    changes there."""
    mine = _lease_identity(function.trigger.settings)
    for other in ctx.index.functions:
        if other.name == function.name or other.trigger.type != "cosmosDBTrigger":
            continue
        if ctx.settings.is_true(f"AzureWebJobs.{other.name}.Disabled"):
            continue  # a disabled function takes no leases
        try:
            theirs = _lease_identity(resolve_binding(other.trigger.settings, ctx.settings, other.name))
        except DevhostError:
            continue  # that function is in error for its own settings
        if theirs == mine:
            raise CosmosTriggerError(
                f"functions {function.name!r} and {other.name!r} follow {mine[1]}/{mine[2]} with the "
                f"same lease container {mine[4]!r} and lease prefix {mine[5]!r}: on Azure each change "
                "would reach only one of them (Cosmos DB trigger: functions on one container need "
                "their own lease container or lease_container_prefix); give each its own "
                "lease_container_prefix"
            )


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
        _refuse_shared_leases(self.function, ctx)
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
