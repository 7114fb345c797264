"""Events the inventory service publishes: supplier feeds, stock levels and reservations.

Everything goes to the Service Bus topic `inventory`, except the high-volume stock level stream,
which goes to the event hub `inventory-stock` keyed by SKU.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from contracts.common import (
    AmountMinor,
    BlobName,
    Count,
    Currency,
    EventPayload,
    Id,
    Location,
    Producer,
    Quantity,
    Reason,
    SignedInt,
    Sku,
    StockLine,
    Transport,
    WarehouseId,
    _Shape,
)

FeedFormat = Literal["csv", "json"]


class _InventoryTopicEvent(EventPayload):
    PRODUCER: ClassVar[Producer] = "inventory"
    TRANSPORT: ClassVar[Transport] = "service-bus"
    CHANNEL: ClassVar[str] = "inventory"


class FeedProcessedV1(_InventoryTopicEvent):
    """A supplier stock feed was applied; rejected rows (if any) were quarantined."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.inventory.feed.processed.v1"
    PARTITION_KEY_FIELD: ClassVar[str] = "feed_id"

    feed_id: Id = Field(description="Feed id (stable for one uploaded blob version).")
    supplier_id: Id = Field(description="Supplier that sent the feed.")
    blob_name: BlobName = Field(description="Name of the uploaded blob in `inventory-uploads`.")
    format: FeedFormat = Field(description="File format of the feed.")
    rows_total: Count = Field(description="Data rows read from the feed.")
    rows_applied: Count = Field(description="Rows applied to stock.")
    rows_rejected: Count = Field(description="Rows refused and quarantined.")
    quarantine_location: Location | None = Field(
        default=None, description="Where the rejected rows lie; null when none were rejected."
    )

    @model_validator(mode="after")
    def _rows_add_up(self) -> FeedProcessedV1:
        if self.rows_applied + self.rows_rejected != self.rows_total:
            raise ValueError(
                f"rows_applied ({self.rows_applied}) + rows_rejected ({self.rows_rejected}) "
                f"must equal rows_total ({self.rows_total})"
            )
        if self.rows_rejected > 0 and self.quarantine_location is None:
            raise ValueError("quarantine_location is required when rows_rejected > 0")
        return self


FeedRejectionReason = Literal[
    "unreadable",
    "bad-header",
    "unknown-supplier",
    "too-many-rejected-rows",
    "poisoned",
]


class FeedRejectedV1(_InventoryTopicEvent):
    """A supplier feed was refused as a whole; no row of it was applied."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.inventory.feed.rejected.v1"
    PARTITION_KEY_FIELD: ClassVar[str] = "feed_id"

    feed_id: Id = Field(description="Feed id (stable for one uploaded blob version).")
    supplier_id: Id = Field(description="Supplier that sent the feed, as named by the upload.")
    blob_name: BlobName = Field(description="Name of the uploaded blob in `inventory-uploads`.")
    reason: FeedRejectionReason = Field(description="Why the feed was refused.")
    detail: Reason | None = Field(default=None, description="Human-readable detail, if any.")
    quarantine_location: Location | None = Field(
        default=None, description="Where the refused file was moved, if it was."
    )


AdjustmentReason = Literal["feed", "reservation", "release", "correction"]


class StockAdjustedV1(EventPayload):
    """The on-hand stock of one SKU at one warehouse changed (Event Hubs, keyed by SKU)."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.inventory.stock.adjusted.v1"
    PRODUCER: ClassVar[Producer] = "inventory"
    TRANSPORT: ClassVar[Transport] = "event-hubs"
    CHANNEL: ClassVar[str] = "inventory-stock"
    PARTITION_KEY_FIELD: ClassVar[str] = "sku"

    sku: Sku = Field(description="Stock-keeping unit; the partition key.")
    warehouse: WarehouseId = Field(description="Warehouse whose stock changed.")
    on_hand: Count = Field(description="Units available after the change.")
    delta: SignedInt = Field(description="Change in units; never 0 (negative when stock left).")
    reason: AdjustmentReason = Field(description="What caused the change.")
    cause_id: Id = Field(description="Id of the cause: feed id, reservation id or correction id.")
    unit_cost_minor: AmountMinor | None = Field(
        default=None, description="Supplier unit cost in minor units, when a feed states it."
    )
    currency: Currency | None = Field(
        default=None, description="ISO 4217 currency of unit_cost_minor; present exactly when it is."
    )

    @model_validator(mode="after")
    def _delta_and_cost_are_consistent(self) -> StockAdjustedV1:
        if self.delta == 0:
            raise ValueError("delta must not be 0: an adjustment changes stock")
        if (self.unit_cost_minor is None) != (self.currency is None):
            raise ValueError("unit_cost_minor and currency must be given together or not at all")
        return self


class StockReservedV1(_InventoryTopicEvent):
    """Stock for every line of an order was reserved."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.inventory.stock.reserved.v1"
    PARTITION_KEY_FIELD: ClassVar[str] = "order_id"

    order_id: Id = Field(description="Order the stock is reserved for.")
    reservation_id: Id = Field(description="Reservation id; quote it to release.")
    lines: list[StockLine] = Field(min_length=1, description="What was reserved, where.")


class ShortLine(_Shape):
    """A line that could not be reserved in full."""

    sku: Sku = Field(description="Stock-keeping unit.")
    requested: Quantity = Field(description="Units the order asked for.")
    available: Count = Field(description="Units available across warehouses.")

    @model_validator(mode="after")
    def _is_short(self) -> ShortLine:
        if self.available >= self.requested:
            raise ValueError(
                f"available ({self.available}) must be less than requested ({self.requested}) on a short line"
            )
        return self


ReservationRejectionReason = Literal["insufficient-stock", "unknown-sku"]


class ReservationRejectedV1(_InventoryTopicEvent):
    """No stock was reserved for an order because some lines are short."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.inventory.reservation.rejected.v1"
    PARTITION_KEY_FIELD: ClassVar[str] = "order_id"

    order_id: Id = Field(description="Order whose reservation was refused.")
    reason: ReservationRejectionReason = Field(description="Why nothing was reserved.")
    short_lines: list[ShortLine] = Field(min_length=1, description="The lines that could not be met.")


ReleaseReason = Literal["order-cancelled", "reservation-expired"]


class ReservationReleasedV1(_InventoryTopicEvent):
    """A reservation was released and its stock returned."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.inventory.reservation.released.v1"
    PARTITION_KEY_FIELD: ClassVar[str] = "order_id"

    order_id: Id = Field(description="Order the reservation belonged to.")
    reservation_id: Id = Field(description="The released reservation.")
    reason: ReleaseReason = Field(description="Why it was released.")


class StockLowV1(_InventoryTopicEvent):
    """Stock of a SKU at a warehouse fell to or below its reorder point."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.inventory.stock.low.v1"
    PARTITION_KEY_FIELD: ClassVar[str] = "sku"

    sku: Sku = Field(description="Stock-keeping unit.")
    warehouse: WarehouseId = Field(description="Warehouse that runs low.")
    on_hand: Count = Field(description="Units available now.")
    reorder_point: Count = Field(description="Level at or below which to reorder.")

    @model_validator(mode="after")
    def _is_low(self) -> StockLowV1:
        if self.on_hand > self.reorder_point:
            raise ValueError(
                f"on_hand ({self.on_hand}) must be at or below reorder_point ({self.reorder_point})"
            )
        return self


__all__ = [
    "AdjustmentReason",
    "FeedFormat",
    "FeedProcessedV1",
    "FeedRejectedV1",
    "FeedRejectionReason",
    "ReleaseReason",
    "ReservationRejectedV1",
    "ReservationRejectionReason",
    "ReservationReleasedV1",
    "ShortLine",
    "StockAdjustedV1",
    "StockLowV1",
    "StockReservedV1",
]
