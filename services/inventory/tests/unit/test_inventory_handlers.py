"""Use cases on in-memory / SQLite stores and a filesystem blob store (no network, no host)."""

from __future__ import annotations

import io
import threading
import uuid
from pathlib import Path

import pytest
from inventory.domain import StockAdjusted
from inventory.handlers import (
    Inventory,
    apply_feed,
    feed_status,
    rejected_rows,
    release_stock,
    reserve_stock,
    stock_of,
)

from eventkit.blobs import FileSystemBlobStore
from eventkit.store import InMemoryEventStore, SQLiteEventStore


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    return Inventory(
        store=InMemoryEventStore(), blobs=FileSystemBlobStore(tmp_path / "blobs"), default_reorder_point=0
    )


def sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:8]}"


def feed(inventory: Inventory, text: str, name: str = "acme/stock.csv", etag: str | None = None) -> object:
    return apply_feed(inventory, name, etag or uuid.uuid4().hex, io.BytesIO(text.encode()))


def test_a_feed_sets_on_hand_per_warehouse_and_quarantines_its_bad_rows(inventory: Inventory) -> None:
    a, b = sku(), sku()
    outcome = feed(
        inventory,
        f"sku,warehouse,on_hand,unit_cost,colour\n{a},DE-BER1,5,1.50,red\n{a},FR-PAR1,-2,1.50,red\n{b},DE-BER1,3,2,blue\n",
    )
    assert outcome == type(outcome)(outcome.feed_id, "processed", 3, 2, 1)  # type: ignore[attr-defined]
    assert stock_of(inventory, a).warehouses["DE-BER1"].on_hand == 5
    status = feed_status(inventory, outcome.feed_id)  # type: ignore[attr-defined]
    rows = list(rejected_rows(inventory, status))
    assert [(r.line, r.reason) for r in rows] == [(3, "negative count in on_hand: -2")]


def test_a_repeated_feed_is_applied_once(inventory: Inventory) -> None:
    a = sku()
    first = feed(inventory, f"sku,warehouse,on_hand,unit_cost\n{a},DE-BER1,5,1\n", etag="v1")
    version = inventory.store.stream_version(f"stock-{a}")
    again = feed(inventory, f"sku,warehouse,on_hand,unit_cost\n{a},DE-BER1,5,1\n", etag="v1")
    assert again.result == "already-done" and again.feed_id == first.feed_id  # type: ignore[attr-defined]
    assert inventory.store.stream_version(f"stock-{a}") == version


def test_a_reupload_with_new_content_is_a_new_feed(inventory: Inventory) -> None:
    a = sku()
    feed(inventory, f"sku,warehouse,on_hand,unit_cost\n{a},DE-BER1,5,1\n", etag="v1")
    feed(inventory, f"sku,warehouse,on_hand,unit_cost\n{a},DE-BER1,8,1\n", etag="v2")
    events = [e.data for e in inventory.store.read_stream(f"stock-{a}") if e.type == StockAdjusted.EVENT_TYPE]
    assert [e["delta"] for e in events] == [5, 3]


def test_an_unreadable_feed_applies_nothing_even_after_valid_rows(inventory: Inventory) -> None:
    a = sku()
    outcome = feed(inventory, f'sku,warehouse,on_hand,unit_cost\n{a},DE-BER1,5,1\n{a},"DE-BER1,5,1\n')
    assert outcome.result == "rejected" and outcome.reason == "unreadable"  # type: ignore[attr-defined]
    assert not stock_of(inventory, a).known


def test_a_feed_retried_after_a_crash_skips_the_rows_already_applied(inventory: Inventory) -> None:
    a = sku()
    text = f"sku,warehouse,on_hand,unit_cost\n{a},DE-BER1,5,1\n{a},DE-BER1,9,1\n"
    crashing = Inventory(store=inventory.store, blobs=_FailingBlobs(), default_reorder_point=0)
    with pytest.raises(OSError):
        feed(crashing, text + "bad,row\n", etag="v1")
    outcome = feed(inventory, text + "bad,row\n", etag="v1")
    assert outcome.result == "processed"  # type: ignore[attr-defined]
    deltas = [
        e.data["delta"]
        for e in inventory.store.read_stream(f"stock-{a}")
        if e.type == StockAdjusted.EVENT_TYPE
    ]
    assert deltas == [5, 4]


class _FailingBlobs(FileSystemBlobStore):
    def __init__(self) -> None:
        pass

    def create_container(self, container: str) -> None:
        raise OSError("quarantine storage unavailable")


def stock(inventory: Inventory, counts: dict[str, int]) -> None:
    rows = "".join(f"{s},DE-BER1,{n},1\n" for s, n in counts.items())
    feed(inventory, "sku,warehouse,on_hand,unit_cost\n" + rows)


def test_an_order_is_reserved_in_full_or_not_at_all(inventory: Inventory) -> None:
    a, b = sku(), sku()
    stock(inventory, {a: 5, b: 1})
    refused = reserve_stock(inventory, "order-1", [(a, 2), (b, 2)])
    assert refused.result == "refused" and [
        (s.sku, s.requested, s.available) for s in refused.short_lines
    ] == [(b, 2, 1)]
    assert stock_of(inventory, a).available == 5 and stock_of(inventory, b).available == 1
    reserved = reserve_stock(inventory, "order-2", [(a, 2), (b, 1)])
    assert reserved.result == "reserved" and stock_of(inventory, a).available == 3


def test_an_unknown_sku_refuses_the_order(inventory: Inventory) -> None:
    outcome = reserve_stock(inventory, "order-1", [(sku(), 1)])
    assert outcome.result == "refused" and not outcome.short_lines[0].known


def test_a_repeated_order_is_reserved_once(inventory: Inventory) -> None:
    a = sku()
    stock(inventory, {a: 5})
    reserve_stock(inventory, "order-1", [(a, 2)])
    again = reserve_stock(inventory, "order-1", [(a, 2)])
    assert again.result == "reserved" and stock_of(inventory, a).available == 3


def test_cancelling_releases_the_stock_once(inventory: Inventory) -> None:
    a = sku()
    stock(inventory, {a: 5})
    reserve_stock(inventory, "order-1", [(a, 2)])
    assert release_stock(inventory, "order-1").result == "released"
    assert release_stock(inventory, "order-1").result == "released"
    assert stock_of(inventory, a).available == 5


def test_an_order_cancelled_before_it_was_placed_reserves_nothing(inventory: Inventory) -> None:
    a = sku()
    stock(inventory, {a: 5})
    release_stock(inventory, "order-1")
    assert reserve_stock(inventory, "order-1", [(a, 2)]).result == "released"
    assert stock_of(inventory, a).available == 5


@pytest.mark.timeout(90)
def test_two_hundred_concurrent_orders_for_fifty_units_reserve_exactly_fifty(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "inventory.db")
    inventory = Inventory(store=store, blobs=FileSystemBlobStore(tmp_path / "blobs"), default_reorder_point=0)
    a = sku()
    stock(inventory, {a: 50})
    start = threading.Barrier(200)
    results: list[str] = []
    guard = threading.Lock()

    def order(number: int) -> None:
        start.wait(timeout=30)
        outcome = reserve_stock(inventory, f"order-{number}", [(a, 1)])
        with guard:
            results.append(outcome.result)

    threads = [threading.Thread(target=order, args=(n,)) for n in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=80)
    assert sorted(results).count("reserved") == 50 and results.count("refused") == 150
    assert stock_of(inventory, a).available == 0
    assert len(stock_of(inventory, a).reservations) == 50
