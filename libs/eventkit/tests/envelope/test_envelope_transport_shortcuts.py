"""The relay's shortcuts give exactly what the SDK gives: the same bytes, properties and errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from eventkit import envelope

SDK_FORMAT = JSONFormat()


def attributes_of_a_stock_event(**changes: Any) -> dict[str, Any]:
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/nightshift/inventory",
        "type": "com.nightshift.inventory.stock.adjusted.v1",
        "subject": sku,
        "time": datetime(2026, 11, 29, 1, 2, 3, 456789, tzinfo=UTC),
        "datacontenttype": "application/json",
        "dataschema": "https://nightshift.example/schemas/inventory/stock.adjusted.v1.json",
        "partitionkey": sku,
        "sequence": "7",
        "correlationid": "feed-1",
    }
    attributes.update(changes)
    return {name: value for name, value in attributes.items() if value is not None}


def sdk_properties(event: CloudEvent) -> dict[str, Any]:
    """The application properties as `to_transport` built them before the shortcut."""
    properties: dict[str, Any] = {}
    for name, value in event.get_attributes().items():
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        elif not (value is None or isinstance(value, str | int | float | bool)):
            value = str(value)
        properties[f"cloudEvents_{name}"] = value
    return properties


DATA = {"sku": "TEA-1", "warehouse": "WH1", "on_hand": 5, "delta": -2, "note": "thé ☕"}
VARIANTS = {
    "a UTC time": {},
    "a time with another offset": {
        "time": datetime(2026, 11, 29, 1, 2, 3, tzinfo=timezone(timedelta(hours=2)))
    },
    "a whole-second time": {"time": datetime(2026, 11, 29, 1, 2, 3, tzinfo=UTC)},
    "no subject": {"subject": None},
    "a non-JSON content type": {"datacontenttype": "text/plain"},
    "a JSON suffix content type": {"datacontenttype": "application/vnd.nightshift+json; charset=utf-8"},
    "an integer extension": {"sequence": 7},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_transport_message_carries_the_sdk_bytes_and_the_same_properties(variant: str) -> None:
    event = CloudEvent(attributes_of_a_stock_event(**VARIANTS[variant]), dict(DATA))

    message = envelope.to_transport(event)

    assert message.body == SDK_FORMAT.write(event)
    assert message.application_properties == sdk_properties(event)
    assert list(message.application_properties) == list(sdk_properties(event))
    assert envelope.encode(event) == SDK_FORMAT.write(event)


@pytest.mark.parametrize("data", [b"\x00binary", "plain text", None], ids=["bytes", "text", "none"])
def test_events_with_other_data_are_encoded_as_the_sdk_encodes_them(data: bytes | str | None) -> None:
    event = CloudEvent(attributes_of_a_stock_event(datacontenttype="text/plain"), data)

    assert envelope.to_transport(event).body == SDK_FORMAT.write(event)


def test_assembled_events_equal_the_events_the_sdk_constructs() -> None:
    for _ in range(3):  # the first builds the shape, the others take the shortcut
        attributes = attributes_of_a_stock_event()
        assembled = envelope.assemble(dict(attributes), dict(DATA))
        constructed = CloudEvent(dict(attributes), dict(DATA))

        assert assembled.get_attributes() == constructed.get_attributes()
        assert assembled.get_data() == constructed.get_data()
        assert envelope.to_transport(assembled) == envelope.to_transport(constructed)


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("id", ""), ("id", 42), ("subject", ""), ("time", datetime(2026, 11, 29)), ("time", "2026-11-29")],
)
def test_an_assembled_event_of_a_known_shape_is_still_checked_per_event(
    attribute: str, value: object
) -> None:
    envelope.assemble(attributes_of_a_stock_event(), dict(DATA))

    with pytest.raises(CloudEventValidationError, match=attribute):
        envelope.assemble(attributes_of_a_stock_event(**{attribute: value}), dict(DATA))


def test_an_assembled_event_with_a_bad_constant_attribute_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(CloudEventValidationError, match="Bad_Name"):
            envelope.assemble(attributes_of_a_stock_event(Bad_Name="x"), dict(DATA))
