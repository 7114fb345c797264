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

One module per aggregate (`stock`, `supplier_feed`, `reservation`); this package re-exports
them, so `from inventory.domain import X` is the one import.
"""

from __future__ import annotations

from eventkit.aggregate import DomainEvent

from .common import (
    DEFAULT_REORDER_POINT,
    Allocation,
    FeedStateError,
    InsufficientStock,
    InventoryError,
)
from .reservation import (
    OrderReservation,
    ReservationConfirmed,
    ReservationRefused,
    ReservationReleased,
    ReservationStatus,
    ReservationView,
    ReservedLine,
    ShortLine,
    reservation_id_for,
)
from .stock import (
    RECENT_FEEDS,
    ReorderPointSet,
    StockAdjusted,
    StockEvent,
    StockItem,
    StockRanLow,
    StockReleased,
    StockReserved,
    SupplierCountConfirmed,
    WarehouseStock,
)
from .supplier_feed import (
    FeedFormatName,
    FeedProcessed,
    FeedReceived,
    FeedRejected,
    FeedRowsApplied,
    FeedStatus,
    SupplierFeed,
    feed_id_for,
)

# Every domain event, for the service's EventMapper.
DOMAIN_EVENTS: tuple[type[DomainEvent], ...] = (
    StockAdjusted,
    SupplierCountConfirmed,
    StockReserved,
    StockReleased,
    ReorderPointSet,
    StockRanLow,
    FeedReceived,
    FeedRowsApplied,
    FeedProcessed,
    FeedRejected,
    ReservationConfirmed,
    ReservationRefused,
    ReservationReleased,
)


__all__ = [
    "DEFAULT_REORDER_POINT",
    "DOMAIN_EVENTS",
    "RECENT_FEEDS",
    "Allocation",
    "FeedFormatName",
    "FeedProcessed",
    "FeedReceived",
    "FeedRejected",
    "FeedRowsApplied",
    "FeedStateError",
    "FeedStatus",
    "InsufficientStock",
    "InventoryError",
    "OrderReservation",
    "ReorderPointSet",
    "ReservationConfirmed",
    "ReservationRefused",
    "ReservationReleased",
    "ReservationStatus",
    "ReservationView",
    "ReservedLine",
    "ShortLine",
    "StockAdjusted",
    "StockEvent",
    "StockItem",
    "StockRanLow",
    "StockReleased",
    "StockReserved",
    "SupplierCountConfirmed",
    "SupplierFeed",
    "WarehouseStock",
    "feed_id_for",
    "reservation_id_for",
]
