"""The publishers on the real Azure SDK clients.

- Against a loopback port where nothing listens (runs everywhere): the real clients fail to
  connect, and the publishers turn that into `PublishError` naming the destination and event.
- Against real Azure (`azure_live`): publish, then receive the event back through the SDK's
  receiver. Skipped, naming the missing settings, unless these are set:
  `NIGHTSHIFT_SERVICEBUS_CONNECTION`, `NIGHTSHIFT_SERVICEBUS_TOPIC`,
  `NIGHTSHIFT_SERVICEBUS_SUBSCRIPTION` (and `NIGHTSHIFT_SERVICEBUS_SESSIONS=1` when that
  subscription requires sessions); `NIGHTSHIFT_EVENTHUBS_CONNECTION`, `NIGHTSHIFT_EVENTHUB_NAME`
  (and optionally `NIGHTSHIFT_EVENTHUB_CONSUMER_GROUP`, default `$Default`).
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.eventhub import EventHubConsumerClient
from azure.servicebus import ServiceBusClient

from eventkit.publisher import PublishError
from eventkit.publishing import (
    EventHubsPublisher,
    ServiceBusPublisher,
    from_event_data,
    from_service_bus_message,
)

RECEIVE_DEADLINE_SECONDS = 60


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def emulator_connection_string(port: int) -> str:
    return (
        f"Endpoint=sb://127.0.0.1:{port};SharedAccessKeyName=RootManageSharedAccessKey;"
        "SharedAccessKey=not-a-secret;UseDevelopmentEmulator=true;"
    )


def test_the_real_service_bus_client_failing_to_connect_is_a_publish_error(make_event, closed_port):
    event = make_event()
    publisher = ServiceBusPublisher(
        connection_string=emulator_connection_string(closed_port), client_options={"retry_total": 0}
    )

    with pytest.raises(PublishError, match="topic 'orders'") as caught:
        publisher.publish("orders", [event])
    publisher.close()

    assert event.get_id() in str(caught.value)


def test_the_identity_based_service_bus_client_failing_to_connect_is_a_publish_error(make_event):
    event = make_event()
    # AMQPS port 5671 on loopback: no broker runs here (an unexpected listener still fails TLS/auth).
    publisher = ServiceBusPublisher(
        fully_qualified_namespace="127.0.0.1",
        credential=AzureNamedKeyCredential("RootManageSharedAccessKey", "not-a-secret"),
        client_options={"retry_total": 0},
    )

    with pytest.raises(PublishError, match=event.get_id()):
        publisher.publish("orders", [event])
    publisher.close()


def test_the_real_event_hubs_client_failing_to_connect_is_a_publish_error(make_event, closed_port):
    event = make_event()
    publisher = EventHubsPublisher(
        connection_string=emulator_connection_string(closed_port), client_options={"retry_total": 0}
    )

    with pytest.raises(PublishError, match="event hub 'inventory-stock'") as caught:
        publisher.publish("inventory-stock", [event])
    publisher.close()

    assert event.get_id() in str(caught.value)


def required_settings(*names: str) -> list[str]:
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        pytest.skip(f"needs real Azure settings; missing: {', '.join(missing)}")
    return [os.environ[name] for name in names]


@pytest.mark.azure_live
def test_an_event_published_to_a_real_topic_reaches_its_subscription_intact(make_event):
    connection, topic, subscription = required_settings(
        "NIGHTSHIFT_SERVICEBUS_CONNECTION",
        "NIGHTSHIFT_SERVICEBUS_TOPIC",
        "NIGHTSHIFT_SERVICEBUS_SUBSCRIPTION",
    )
    sessions = os.environ.get("NIGHTSHIFT_SERVICEBUS_SESSIONS") == "1"
    event = make_event()
    publisher = ServiceBusPublisher(connection_string=connection, session_topics={topic} if sessions else ())
    try:
        publisher.publish(topic, [event])
    finally:
        publisher.close()

    with ServiceBusClient.from_connection_string(connection) as client:
        receiver = client.get_subscription_receiver(
            topic, subscription, session_id=event.get_extension("partitionkey") if sessions else None
        )
        with receiver:
            deadline = time.monotonic() + RECEIVE_DEADLINE_SECONDS
            received = None
            while received is None and time.monotonic() < deadline:
                for message in receiver.receive_messages(max_message_count=50, max_wait_time=5):
                    if message.message_id == event.get_id():
                        received = message
                        receiver.complete_message(message)
                    else:
                        receiver.abandon_message(message)  # not ours: leave it for its consumer

    assert received is not None, f"event {event.get_id()} not received within {RECEIVE_DEADLINE_SECONDS}s"
    assert received.subject == event.get_type()
    decoded = from_service_bus_message(received)
    assert decoded.get_attributes() == event.get_attributes()
    assert decoded.get_data() == event.get_data()


@pytest.mark.azure_live
def test_an_event_published_to_a_real_event_hub_is_read_back_intact(make_event):
    connection, hub = required_settings("NIGHTSHIFT_EVENTHUBS_CONNECTION", "NIGHTSHIFT_EVENTHUB_NAME")
    consumer_group = os.environ.get("NIGHTSHIFT_EVENTHUB_CONSUMER_GROUP", "$Default")
    event = make_event()
    since = datetime.now(UTC) - timedelta(minutes=5)
    publisher = EventHubsPublisher(connection_string=connection)
    try:
        publisher.publish(hub, [event])
    finally:
        publisher.close()

    found: queue.Queue[object] = queue.Queue()
    consumer = EventHubConsumerClient.from_connection_string(
        connection, consumer_group=consumer_group, eventhub_name=hub
    )

    def on_event(_partition, event_data):  # type: ignore[no-untyped-def]
        if event_data is not None and event_data.message_id == event.get_id():
            found.put(event_data)

    reader = threading.Thread(
        target=consumer.receive,
        kwargs={"on_event": on_event, "starting_position": since, "max_wait_time": 1},
        daemon=True,
    )
    reader.start()
    try:
        received = found.get(timeout=RECEIVE_DEADLINE_SECONDS)
    finally:
        consumer.close()
        reader.join(timeout=30)

    assert received.partition_key == event.get_extension("partitionkey").encode()
    decoded = from_event_data(received)
    assert decoded.get_attributes() == event.get_attributes()
    assert decoded.get_data() == event.get_data()
