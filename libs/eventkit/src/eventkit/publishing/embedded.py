"""The embedded adapter of the `Publisher` port: the same mapping as Azure, onto devhost's
SQLite Service Bus and Event Hubs namespaces.

A destination that is an event hub of the Event Hubs namespace gets the events keyed by their
`partitionkey`; any other destination is a Service Bus topic or queue. Messages carry the
structured CloudEvent with `message_id` = event id, `subject` = event type and the
`cloudEvents_*` application properties, and `session_id` = `partitionkey` on topics whose
subscriptions need ordered delivery (from `contracts.topology`, or the `session_topics` given),
exactly as `ServiceBusPublisher` sends them to Azure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from cloudevents.core.v1.event import CloudEvent

from contracts import topology
from contracts.errors import UnknownChannel
from eventkit.bus.eventhubs import EmbeddedEventHubs, EventHubsError
from eventkit.bus.servicebus import EmbeddedServiceBus, ServiceBusError
from eventkit.envelope import to_transport
from eventkit.publisher import Publisher, PublishError, TransportMessage


class EmbeddedPublisher(Publisher):
    """Publishes to the embedded namespaces. Thread- and process-safe (the namespaces are)."""

    def __init__(
        self,
        servicebus: EmbeddedServiceBus | None = None,
        eventhubs: EmbeddedEventHubs | None = None,
        *,
        session_topics: Collection[str] | None = None,
    ) -> None:
        if servicebus is None and eventhubs is None:
            raise ValueError("EmbeddedPublisher needs a Service Bus or an Event Hubs namespace (or both)")
        self._servicebus = servicebus
        self._eventhubs = eventhubs
        self._session_topics = None if session_topics is None else frozenset(session_topics)
        self._hubs: set[str] = set()

    def publish(self, destination: str, events: Sequence[CloudEvent]) -> None:
        if not events:
            return
        messages = [to_transport(event) for event in events]
        if self._is_hub(destination):
            self._send_to_hub(destination, messages)
        elif self._servicebus is not None:
            self._send_to_entity(destination, messages)
        else:
            raise PublishError(
                f"cannot publish {messages[0].message_id} to '{destination}': no such event hub, "
                "and this publisher has no Service Bus namespace"
            )

    def _is_hub(self, destination: str) -> bool:
        """Whether `destination` is an event hub; a hub found is remembered (hubs are never
        deleted), anything else is looked up again (the hub may be created later)."""
        if self._eventhubs is None:
            return False
        if destination not in self._hubs:
            if destination not in self._eventhubs.list_event_hubs():
                return False
            self._hubs.add(destination)
        return True

    def _send_to_hub(self, hub: str, messages: list[TransportMessage]) -> None:
        assert self._eventhubs is not None
        try:
            self._eventhubs.send(hub, messages)
        except (EventHubsError, ValueError) as exc:
            raise PublishError(
                f"event hub '{hub}' refused the batch from {messages[0].message_id}: {exc}"
            ) from exc

    def _send_to_entity(self, entity: str, messages: list[TransportMessage]) -> None:
        assert self._servicebus is not None
        if self._needs_session(entity):
            missing = [m.message_id for m in messages if m.partition_key is None]
            if missing:
                raise PublishError(
                    f"topic '{entity}' needs sessions but event {missing[0]} has no partitionkey"
                )
            messages = [dataclasses.replace(m, session_id=m.partition_key) for m in messages]
        try:
            self._servicebus.send(entity, messages)
        except ServiceBusError as exc:
            raise PublishError(f"'{entity}' refused the batch from {messages[0].message_id}: {exc}") from exc

    def _needs_session(self, entity: str) -> bool:
        if self._session_topics is not None:
            return entity in self._session_topics
        try:
            return topology.requires_session_id(entity)
        except UnknownChannel:
            return False
