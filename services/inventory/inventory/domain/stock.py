"""`StockItem` (stream `stock-<sku>`): on hand and reserved per warehouse, reorder crossings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from eventkit.aggregate import Aggregate, DomainEvent

from .common import DEFAULT_REORDER_POINT, Allocation, InsufficientStock

# --- StockItem events -------------------------------------------------------------------------


class StockAdjusted(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.StockAdjusted"
    sku: str
    warehouse: str
    delta: int
    on_hand: int
    feed_id: str
    line: int
    unit_cost_minor: int | None = None
    currency: str | None = None


class SupplierCountConfirmed(DomainEvent):
    """A feed row stated the count already on hand (kept so a re-run knows the row was done)."""

    EVENT_TYPE: ClassVar[str] = "inventory.SupplierCountConfirmed"
    sku: str
    warehouse: str
    on_hand: int
    feed_id: str
    line: int


class StockReserved(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.StockReserved"
    sku: str
    order_id: str
    allocations: tuple[Allocation, ...]


class StockReleased(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.StockReleased"
    sku: str
    order_id: str
    allocations: tuple[Allocation, ...]


class ReorderPointSet(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.ReorderPointSet"
    sku: str
    reorder_point: int


class StockRanLow(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.StockRanLow"
    sku: str
    warehouse: str
    available: int
    reorder_point: int


StockEvent = (
    StockAdjusted | SupplierCountConfirmed | StockReserved | StockReleased | ReorderPointSet | StockRanLow
)


RECENT_FEEDS = 16
"""Feeds per SKU and warehouse whose last applied line is remembered (see `WarehouseStock`)."""


@dataclass
class WarehouseStock:
    """One warehouse's units of one SKU.

    `feed_lines` maps each of the `RECENT_FEEDS` feeds that most recently counted this SKU here
    to the last line it applied, oldest first: a feed re-run after a crash skips its rows even
    when other feeds wrote the same SKU and warehouse in between (feeds apply rows in line
    order). A feed forgotten after 16 newer feeds is guarded by its own progress record
    (`SupplierFeed.applied_through`), committed with the rows on stores that append atomically.
    """

    on_hand: int = 0
    reserved: int = 0
    feed_lines: dict[str, int] = field(default_factory=dict)
    low_at: int | None = None  # the reorder point it ran low at; None while above it

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)

    @property
    def last_feed(self) -> tuple[str, int] | None:
        """(feed id, line) of the last applied supplier row, or None."""
        if not self.feed_lines:
            return None
        feed_id = next(reversed(self.feed_lines))
        return feed_id, self.feed_lines[feed_id]

    def applied(self, feed_id: str, line: int) -> bool:
        """Whether the feed's row `line` (or a later one) was applied here."""
        last = self.feed_lines.get(feed_id)
        return last is not None and last >= line

    def note_feed_line(self, feed_id: str, line: int) -> None:
        lines = self.feed_lines
        lines.pop(feed_id, None)
        lines[feed_id] = line
        if len(lines) > RECENT_FEEDS:
            del lines[next(iter(lines))]

    def copy(self) -> WarehouseStock:
        return WarehouseStock(self.on_hand, self.reserved, dict(self.feed_lines), self.low_at)


class StockItem(Aggregate[DomainEvent]):
    """The stock of one SKU across warehouses, and the reservations held on it."""

    STREAM_PREFIX: ClassVar[str] = "stock"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.warehouses: dict[str, WarehouseStock] = {}
        self.reservations: dict[str, tuple[Allocation, ...]] = {}
        self.reorder_point: int | None = None

    @property
    def known(self) -> bool:
        """Whether any event was ever recorded for this SKU."""
        return self.version > 0

    @property
    def available(self) -> int:
        return sum(w.available for w in self.warehouses.values())

    def apply_supplier_count(
        self,
        *,
        warehouse: str,
        on_hand: int,
        feed_id: str,
        line: int,
        unit_cost_minor: int | None = None,
        currency: str | None = None,
        default_reorder_point: int = DEFAULT_REORDER_POINT,
    ) -> bool:
        """Set on hand at `warehouse` to the supplier's count. Idempotent per (feed, line): a row
        already applied (or an earlier line of the same feed re-run) changes nothing, also when
        other feeds counted this SKU and warehouse since (see `WarehouseStock`).
        Returns whether the row was applied now. Raises `ValueError` for a negative count."""
        if on_hand < 0:
            raise ValueError(f"SKU {self.id!r} at {warehouse!r}: on hand must be >= 0, got {on_hand}")
        stock = self.warehouses.get(warehouse)
        if stock is not None and stock.applied(feed_id, line):
            return False
        current = stock.on_hand if stock is not None else 0
        was_low = self._is_low(warehouse)
        if on_hand == current:
            self._record(
                SupplierCountConfirmed(
                    sku=self.id, warehouse=warehouse, on_hand=on_hand, feed_id=feed_id, line=line
                )
            )
        else:
            self._record(
                StockAdjusted(
                    sku=self.id,
                    warehouse=warehouse,
                    delta=on_hand - current,
                    on_hand=on_hand,
                    feed_id=feed_id,
                    line=line,
                    unit_cost_minor=unit_cost_minor,
                    currency=currency if unit_cost_minor is not None else None,
                )
            )
        self._note_crossing(warehouse, was_low, default_reorder_point)
        return True

    def reserve(
        self, order_id: str, quantity: int, *, default_reorder_point: int = DEFAULT_REORDER_POINT
    ) -> tuple[Allocation, ...]:
        """Hold `quantity` units for `order_id`, taking from warehouses in name order.

        Idempotent by order id: a repeat returns the allocations held already. Raises
        `InsufficientStock` (recording nothing) when fewer than `quantity` units are available,
        `ValueError` for a quantity below 1."""
        if quantity < 1:
            raise ValueError(f"SKU {self.id!r}: a reservation needs a quantity >= 1, got {quantity}")
        held = self.reservations.get(order_id)
        if held is not None:
            return held
        if self.available < quantity:
            raise InsufficientStock(self.id, quantity, self.available)
        allocations: list[Allocation] = []
        remaining = quantity
        for name in sorted(self.warehouses):
            take = min(self.warehouses[name].available, remaining)
            if take > 0:
                allocations.append(Allocation(warehouse=name, quantity=take))
                remaining -= take
            if remaining == 0:
                break
        before = {a.warehouse: self._is_low(a.warehouse) for a in allocations}
        self._record(StockReserved(sku=self.id, order_id=order_id, allocations=tuple(allocations)))
        for name, was_low in before.items():
            self._note_crossing(name, was_low, default_reorder_point)
        return tuple(allocations)

    def release(self, order_id: str) -> tuple[Allocation, ...]:
        """Return the units held for `order_id`; idempotent (nothing held: nothing recorded)."""
        held = self.reservations.get(order_id)
        if held is None:
            return ()
        self._record(StockReleased(sku=self.id, order_id=order_id, allocations=held))
        return held

    def set_reorder_point(self, reorder_point: int) -> None:
        """Use `reorder_point` for this SKU instead of the service default. Raises `ValueError`
        for a negative value."""
        if reorder_point < 0:
            raise ValueError(f"SKU {self.id!r}: reorder point must be >= 0, got {reorder_point}")
        if reorder_point != self.reorder_point:
            self._record(ReorderPointSet(sku=self.id, reorder_point=reorder_point))

    def effective_reorder_point(self, default: int) -> int:
        return self.reorder_point if self.reorder_point is not None else default

    def copy(self) -> StockItem:
        """An independent copy at the same version (pending events are not copied)."""
        if self._pending:
            raise ValueError(f"SKU {self.id!r}: copy a saved StockItem, not one with pending events")
        item = StockItem(self.id)
        item.version = self.version
        item.warehouses = {name: stock.copy() for name, stock in self.warehouses.items()}
        item.reservations = dict(self.reservations)
        item.reorder_point = self.reorder_point
        return item

    def catch_up(self, events: list[DomainEvent]) -> None:
        """Fold the stream's events after `version` (the tail since a snapshot was taken)."""
        if self._pending:
            raise ValueError(f"SKU {self.id!r}: cannot catch up with pending events")
        for event in events:
            self._apply(event)
            self.version += 1

    def _is_low(self, warehouse: str) -> bool:
        stock = self.warehouses.get(warehouse)
        return stock is not None and stock.low_at is not None

    def _note_crossing(self, warehouse: str, was_low: bool, default_reorder_point: int) -> None:
        stock = self.warehouses[warehouse]
        point = self.effective_reorder_point(default_reorder_point)
        if not was_low and stock.available <= point:
            self._record(
                StockRanLow(sku=self.id, warehouse=warehouse, available=stock.available, reorder_point=point)
            )

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, StockAdjusted | SupplierCountConfirmed):
            stock = self.warehouses.setdefault(event.warehouse, WarehouseStock())
            stock.on_hand = event.on_hand
            stock.note_feed_line(event.feed_id, event.line)
        elif isinstance(event, StockReserved):
            for allocation in event.allocations:
                self.warehouses.setdefault(
                    allocation.warehouse, WarehouseStock()
                ).reserved += allocation.quantity
            self.reservations[event.order_id] = event.allocations
        elif isinstance(event, StockReleased):
            for allocation in event.allocations:
                stock = self.warehouses.setdefault(allocation.warehouse, WarehouseStock())
                stock.reserved = max(stock.reserved - allocation.quantity, 0)
            self.reservations.pop(event.order_id, None)
        elif isinstance(event, ReorderPointSet):
            self.reorder_point = event.reorder_point
        elif isinstance(event, StockRanLow):
            self.warehouses.setdefault(event.warehouse, WarehouseStock()).low_at = event.reorder_point
        for stock in self.warehouses.values():  # back above the point it ran low at: re-armed
            if stock.low_at is not None and stock.available > stock.low_at:
                stock.low_at = None
