"""CloudEvent <-> Event Hubs EventData, on the SDK's real classes and its AMQP wire form."""

from __future__ import annotations

import json
import uuid

import pytest
from azure.eventhub import EventData

from eventkit import envelope
from eventkit.envelope import InvalidCloudEvent
from eventkit.publishing import from_event_data, to_event_data

STRUCTURED = "application/cloudevents+json; charset=utf-8"


def test_a_cloud_event_becomes_structured_event_data(make_event):
    event = make_event()

    event_data = to_event_data(event)

    assert event_data.body_as_str() == envelope.encode(event).decode()
    assert event_data.content_type == STRUCTURED
    assert event_data.message_id == event.get_id()
    assert event_data.correlation_id == event.get_extension("correlationid")
    assert set(event_data.properties) == {f"cloudEvents_{name}" for name in event.get_attributes()}
    assert event_data.properties["cloudEvents_partitionkey"] == event.get_extension("partitionkey")
    properties = event_data.raw_amqp_message.properties
    assert properties is not None
    assert properties.message_id == event.get_id()
    assert properties.content_type == STRUCTURED


def test_an_event_without_a_correlation_id_has_none(make_event):
    event_data = to_event_data(make_event(correlationid=None))

    assert event_data.correlation_id is None


def test_an_event_survives_the_wire_into_received_event_data(make_event, received_event_data):
    event = make_event()

    received = received_event_data(to_event_data(event))
    decoded = from_event_data(received)

    assert decoded.get_attributes() == event.get_attributes()
    assert decoded.get_data() == event.get_data()
    assert received.message_id == event.get_id()
    assert received.content_type == STRUCTURED
    assert received.properties[b"cloudEvents_id"] == event.get_id().encode()


def test_received_event_data_built_from_the_receivers_amqp_message_decodes(make_event, received_event_data):
    event = make_event()
    wire_decoded = received_event_data(to_event_data(event))

    # The consumer builds EventData with `_from_message` from the pyamqp message it received.
    received = EventData._from_message(wire_decoded._message)

    assert from_event_data(received).get_attributes() == event.get_attributes()


def test_binary_mode_event_data_decodes_from_its_properties_and_body(received_event_data):
    event_id = str(uuid.uuid4())
    event_data = EventData(json.dumps({"record": 7}))
    event_data.content_type = "application/json"
    event_data.properties = {
        "cloudEvents_specversion": "1.0",
        "cloudEvents_id": event_id,
        "cloudEvents_source": "/nightshift/migration",
        "cloudEvents_type": "com.nightshift.migration.record.moved.v1",
        "cloudEvents_partitionkey": "batch-3",
        "cloudEvents_sequence": 42,
    }

    decoded = from_event_data(received_event_data(event_data))

    assert decoded.get_id() == event_id
    assert decoded.get_type() == "com.nightshift.migration.record.moved.v1"
    assert decoded.get_extension("partitionkey") == "batch-3"
    assert decoded.get_extension("sequence") == 42
    assert decoded.get_datacontenttype() == "application/json"
    assert decoded.get_data() == {"record": 7}


def test_binary_mode_bytes_data_stays_bytes(received_event_data):
    event_data = EventData(b"\x89PNG\x00\x01")
    event_data.content_type = "image/png"
    event_data.properties = {
        "cloudEvents_specversion": "1.0",
        "cloudEvents_id": "img-1",
        "cloudEvents_source": "/cameras",
        "cloudEvents_type": "com.example.image.taken",
    }

    decoded = from_event_data(received_event_data(event_data))

    assert decoded.get_data() == b"\x89PNG\x00\x01"
    assert decoded.get_datacontenttype() == "image/png"


def test_garbage_event_data_is_refused_naming_the_problem(received_event_data):
    with pytest.raises(InvalidCloudEvent, match="expected a JSON object") as caught:
        from_event_data(received_event_data(EventData("[1, 2, 3]")))

    assert caught.value.attribute == "(body)"


def test_a_structured_body_with_a_bad_time_names_time(make_event, received_event_data):
    body = json.loads(envelope.encode(make_event()))
    body["time"] = "yesterday-ish"
    event_data = EventData(json.dumps(body))
    event_data.content_type = STRUCTURED

    with pytest.raises(InvalidCloudEvent) as caught:
        from_event_data(received_event_data(event_data))

    assert caught.value.attribute == "time"


def test_a_binary_mode_time_that_is_not_a_timestamp_names_time(received_event_data):
    event_data = EventData(b"{}")
    event_data.properties = {
        "cloudEvents_specversion": "1.0",
        "cloudEvents_id": "1",
        "cloudEvents_source": "/x",
        "cloudEvents_type": "t",
        "cloudEvents_time": "half past six",
    }

    with pytest.raises(InvalidCloudEvent, match="half past six") as caught:
        from_event_data(received_event_data(event_data))

    assert caught.value.attribute == "time"
