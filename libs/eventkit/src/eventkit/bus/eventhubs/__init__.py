"""The embedded Event Hubs namespace devhost and the tests use in place of Azure Event Hubs.

One SQLite file holds a namespace: hubs with partitions, consumer groups, the events (a log:
reading removes nothing), checkpoints and partition ownership. Any number of processes may open
the same file at once. See docs/adr/0005-embedded-event-hubs.md for how it differs from Azure.
"""

from eventkit.bus.eventhubs.checkpoints import CheckpointStore
from eventkit.bus.eventhubs.errors import (
    ConsumerGroupNotFoundError,
    EntityNameError,
    EventHubConflictError,
    EventHubNotFoundError,
    EventHubsError,
    EventTooLargeError,
    InvalidPositionError,
    PartitionNotFoundError,
)
from eventkit.bus.eventhubs.model import (
    DEFAULT_CONSUMER_GROUP,
    DEFAULT_MESSAGE_RETENTION,
    DEFAULT_PARTITION_COUNT,
    MAX_EVENT_SIZE,
    Checkpoint,
    EventData,
    EventHubProperties,
    Ownership,
    PartitionProperties,
    ReceivedEvent,
)
from eventkit.bus.eventhubs.namespace import Clock, EmbeddedEventHubs
from eventkit.bus.eventhubs.partitioning import partition_for_key, partition_key_hash
from eventkit.bus.eventhubs.positions import EventPosition, PositionKind
from eventkit.bus.eventhubs.processor import (
    DEFAULT_LOAD_BALANCING_INTERVAL,
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_OWNERSHIP_EXPIRATION,
    BatchHandler,
    ErrorHandler,
    EventProcessor,
    PartitionContext,
)
from eventkit.bus.eventhubs.reader import PartitionReader
from eventkit.bus.eventhubs.records import HubInfo, SentEvent

__all__ = [
    "DEFAULT_CONSUMER_GROUP",
    "DEFAULT_LOAD_BALANCING_INTERVAL",
    "DEFAULT_MAX_BATCH_SIZE",
    "DEFAULT_MESSAGE_RETENTION",
    "DEFAULT_OWNERSHIP_EXPIRATION",
    "DEFAULT_PARTITION_COUNT",
    "MAX_EVENT_SIZE",
    "BatchHandler",
    "Checkpoint",
    "CheckpointStore",
    "Clock",
    "ConsumerGroupNotFoundError",
    "EmbeddedEventHubs",
    "EntityNameError",
    "ErrorHandler",
    "EventData",
    "EventHubConflictError",
    "EventHubNotFoundError",
    "EventHubProperties",
    "EventHubsError",
    "EventPosition",
    "EventProcessor",
    "EventTooLargeError",
    "HubInfo",
    "InvalidPositionError",
    "Ownership",
    "PartitionContext",
    "PartitionNotFoundError",
    "PartitionProperties",
    "PartitionReader",
    "PositionKind",
    "ReceivedEvent",
    "SentEvent",
    "partition_for_key",
    "partition_key_hash",
]
