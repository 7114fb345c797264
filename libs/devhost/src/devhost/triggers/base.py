"""The trigger plugin interface and the app context every plugin receives.

A trigger plugin listens for one function's events (a schedule, a queue, a blob container...) and
calls ``ctx.invoker.invoke`` for each. Plugins are registered per binding ``type`` in a
TriggerRegistry; the worker creates one plugin instance per function whose trigger type is
registered and lists the others with a warning "not supported by devhost yet".

Lifecycle, as the Functions host's listeners: ``start(ctx)`` once the app is indexed (it must
return promptly, running its loop in a task), ``stop(drain)`` on shutdown: stop taking new work,
and with ``drain=True`` let the invocations already started finish (the worker bounds the wait).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from devhost.clock import Clock
from devhost.hostjson import HostConfig
from devhost.indexing import AppIndex, BindingInfo, FunctionInfo
from devhost.settings import AppSettings, ConnectionResolver

if TYPE_CHECKING:
    from devhost.invoke import Invoker


@dataclass(frozen=True)
class AppContext:
    """Everything a trigger plugin may use about the app it runs in."""

    app_name: str
    app_dir: Path
    state_dir: Path
    index: AppIndex
    settings: AppSettings
    connections: ConnectionResolver
    host: HostConfig
    invoker: Invoker
    clock: Clock
    logger: logging.Logger


class Trigger(Protocol):
    """One function's trigger listener."""

    function: FunctionInfo
    """The function this listener invokes."""

    retry_policies_apply: bool
    """Whether ``@app.retry`` applies to this trigger (Azure: timer, Event Hubs, Cosmos DB, Kafka)."""

    async def start(self, ctx: AppContext) -> None:
        """Begin listening; return once listening (run loops in tasks)."""
        ...

    async def stop(self, drain: bool) -> None:
        """Stop listening; with ``drain`` wait for invocations already started."""
        ...

    def admin_arguments(self, input_text: str) -> dict[str, Any]:
        """The trigger argument(s) for an invocation through ``POST /admin/functions/<name>``.

        Raises ValueError when ``input_text`` cannot be turned into this trigger's payload.
        """
        ...


TriggerFactory = Callable[[FunctionInfo], Trigger]


class OutputHandler(Protocol):
    """Delivers a value a function set on an output binding of one type (``serviceBus``...)."""

    async def deliver(
        self, ctx: AppContext, function: FunctionInfo, binding: BindingInfo, value: Any
    ) -> None:
        """Deliver ``value``; raising makes the invocation fail (outputs are only sent on success)."""
        ...


class TriggerRegistry:
    """Trigger factories and output handlers by binding type."""

    def __init__(self) -> None:
        self._triggers: dict[str, TriggerFactory] = {}
        self._outputs: dict[str, OutputHandler] = {}

    def register_trigger(self, binding_type: str, factory: TriggerFactory) -> None:
        """Register (or replace) the plugin for trigger binding type ``binding_type``."""
        self._triggers[binding_type.lower()] = factory

    def register_output(self, binding_type: str, handler: OutputHandler) -> None:
        """Register (or replace) the handler for output binding type ``binding_type``."""
        self._outputs[binding_type.lower()] = handler

    def trigger_factory(self, binding_type: str) -> TriggerFactory | None:
        return self._triggers.get(binding_type.lower())

    def output_handler(self, binding_type: str) -> OutputHandler | None:
        return self._outputs.get(binding_type.lower())

    def supports_trigger(self, binding_type: str) -> bool:
        return binding_type.lower() in self._triggers or binding_type.lower() == "httptrigger"


def default_registry() -> TriggerRegistry:
    """The registry with every plugin devhost ships (timer today; HTTP is served by the app server)."""
    from devhost.triggers.timer import TimerTrigger

    registry = TriggerRegistry()
    registry.register_trigger("timerTrigger", TimerTrigger)
    from devhost.outputs_blob import BlobOutputHandler
    from devhost.triggers.blob import BlobTrigger
    from devhost.triggers.cosmos import CosmosDBTrigger

    registry.register_trigger("blobTrigger", BlobTrigger)
    registry.register_output("blob", BlobOutputHandler())
    registry.register_trigger("cosmosDBTrigger", CosmosDBTrigger)
    from devhost.outputs_bus import EventHubOutput, ServiceBusOutput
    from devhost.triggers.eventhubs import EventHubTrigger
    from devhost.triggers.servicebus import ServiceBusTrigger

    registry.register_trigger("serviceBusTrigger", ServiceBusTrigger)
    registry.register_trigger("eventHubTrigger", EventHubTrigger)
    registry.register_output("serviceBus", ServiceBusOutput())
    registry.register_output("eventHub", EventHubOutput())
    from devhost.triggers.durable import DurableFunctionTrigger, EntityTrigger

    registry.register_trigger("orchestrationTrigger", DurableFunctionTrigger)
    registry.register_trigger("activityTrigger", DurableFunctionTrigger)
    registry.register_trigger("entityTrigger", EntityTrigger)
    return registry
