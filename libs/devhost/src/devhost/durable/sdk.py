"""The narrow, typed seam between the engine and the ``azure-functions-durable`` SDK.

The engine drives the SDK exactly as the Functions host does: an orchestrator is the handle the
SDK builds (``df.Orchestrator.create(fn)``, which is also what ``DFApp.orchestration_trigger``
registers), called with the context JSON string; it returns the OrchestratorState JSON, or
raises an exception whose message carries that JSON after ``$OutOfProcData$:`` when the
orchestrator function raised.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from azure.durable_functions.models.utils.df_serialization import (
    df_dumps as _df_dumps,
)
from azure.durable_functions.models.utils.df_serialization import (
    df_loads as _df_loads,
)
from dateutil.parser import parse as _dateutil_parse  # type: ignore[import-untyped]

from devhost.durable.errors import ProtocolError


def _parse_timestamp(text: str) -> datetime:
    """ISO 8601 as the engine writes it, parsed by the C parser; anything else by dateutil."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return cast(datetime, _dateutil_parse(text))


# The SDK rebuilds every HistoryEvent on every replay and parses its Timestamp with dateutil's
# generic parser, which was 75% of an episode's time (profiled: 1,000 sequential activities).
# The engine writes RFC 3339 timestamps, which `datetime.fromisoformat` reads to the same value,
# so devhost swaps the parser inside the SDK's history module. Nothing changes on Azure.
setattr(  # noqa: B010 - patching a module global the SDK looks up at call time
    importlib.import_module("azure.durable_functions.models.history.HistoryEvent"),
    "dt_parse",
    _parse_timestamp,
)

OrchestratorHandle = Callable[[str], str]
"""Takes the context JSON, returns the OrchestratorState JSON (the SDK's handle)."""
ActivityFunction = Callable[..., Any]
"""Called with the decoded activity input; may be sync or ``async``."""

_ERROR_LABEL = "\n\n$OutOfProcData$:"


def dumps(value: Any) -> str:
    """Serialize like the SDK does for activity results and inputs (custom classes included)."""
    return cast(str, _df_dumps(value))


def loads(text: str) -> Any:
    """Inverse of :func:`dumps`."""
    return _df_loads(text)


@dataclass(frozen=True)
class OrchestratorState:
    """The SDK's answer for one episode."""

    is_done: bool
    actions: list[dict[str, Any]]
    output: Any = None
    error: str | None = None
    custom_status: Any = None


def run_orchestrator(handle: OrchestratorHandle, context_json: str) -> OrchestratorState:
    """Call the SDK handle; an orchestrator exception comes back as ``error``, never raised.

    Raises ProtocolError when the handle's answer is not OrchestratorState JSON.
    """
    return answer_of(lambda: handle(context_json))


def answer_of(call: Callable[[], str]) -> OrchestratorState:
    """Run ``call`` (something that answers like the SDK's handle) and read its answer.

    An orchestrator exception comes back as ``error``; raises ProtocolError on a malformed answer.
    """
    try:
        raw = call()
    except Exception as exc:  # the SDK signals orchestrator failure by raising
        message = str(exc)
        if _ERROR_LABEL not in message:
            return OrchestratorState(is_done=False, actions=[], error=f"{type(exc).__name__}: {message}")
        head, _, payload = message.partition(_ERROR_LABEL)
        state = _parse(payload)
        return OrchestratorState(False, state.actions, None, state.error or head, state.custom_status)
    return _parse(raw)


def _parse(raw: str) -> OrchestratorState:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ProtocolError(f"orchestrator handle returned non-JSON state: {raw[:200]!r}") from exc
    if not isinstance(data, dict) or "isDone" not in data:
        raise ProtocolError(f"orchestrator handle returned an unexpected state: {raw[:200]!r}")
    groups = data.get("actions") or []
    actions = [a for group in groups for a in (group if isinstance(group, list) else [group])]
    return OrchestratorState(
        is_done=bool(data["isDone"]),
        actions=actions,
        output=data.get("output"),
        error=data.get("error"),
        custom_status=data.get("customStatus"),
    )


def functions_of(app: Any) -> tuple[dict[str, OrchestratorHandle], dict[str, ActivityFunction]]:
    """Orchestrator handles and activity callables of a ``df.DFApp`` (via ``get_functions()``).

    Activities are returned as one-argument callables that pass the input under the trigger's
    ``input_name``, as the Python worker does.
    """
    orchestrators: dict[str, OrchestratorHandle] = {}
    activities: dict[str, ActivityFunction] = {}
    for function in app.get_functions():
        trigger = function.get_trigger()
        name = str(function.get_function_name())
        user = function.get_user_function()
        if trigger.type == "orchestrationTrigger":
            orchestrators[name] = cast(OrchestratorHandle, user)
        elif trigger.type == "activityTrigger":
            activities[name] = _bind_input(user, str(trigger.name))
    return orchestrators, activities


def _bind_input(user: Callable[..., Any], input_name: str) -> ActivityFunction:
    def call(value: Any) -> Any:
        return user(**{input_name: value})

    call.__name__ = getattr(user, "__name__", input_name)
    return call
