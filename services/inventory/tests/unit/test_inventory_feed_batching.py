"""Feed rows are applied in chunks, one load per SKU and one multi-stream append per chunk, without
giving up any guarantee: no lost update when feeds race, each row applied once after a crash and
re-run, stock.low once per crossing."""

from __future__ import annotations

import io
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from inventory import handlers
from inventory.domain import StockAdjusted, StockRanLow, SupplierCountConfirmed
from inventory.handlers import FeedOutcome, Inventory, apply_feed, stock_of

from eventkit.blobs import FileSystemBlobStore
from eventkit.store import (
    BatchConcurrencyError,
    ConcurrencyError,
    EventStore,
    InMemoryEventStore,
    NewEvent,
    SQLiteEventStore,
    StoredEvent,
    StreamAppend,
    Tracking,
)

ROW_EVENTS = (StockAdjusted.EVENT_TYPE, SupplierCountConfirmed.EVENT_TYPE)


class CountingStore(InMemoryEventStore):
    """The in-memory store, counting appends (alone or in a batch) and reads per stream."""

    def __init__(self) -> None:
        super().__init__()
        self.appends: Counter[str] = Counter()
        self.batches = 0
        self.reads: Counter[str] = Counter()

    def append_many(self, appends: Sequence[StreamAppend]) -> list[int]:
        self.batches += 1
        self.appends.update(part.stream_id for part in appends)
        return super().append_many(appends)

    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        tracking: Tracking | None = None,
    ) -> int:
        self.appends[stream_id] += 1
        return super().append(stream_id, expected_version, events, tracking=tracking)

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[StoredEvent]:
        self.reads[stream_id] += 1
        return super().read_stream(stream_id, from_version)


class CrashingStore(InMemoryEventStore):
    """Fails every stock append (alone or in a batch) after the first `survive` ones, as a
    process dying mid-feed."""

    def __init__(self, store: InMemoryEventStore, survive: int) -> None:
        self.__dict__ = store.__dict__  # the same streams: what was appended stays appended
        self.survive = survive

    def append_many(self, appends: Sequence[StreamAppend]) -> list[int]:
        if any(part.stream_id.startswith("stock-") for part in appends):
            if self.survive == 0:
                raise OSError("the process died")
            self.survive -= 1
        return super().append_many(appends)

    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        tracking: Tracking | None = None,
    ) -> int:
        if stream_id.startswith("stock-"):
            if self.survive == 0:
                raise OSError("the process died")
            self.survive -= 1
        return super().append(stream_id, expected_version, events, tracking=tracking)


def sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:8]}"


def csv(rows: list[tuple[str, str, int]]) -> bytes:
    return ("sku,warehouse,on_hand,unit_cost\n" + "".join(f"{s},{w},{n},1.00\n" for s, w, n in rows)).encode()


def run(
    inventory: Inventory, rows: list[tuple[str, str, int]], name: str = "acme/stock.csv", etag: str = "v1"
) -> FeedOutcome:
    return apply_feed(inventory, name, etag, io.BytesIO(csv(rows)))


def row_events(store: EventStore, skus: list[str]) -> Counter[tuple[str, int]]:
    """How many times each (feed id, line) reached a stock stream."""
    seen: Counter[tuple[str, int]] = Counter()
    for item in skus:
        for event in store.read_stream(f"stock-{item}"):
            if event.type in ROW_EVENTS:
                seen[(event.data["feed_id"], event.data["line"])] += 1
    return seen


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(handlers, "APPLY_CHUNK_ROWS", 5)
    return 5


def test_a_skus_rows_in_one_chunk_are_one_load_and_one_append(tmp_path: Path) -> None:
    store = CountingStore()
    inventory = Inventory(store=store, blobs=FileSystemBlobStore(tmp_path / "blobs"))
    a, b = sku(), sku()
    warehouses = ("DE-BER1", "DE-HAM1", "FR-PAR1", "NL-AMS1")
    outcome = run(inventory, [(s, w, 20 + i) for s in (a, b) for i, w in enumerate(warehouses)])
    assert outcome.rows_applied == 8
    assert store.batches == 1  # both SKUs and the feed's progress in one append_many
    assert store.appends[f"stock-{a}"] == 1 and store.appends[f"stock-{b}"] == 1
    assert store.reads[f"stock-{a}"] == 1 and store.reads[f"stock-{b}"] == 1
    assert {w: s.on_hand for w, s in stock_of(inventory, a).warehouses.items()} == {
        "DE-BER1": 20,
        "DE-HAM1": 21,
        "FR-PAR1": 22,
        "NL-AMS1": 23,
    }


def test_a_long_feed_appends_once_per_sku_per_chunk(tmp_path: Path, small_chunks: int) -> None:
    store = CountingStore()
    inventory = Inventory(store=store, blobs=FileSystemBlobStore(tmp_path / "blobs"))
    a = sku()
    run(inventory, [(a, "DE-BER1", 100 + i) for i in range(3 * small_chunks)])
    assert store.appends[f"stock-{a}"] == 3
    assert stock_of(inventory, a).warehouses["DE-BER1"].on_hand == 100 + 3 * small_chunks - 1


def test_two_feeds_racing_on_the_same_skus_lose_no_update(tmp_path: Path, small_chunks: int) -> None:
    inventory = Inventory(
        store=SQLiteEventStore(tmp_path / "inventory.db"), blobs=FileSystemBlobStore(tmp_path / "b")
    )
    skus = [sku() for _ in range(40)]
    feeds = {
        "acme/stock.csv": [(s, "DE-BER1", 30 + i) for i, s in enumerate(skus)],
        "globex/stock.csv": [(s, "FR-PAR1", 60 + i) for i, s in enumerate(reversed(skus))],
    }
    start = threading.Barrier(len(feeds))
    outcomes: list[FeedOutcome] = []

    def apply(name: str) -> None:
        start.wait(timeout=10)
        outcomes.append(run(inventory, feeds[name], name=name))

    threads = [threading.Thread(target=apply, args=(name,)) for name in feeds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(o.rows_applied for o in outcomes) == [40, 40]
    for index, item in enumerate(skus):
        warehouses = stock_of(inventory, item).warehouses
        assert warehouses["DE-BER1"].on_hand == 30 + index
        assert warehouses["FR-PAR1"].on_hand == 60 + len(skus) - 1 - index
    assert set(row_events(inventory.store, skus).values()) == {1}


def test_a_clash_with_another_writer_retries_the_chunk_without_losing_either_write(tmp_path: Path) -> None:
    a = sku()
    rival = Inventory(store=InMemoryEventStore(), blobs=FileSystemBlobStore(tmp_path / "rival"))

    class Interleaved(InMemoryEventStore):
        """Lets the rival feed write the SKU just before this feed's first append of it."""

        def __init__(self) -> None:
            self.__dict__ = rival.store.__dict__
            self.interleaved = False

        def append(
            self,
            stream_id: str,
            expected_version: int,
            events: Sequence[NewEvent],
            *,
            tracking: Tracking | None = None,
        ) -> int:
            self.interleave(stream_id)
            return super().append(stream_id, expected_version, events, tracking=tracking)

        def append_many(self, appends: Sequence[StreamAppend]) -> list[int]:
            for part in appends:
                self.interleave(part.stream_id)
            return super().append_many(appends)

        def interleave(self, stream_id: str) -> None:
            if stream_id == f"stock-{a}" and not self.interleaved:
                self.interleaved = True
                run(rival, [(a, "FR-PAR1", 7)], name="globex/stock.csv")

    inventory = Inventory(store=Interleaved(), blobs=FileSystemBlobStore(tmp_path / "blobs"))
    run(inventory, [(a, "DE-BER1", 40), (a, "DE-HAM1", 41)])
    assert {w: s.on_hand for w, s in stock_of(inventory, a).warehouses.items()} == {
        "FR-PAR1": 7,
        "DE-BER1": 40,
        "DE-HAM1": 41,
    }
    assert set(row_events(inventory.store, [a]).values()) == {1}


def test_a_feed_crashed_mid_way_and_run_again_applies_each_row_once(
    tmp_path: Path, small_chunks: int
) -> None:
    store = InMemoryEventStore()
    blobs = FileSystemBlobStore(tmp_path / "blobs")
    skus = [sku() for _ in range(12)]
    rows = [(s, w, 50 + i) for i, s in enumerate(skus) for w in ("DE-BER1", "DE-HAM1")]
    with pytest.raises(OSError, match="died"):
        run(Inventory(store=CrashingStore(store, survive=2), blobs=blobs), rows)
    applied_before = sum(row_events(store, skus).values())
    assert 0 < applied_before < len(rows)
    outcome = run(Inventory(store=store, blobs=blobs), rows)
    assert (outcome.result, outcome.rows_applied) == ("processed", len(rows))
    seen = row_events(store, skus)
    assert len(seen) == len(rows) and set(seen.values()) == {1}
    adjusted = [
        e for s in skus for e in store.read_stream(f"stock-{s}") if e.type == StockAdjusted.EVENT_TYPE
    ]
    assert len(adjusted) == len(rows)


def test_stock_low_is_recorded_once_per_crossing_within_one_chunk(tmp_path: Path) -> None:
    inventory = Inventory(store=InMemoryEventStore(), blobs=FileSystemBlobStore(tmp_path / "blobs"))
    a = sku()
    run(inventory, [(a, "DE-BER1", 5), (a, "DE-BER1", 3), (a, "DE-BER1", 50), (a, "DE-BER1", 2)])
    lows = [
        e.data["available"]
        for e in inventory.store.read_stream(f"stock-{a}")
        if e.type == StockRanLow.EVENT_TYPE
    ]
    assert lows == [5, 2]


def test_a_feed_re_run_after_a_crash_skips_rows_another_feed_counted_since(
    tmp_path: Path, small_chunks: int
) -> None:
    store = InMemoryEventStore()
    blobs = FileSystemBlobStore(tmp_path / "blobs")
    a = sku()
    rows = [(a, "DE-BER1", 40)] + [(sku(), "DE-HAM1", 1) for _ in range(small_chunks)]
    with pytest.raises(OSError, match="died"):
        run(Inventory(store=CrashingStore(store, survive=1), blobs=blobs), rows)
    run(Inventory(store=store, blobs=blobs), [(a, "DE-BER1", 12)], name="globex/stock.csv")

    outcome = run(Inventory(store=store, blobs=blobs), rows)

    assert (outcome.result, outcome.rows_applied) == ("processed", len(rows))
    assert stock_of(Inventory(store=store, blobs=blobs), a).warehouses["DE-BER1"].on_hand == 12
    assert set(row_events(store, [a]).values()) == {1}


class PartlyWritingStore(InMemoryEventStore):
    """Writes a batch stream by stream, as Cosmos DB does; the first time a batch holds `rival_sku`,
    a rival writes that SKU just before its turn, so the batch fails with the streams before it
    already written."""

    def __init__(self, rival_sku: str, rival: Inventory) -> None:
        self.__dict__ = rival.store.__dict__
        self.rival_sku, self.rival, self.raced = rival_sku, rival, False

    def append_many(self, appends: Sequence[StreamAppend]) -> list[int]:
        written: list[str] = []
        versions: list[int] = []
        for part in appends:
            if part.stream_id == f"stock-{self.rival_sku}" and not self.raced:
                self.raced = True
                run(self.rival, [(self.rival_sku, "FR-PAR1", 9)], name="globex/stock.csv")
                actual = self.stream_version(part.stream_id)
                clash = ConcurrencyError(part.stream_id, part.expected_version, actual)
                raise BatchConcurrencyError([clash], written)
            versions.append(self.append(part.stream_id, part.expected_version, part.events))
            written.append(part.stream_id)
        return versions


def test_a_batch_left_partly_written_by_a_race_applies_each_row_once(tmp_path: Path) -> None:
    first, raced = sku(), sku()
    rival = Inventory(store=InMemoryEventStore(), blobs=FileSystemBlobStore(tmp_path / "rival"))
    inventory = Inventory(store=PartlyWritingStore(raced, rival), blobs=FileSystemBlobStore(tmp_path / "b"))

    outcome = run(inventory, [(first, "DE-BER1", 40), (raced, "DE-BER1", 41), (first, "DE-HAM1", 42)])

    assert outcome.rows_applied == 3
    assert set(row_events(inventory.store, [first, raced]).values()) == {1}
    assert {w: s.on_hand for w, s in stock_of(inventory, first).warehouses.items()} == {
        "DE-BER1": 40,
        "DE-HAM1": 42,
    }
    assert {w: s.on_hand for w, s in stock_of(inventory, raced).warehouses.items()} == {
        "FR-PAR1": 9,
        "DE-BER1": 41,
    }


def test_a_batch_clash_reloads_only_the_skus_that_clashed(tmp_path: Path) -> None:
    a, b = sku(), sku()
    rival = Inventory(store=InMemoryEventStore(), blobs=FileSystemBlobStore(tmp_path / "rival"))

    class RacedOnce(CountingStore):
        def __init__(self) -> None:
            reads, appends = Counter[str](), Counter[str]()
            self.__dict__ = rival.store.__dict__
            self.reads, self.appends, self.batches, self.raced = reads, appends, 0, False

        def append_many(self, appends: Sequence[StreamAppend]) -> list[int]:
            if not self.raced and any(p.stream_id == f"stock-{a}" for p in appends):
                self.raced = True
                run(rival, [(a, "FR-PAR1", 7)], name="globex/stock.csv")
            return super().append_many(appends)

    store = RacedOnce()
    run(
        Inventory(store=store, blobs=FileSystemBlobStore(tmp_path / "b")),
        [(a, "DE-BER1", 40), (b, "DE-BER1", 41)],
    )

    assert (store.reads[f"stock-{a}"], store.reads[f"stock-{b}"]) == (2, 1)
    assert store.batches == 2
    assert set(row_events(store, [a, b]).values()) == {1}
