"""Azure Service Bus adapter of the `Publisher` port, and the CloudEvent <-> message mapping.

Mapping (ARCHITECTURE.md section 4): structured-mode body (`application/cloudevents+json`),
`message_id` = event id (duplicate detection), `subject` = event type, `correlation_id` = the
`correlationid` extension, `session_id` = the `partitionkey` on topics whose subscriptions need
order, and every CloudEvents attribute as a `cloudEvents_*` application property so
subscriptions filter without reading the body.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, cast

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential, TokenCredential
from azure.core.exceptions import AzureError
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusMessageBatch
from cloudevents.core.v1.event import CloudEvent

from .. import envelope
from ..publisher import Publisher, PublishError, TransportMessage
from .batching import send_in_batches
from .binding import decode_amqp

__all__ = [
    "MissingPartitionKey",
    "ReceivedServiceBusMessage",
    "ServiceBusClientLike",
    "ServiceBusPublisher",
    "TopicSender",
    "from_service_bus_message",
    "to_service_bus_message",
    "transport_to_service_bus_message",
]

Credential = TokenCredential | AzureSasCredential | AzureNamedKeyCredential


class MissingPartitionKey(ValueError):
    """A session topic needs `session_id` = the event's `partitionkey`, and the event has none."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(
            f"event {event_id} has no 'partitionkey' extension, but its topic uses sessions "
            "(session_id = partitionkey); build the event with a partition key"
        )


class ReceivedServiceBusMessage(Protocol):
    """What `from_service_bus_message` reads: `ServiceBusReceivedMessage` or a look-alike."""

    @property
    def body(self) -> Any: ...

    @property
    def content_type(self) -> str | None: ...

    @property
    def application_properties(self) -> Mapping[Any, Any] | None: ...


class TopicSender(Protocol):
    """The part of `azure.servicebus.ServiceBusSender` the publisher uses."""

    def create_message_batch(self, max_size_in_bytes: int | None = None) -> ServiceBusMessageBatch: ...

    def send_messages(self, message: ServiceBusMessageBatch, *, timeout: float | None = None) -> None: ...

    def close(self) -> None: ...


class ServiceBusClientLike(Protocol):
    """The part of `azure.servicebus.ServiceBusClient` the publisher uses."""

    def get_topic_sender(self, topic_name: str) -> TopicSender: ...

    def close(self) -> None: ...


def transport_to_service_bus_message(
    message: TransportMessage, *, session: bool = False
) -> ServiceBusMessage:
    """The `ServiceBusMessage` for a broker-neutral message.

    With `session=True`, `session_id` is the message's `session_id`, else its partition key;
    raises `MissingPartitionKey` when it has neither.
    """
    session_id = message.session_id
    if session and session_id is None:
        session_id = message.partition_key
        if not session_id:
            raise MissingPartitionKey(message.message_id)
    properties = cast("dict[str | bytes, Any]", dict(message.application_properties))
    return ServiceBusMessage(
        message.body,
        message_id=message.message_id,
        content_type=message.content_type,
        subject=message.subject,
        correlation_id=message.correlation_id,
        session_id=session_id,
        application_properties=properties,
    )


def to_service_bus_message(event: CloudEvent, *, session: bool = False) -> ServiceBusMessage:
    """The structured-mode `ServiceBusMessage` for `event` (see the module docstring).

    Raises `MissingPartitionKey` when `session=True` and the event has no `partitionkey`.
    """
    return transport_to_service_bus_message(envelope.to_transport(event), session=session)


def from_service_bus_message(message: ReceivedServiceBusMessage) -> CloudEvent:
    """The CloudEvent a received message carries, in structured or binary mode.

    Raises `envelope.InvalidCloudEvent` (naming the attribute and the problem) for anything
    that is not a CloudEvent 1.0. The data is not checked against its contract: call
    `envelope.data_model` for that.
    """
    return decode_amqp(message.body, message.content_type, message.application_properties)


class ServiceBusPublisher(Publisher):
    """Publishes CloudEvents to Service Bus topics, one sender per topic, in batches.

    Give exactly one of: a `client` (owned by the caller, not closed here), a
    `fully_qualified_namespace` with a `credential` (identity-based, the production way), or a
    `connection_string` (local tools). Topics in `session_topics` get `session_id` =
    `partitionkey`; their events are grouped by session, keeping order within each session
    (the only order a session receiver sees). Other topics keep the exact order given.
    `client_options` go to the `ServiceBusClient` this publisher creates (e.g. `retry_total`).

    Thread-safe: publishes to the same topic are serialised (SDK senders are not thread-safe).
    """

    def __init__(
        self,
        client: ServiceBusClientLike | None = None,
        *,
        fully_qualified_namespace: str | None = None,
        credential: Credential | None = None,
        connection_string: str | None = None,
        session_topics: Iterable[str] = (),
        max_batch_size_in_bytes: int | None = None,
        send_timeout: float | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._client, self._owns_client = _client_from(
            client, fully_qualified_namespace, credential, connection_string, dict(client_options or {})
        )
        self._session_topics = frozenset(session_topics)
        self._max_batch_size = max_batch_size_in_bytes
        self._send_timeout = send_timeout
        self._senders: dict[str, TopicSender] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._closed = False

    @property
    def session_topics(self) -> frozenset[str]:
        """The topics whose messages get `session_id` = `partitionkey`."""
        return self._session_topics

    def publish(self, destination: str, events: Sequence[CloudEvent]) -> None:
        """Send `events` to the topic `destination` (see `Publisher.publish`).

        Raises `EventTooLarge` (a `PublishError`) for an event over the size limit, and
        `PublishError` naming the topic and the first event id when the broker refused or could
        not be reached, or when a session topic gets an event without `partitionkey`.
        """
        if not events:
            return
        first_id = events[0].get_id()
        session = destination in self._session_topics
        try:
            messages = [to_service_bus_message(event, session=session) for event in events]
        except MissingPartitionKey as exc:
            raise PublishError(f"cannot publish to session topic '{destination}': {exc}") from exc
        with self._lock_for(destination):
            try:
                sender = self._sender(destination)
                for group in _session_groups(messages) if session else [messages]:
                    send_in_batches(
                        group,
                        event_ids=[cast(str, message.message_id) for message in group],
                        destination=destination,
                        new_batch=lambda: sender.create_message_batch(self._max_batch_size),
                        add=ServiceBusMessageBatch.add_message,
                        send=lambda batch: sender.send_messages(batch, timeout=self._send_timeout),
                    )
            except AzureError as exc:
                self._discard_sender(destination)
                raise PublishError(
                    f"publishing {len(events)} event(s) to Service Bus topic '{destination}' failed "
                    f"(first event id {first_id}): {type(exc).__name__}: {exc}"
                ) from exc

    def close(self) -> None:
        """Close every cached sender, and the client if this publisher created it. Idempotent."""
        with self._guard:
            senders, self._senders = list(self._senders.values()), {}
            closing_client, self._closed = self._owns_client and not self._closed, True
        for sender in senders:
            with contextlib.suppress(AzureError):  # a broken sender must not keep others open
                sender.close()
        if closing_client:
            self._client.close()

    def _lock_for(self, destination: str) -> threading.Lock:
        with self._guard:
            if self._closed:
                raise PublishError(f"cannot publish to '{destination}': the publisher is closed")
            return self._locks.setdefault(destination, threading.Lock())

    def _sender(self, destination: str) -> TopicSender:
        with self._guard:
            sender = self._senders.get(destination)
            if sender is None:
                sender = self._senders[destination] = self._client.get_topic_sender(destination)
            return sender

    def _discard_sender(self, destination: str) -> None:
        with self._guard:
            sender = self._senders.pop(destination, None)
        if sender is not None:
            # Already broken: the next publish opens a fresh sender.
            with contextlib.suppress(AzureError):
                sender.close()


def _session_groups(messages: list[ServiceBusMessage]) -> list[list[ServiceBusMessage]]:
    groups: dict[str | None, list[ServiceBusMessage]] = {}
    for message in messages:
        groups.setdefault(message.session_id, []).append(message)
    return list(groups.values())


def _client_from(
    client: ServiceBusClientLike | None,
    fully_qualified_namespace: str | None,
    credential: Credential | None,
    connection_string: str | None,
    options: dict[str, Any],
) -> tuple[ServiceBusClientLike, bool]:
    given = [client is not None, fully_qualified_namespace is not None, connection_string is not None]
    if sum(given) != 1:
        raise TypeError(
            "ServiceBusPublisher needs exactly one of: client, fully_qualified_namespace (with "
            "credential), connection_string"
        )
    if client is not None:
        return client, False
    if fully_qualified_namespace is not None:
        if credential is None:
            raise TypeError("ServiceBusPublisher: fully_qualified_namespace needs a credential")
        return _as_client_like(ServiceBusClient(fully_qualified_namespace, credential, **options)), True
    return _as_client_like(
        ServiceBusClient.from_connection_string(cast(str, connection_string), **options)
    ), True


def _as_client_like(client: ServiceBusClient) -> ServiceBusClientLike:
    return client
