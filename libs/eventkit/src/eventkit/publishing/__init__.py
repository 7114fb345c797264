"""Azure adapters of the `Publisher` port (Service Bus, Event Hubs) and their message mappings.

`to_service_bus_message` / `to_event_data` build what the brokers carry from a CloudEvent
(ARCHITECTURE.md section 4); `from_service_bus_message` / `from_event_data` read a received
message back, in structured or binary CloudEvents mode.
"""

from .batching import EventTooLarge
from .eventhubs import (
    EventHubProducerLike,
    EventHubsPublisher,
    from_event_data,
    to_event_data,
    transport_to_event_data,
)
from .servicebus import (
    MissingPartitionKey,
    ServiceBusClientLike,
    ServiceBusPublisher,
    TopicSender,
    from_service_bus_message,
    to_service_bus_message,
    transport_to_service_bus_message,
)

__all__ = [
    "EventHubProducerLike",
    "EventHubsPublisher",
    "EventTooLarge",
    "MissingPartitionKey",
    "ServiceBusClientLike",
    "ServiceBusPublisher",
    "TopicSender",
    "from_event_data",
    "from_service_bus_message",
    "to_event_data",
    "to_service_bus_message",
    "transport_to_event_data",
    "transport_to_service_bus_message",
]
