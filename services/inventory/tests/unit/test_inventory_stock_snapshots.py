"""Stock snapshots: loading a SKU reads only its stream's tail, gives what a full replay gives,
and keeps at most `capacity` SKUs."""

from __future__ import annotations

import uuid
from pathlib import Path

from inventory.domain import DOMAIN_EVENTS, StockItem
from inventory.handlers import Inventory, reserve_stock, stock_of
from inventory.stock_batches import StockSnapshots

from eventkit.blobs import FileSystemBlobStore
from eventkit.mapper import EventMapper
from eventkit.repository import Repository
from eventkit.store import InMemoryEventStore, StoredEvent


class TailCountingStore(InMemoryEventStore):
    def __init__(self) -> None:
        super().__init__()
        self.read_from: list[int] = []

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[StoredEvent]:
        self.read_from.append(from_version)
        return super().read_stream(stream_id, from_version)


def sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:8]}"


def counted(store: InMemoryEventStore, mapper: EventMapper, item_sku: str, counts: list[int]) -> None:
    stock = Repository(store, mapper, StockItem)
    for line, on_hand in enumerate(counts, start=1):
        stock.execute(
            item_sku,
            lambda item, n=on_hand, line=line: item.apply_supplier_count(
                warehouse="DE-BER1", on_hand=n, feed_id="feed-a", line=line
            ),
        )


def test_a_snapshotted_sku_is_loaded_from_its_tail_and_equals_a_full_replay() -> None:
    store, mapper = TailCountingStore(), EventMapper(DOMAIN_EVENTS)
    snapshots = StockSnapshots(min_version=3)
    item_sku = sku()
    counted(store, mapper, item_sku, [50, 40, 30, 20])
    snapshots.remember([Repository(store, mapper, StockItem).load(item_sku)])
    version_at_snapshot = store.stream_version(f"stock-{item_sku}")
    counted(store, mapper, item_sku, [20, 5])  # another writer, after the snapshot was taken
    Repository(store, mapper, StockItem).execute(item_sku, lambda item: item.reserve("order-1", 2))
    store.read_from.clear()

    loaded = snapshots.load(store, mapper, [item_sku])[item_sku]

    assert store.read_from == [version_at_snapshot + 1]
    replayed = Repository(store, mapper, StockItem).load(item_sku)
    assert (loaded.version, loaded.warehouses, loaded.reservations) == (
        replayed.version,
        replayed.warehouses,
        replayed.reservations,
    )


def test_short_streams_are_not_kept_and_the_least_recently_used_sku_is_dropped_first() -> None:
    store, mapper = InMemoryEventStore(), EventMapper(DOMAIN_EVENTS)
    snapshots = StockSnapshots(capacity=2, min_version=2)
    short, first, second, third = sku(), sku(), sku(), sku()
    counted(store, mapper, short, [5])
    for each in (first, second, third):
        counted(store, mapper, each, [50, 40])
    load = Repository(store, mapper, StockItem).load

    snapshots.remember([load(short), load(first), load(second)])
    snapshots.load(store, mapper, [first])  # first is now the most recently used
    snapshots.remember([load(third)])

    assert len(snapshots) == 2
    assert snapshots.load(store, mapper, [first])[first].version == 2  # still served from its snapshot
    store_reads = TailCountingStore()
    store_reads.__dict__.update(store.__dict__)
    store_reads.read_from = []
    snapshots.load(store_reads, mapper, [second, short])
    assert store_reads.read_from == [1, 1]  # both replayed from the start: not kept


def test_reservations_on_a_hot_sku_read_its_tail_and_still_see_other_writers(tmp_path: Path) -> None:
    store = TailCountingStore()
    inventory = Inventory(store=store, blobs=FileSystemBlobStore(tmp_path / "blobs"))
    hot = sku()
    counted(store, inventory.mapper, hot, [12])
    for n in range(9):
        assert reserve_stock(inventory, f"order-{n}", [(hot, 1)]).result == "reserved"
    # another process reserves through its own repository: not in this process's snapshot
    rival = Repository(store, inventory.mapper, StockItem)
    rival.execute(hot, lambda item: item.reserve("order-rival", 2))
    store.read_from.clear()

    last = reserve_stock(inventory, "order-last", [(hot, 1)])
    over = reserve_stock(inventory, "order-over", [(hot, 1)])

    stock_reads = [start for start in store.read_from if start > 1]
    assert stock_reads, "the hot SKU was replayed from version 1 instead of its snapshot"
    assert last.result == "reserved"
    assert over.result == "refused" and over.short_lines[0].available == 0
    replayed = Repository(store, inventory.mapper, StockItem).load(hot)
    assert stock_of(inventory, hot).available == replayed.available == 0
