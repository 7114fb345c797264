"""Azure Event Hubs adapter of the `Publisher` port, and the CloudEvent <-> EventData mapping.

Mapping (ARCHITECTURE.md section 4): the same structured-mode body and `cloudEvents_*`
properties as on Service Bus, `message_id` = event id, `correlation_id` = the `correlationid`
extension, and partition key = the `partitionkey` extension (set on the batch, so all events of
one aggregate land on one partition, in order).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, cast

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential, TokenCredential
from azure.core.exceptions import AzureError
from azure.eventhub import EventData, EventDataBatch, EventHubProducerClient
from azure.eventhub.exceptions import EventHubError
from cloudevents.core.v1.event import CloudEvent

from .. import envelope
from ..publisher import Publisher, PublishError, TransportMessage
from .batching import send_in_batches
from .binding import decode_amqp

__all__ = [
    "EventHubProducerLike",
    "EventHubsPublisher",
    "from_event_data",
    "to_event_data",
    "transport_to_event_data",
]

Credential = TokenCredential | AzureSasCredential | AzureNamedKeyCredential


class EventHubProducerLike(Protocol):
    """The part of `azure.eventhub.EventHubProducerClient` the publisher uses."""

    def create_batch(
        self, *, partition_key: str | None = None, max_size_in_bytes: int | None = None
    ) -> EventDataBatch: ...

    def send_batch(self, event_data_batch: EventDataBatch, *, timeout: float | None = None) -> None: ...

    def close(self) -> None: ...


ProducerFactory = Callable[[str], EventHubProducerLike]


def transport_to_event_data(message: TransportMessage) -> EventData:
    """The `EventData` for a broker-neutral message (partition key goes on the batch)."""
    event_data = EventData(message.body)
    event_data.content_type = message.content_type
    event_data.message_id = message.message_id
    if message.correlation_id is not None:
        event_data.correlation_id = message.correlation_id
    event_data.properties = cast("dict[str | bytes, Any]", dict(message.application_properties))
    return event_data


def to_event_data(event: CloudEvent) -> EventData:
    """The structured-mode `EventData` for `event` (see the module docstring)."""
    return transport_to_event_data(envelope.to_transport(event))


def from_event_data(event_data: EventData) -> CloudEvent:
    """The CloudEvent a received `EventData` carries, in structured or binary mode.

    Raises `envelope.InvalidCloudEvent` (naming the attribute and the problem) for anything
    that is not a CloudEvent 1.0. The data is not checked against its contract.
    """
    try:
        body: object = event_data.body
    except ValueError as exc:
        raise envelope.InvalidCloudEvent("(body)", "the event has no body") from exc
    return decode_amqp(body, event_data.content_type, event_data.properties)


class EventHubsPublisher(Publisher):
    """Publishes CloudEvents to event hubs, one producer client per hub, in batches.

    Give exactly one of: a `producer_factory` (hub name -> producer; owned by this publisher,
    closed by `close()`), a `fully_qualified_namespace` with a `credential` (identity-based,
    the production way), or a `connection_string`. Events are grouped by `partitionkey`
    (order kept within each key, which is all Event Hubs orders); events without one are
    spread over partitions by the service. `client_options` go to every
    `EventHubProducerClient` this publisher creates (e.g. `retry_total`).

    Thread-safe: publishes to the same hub are serialised.
    """

    def __init__(
        self,
        producer_factory: ProducerFactory | None = None,
        *,
        fully_qualified_namespace: str | None = None,
        credential: Credential | None = None,
        connection_string: str | None = None,
        max_batch_size_in_bytes: int | None = None,
        send_timeout: float | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._factory = _factory_from(
            producer_factory,
            fully_qualified_namespace,
            credential,
            connection_string,
            dict(client_options or {}),
        )
        self._max_batch_size = max_batch_size_in_bytes
        self._send_timeout = send_timeout
        self._producers: dict[str, EventHubProducerLike] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._closed = False

    def publish(self, destination: str, events: Sequence[CloudEvent]) -> None:
        """Send `events` to the hub `destination` (see `Publisher.publish`).

        Raises `EventTooLarge` (a `PublishError`) for an event over the size limit, and
        `PublishError` naming the hub and the first event id when the service refused or could
        not be reached.
        """
        if not events:
            return
        first_id = events[0].get_id()
        groups: dict[str | None, list[TransportMessage]] = {}
        for event in events:
            message = envelope.to_transport(event)
            groups.setdefault(message.partition_key, []).append(message)
        with self._lock_for(destination):
            try:
                producer = self._producer(destination)
                for key, group in groups.items():
                    self._send_group(producer, destination, key, group)
            except (EventHubError, AzureError) as exc:
                self._discard_producer(destination)
                raise PublishError(
                    f"publishing {len(events)} event(s) to event hub '{destination}' failed "
                    f"(first event id {first_id}): {type(exc).__name__}: {exc}"
                ) from exc

    def _send_group(
        self, producer: EventHubProducerLike, destination: str, key: str | None, group: list[TransportMessage]
    ) -> None:
        def new_batch() -> EventDataBatch:
            return producer.create_batch(partition_key=key, max_size_in_bytes=self._max_batch_size)

        def send(batch: EventDataBatch) -> None:
            producer.send_batch(batch, timeout=self._send_timeout)

        send_in_batches(
            [transport_to_event_data(message) for message in group],
            event_ids=[message.message_id for message in group],
            destination=destination,
            new_batch=new_batch,
            add=EventDataBatch.add,
            send=send,
        )

    def close(self) -> None:
        """Close every producer client this publisher opened. Idempotent."""
        with self._guard:
            producers, self._producers, self._closed = list(self._producers.values()), {}, True
        for producer in producers:
            with contextlib.suppress(
                EventHubError, AzureError
            ):  # one broken client must not keep others open
                producer.close()

    def _lock_for(self, destination: str) -> threading.Lock:
        with self._guard:
            if self._closed:
                raise PublishError(f"cannot publish to '{destination}': the publisher is closed")
            return self._locks.setdefault(destination, threading.Lock())

    def _producer(self, destination: str) -> EventHubProducerLike:
        with self._guard:
            producer = self._producers.get(destination)
            if producer is None:
                producer = self._producers[destination] = self._factory(destination)
            return producer

    def _discard_producer(self, destination: str) -> None:
        with self._guard:
            producer = self._producers.pop(destination, None)
        if producer is not None:
            # Already broken: the next publish opens a fresh client.
            with contextlib.suppress(EventHubError, AzureError):
                producer.close()


def _factory_from(
    factory: ProducerFactory | None,
    fully_qualified_namespace: str | None,
    credential: Credential | None,
    connection_string: str | None,
    options: dict[str, Any],
) -> ProducerFactory:
    given = [factory is not None, fully_qualified_namespace is not None, connection_string is not None]
    if sum(given) != 1:
        raise TypeError(
            "EventHubsPublisher needs exactly one of: producer_factory, fully_qualified_namespace "
            "(with credential), connection_string"
        )
    if factory is not None:
        return factory
    if fully_qualified_namespace is not None:
        if credential is None:
            raise TypeError("EventHubsPublisher: fully_qualified_namespace needs a credential")
        namespace, token = fully_qualified_namespace, credential

        def from_identity(hub: str) -> EventHubProducerLike:
            return EventHubProducerClient(namespace, hub, token, **options)

        return from_identity
    conn_str = cast(str, connection_string)

    def from_connection_string(hub: str) -> EventHubProducerLike:
        return EventHubProducerClient.from_connection_string(conn_str, eventhub_name=hub, **options)

    return from_connection_string
