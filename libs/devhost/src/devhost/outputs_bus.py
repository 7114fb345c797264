"""The ``serviceBus`` and ``eventHub`` output bindings, delivering into the embedded namespaces.

Values, as the Python worker passes them to the host: ``str`` or ``bytes`` is one message; a
``list`` is one message per item; a ``dict`` is one JSON message. A CloudEvent in structured JSON
(an object with ``specversion``) is sent as-is with content type ``application/cloudevents+json``
and the mapping of ARCHITECTURE.md section 4 (message id = event id, subject = type, partition
key / session id = ``partitionkey``, ``cloudEvents_*`` application properties), so topic
subscriptions filter it as in Azure. All messages of one value go in one atomic send.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from devhost.errors import DevhostError
from devhost.indexing import BindingInfo, FunctionInfo
from devhost.provisioning import provision_app
from devhost.state import StateLayout
from devhost.triggers.base import AppContext
from eventkit.bus.eventhubs import EmbeddedEventHubs, EventData
from eventkit.bus.servicebus import EmbeddedServiceBus, OutgoingMessage
from eventkit.envelope import EnvelopeError, decode, to_transport
from eventkit.publisher import TransportMessage


class OutputValueError(DevhostError):
    """A value set on a bus output binding cannot be turned into messages."""


def _cloud_event(body: bytes) -> TransportMessage | None:
    stripped = body.lstrip()
    if not stripped.startswith(b"{") or b"specversion" not in stripped:
        return None
    try:
        return to_transport(decode(body))
    except EnvelopeError:
        return None


def _items(value: Any, binding: BindingInfo, function: FunctionInfo) -> list[tuple[bytes, str | None]]:
    """(body, content type) per message."""
    values = value if isinstance(value, list) else [value]
    items: list[tuple[bytes, str | None]] = []
    for item in values:
        if isinstance(item, bytes):
            items.append((item, None))
        elif isinstance(item, str):
            items.append((item.encode(), None))
        elif isinstance(item, dict | list | int | float | bool):
            items.append((json.dumps(item).encode(), "application/json"))
        else:
            raise OutputValueError(
                f"function {function.name!r}: output binding {binding.name!r} got a "
                f"{type(item).__name__}; set str, bytes, dict or a list of them"
            )
    return items


_buses: dict[Path, EmbeddedServiceBus] = {}
_hubs: dict[Path, EmbeddedEventHubs] = {}


def _service_bus(state_dir: Path) -> EmbeddedServiceBus:
    if state_dir not in _buses:
        _buses[state_dir] = StateLayout(state_dir).open_servicebus()
    return _buses[state_dir]


def _event_hubs(state_dir: Path) -> EmbeddedEventHubs:
    if state_dir not in _hubs:
        _hubs[state_dir] = StateLayout(state_dir).open_eventhubs()
    return _hubs[state_dir]


def service_bus_messages(
    value: Any, binding: BindingInfo, function: FunctionInfo
) -> list[OutgoingMessage | TransportMessage]:
    """The messages a ``serviceBus`` output value stands for; raises OutputValueError."""
    messages: list[OutgoingMessage | TransportMessage] = []
    for body, content_type in _items(value, binding, function):
        event = _cloud_event(body)
        if event is not None:
            messages.append(
                OutgoingMessage(
                    body=body,
                    message_id=event.message_id,
                    content_type=event.content_type,
                    subject=event.subject,
                    correlation_id=event.correlation_id,
                    session_id=event.partition_key,
                    partition_key=event.partition_key,
                    application_properties=dict(event.application_properties),
                )
            )
        else:
            messages.append(OutgoingMessage(body=body, content_type=content_type))
    return messages


def event_hub_events(value: Any, binding: BindingInfo, function: FunctionInfo) -> list[EventData]:
    """The events an ``eventHub`` output value stands for; raises OutputValueError."""
    events: list[EventData] = []
    for body, content_type in _items(value, binding, function):
        event = _cloud_event(body)
        if event is not None:
            events.append(
                EventData(
                    body=body,
                    properties=dict(event.application_properties),
                    content_type=event.content_type,
                    message_id=event.message_id,
                    correlation_id=event.correlation_id,
                    partition_key=event.partition_key,
                )
            )
        else:
            events.append(EventData(body=body, content_type=content_type))
    return events


class ServiceBusOutput:
    """``serviceBus`` output: ``queueName`` or ``topicName`` of the embedded namespace."""

    async def deliver(
        self, ctx: AppContext, function: FunctionInfo, binding: BindingInfo, value: Any
    ) -> None:
        """Send every message of ``value`` in one atomic send.

        Raises OutputValueError, RealAzureNotSupportedError, eventkit's EntityNotFound.
        """
        ctx.connections.require_embedded(str(binding.get("connection") or "ServiceBus"), function.name)
        entity = binding.get("queueName") or binding.get("topicName")
        if not entity:
            raise OutputValueError(
                f"function {function.name!r}: serviceBus output needs queueName or topicName"
            )
        messages = service_bus_messages(value, binding, function)
        if not messages:
            return
        await provision_app(ctx)
        await asyncio.to_thread(_service_bus(ctx.state_dir).send, str(entity), messages)


class EventHubOutput:
    """``eventHub`` output: ``eventHubName`` of the embedded namespace."""

    async def deliver(
        self, ctx: AppContext, function: FunctionInfo, binding: BindingInfo, value: Any
    ) -> None:
        """Append every event of ``value`` in one atomic send (keyed events by their key).

        Raises OutputValueError, RealAzureNotSupportedError, eventkit's EventHubNotFoundError.
        """
        ctx.connections.require_embedded(str(binding.get("connection") or "EventHub"), function.name)
        hub = binding.get("eventHubName")
        if not hub:
            raise OutputValueError(f"function {function.name!r}: eventHub output needs eventHubName")
        events = event_hub_events(value, binding, function)
        if not events:
            return
        await provision_app(ctx)
        await asyncio.to_thread(_event_hubs(ctx.state_dir).send, str(hub), events)
