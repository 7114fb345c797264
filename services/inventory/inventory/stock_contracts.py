"""The high-volume stock events, straight from stored data to CloudEvents.

A nightly run relays about one `StockAdjusted` per feed row. The general path
(`integration.contract_for`) rebuilds the domain event (a pydantic validation), builds the
contract model (another), dumps it and wraps it with `envelope.build`. Here the contract payload
is made from the stored data directly, validated once against its contract model, and wrapped in
a CloudEvent with the same attributes `envelope.build` gives; the unit tests check both paths
give identical events. Events stored under another schema version take the general path (it
upcasts), and the internal events are recognised by type without being decoded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.v1.event import CloudEvent

import contracts
from contracts.inventory import StockAdjustedV1, StockLowV1
from eventkit import envelope

from . import domain

SOURCE = "/nightshift/inventory"
INTERNAL_TYPES = frozenset(
    cls.EVENT_TYPE
    for cls in (
        domain.SupplierCountConfirmed,
        domain.StockReserved,
        domain.StockReleased,
        domain.ReorderPointSet,
        domain.FeedReceived,
        domain.FeedRowsApplied,
    )
)
"""Domain events that are never published (`integration.contract_for` gives None for them)."""


def _adjusted(data: dict[str, Any]) -> dict[str, Any]:
    payload = {
        "sku": data["sku"],
        "warehouse": data["warehouse"],
        "on_hand": data["on_hand"],
        "delta": data["delta"],
        "reason": "feed",
        "cause_id": data["feed_id"],
    }
    if data.get("unit_cost_minor") is not None:
        payload["unit_cost_minor"] = data["unit_cost_minor"]
    if data.get("currency") is not None:
        payload["currency"] = data["currency"]
    return payload


def _low(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku": data["sku"],
        "warehouse": data["warehouse"],
        "on_hand": data["available"],
        "reorder_point": data["reorder_point"],
    }


_Builder = tuple[int, type[StockAdjustedV1] | type[StockLowV1], Callable[[dict[str, Any]], dict[str, Any]]]
_BUILDERS: dict[str, _Builder] = {
    domain.StockAdjusted.EVENT_TYPE: (domain.StockAdjusted.SCHEMA_VERSION, StockAdjustedV1, _adjusted),
    domain.StockRanLow.EVENT_TYPE: (domain.StockRanLow.SCHEMA_VERSION, StockLowV1, _low),
}
_SCHEMA_IDS = {
    model.EVENT_TYPE: contracts.schema_id(model.EVENT_TYPE) for model in (StockAdjustedV1, StockLowV1)
}


def fast_cloud_event(
    event_type: str,
    data: dict[str, Any],
    metadata: dict[str, Any],
    event_id: str,
    version: int,
    recorded_at: datetime,
) -> CloudEvent | None:
    """The CloudEvent of a stored `StockAdjusted` / `StockRanLow` (its stored type, data,
    metadata, id, stream version and commit time) at its current schema version, or None when
    the general path must build it. Raises `pydantic.ValidationError` when the payload breaks its
    contract (as `envelope.build` would never publish such data)."""
    builder = _BUILDERS.get(event_type)
    if builder is None:
        return None
    schema_version, model, payload_of = builder
    if metadata.get("schema_version", 1) != schema_version:
        return None
    payload = payload_of(data)
    model.__pydantic_validator__.validate_python(payload)
    sku = payload["sku"]
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": model.EVENT_TYPE,
        "subject": sku,
        "time": recorded_at.astimezone(UTC),
        "datacontenttype": "application/json",
        "dataschema": _SCHEMA_IDS[model.EVENT_TYPE],
        "partitionkey": sku,
        "sequence": str(version),
    }
    correlation, causation = metadata.get("correlation_id"), metadata.get("causation_id")
    if correlation is not None:
        attributes["correlationid"] = correlation
    if causation is not None:
        attributes["causationid"] = causation
    return envelope.assemble(attributes, payload)
