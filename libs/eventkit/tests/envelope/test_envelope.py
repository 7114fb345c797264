"""The CloudEvent envelope: Nightshift's attributes, structured JSON, specific decode errors."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

import contracts
from eventkit import envelope
from eventkit.envelope import EventDataInvalid, InvalidCloudEvent, UnknownEventType

EXAMPLES = Path(__file__).resolve().parents[4] / "contracts" / "examples"


def an_order_placed(order_id: str | None = None) -> contracts.OrderPlacedV1:
    order_id = order_id or f"ord-{uuid.uuid4().hex[:8]}"
    return contracts.OrderPlacedV1(
        order_id=order_id,
        customer_id="cus-1",
        lines=[contracts.OrderLine(sku="TEA-1", quantity=2, unit_price_minor=650, line_total_minor=1300)],
        total_minor=1300,
        currency="GBP",
        placed_at=datetime(2026, 11, 28, 21, 14, 3, tzinfo=UTC),
    )


def test_a_built_event_carries_nightshifts_attributes() -> None:
    model = an_order_placed("ord-42")
    event = envelope.build(model, subject="ord-42", sequence=3, correlationid="corr-1", causationid="cause-1")

    attributes = event.get_attributes()
    assert attributes["type"] == "com.nightshift.orders.order.placed.v1"
    assert attributes["source"] == "/nightshift/orders"
    assert attributes["subject"] == "ord-42"
    assert attributes["partitionkey"] == "ord-42"
    assert attributes["sequence"] == "3"
    assert attributes["dataschema"] == contracts.schema_id("com.nightshift.orders.order.placed.v1")
    assert attributes["correlationid"] == "corr-1"
    assert attributes["causationid"] == "cause-1"
    assert attributes["datacontenttype"] == "application/json"


def test_encode_then_decode_gives_the_same_event_and_data() -> None:
    model = an_order_placed()
    event = envelope.build(model, subject=model.order_id, event_id="evt-1")

    decoded, data = envelope.decode_valid(envelope.encode(event))

    assert decoded.get_attributes() == event.get_attributes()
    assert data == model


def test_the_encoded_time_is_rfc3339_utc() -> None:
    event = envelope.build(an_order_placed(), subject="o", time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert json.loads(envelope.encode(event))["time"].startswith("2026-01-02T03:04:05")


@pytest.mark.parametrize(
    ("body", "attribute"),
    [
        (b"\xff\xfe not json", "(body)"),
        (b"[1, 2]", "(body)"),
        (b'{"specversion": "1.0", "source": "/x", "type": "t"}', "id"),
        (b'{"specversion": "1.0", "id": "", "source": "/x", "type": "t"}', "id"),
        (b'{"specversion": "1.0", "id": "1", "type": "t"}', "source"),
        (b'{"specversion": "0.3", "id": "1", "source": "/x", "type": "t"}', "specversion"),
        (b'{"specversion": "1.0", "id": "1", "source": "/x", "type": "t", "time": "yesterday"}', "time"),
    ],
)
def test_something_that_is_not_a_cloudevent_is_refused_naming_the_attribute(
    body: bytes, attribute: str
) -> None:
    with pytest.raises(InvalidCloudEvent) as raised:
        envelope.decode(body)
    assert raised.value.attribute == attribute
    assert attribute in str(raised.value)


def test_data_that_breaks_its_schema_names_the_type_and_the_field() -> None:
    raw = json.loads(envelope.encode(envelope.build(an_order_placed(), subject="o")))
    raw["data"]["lines"][0]["quantity"] = -1

    with pytest.raises(EventDataInvalid) as raised:
        envelope.decode_valid(json.dumps(raw))

    assert raised.value.event_type == "com.nightshift.orders.order.placed.v1"
    assert raised.value.field == "lines.0.quantity"
    assert "lines.0.quantity" in str(raised.value)


def test_an_unknown_type_is_refused_by_name() -> None:
    raw = json.loads(envelope.encode(envelope.build(an_order_placed(), subject="o")))
    raw["type"] = "com.nightshift.orders.order.teleported.v1"

    with pytest.raises(UnknownEventType, match="teleported"):
        envelope.decode_valid(json.dumps(raw))


def test_the_transport_message_follows_the_service_bus_conventions() -> None:
    event = envelope.build(an_order_placed("ord-7"), subject="ord-7", event_id="evt-7", correlationid="c-7")

    message = envelope.to_transport(event)

    assert message.message_id == "evt-7"
    assert message.subject == "com.nightshift.orders.order.placed.v1"
    assert message.partition_key == "ord-7"
    assert message.correlation_id == "c-7"
    assert message.content_type.startswith("application/cloudevents+json")
    assert message.application_properties["cloudEvents_type"] == "com.nightshift.orders.order.placed.v1"
    assert message.application_properties["cloudEvents_id"] == "evt-7"
    assert str(message.application_properties["cloudEvents_time"]).endswith("Z")
    assert envelope.from_transport(message.body).get_attributes() == event.get_attributes()


@pytest.mark.parametrize(
    "example", sorted(EXAMPLES.glob("*/*.json")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_every_published_example_decodes_and_validates(example: Path) -> None:
    event, data = envelope.decode_valid(example.read_bytes())
    assert event.get_type() == example.parent.name
    assert type(data) is contracts.model_for(event.get_type())
