"""The Publisher port and the broker-neutral message every transport maps to.

A service never talks to Service Bus or Event Hubs directly: the change-feed relay hands
CloudEvents to a `Publisher`, chosen by configuration (Service Bus, Event Hubs, or the
embedded bus under devhost). `TransportMessage` is the one shape all of them share, built by
`eventkit.envelope.to_transport` following ARCHITECTURE.md section 4.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from cloudevents.core.v1.event import CloudEvent

PropertyValue: TypeAlias = str | int | float | bool | None


@dataclass(frozen=True)
class TransportMessage:
    """One message as a broker carries it (structured-mode CloudEvent in the body).

    - `message_id` is the event id (Service Bus duplicate detection keys on it).
    - `subject` is the event type (Service Bus `subject`, filterable without reading the body).
    - `partition_key` is the aggregate id: Event Hubs partition key and, where a subscription
      needs order, the Service Bus `session_id`.
    - `application_properties` hold the CloudEvents attributes with the `cloudEvents_` prefix
      of the CloudEvents AMQP binding.
    """

    body: bytes
    message_id: str
    content_type: str = "application/cloudevents+json; charset=utf-8"
    subject: str | None = None
    partition_key: str | None = None
    session_id: str | None = None
    correlation_id: str | None = None
    application_properties: Mapping[str, PropertyValue] = field(default_factory=dict)


class PublishError(Exception):
    """A batch could not be handed to the broker; nothing in it may be assumed sent."""


class Publisher(abc.ABC):
    """Publishes CloudEvents to a topic (Service Bus) or an event hub.

    Promise: on return every event of the batch is durably accepted by the broker, each with
    message id = event id (so a retried publish is deduplicated where the entity has duplicate
    detection) and partition key = the event's `partitionkey` extension. Raises `PublishError`
    when the broker refused or could not be reached; the caller retries the whole batch.
    """

    @abc.abstractmethod
    def publish(self, destination: str, events: Sequence[CloudEvent]) -> None:
        """Send `events` to the topic or hub named `destination`, in order."""

    def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing
        """Release connections. Idempotent."""
