"""Fixtures for the Azure publisher tests: CloudEvent factories, the wire form, in-process brokers.

AMQP cannot reach Azure from here, so the batching tests use small in-process stand-ins for the
SDK *clients* (`ServiceBusClient` / `EventHubProducerClient`): they hand out the SDK's REAL
`ServiceBusMessageBatch` / `EventDataBatch` (with a small size limit, so batches fill), and on
send they take the AMQP data sections the SDK encoded for the wire and decode each one with the
SDK's own `from_bytes`, as a receiver would see it. Everything but the network is the SDK's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.eventhub import EventData, EventDataBatch
from azure.eventhub._pyamqp._encode import encode_payload as encode_eventhub_payload
from azure.eventhub._transport._pyamqp_transport import PyamqpTransport as EventHubTransport
from azure.servicebus import ServiceBusMessage, ServiceBusMessageBatch, ServiceBusReceivedMessage
from azure.servicebus._pyamqp._encode import encode_payload as encode_servicebus_payload
from azure.servicebus._transport._pyamqp_transport import PyamqpTransport as ServiceBusTransport
from azure.servicebus.amqp import AmqpAnnotatedMessage
from cloudevents.core.v1.event import CloudEvent

EventFactory = Callable[..., CloudEvent]
OutgoingServiceBusMessage = ServiceBusMessage | AmqpAnnotatedMessage


@pytest.fixture
def make_event() -> EventFactory:
    """`make_event(aggregate=..., data=..., **extra_attributes)`: a Nightshift-shaped CloudEvent."""

    def make(*, aggregate: str | None = None, data: Any = None, padding: int = 0, **extra: Any) -> CloudEvent:
        aggregate = aggregate or f"order-{uuid.uuid4().hex[:12]}"
        attributes: dict[str, Any] = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/nightshift/orders",
            "type": "com.nightshift.orders.order.placed.v1",
            "subject": aggregate,
            "time": datetime.now(UTC),
            "datacontenttype": "application/json",
            "dataschema": "https://nightshift.example/schemas/orders/order.placed.v1.json",
            "partitionkey": aggregate,
            "sequence": "1",
            "correlationid": str(uuid.uuid4()),
            "causationid": str(uuid.uuid4()),
            "traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
        }
        attributes.update(extra)
        attributes = {name: value for name, value in attributes.items() if value is not None}
        payload = data if data is not None else {"order_id": aggregate, "total": "12.50", "lines": [1, 2]}
        if padding:
            payload = {**payload, "note": "x" * padding}
        return CloudEvent(attributes, payload)

    return make


def servicebus_wire(message: OutgoingServiceBusMessage) -> bytes:
    """The AMQP bytes the Service Bus SDK would put on the wire for an outgoing message."""
    annotated = message.raw_amqp_message if isinstance(message, ServiceBusMessage) else message
    return bytes(
        encode_servicebus_payload(bytearray(), ServiceBusTransport.to_outgoing_amqp_message(annotated))
    )


def eventhub_wire(event_data: EventData) -> bytes:
    """The AMQP bytes the Event Hubs SDK would put on the wire for an outgoing event."""
    outgoing = EventHubTransport.to_outgoing_amqp_message(event_data.raw_amqp_message)
    return bytes(encode_eventhub_payload(bytearray(), outgoing))


@pytest.fixture
def received_servicebus_message() -> Callable[[OutgoingServiceBusMessage], ServiceBusReceivedMessage]:
    """Encode an outgoing message with the SDK's encoder and decode it as a received message."""
    return lambda message: ServiceBusReceivedMessage.from_bytes(servicebus_wire(message))


@pytest.fixture
def received_event_data() -> Callable[[EventData], EventData]:
    """Encode an outgoing EventData with the SDK's encoder and decode it as a received one."""
    return lambda event_data: EventData.from_bytes(eventhub_wire(event_data))


@dataclass
class InProcessTopicSender:
    """A `ServiceBusSender` stand-in: real batches, sends recorded as received messages."""

    topic: str
    broker: InProcessServiceBus
    closed: bool = False

    def create_message_batch(self, max_size_in_bytes: int | None = None) -> ServiceBusMessageBatch:
        assert not self.closed, "create_message_batch on a closed sender"
        return ServiceBusMessageBatch(max_size_in_bytes=max_size_in_bytes or self.broker.max_batch_size)

    def send_messages(self, message: ServiceBusMessageBatch, *, timeout: float | None = None) -> None:
        assert not self.closed, "send_messages on a closed sender"
        if self.broker.failures:
            raise self.broker.failures.pop(0)
        sections = message._message[5]  # the AMQP data sections the SDK encoded for the wire
        received = [ServiceBusReceivedMessage.from_bytes(bytes(section)) for section in sections]
        self.broker.batches.setdefault(self.topic, []).append(received)
        self.broker.batch_sizes.append(message.size_in_bytes)

    def close(self) -> None:
        self.closed = True


@dataclass
class InProcessServiceBus:
    """A `ServiceBusClient` stand-in: one sender per `get_topic_sender` call."""

    max_batch_size: int = 64 * 1024
    batches: dict[str, list[list[ServiceBusReceivedMessage]]] = field(default_factory=dict)
    batch_sizes: list[int] = field(default_factory=list)
    senders: list[InProcessTopicSender] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    closed: bool = False

    def get_topic_sender(self, topic_name: str) -> InProcessTopicSender:
        sender = InProcessTopicSender(topic_name, self)
        self.senders.append(sender)
        return sender

    def close(self) -> None:
        self.closed = True

    def fail_next_send(self, error: Exception) -> None:
        self.failures.append(error)

    def received(self, topic: str) -> list[ServiceBusReceivedMessage]:
        return [message for batch in self.batches.get(topic, []) for message in batch]


@dataclass
class InProcessProducer:
    """An `EventHubProducerClient` stand-in for one hub: real batches, sends decoded."""

    hub: str
    broker: InProcessEventHubs
    closed: bool = False

    def create_batch(
        self, *, partition_key: str | None = None, max_size_in_bytes: int | None = None
    ) -> EventDataBatch:
        assert not self.closed, "create_batch on a closed producer"
        return EventDataBatch(
            max_size_in_bytes=max_size_in_bytes or self.broker.max_batch_size, partition_key=partition_key
        )

    def send_batch(self, event_data_batch: EventDataBatch, *, timeout: float | None = None) -> None:
        assert not self.closed, "send_batch on a closed producer"
        if self.broker.failures:
            raise self.broker.failures.pop(0)
        sections = event_data_batch._message[5]  # the AMQP data sections the SDK encoded
        received = [EventData.from_bytes(bytes(section)) for section in sections]
        self.broker.batches.setdefault(self.hub, []).append(received)

    def close(self) -> None:
        self.closed = True


@dataclass
class InProcessEventHubs:
    """A producer factory (hub name -> `EventHubProducerClient` stand-in)."""

    max_batch_size: int = 64 * 1024
    batches: dict[str, list[list[EventData]]] = field(default_factory=dict)
    producers: list[InProcessProducer] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)

    def __call__(self, hub: str) -> InProcessProducer:
        producer = InProcessProducer(hub, self)
        self.producers.append(producer)
        return producer

    def fail_next_send(self, error: Exception) -> None:
        self.failures.append(error)

    def received(self, hub: str) -> list[EventData]:
        return [event for batch in self.batches.get(hub, []) for event in batch]


@pytest.fixture
def service_bus() -> InProcessServiceBus:
    return InProcessServiceBus()


@pytest.fixture
def event_hubs() -> InProcessEventHubs:
    return InProcessEventHubs()


@pytest.fixture
def topic() -> str:
    return f"orders-{uuid.uuid4().hex[:8]}"
