"""CloudEvent <-> Service Bus message, on the SDK's real message classes and its AMQP wire form."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from azure.servicebus import ServiceBusMessage
from azure.servicebus.amqp import AmqpAnnotatedMessage

from eventkit import envelope
from eventkit.envelope import InvalidCloudEvent
from eventkit.publishing import (
    MissingPartitionKey,
    from_service_bus_message,
    to_service_bus_message,
    transport_to_service_bus_message,
)

STRUCTURED = "application/cloudevents+json; charset=utf-8"


def test_a_cloud_event_becomes_a_structured_message_addressed_as_the_architecture_says(make_event):
    event = make_event()

    message = to_service_bus_message(event)

    assert message.body_type.name == "DATA"
    assert b"".join(message.body) == envelope.encode(event)
    assert message.content_type == STRUCTURED
    assert message.message_id == event.get_id()
    assert message.subject == event.get_type()
    assert message.correlation_id == event.get_extension("correlationid")
    assert message.session_id is None
    properties = message.raw_amqp_message.properties
    assert properties is not None
    assert properties.message_id == event.get_id()
    assert properties.subject == event.get_type()
    assert properties.content_type == STRUCTURED
    assert properties.group_id is None


def test_every_attribute_is_an_application_property_with_the_cloudevents_prefix(make_event):
    event = make_event()

    message = to_service_bus_message(event)

    expected = {f"cloudEvents_{name}" for name in event.get_attributes()}
    assert message.application_properties is not None
    assert set(message.application_properties) == expected
    assert message.raw_amqp_message.application_properties == message.application_properties
    assert message.application_properties["cloudEvents_type"] == event.get_type()
    assert message.application_properties["cloudEvents_partitionkey"] == event.get_extension("partitionkey")
    assert message.application_properties["cloudEvents_time"] == event.get_time().isoformat().replace(
        "+00:00", "Z"
    )


def test_a_session_topic_message_carries_the_partition_key_as_session_id(make_event):
    event = make_event(aggregate=f"order-{uuid.uuid4().hex}")

    message = to_service_bus_message(event, session=True)

    assert message.session_id == event.get_extension("partitionkey")
    assert message.raw_amqp_message.properties.group_id == event.get_extension("partitionkey")


def test_a_session_topic_refuses_an_event_without_a_partition_key(make_event):
    event = make_event(partitionkey=None)

    with pytest.raises(MissingPartitionKey, match=event.get_id()) as caught:
        to_service_bus_message(event, session=True)

    assert caught.value.event_id == event.get_id()
    assert to_service_bus_message(event).session_id is None


def test_a_transport_message_with_its_own_session_id_keeps_it(make_event):
    transport = envelope.to_transport(make_event())
    pinned = type(transport)(**{**transport.__dict__, "session_id": "pinned-session"})

    assert transport_to_service_bus_message(pinned, session=True).session_id == "pinned-session"


def test_an_event_survives_the_wire_into_a_received_message(make_event, received_servicebus_message):
    event = make_event()

    received = received_servicebus_message(to_service_bus_message(event, session=True))
    decoded = from_service_bus_message(received)

    assert decoded.get_attributes() == event.get_attributes()
    assert decoded.get_data() == event.get_data()
    assert received.message_id == event.get_id()
    assert received.subject == event.get_type()
    assert received.content_type == STRUCTURED
    assert received.correlation_id == event.get_extension("correlationid")
    assert received.session_id == event.get_extension("partitionkey")


def test_received_application_properties_arrive_as_bytes_and_still_filter_by_type(
    make_event, received_servicebus_message
):
    event = make_event()

    received = received_servicebus_message(to_service_bus_message(event))

    assert received.application_properties is not None
    assert received.application_properties[b"cloudEvents_type"] == event.get_type().encode()


def test_a_binary_mode_message_decodes_from_its_properties_and_body(received_servicebus_message):
    event_id = str(uuid.uuid4())
    when = datetime(2026, 3, 1, 6, 0, 0, 123000, tzinfo=UTC)
    message = ServiceBusMessage(
        json.dumps({"sku": "A-1", "quantity": 4}).encode(),
        content_type="application/json",
        application_properties={
            "cloudEvents_specversion": "1.0",
            "cloudEvents_id": event_id,
            "cloudEvents_source": "/nightshift/inventory",
            "cloudEvents_type": "com.nightshift.inventory.stock.adjusted.v1",
            "cloudEvents_subject": "sku-A-1",
            "cloudEvents_time": when,
            "cloudEvents:partitionkey": "sku-A-1",
            "unrelated": "kept out",
        },
    )

    decoded = from_service_bus_message(received_servicebus_message(message))

    assert decoded.get_id() == event_id
    assert decoded.get_type() == "com.nightshift.inventory.stock.adjusted.v1"
    assert decoded.get_source() == "/nightshift/inventory"
    assert decoded.get_subject() == "sku-A-1"
    assert decoded.get_time() == when
    assert decoded.get_extension("partitionkey") == "sku-A-1"
    assert decoded.get_datacontenttype() == "application/json"
    assert decoded.get_extension("unrelated") is None
    assert decoded.get_data() == {"sku": "A-1", "quantity": 4}


def test_a_binary_mode_time_may_be_rfc3339_text(received_servicebus_message):
    message = ServiceBusMessage(
        b"plain words",
        content_type="text/plain",
        application_properties={
            "cloudEvents_specversion": "1.0",
            "cloudEvents_id": "evt-1",
            "cloudEvents_source": "/elsewhere",
            "cloudEvents_type": "com.example.thing.happened",
            "cloudEvents_time": "2026-03-01T06:00:00Z",
        },
    )

    decoded = from_service_bus_message(received_servicebus_message(message))

    assert decoded.get_time() == datetime(2026, 3, 1, 6, tzinfo=UTC)
    assert decoded.get_data() == "plain words"


def test_a_body_that_is_not_json_is_refused_as_not_a_cloud_event(received_servicebus_message):
    received = received_servicebus_message(ServiceBusMessage(b"\x00\xffnot json"))

    with pytest.raises(InvalidCloudEvent, match="not JSON") as caught:
        from_service_bus_message(received)

    assert caught.value.attribute == "(body)"


def test_a_structured_body_without_an_id_names_the_missing_attribute(received_servicebus_message):
    body = json.dumps({"specversion": "1.0", "source": "/x", "type": "com.nightshift.x.y.z.v1"})
    received = received_servicebus_message(ServiceBusMessage(body, content_type=STRUCTURED))

    with pytest.raises(InvalidCloudEvent) as caught:
        from_service_bus_message(received)

    assert caught.value.attribute == "id"


def test_a_binary_mode_message_without_a_source_names_the_missing_property(received_servicebus_message):
    message = ServiceBusMessage(
        b"{}",
        content_type="application/json",
        application_properties={
            "cloudEvents_specversion": "1.0",
            "cloudEvents_id": "1",
            "cloudEvents_type": "t",
        },
    )

    with pytest.raises(InvalidCloudEvent, match="cloudEvents_source") as caught:
        from_service_bus_message(received_servicebus_message(message))

    assert caught.value.attribute == "source"


def test_a_binary_mode_json_body_that_is_not_json_is_refused(received_servicebus_message):
    message = ServiceBusMessage(
        b"{oops",
        content_type="application/json",
        application_properties={
            "cloudEvents_specversion": "1.0",
            "cloudEvents_id": "1",
            "cloudEvents_source": "/x",
            "cloudEvents_type": "t",
        },
    )

    with pytest.raises(InvalidCloudEvent, match="not JSON") as caught:
        from_service_bus_message(received_servicebus_message(message))

    assert caught.value.attribute == "data"


def test_an_old_specversion_is_refused(received_servicebus_message):
    message = ServiceBusMessage(
        b"{}",
        content_type="application/json",
        application_properties={
            "cloudEvents_specversion": "0.3",
            "cloudEvents_id": "1",
            "cloudEvents_source": "/x",
            "cloudEvents_type": "t",
        },
    )

    with pytest.raises(InvalidCloudEvent, match=r"only 1\.0") as caught:
        from_service_bus_message(received_servicebus_message(message))

    assert caught.value.attribute == "specversion"


def test_an_amqp_value_body_is_not_a_cloud_event(received_servicebus_message):
    message = AmqpAnnotatedMessage(value_body={"specversion": "1.0"})

    with pytest.raises(InvalidCloudEvent, match="AMQP body of type dict") as caught:
        from_service_bus_message(received_servicebus_message(message))

    assert caught.value.attribute == "(body)"


def test_an_amqp_value_body_holding_the_json_text_still_decodes(make_event, received_servicebus_message):
    event = make_event()
    message = AmqpAnnotatedMessage(
        value_body=envelope.encode(event).decode(), properties={"content_type": STRUCTURED}
    )

    decoded = from_service_bus_message(received_servicebus_message(message))

    assert decoded.get_attributes() == event.get_attributes()
