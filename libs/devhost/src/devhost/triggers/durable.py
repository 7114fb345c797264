"""Durable Functions triggers and the ``durableClient`` input binding.

Orchestrator and activity functions are not driven by per-function listeners: the app's durable
engine (:mod:`devhost.durable.host`) dispatches them from its task hub. These plugins make them
listed as ready and refuse ``POST /admin/functions/<name>`` as Azure does for non-invocable
triggers (entities included: they are signalled).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from devhost.indexing import FunctionInfo
from devhost.triggers.base import AppContext

CLIENT_BINDING = "durableclient"
DURABLE_TRIGGERS = frozenset({"orchestrationtrigger", "activitytrigger", "entitytrigger"})


def uses_durable(functions: tuple[FunctionInfo, ...]) -> bool:
    """Whether any function is an orchestrator, activity or entity or takes a durable client."""
    return any(
        f.trigger.type.lower() in DURABLE_TRIGGERS
        or any(b.type.lower() == CLIENT_BINDING for b in f.bindings)
        for f in functions
    )


class DurableFunctionTrigger:
    """Lists an orchestrator or activity function; the durable engine invokes it."""

    retry_policies_apply = False

    def __init__(self, function: FunctionInfo) -> None:
        self.function = function

    async def start(self, ctx: AppContext) -> None:
        """Nothing to listen to: the app's durable engine dispatches this function."""

    async def stop(self, drain: bool) -> None:
        """Nothing to stop: the durable engine stops with the app."""

    def admin_arguments(self, input_text: str) -> dict[str, Any]:
        """Always raises ValueError: orchestrations start through a durable client."""
        raise ValueError(
            f"{self.function.name} is a {self.function.trigger.type} function; start orchestrations "
            "with a durable client or POST /runtime/webhooks/durabletask/orchestrators/<name>"
        )


class EntityTrigger(DurableFunctionTrigger):
    """Lists an entity function; the durable engine runs its operations from the task hub."""

    def admin_arguments(self, input_text: str) -> dict[str, Any]:
        """Always raises ValueError: entities are signalled, never invoked directly (as on Azure)."""
        raise ValueError(
            "Durable entity functions do not support direct invocation. Signal an entity from a client "
            "or orchestrator function, or POST /runtime/webhooks/durabletask/entities/"
            f"{self.function.name}/<key>?op=<operation>"
        )


def bind_durable_clients(function: FunctionInfo, payload: Callable[[], str]) -> FunctionInfo:
    """A copy of ``function`` whose ``durableClient`` parameters get ``payload()`` when unset.

    The SDK's ``durable_client_input`` wrapper turns that JSON into a DurableOrchestrationClient,
    as it does with the string the Functions host passes. Functions without the binding are
    returned unchanged.
    """
    names = [b.name for b in function.bindings if b.type.lower() == CLIENT_BINDING]
    if not names:
        return function
    inner = function.user_function

    def fill(kwargs: dict[str, Any]) -> dict[str, Any]:
        for name in names:
            if kwargs.get(name) is None:
                kwargs[name] = payload()
        return kwargs

    if function.is_async:

        @functools.wraps(inner)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return await inner(*args, **fill(kwargs))

        return dataclasses.replace(function, user_function=call_async)

    @functools.wraps(inner)
    def call(*args: Any, **kwargs: Any) -> Any:
        return inner(*args, **fill(kwargs))

    return dataclasses.replace(function, user_function=call)
