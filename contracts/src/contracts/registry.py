"""Every contract event type, looked up by its CloudEvent `type` string.

`EVENT_TYPES` is the single list of types the schemas, examples and asyncapi.yaml must match.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from contracts.common import EventPayload
from contracts.errors import UnknownEventType
from contracts.inventory import (
    FeedProcessedV1,
    FeedRejectedV1,
    ReservationRejectedV1,
    ReservationReleasedV1,
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
)
from contracts.reporting import ReportPublishedV1

SCHEMA_BASE_URL = "https://schemas.nightshift.example/events/"
"""Base of every schema `$id`. `.example` is a reserved TLD: the ids are names, not fetchable URLs."""

_MODELS: tuple[type[EventPayload], ...] = (
    FeedProcessedV1,
    FeedRejectedV1,
    StockAdjustedV1,
    StockReservedV1,
    ReservationRejectedV1,
    ReservationReleasedV1,
    StockLowV1,
    OrderPlacedV1,
    PaymentCapturedV1,
    OrderConfirmedV1,
    FulfillmentRequestedV1,
    OrderCancelledV1,
    OrderImportedV1,
    ReportPublishedV1,
    OrderMigratedV1,
    MigrationRunCompletedV1,
)

EVENT_TYPES: Mapping[str, type[EventPayload]] = MappingProxyType({m.EVENT_TYPE: m for m in _MODELS})
"""Full CloudEvent type string -> the pydantic model of its `data`. Read-only."""


def model_for(event_type: str) -> type[EventPayload]:
    """The model of `event_type`'s data. Raises `UnknownEventType` naming the type if none exists."""
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def schema_id(event_type: str) -> str:
    """The JSON Schema `$id` of `event_type`, used as the CloudEvent `dataschema`.

    Raises `UnknownEventType` if the type is not a known contract.
    """
    model_for(event_type)
    return f"{SCHEMA_BASE_URL}{event_type}.json"


def schema_file_name(event_type: str) -> str:
    """The file name of `event_type`'s schema under `contracts/schemas/`. Raises `UnknownEventType`."""
    model_for(event_type)
    return f"{event_type}.json"


def parse_data(event_type: str, data: object) -> EventPayload:
    """Validate a CloudEvent's `data` (already JSON-decoded) as `event_type`'s model.

    Raises `UnknownEventType`, or `pydantic.ValidationError` naming each offending field.
    """
    return model_for(event_type).model_validate(data)
