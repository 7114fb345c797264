"""The Azure publishers fill the SDK's real batches in order, split them when full, map failures.

The clients are in-process stand-ins (see conftest.py): AMQP cannot run here. Batches, message
encoding and decoding are the SDK's own.
"""

from __future__ import annotations

import uuid

import pytest
from azure.eventhub.exceptions import ConnectError
from azure.servicebus.exceptions import ServiceBusConnectionError

from eventkit.publisher import PublishError
from eventkit.publishing import (
    EventHubsPublisher,
    EventTooLarge,
    ServiceBusPublisher,
    from_event_data,
    from_service_bus_message,
)


def ids(events):
    return [event.get_id() for event in events]


def test_service_bus_splits_three_thousand_events_into_full_batches_in_order(make_event, service_bus, topic):
    events = [make_event(padding=1024) for _ in range(3000)]
    publisher = ServiceBusPublisher(service_bus)

    publisher.publish(topic, events)

    batches = service_bus.batches[topic]
    assert len(batches) > 10
    assert all(size <= service_bus.max_batch_size for size in service_bus.batch_sizes)
    received = service_bus.received(topic)
    assert [message.message_id for message in received] == ids(events)
    assert from_service_bus_message(received[-1]).get_data() == events[-1].get_data()


def test_service_bus_session_topics_batch_per_session_keeping_each_sessions_order(
    make_event, service_bus, topic
):
    aggregates = [f"order-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    events = [make_event(aggregate=aggregates[i % 3], padding=512, sequence=str(i)) for i in range(600)]
    publisher = ServiceBusPublisher(service_bus, session_topics={topic})

    publisher.publish(topic, events)

    for batch in service_bus.batches[topic]:
        assert len({message.session_id for message in batch}) == 1
    received = service_bus.received(topic)
    for aggregate in aggregates:
        sent = [e.get_id() for e in events if e.get_extension("partitionkey") == aggregate]
        assert [m.message_id for m in received if m.session_id == aggregate] == sent
    assert len(received) == len(events)


def test_service_bus_topics_without_sessions_send_no_session_id(make_event, service_bus, topic):
    ServiceBusPublisher(service_bus, session_topics={"some-other-topic"}).publish(topic, [make_event()])

    assert service_bus.received(topic)[0].session_id is None


def test_service_bus_refuses_an_event_too_large_for_any_batch(make_event, service_bus, topic):
    small, huge = make_event(), make_event(padding=service_bus.max_batch_size)

    with pytest.raises(EventTooLarge, match=huge.get_id()) as caught:
        ServiceBusPublisher(service_bus).publish(topic, [small, huge])

    assert isinstance(caught.value, PublishError)
    assert caught.value.event_id == huge.get_id()
    assert topic in str(caught.value)


def test_service_bus_failures_become_publish_errors_naming_topic_and_first_event(
    make_event, service_bus, topic
):
    events = [make_event() for _ in range(3)]
    service_bus.fail_next_send(ServiceBusConnectionError(message="amqp:connection:forced"))
    publisher = ServiceBusPublisher(service_bus)

    with pytest.raises(PublishError, match=topic) as caught:
        publisher.publish(topic, events)

    assert events[0].get_id() in str(caught.value)
    assert isinstance(caught.value.__cause__, ServiceBusConnectionError)
    publisher.publish(topic, events)  # the broken sender was dropped; a fresh one is used
    assert service_bus.senders[0].closed
    assert [m.message_id for m in service_bus.received(topic)] == ids(events)


def test_service_bus_session_topic_event_without_partition_key_is_a_publish_error(
    make_event, service_bus, topic
):
    event = make_event(partitionkey=None)

    with pytest.raises(PublishError, match=event.get_id()):
        ServiceBusPublisher(service_bus, session_topics={topic}).publish(topic, [event])

    assert service_bus.received(topic) == []


def test_service_bus_keeps_one_sender_per_topic_and_close_closes_them(make_event, service_bus, topic):
    publisher = ServiceBusPublisher(service_bus)
    other = f"{topic}-other"

    for _ in range(3):
        publisher.publish(topic, [make_event()])
        publisher.publish(other, [make_event()])
    publisher.close()
    publisher.close()

    assert sorted(sender.topic for sender in service_bus.senders) == sorted([topic, other])
    assert all(sender.closed for sender in service_bus.senders)
    assert not service_bus.closed, "a client passed in belongs to the caller"
    with pytest.raises(PublishError, match="closed"):
        publisher.publish(topic, [make_event()])


def test_service_bus_publishing_nothing_opens_nothing(service_bus, topic):
    ServiceBusPublisher(service_bus).publish(topic, [])

    assert service_bus.senders == []


def test_service_bus_publisher_needs_exactly_one_way_to_connect(service_bus):
    with pytest.raises(TypeError, match="exactly one"):
        ServiceBusPublisher()
    with pytest.raises(TypeError, match="exactly one"):
        ServiceBusPublisher(service_bus, connection_string="Endpoint=sb://x/")
    with pytest.raises(TypeError, match="credential"):
        ServiceBusPublisher(fully_qualified_namespace="ns.servicebus.windows.net")


def test_event_hubs_groups_by_partition_key_and_splits_full_batches_in_order(make_event, event_hubs):
    hub = f"inventory-stock-{uuid.uuid4().hex[:6]}"
    keys = [f"sku-{uuid.uuid4().hex[:6]}" for _ in range(5)]
    events = [make_event(aggregate=keys[i % 5], padding=1024) for i in range(3000)]
    publisher = EventHubsPublisher(event_hubs)

    publisher.publish(hub, events)

    batches = event_hubs.batches[hub]
    assert len(batches) > len(keys)
    for batch in batches:
        assert len({event.partition_key for event in batch}) == 1
    received = event_hubs.received(hub)
    assert len(received) == len(events)
    for key in keys:
        sent = [e.get_id() for e in events if e.get_extension("partitionkey") == key]
        assert [r.message_id for r in received if r.partition_key == key.encode()] == sent
    assert from_event_data(received[0]).get_attributes() == events[0].get_attributes()


def test_event_hubs_events_without_partition_key_are_sent_without_one(make_event, event_hubs):
    events = [make_event(partitionkey=None) for _ in range(4)]

    EventHubsPublisher(event_hubs).publish("hub", events)

    received = event_hubs.received("hub")
    assert [r.message_id for r in received] == ids(events)
    assert {r.partition_key for r in received} == {None}


def test_event_hubs_failures_become_publish_errors_naming_hub_and_first_event(make_event, event_hubs):
    events = [make_event() for _ in range(2)]
    event_hubs.fail_next_send(ConnectError("connection refused"))
    publisher = EventHubsPublisher(event_hubs)

    with pytest.raises(PublishError, match="'migration-records'") as caught:
        publisher.publish("migration-records", events)

    assert events[0].get_id() in str(caught.value)
    assert isinstance(caught.value.__cause__, ConnectError)
    publisher.publish("migration-records", events)
    assert event_hubs.producers[0].closed
    assert [r.message_id for r in event_hubs.received("migration-records")] == ids(events)


def test_event_hubs_refuses_an_event_too_large_for_any_batch(make_event, event_hubs):
    huge = make_event(padding=event_hubs.max_batch_size)

    with pytest.raises(EventTooLarge, match=huge.get_id()):
        EventHubsPublisher(event_hubs).publish("hub", [huge])


def test_event_hubs_keeps_one_producer_per_hub_and_close_closes_them(make_event, event_hubs):
    publisher = EventHubsPublisher(event_hubs)

    for _ in range(3):
        publisher.publish("a", [make_event()])
        publisher.publish("b", [make_event()])
    publisher.close()

    assert sorted(producer.hub for producer in event_hubs.producers) == ["a", "b"]
    assert all(producer.closed for producer in event_hubs.producers)
    with pytest.raises(PublishError, match="closed"):
        publisher.publish("a", [make_event()])


def test_event_hubs_publisher_needs_exactly_one_way_to_connect(event_hubs):
    with pytest.raises(TypeError, match="exactly one"):
        EventHubsPublisher()
    with pytest.raises(TypeError, match="exactly one"):
        EventHubsPublisher(event_hubs, connection_string="Endpoint=sb://x/")
    with pytest.raises(TypeError, match="credential"):
        EventHubsPublisher(fully_qualified_namespace="ns.servicebus.windows.net")


def test_the_publishers_own_batch_size_limit_is_respected(make_event, service_bus, event_hubs, topic):
    events = [make_event(aggregate="order-1", padding=1024) for _ in range(100)]
    limit = 16 * 1024

    ServiceBusPublisher(service_bus, max_batch_size_in_bytes=limit).publish(topic, events)
    EventHubsPublisher(event_hubs, max_batch_size_in_bytes=limit).publish("hub", events)

    assert max(service_bus.batch_sizes) <= limit
    assert len(service_bus.batches[topic]) >= 100 * 1024 // limit
    assert len(event_hubs.batches["hub"]) >= 100 * 1024 // limit
    assert [r.message_id for r in event_hubs.received("hub")] == ids(events)
