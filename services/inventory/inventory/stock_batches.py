"""Applying a feed's rows a chunk at a time: every SKU of the chunk and the feed's progress in
one `EventStore.append_many`.

Why: one transaction per chunk instead of one per SKU is most of a nightly run's store cost.
What is kept:

- **Optimistic concurrency.** Each SKU's events are appended at the version its decision was
  taken on. When another writer (an order, a feed in another process) got there first, the store
  names the clashing streams; only those are reloaded and decided again, and the batch is retried.
- **Each row once.** The feed's `FeedRowsApplied(through_line)` is part of the same batch, so on
  stores whose `append_many` is atomic (SQLite, in-memory) a chunk is applied entirely or not at
  all, and a re-run resumes after the last chunk committed. On Cosmos DB (not atomic across
  streams) the stock aggregate's own per-feed line memory (`WarehouseStock.feed_lines`) skips
  rows a partly written batch already applied.
- **Bounded memory.** `StockSnapshots` keeps at most `capacity` SKUs (those with long streams,
  where replaying from version 1 costs most); a snapshot at version v is the fold of the
  immutable events 1..v, so it can be stale but never wrong: loading reads the events after v.

Within one process, chunks are applied one at a time (`FeedBatcher.lock`): Python runs one
thread's decisions at a time anyway, and this keeps a process's own concurrent feeds from
invalidating each other's decisions on shared SKUs. Writers in other processes are still
handled by the version checks.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eventkit.mapper import EventMapper
from eventkit.repository import ConcurrencyRetriesExhausted, Repository
from eventkit.store import BatchConcurrencyError, EventStore, StreamAppend, Tracking

from .domain import StockItem, SupplierFeed
from .feeds import FeedRow

SNAPSHOT_CAPACITY = 4096
SNAPSHOT_MIN_VERSION = 8
"""Only SKUs whose stream is at least this long are kept: shorter ones are cheap to replay."""
BATCH_ROUNDS = 40


class StockSnapshots:
    """An LRU of saved `StockItem`s by SKU (thread-safe), for loading only a stream's tail."""

    def __init__(self, capacity: int = SNAPSHOT_CAPACITY, min_version: int = SNAPSHOT_MIN_VERSION) -> None:
        self._items: OrderedDict[str, StockItem] = OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity
        self.min_version = min_version

    def __len__(self) -> int:
        return len(self._items)

    def load(self, store: EventStore, mapper: EventMapper, skus: Iterable[str]) -> dict[str, StockItem]:
        """The SKUs as stored now, read in one `read_streams`: each a copy of its snapshot caught
        up with the events after it, or its whole stream replayed."""
        with self._lock:
            snapshots = {sku: self._items.get(sku) for sku in skus}
            for sku, snapshot in snapshots.items():
                if snapshot is not None:
                    self._items.move_to_end(sku)
        starts = {
            StockItem.stream_id(sku): 1 if snapshot is None else snapshot.version + 1
            for sku, snapshot in snapshots.items()
        }
        stored = store.read_streams(starts)
        items: dict[str, StockItem] = {}
        for sku, snapshot in snapshots.items():
            events = [mapper.to_domain(e) for e in stored[StockItem.stream_id(sku)]]
            if snapshot is None:
                items[sku] = StockItem.rehydrate(sku, events)
            else:
                item = items[sku] = snapshot.copy()
                item.catch_up(events)
        return items

    def remember(self, items: Iterable[StockItem]) -> None:
        """Keep copies of saved items (no pending events) whose stream is long enough."""
        kept = [item.copy() for item in items if item.version >= self.min_version]
        if not kept:
            return
        with self._lock:
            for item in kept:
                current = self._items.get(item.id)
                if current is None or current.version <= item.version:
                    self._items[item.id] = item
                    self._items.move_to_end(item.id)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


class SnapshotStockRepository(Repository[StockItem]):
    """The stock `Repository` through `StockSnapshots`: a load reads only the tail of a long
    stream (a hot SKU's reservations grow its stream without bound), and a save keeps the
    saved item. Version checks are the store's, exactly as with the plain repository."""

    def __init__(self, store: EventStore, mapper: EventMapper, snapshots: StockSnapshots) -> None:
        super().__init__(store, mapper, StockItem)
        self._snapshot_store = store
        self._snapshot_mapper = mapper
        self.snapshots = snapshots

    def load(self, aggregate_id: str) -> StockItem:
        return self.snapshots.load(self._snapshot_store, self._snapshot_mapper, [aggregate_id])[aggregate_id]

    def save(
        self,
        aggregate: StockItem,
        *,
        metadata: dict[str, Any] | None = None,
        tracking: Tracking | None = None,
    ) -> int:
        saved = bool(aggregate.pending_events)
        version = super().save(aggregate, metadata=metadata, tracking=tracking)
        if saved:
            self.snapshots.remember([aggregate])
        return version


@dataclass
class FeedBatcher:
    """Applies chunks of one process's feeds; built once per `Inventory`."""

    store: EventStore
    mapper: EventMapper
    snapshots: StockSnapshots = field(default_factory=StockSnapshots)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._feeds = Repository(self.store, self.mapper, SupplierFeed)

    def load_feed(self, feed_id: str) -> SupplierFeed:
        return self._feeds.load(feed_id)

    def apply_chunk(
        self, feed: SupplierFeed, rows: list[FeedRow], through_line: int, default_reorder_point: int
    ) -> SupplierFeed:
        """Apply the rows (valid rows of `feed`, in line order, up to `through_line`) and record
        the feed's progress, in one batch; return the feed as saved. Rows at or before the
        feed's recorded progress are skipped. Raises `ConcurrencyRetriesExhausted` when every
        round met other writers (the trigger retries the feed, which resumes after its progress),
        and store errors as they come."""
        with self.lock:
            return self._apply(feed, rows, through_line, default_reorder_point)

    def _apply(
        self, feed: SupplierFeed, rows: list[FeedRow], through_line: int, default_reorder_point: int
    ) -> SupplierFeed:
        items: dict[str, StockItem] = {}
        stale: set[str] | None = None  # None: decide every SKU
        done = feed.applied_through  # as saved: a failed round leaves its progress pending
        for round_ in range(BATCH_ROUNDS):
            if through_line <= done:
                return feed
            groups = _by_sku(row for row in rows if row.line > done)
            deciding = [sku for sku in groups if stale is None or sku in stale or sku not in items]
            items.update(self.snapshots.load(self.store, self.mapper, deciding))
            for sku in deciding:
                item = items[sku]
                for row in groups[sku]:
                    item.apply_supplier_count(
                        warehouse=row.warehouse,
                        on_hand=row.on_hand,
                        feed_id=feed.id,
                        line=row.line,
                        unit_cost_minor=row.unit_cost_minor,
                        currency=row.currency,
                        default_reorder_point=default_reorder_point,
                    )
            feed.record_progress(through_line)
            saving = [item for item in items.values() if item.pending_events]
            parts = [self._part(StockItem.stream_id(item.id), item.loaded_version, item) for item in saving]
            parts.append(self._part(SupplierFeed.stream_id(feed.id), feed.loaded_version, feed))
            try:
                versions = self.store.append_many(parts)
            except BatchConcurrencyError as clash:
                stale = {_aggregate_id(s) for s in (*clash.stream_ids, *clash.written)}
                if SupplierFeed.stream_id(feed.id) in (*clash.stream_ids, *clash.written):
                    feed, items, stale = self._feeds.load(feed.id), {}, None
                    done = feed.applied_through
                if round_ >= 2:
                    time.sleep(random.uniform(0, 0.001 * round_))
                continue
            for aggregate, version in zip((*saving, feed), versions, strict=True):
                aggregate._mark_saved(version)
            self.snapshots.remember(saving)
            return feed
        raise ConcurrencyRetriesExhausted(
            f"feed {feed.id!r}: {BATCH_ROUNDS} rounds of the chunk up to line {through_line} "
            "met concurrent writers"
        )

    def _part(
        self, stream_id: str, expected_version: int, aggregate: StockItem | SupplierFeed
    ) -> StreamAppend:
        return StreamAppend(
            stream_id, expected_version, [self.mapper.to_new_event(e) for e in aggregate.pending_events]
        )


def _aggregate_id(stream_id: str) -> str:
    return stream_id.split("-", 1)[1]


def _by_sku(rows: Iterable[FeedRow]) -> dict[str, list[FeedRow]]:
    """The rows per SKU, each SKU's rows in line order (the file's order)."""
    groups: dict[str, list[FeedRow]] = {}
    for row in rows:
        groups.setdefault(row.sku, []).append(row)
    return groups
