"""The messages that go into and come out of the embedded namespace.

`OutgoingMessage` mirrors azure-servicebus' `ServiceBusMessage`; `ReceivedMessage` mirrors
`ServiceBusReceivedMessage` (peeked messages carry no lock). `TransportMessage` from
`eventkit.publisher` is accepted wherever an `OutgoingMessage` is, via `to_outgoing`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from eventkit.publisher import PropertyValue, TransportMessage


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to send. `message_id=None` gets a fresh UUID at send time, as the SDK does.

    `time_to_live` is capped by the entity's `default_message_time_to_live`;
    `scheduled_enqueue_time_utc` (timezone-aware) makes the message invisible until then.
    """

    body: bytes
    message_id: str | None = None
    content_type: str | None = None
    subject: str | None = None
    correlation_id: str | None = None
    session_id: str | None = None
    partition_key: str | None = None
    reply_to: str | None = None
    to: str | None = None
    time_to_live: timedelta | None = None
    scheduled_enqueue_time_utc: datetime | None = None
    application_properties: Mapping[str, PropertyValue] = field(default_factory=dict)


def to_outgoing(message: OutgoingMessage | TransportMessage) -> OutgoingMessage:
    """Return `message` as an `OutgoingMessage` (a `TransportMessage` keeps every field it has)."""
    if isinstance(message, OutgoingMessage):
        return message
    return OutgoingMessage(
        body=message.body,
        message_id=message.message_id,
        content_type=message.content_type,
        subject=message.subject,
        correlation_id=message.correlation_id,
        session_id=message.session_id,
        partition_key=message.partition_key,
        application_properties=dict(message.application_properties),
    )


class MessageState(enum.Enum):
    """Azure's `ServiceBusMessageState`."""

    ACTIVE = 0
    SCHEDULED = 1
    DEFERRED = 2


@dataclass(frozen=True)
class ReceivedMessage:
    """A message as a receiver (or a peek) sees it.

    `delivery_count` is 1 on the first delivery and grows by one with each delivery after an
    abandon or an expired lock. `lock_token` and `locked_until_utc` are None for peeked
    messages. `dead_letter_*` are set for messages read from a `$deadletterqueue`.
    `entity_path` is where the message was read from.
    """

    body: bytes
    message_id: str
    content_type: str | None
    subject: str | None
    correlation_id: str | None
    session_id: str | None
    partition_key: str | None
    reply_to: str | None
    to: str | None
    time_to_live: timedelta | None
    scheduled_enqueue_time_utc: datetime | None
    application_properties: Mapping[str, PropertyValue]
    sequence_number: int
    enqueued_time_utc: datetime
    expires_at_utc: datetime | None
    delivery_count: int
    state: MessageState
    entity_path: str
    lock_token: str | None = None
    locked_until_utc: datetime | None = None
    dead_letter_reason: str | None = None
    dead_letter_error_description: str | None = None

    @property
    def label(self) -> str | None:
        """The classic name of `subject` (`sys.Label` in SQL filters)."""
        return self.subject

    @property
    def dead_letter_description(self) -> str | None:
        """Alias of `dead_letter_error_description`."""
        return self.dead_letter_error_description
