"""The aggregates' rules, on eventkit's in-memory store."""

from __future__ import annotations

import uuid

import pytest
from inventory.domain import (
    DOMAIN_EVENTS,
    RECENT_FEEDS,
    InsufficientStock,
    OrderReservation,
    ReservedLine,
    StockAdjusted,
    StockItem,
    StockRanLow,
    SupplierCountConfirmed,
    SupplierFeed,
    feed_id_for,
)

from eventkit.mapper import EventMapper
from eventkit.repository import Repository
from eventkit.store import InMemoryEventStore


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def stocked(on_hand: dict[str, int], reorder_point: int = 0) -> StockItem:
    item = StockItem(new_id("SKU"))
    for line, (warehouse, count) in enumerate(on_hand.items(), start=1):
        item.apply_supplier_count(
            warehouse=warehouse,
            on_hand=count,
            feed_id="feed-a",
            line=line,
            default_reorder_point=reorder_point,
        )
    return item


def test_a_supplier_count_is_recorded_as_the_delta_from_what_is_on_hand() -> None:
    item = stocked({"DE-BER1": 7})
    item.apply_supplier_count(
        warehouse="DE-BER1", on_hand=4, feed_id="feed-b", line=2, default_reorder_point=0
    )
    adjustments = [e for e in item.pending_events if isinstance(e, StockAdjusted)]
    assert [(e.delta, e.on_hand) for e in adjustments] == [(7, 7), (-3, 4)]


def test_a_count_equal_to_what_is_on_hand_adjusts_nothing() -> None:
    item = stocked({"DE-BER1": 7})
    item.apply_supplier_count(
        warehouse="DE-BER1", on_hand=7, feed_id="feed-b", line=1, default_reorder_point=0
    )
    assert isinstance(item.pending_events[-1], SupplierCountConfirmed)
    assert item.warehouses["DE-BER1"].on_hand == 7


def test_a_row_of_a_feed_already_applied_is_not_applied_again() -> None:
    item = stocked({"DE-BER1": 7})
    before = item.version
    assert not item.apply_supplier_count(warehouse="DE-BER1", on_hand=99, feed_id="feed-a", line=1)
    assert item.version == before and item.warehouses["DE-BER1"].on_hand == 7


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        StockItem("SKU1").apply_supplier_count(warehouse="DE-BER1", on_hand=-1, feed_id="f", line=1)


def test_a_reservation_takes_units_from_warehouses_in_name_order() -> None:
    item = stocked({"FR-PAR1": 5, "DE-BER1": 2})
    allocations = item.reserve("order-1", 4, default_reorder_point=0)
    assert [(a.warehouse, a.quantity) for a in allocations] == [("DE-BER1", 2), ("FR-PAR1", 2)]
    assert item.available == 3


def test_a_reservation_larger_than_what_is_available_records_nothing() -> None:
    item = stocked({"DE-BER1": 3})
    item.reserve("order-1", 2, default_reorder_point=0)
    version = item.version
    with pytest.raises(InsufficientStock) as raised:
        item.reserve("order-2", 2, default_reorder_point=0)
    assert raised.value.available == 1 and item.version == version


def test_reserving_twice_for_one_order_holds_the_units_once() -> None:
    item = stocked({"DE-BER1": 3})
    first = item.reserve("order-1", 2, default_reorder_point=0)
    assert item.reserve("order-1", 2, default_reorder_point=0) == first
    assert item.available == 1


def test_releasing_returns_the_units_and_a_second_release_does_nothing() -> None:
    item = stocked({"DE-BER1": 3})
    item.reserve("order-1", 3, default_reorder_point=0)
    item.release("order-1")
    version = item.version
    assert item.release("order-1") == () and item.version == version
    assert item.available == 3


def test_stock_low_is_recorded_once_per_crossing_of_the_reorder_point() -> None:
    item = stocked({"DE-BER1": 20}, reorder_point=5)
    for order, quantity in (("o1", 15), ("o2", 1), ("o3", 1)):
        item.reserve(order, quantity, default_reorder_point=5)
    item.release("o1")  # back above: re-armed
    item.reserve("o4", 16, default_reorder_point=5)
    lows = [e for e in item.pending_events if isinstance(e, StockRanLow)]
    assert [(e.available, e.reorder_point) for e in lows] == [(5, 5), (2, 5)]


def test_a_reorder_point_set_on_the_sku_wins_over_the_default() -> None:
    item = stocked({"DE-BER1": 20}, reorder_point=5)
    item.set_reorder_point(15)
    item.reserve("o1", 6, default_reorder_point=5)
    lows = [e for e in item.pending_events if isinstance(e, StockRanLow)]
    assert [(e.available, e.reorder_point) for e in lows] == [(14, 15)]


def test_a_rehydrated_stock_item_has_the_state_it_was_saved_with() -> None:
    store = InMemoryEventStore()
    repository = Repository(store, EventMapper(DOMAIN_EVENTS), StockItem)
    item = stocked({"DE-BER1": 10}, reorder_point=5)
    item.reserve("o1", 6, default_reorder_point=5)
    repository.save(item)
    loaded = repository.load(item.id)
    assert loaded.available == 4 and loaded.reservations == item.reservations
    assert loaded.warehouses == item.warehouses


def test_a_feed_id_is_the_same_for_one_blob_version_and_new_for_a_reupload() -> None:
    assert feed_id_for("acme/a.csv", '"0x1"') == feed_id_for("acme/a.csv", '"0x1"')
    assert feed_id_for("acme/a.csv", '"0x1"') != feed_id_for("acme/a.csv", '"0x2"')


def test_a_feed_completes_once_and_its_counts_must_add_up() -> None:
    feed = SupplierFeed("feed-1")
    feed.receive(blob_name="acme/a.csv", supplier_id="acme", etag="e", format="csv")
    feed.complete(rows_total=3, rows_applied=2, rows_rejected=1, quarantine_location="q/a")
    feed.complete(rows_total=9, rows_applied=9, rows_rejected=0, quarantine_location=None)
    assert feed.status == "processed" and len(feed.pending_events) == 2


def test_an_order_released_before_it_was_reserved_cannot_be_reserved_later() -> None:
    order = OrderReservation("order-1")
    assert order.release("order-cancelled") == ()
    assert not order.confirm((ReservedLine(sku="S", warehouse="DE-BER1", quantity=1),))
    assert order.view.status == "released"


def test_a_feed_row_is_not_applied_again_after_another_feed_counted_the_same_warehouse() -> None:
    item = stocked({"DE-BER1": 7})  # feed-a line 1
    item.apply_supplier_count(warehouse="DE-BER1", on_hand=12, feed_id="feed-b", line=1)

    assert not item.apply_supplier_count(warehouse="DE-BER1", on_hand=7, feed_id="feed-a", line=1)
    assert item.warehouses["DE-BER1"].on_hand == 12


def test_a_warehouse_remembers_the_lines_of_its_most_recent_feeds_only() -> None:
    item = stocked({"DE-BER1": 7})  # feed-a line 1
    for n in range(RECENT_FEEDS):
        item.apply_supplier_count(warehouse="DE-BER1", on_hand=20 + n, feed_id=f"feed-{n}", line=1)

    lines = item.warehouses["DE-BER1"].feed_lines
    assert len(lines) == RECENT_FEEDS and "feed-a" not in lines
    assert item.warehouses["DE-BER1"].last_feed == (f"feed-{RECENT_FEEDS - 1}", 1)


def test_a_stock_item_caught_up_from_a_copy_equals_one_replayed_from_the_start() -> None:
    mapper = EventMapper(DOMAIN_EVENTS)
    store = InMemoryEventStore()
    stock = Repository(store, mapper, StockItem)
    sku = new_id("SKU")
    stock.execute(
        sku, lambda i: i.apply_supplier_count(warehouse="DE-BER1", on_hand=30, feed_id="f1", line=1)
    )
    snapshot = stock.load(sku).copy()
    stock.execute(sku, lambda i: i.reserve("order-1", 25, default_reorder_point=10))
    stock.execute(sku, lambda i: i.apply_supplier_count(warehouse="FR-PAR1", on_hand=3, feed_id="f2", line=4))

    caught_up = snapshot.copy()
    caught_up.catch_up([mapper.to_domain(e) for e in store.read_stream(f"stock-{sku}", snapshot.version + 1)])

    replayed = stock.load(sku)
    assert caught_up.version == replayed.version
    assert caught_up.warehouses == replayed.warehouses and caught_up.reservations == replayed.reservations
    assert snapshot.warehouses["DE-BER1"].reserved == 0  # the copy it came from is untouched
