"""Nightshift's integration event contracts.

One immutable pydantic model per CloudEvent type (the event's `data`), the registry that maps a
type string to its model and schema `$id`, and the messaging topology (topics, subscriptions,
event hubs, consumer groups). Importing this package performs no I/O.
"""

from contracts import topology
from contracts.common import (
    Address,
    EventPayload,
    OrderLine,
    OrderSnapshot,
    StockLine,
)
from contracts.errors import (
    ContractError,
    ReleasedSchemaChanged,
    ReleasedSchemaOverwrite,
    UnknownChannel,
    UnknownEventType,
)
from contracts.inventory import (
    FeedProcessedV1,
    FeedRejectedV1,
    ReservationRejectedV1,
    ReservationReleasedV1,
    ShortLine,
    StockAdjustedV1,
    StockLowV1,
    StockReservedV1,
)
from contracts.migration import MigrationRunCompletedV1, OrderMigratedV1
from contracts.orders import (
    FulfillmentRequestedV1,
    OrderCancelledV1,
    OrderConfirmedV1,
    OrderImportedV1,
    OrderPlacedV1,
    PaymentCapturedV1,
    Refund,
)
from contracts.registry import (
    EVENT_TYPES,
    SCHEMA_BASE_URL,
    model_for,
    parse_data,
    schema_file_name,
    schema_id,
)
from contracts.reporting import HeadlineFigures, ReportPublishedV1

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_BASE_URL",
    "Address",
    "ContractError",
    "EventPayload",
    "FeedProcessedV1",
    "FeedRejectedV1",
    "FulfillmentRequestedV1",
    "HeadlineFigures",
    "MigrationRunCompletedV1",
    "OrderCancelledV1",
    "OrderConfirmedV1",
    "OrderImportedV1",
    "OrderLine",
    "OrderMigratedV1",
    "OrderPlacedV1",
    "OrderSnapshot",
    "PaymentCapturedV1",
    "Refund",
    "ReleasedSchemaChanged",
    "ReleasedSchemaOverwrite",
    "ReportPublishedV1",
    "ReservationRejectedV1",
    "ReservationReleasedV1",
    "ShortLine",
    "StockAdjustedV1",
    "StockLine",
    "StockLowV1",
    "StockReservedV1",
    "UnknownChannel",
    "UnknownEventType",
    "model_for",
    "parse_data",
    "schema_file_name",
    "schema_id",
    "topology",
]
