"""Inventory's aggregates, their domain events and rules. No I/O.

- `StockItem` (stream `stock-<sku>`): per warehouse, units on hand and units reserved by orders;
  available = on hand - reserved. A supplier count sets on hand (`StockAdjusted` with the delta);
  a reservation takes available units warehouse by warehouse. Available never goes below 0: a
  reservation that does not fit raises `InsufficientStock` and records nothing.
- `SupplierFeed` (stream `feed-<feed id>`): one uploaded blob version, received then either
  processed (with row counts) or rejected as a whole. The feed id hashes blob name and ETag.
- `OrderReservation` (stream `reservation-<order id>`): the all-or-nothing decision for one order.

Low stock: when a warehouse's available units fall from above the reorder point to at or below
it, `StockRanLow` is recorded once; it is recorded again only after available rose above it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from eventkit.aggregate import Aggregate, DomainEvent

DEFAULT_REORDER_POINT = 10


class InventoryError(Exception):
    """Base of the rule violations inventory's aggregates raise."""


class InsufficientStock(InventoryError):
    """A reservation asked for more units than are available; nothing was reserved."""

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(f"SKU {sku!r}: {requested} requested, only {available} available")
        self.sku = sku
        self.requested = requested
        self.available = available


class FeedStateError(InventoryError):
    """A feed command does not fit the feed's state (e.g. completing a feed never received)."""


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Allocation(_Value):
    """Units of one SKU held at one warehouse for an order."""

    warehouse: str
    quantity: int


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


@dataclass
class WarehouseStock:
    """One warehouse's units of one SKU."""

    on_hand: int = 0
    reserved: int = 0
    last_feed: tuple[str, int] | None = None  # (feed id, line) of the last applied supplier row
    low_at: int | None = None  # the reorder point it ran low at; None while above it

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


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
        already applied (or an earlier line of the same feed re-run) changes nothing.
        Returns whether the row was applied now. Raises `ValueError` for a negative count."""
        if on_hand < 0:
            raise ValueError(f"SKU {self.id!r} at {warehouse!r}: on hand must be >= 0, got {on_hand}")
        stock = self.warehouses.get(warehouse)
        if stock is not None and stock.last_feed is not None:
            last_feed, last_line = stock.last_feed
            if last_feed == feed_id and last_line >= line:
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
            stock.last_feed = (event.feed_id, event.line)
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


# --- SupplierFeed ---------------------------------------------------------------------------

FeedStatus = Literal["new", "received", "processed", "rejected"]
FeedFormatName = Literal["csv", "json"]


def feed_id_for(blob_name: str, etag: str) -> str:
    """The feed id of one blob version: the same name and ETag always give the same id; a
    re-upload (new ETag) gives a new one."""
    digest = hashlib.sha256(f"{blob_name}\n{etag}".encode()).hexdigest()
    return f"feed-{digest[:32]}"


class FeedReceived(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.FeedReceived"
    blob_name: str
    supplier_id: str
    etag: str
    format: FeedFormatName


class FeedProcessed(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.FeedProcessed"
    blob_name: str
    supplier_id: str
    format: FeedFormatName
    rows_total: int
    rows_applied: int
    rows_rejected: int
    quarantine_location: str | None = None


class FeedRejected(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.FeedRejected"
    blob_name: str
    supplier_id: str
    reason: str
    detail: str | None = None


class SupplierFeed(Aggregate[DomainEvent]):
    """One uploaded blob version: received once, then processed or rejected once."""

    STREAM_PREFIX: ClassVar[str] = "feed"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: FeedStatus = "new"
        self.received: FeedReceived | None = None
        self.outcome: FeedProcessed | FeedRejected | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("processed", "rejected")

    def receive(self, *, blob_name: str, supplier_id: str, etag: str, format: FeedFormatName) -> None:
        """Record the feed's arrival; idempotent."""
        if self.status == "new":
            self._record(FeedReceived(blob_name=blob_name, supplier_id=supplier_id, etag=etag, format=format))

    def complete(
        self, *, rows_total: int, rows_applied: int, rows_rejected: int, quarantine_location: str | None
    ) -> None:
        """Record the row counts. Idempotent once finished; raises `FeedStateError` if the feed
        was never received or counts do not add up."""
        if self.finished:
            return
        if self.received is None:
            raise FeedStateError(f"feed {self.id!r} cannot complete: it was never received")
        if rows_applied + rows_rejected != rows_total:
            raise FeedStateError(
                f"feed {self.id!r}: applied {rows_applied} + rejected {rows_rejected} != total {rows_total}"
            )
        self._record(
            FeedProcessed(
                blob_name=self.received.blob_name,
                supplier_id=self.received.supplier_id,
                format=self.received.format,
                rows_total=rows_total,
                rows_applied=rows_applied,
                rows_rejected=rows_rejected,
                quarantine_location=quarantine_location,
            )
        )

    def reject(self, *, blob_name: str, supplier_id: str, reason: str, detail: str | None) -> None:
        """Refuse the whole feed; idempotent once finished."""
        if not self.finished:
            self._record(
                FeedRejected(blob_name=blob_name, supplier_id=supplier_id, reason=reason, detail=detail)
            )

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, FeedReceived):
            self.status, self.received = "received", event
        elif isinstance(event, FeedProcessed):
            self.status, self.outcome = "processed", event
        elif isinstance(event, FeedRejected):
            self.status, self.outcome = "rejected", event


# --- OrderReservation -----------------------------------------------------------------------


class ReservedLine(_Value):
    sku: str
    warehouse: str
    quantity: int


class ShortLine(_Value):
    sku: str
    requested: int
    available: int
    known: bool = True


class ReservationConfirmed(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.ReservationConfirmed"
    order_id: str
    reservation_id: str
    lines: tuple[ReservedLine, ...]


class ReservationRefused(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.ReservationRefused"
    order_id: str
    short_lines: tuple[ShortLine, ...]


class ReservationReleased(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.ReservationReleased"
    order_id: str
    reservation_id: str | None
    reason: str
    lines: tuple[ReservedLine, ...] = ()


ReservationStatus = Literal["open", "reserved", "refused", "released"]


def reservation_id_for(order_id: str) -> str:
    """The reservation id of an order: stable, so a redelivered order names the same reservation."""
    return f"res-{uuid.uuid5(uuid.NAMESPACE_URL, 'nightshift:inventory:' + order_id)}"


@dataclass
class ReservationView:
    status: ReservationStatus = "open"
    reservation_id: str | None = None
    lines: tuple[ReservedLine, ...] = ()
    short_lines: tuple[ShortLine, ...] = field(default_factory=tuple)


class OrderReservation(Aggregate[DomainEvent]):
    """The reservation decision for one order: reserved in full, refused, or released."""

    STREAM_PREFIX: ClassVar[str] = "reservation"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.view = ReservationView()

    def confirm(self, lines: tuple[ReservedLine, ...]) -> bool:
        """Record every line reserved. Returns False (recording nothing) when the order was
        decided before: the caller must then undo what it reserved unless it is reserved."""
        if self.view.status != "open":
            return False
        self._record(
            ReservationConfirmed(order_id=self.id, reservation_id=reservation_id_for(self.id), lines=lines)
        )
        return True

    def refuse(self, short_lines: tuple[ShortLine, ...]) -> None:
        """Record that nothing was reserved; idempotent once decided."""
        if self.view.status == "open":
            self._record(ReservationRefused(order_id=self.id, short_lines=short_lines))

    def release(self, reason: str) -> tuple[ReservedLine, ...]:
        """Close the reservation and return the lines to give back. Releasing an open order
        closes it too (a late `order.placed` then reserves nothing); idempotent."""
        if self.view.status in ("refused", "released"):
            return ()
        lines = self.view.lines
        self._record(
            ReservationReleased(
                order_id=self.id, reservation_id=self.view.reservation_id, reason=reason, lines=lines
            )
        )
        return lines

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, ReservationConfirmed):
            self.view = ReservationView("reserved", event.reservation_id, event.lines)
        elif isinstance(event, ReservationRefused):
            self.view = ReservationView("refused", short_lines=event.short_lines)
        elif isinstance(event, ReservationReleased):
            self.view = ReservationView("released", event.reservation_id, event.lines)


DOMAIN_EVENTS: tuple[type[DomainEvent], ...] = (
    StockAdjusted,
    SupplierCountConfirmed,
    StockReserved,
    StockReleased,
    ReorderPointSet,
    StockRanLow,
    FeedReceived,
    FeedProcessed,
    FeedRejected,
    ReservationConfirmed,
    ReservationRefused,
    ReservationReleased,
)
