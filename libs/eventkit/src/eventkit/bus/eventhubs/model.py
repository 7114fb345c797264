"""The values the embedded Event Hubs namespace takes and returns, named as in Azure's SDKs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from eventkit.publisher import PropertyValue

DEFAULT_CONSUMER_GROUP = "$Default"
"""Every event hub has it from creation, as in Azure."""

DEFAULT_PARTITION_COUNT = 4
"""Partitions of a hub created without a count (our choice; ARM has no default, see ADR 0005)."""

DEFAULT_MESSAGE_RETENTION = timedelta(days=1)
"""Retention of a hub created without one (Azure's default for Basic and Standard: 1 day)."""

MAX_EVENT_SIZE = 1024 * 1024
"""Largest event body accepted, in bytes (Azure Standard tier: 1 MB)."""


def utc_now() -> datetime:
    """The default clock: now, timezone-aware UTC."""
    return datetime.now(UTC)


def to_epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch (Event Hubs stamps times to the millisecond)."""
    return int(moment.timestamp() * 1000)


def from_epoch_ms(epoch_ms: int) -> datetime:
    """The UTC datetime of `epoch_ms` milliseconds since the Unix epoch."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class EventData:
    """One event to send. `properties` are the application properties.

    `partition_key` routes the event by hash when the send names neither a partition id nor a
    batch-wide partition key.
    """

    body: bytes
    properties: Mapping[str, PropertyValue] = field(default_factory=dict)
    content_type: str | None = None
    message_id: str | None = None
    correlation_id: str | None = None
    partition_key: str | None = None


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """An event read from a partition, with the system properties the service stamped on it.

    `offset` is a string, as in Azure: the byte position of the event in its partition's log.
    Compare events by `sequence_number`, never by parsing `offset`.
    """

    body: bytes
    properties: Mapping[str, PropertyValue]
    content_type: str | None
    message_id: str | None
    correlation_id: str | None
    partition_key: str | None
    partition_id: str
    sequence_number: int
    offset: str
    enqueued_time: datetime

    @property
    def system_properties(self) -> dict[bytes, object]:
        """The AMQP annotations Azure's `EventData.system_properties` exposes, keyed the same way."""
        annotations: dict[bytes, object] = {
            b"x-opt-sequence-number": self.sequence_number,
            b"x-opt-offset": self.offset.encode(),
            b"x-opt-enqueued-time": int(self.enqueued_time.timestamp() * 1000),
        }
        if self.partition_key is not None:
            annotations[b"x-opt-partition-key"] = self.partition_key.encode()
        if self.message_id is not None:
            annotations[b"message-id"] = self.message_id
        if self.correlation_id is not None:
            annotations[b"correlation-id"] = self.correlation_id
        if self.content_type is not None:
            annotations[b"content-type"] = self.content_type
        return annotations

    def body_as_str(self, encoding: str = "utf-8") -> str:
        """The body decoded as text (Azure's `EventData.body_as_str`)."""
        return self.body.decode(encoding)


@dataclass(frozen=True, slots=True)
class EventHubProperties:
    """What `get_eventhub_properties` returns in Azure, plus the hub's retention."""

    name: str
    created_at: datetime
    partition_ids: tuple[str, ...]
    message_retention: timedelta


@dataclass(frozen=True, slots=True)
class PartitionProperties:
    """A partition's bounds, as Azure's `get_partition_properties`.

    For a partition that never received an event `last_enqueued_sequence_number` is -1,
    `last_enqueued_offset` is "-1" and `last_enqueued_time_utc` is None. `is_empty` is true
    when no event is retained (never sent, or all trimmed).
    """

    eventhub_name: str
    id: str
    beginning_sequence_number: int
    last_enqueued_sequence_number: int
    last_enqueued_offset: str
    last_enqueued_time_utc: datetime | None
    is_empty: bool


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The last event a consumer group finished with on one partition (Azure's checkpoint record)."""

    fully_qualified_namespace: str
    eventhub_name: str
    consumer_group: str
    partition_id: str
    sequence_number: int
    offset: str


@dataclass(frozen=True, slots=True)
class Ownership:
    """Who reads one partition for a consumer group, until when (Azure's ownership record)."""

    fully_qualified_namespace: str
    eventhub_name: str
    consumer_group: str
    partition_id: str
    owner_id: str
    last_modified_time: datetime
    expires_at: datetime
