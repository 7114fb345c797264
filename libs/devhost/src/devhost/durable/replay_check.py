"""Replays every recorded history of a task hub against the current orchestrator code.

An instance "would no longer replay" when, fed its own history, the orchestrator now schedules
different work at a recorded task index, stops scheduling recorded work, schedules new work the
history of an ended instance never recorded, or raises where the recorded instance did not fail.
This is what breaks in-flight instances after a deployment, caught before release.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from devhost.durable.episode import UPPER_SCHEMA_VERSION
from devhost.durable.errors import DurableError
from devhost.durable.history import EventType
from devhost.durable.replay import Replay
from devhost.durable.sdk import OrchestratorHandle, run_orchestrator
from devhost.durable.status import OrchestrationStatus
from devhost.durable.taskhub import InstanceRow, TaskHub


@dataclass(frozen=True)
class ReplayProblem:
    """One instance whose recorded history the current code would not replay."""

    instance_id: str
    name: str
    status: str
    reason: str


def check_instance(row: InstanceRow, hub: TaskHub, handle: OrchestratorHandle | None) -> str | None:
    """Why ``row``'s history no longer replays with ``handle``, or None when it replays cleanly."""
    history = hub.history(row.instance_id, row.execution_id)
    if not history:
        return None
    if handle is None:
        return f"the orchestrator function {row.name!r} no longer exists"
    played = [dict(e, IsPlayed=True) for e in history]
    context = {
        "history": played,
        "instanceId": row.instance_id,
        "isReplaying": True,
        "parentInstanceId": row.parent_instance_id,
        "input": row.input,
        "upperSchemaVersion": UPPER_SCHEMA_VERSION,
        "upperSchemaVersionNew": UPPER_SCHEMA_VERSION,
    }
    try:
        state = run_orchestrator(handle, json.dumps(context))
        if state.error is not None:
            if row.status == OrchestrationStatus.FAILED:
                return None
            return f"the orchestrator now raises: {state.error}"
        scheduled = Replay(row.instance_id, played, state.actions).run(is_done=state.is_done)
    except DurableError as error:
        return str(error)
    ended = any(e["EventType"] == EventType.EXECUTION_COMPLETED for e in history)
    if scheduled:
        first = scheduled[0].event
        what = f"{EventType(first['EventType']).name} {first.get('Name') or ''}".strip()
        return (
            f"at task index {first['EventId']} the orchestrator now schedules {what}, which the "
            "recorded history does not have"
        )
    if ended and not state.is_done and row.status == OrchestrationStatus.COMPLETED:
        return "the recorded instance completed but the orchestrator no longer completes on replay"
    return None


def replay_check(
    hub: TaskHub, orchestrators: dict[str, OrchestratorHandle]
) -> tuple[int, list[ReplayProblem]]:
    """Check every instance with a history; returns (instances checked, problems found)."""
    problems: list[ReplayProblem] = []
    checked = 0
    for row in hub.list_instances():
        handle = next((h for n, h in orchestrators.items() if n.lower() == row.name.lower()), None)
        reason = check_instance(row, hub, handle)
        checked += 1
        if reason is not None:
            problems.append(ReplayProblem(row.instance_id, row.name, row.status.value, reason))
    return checked, problems
