"""How an episode runs its orchestrator: the seam between episode.py and the two ways to run it.

:class:`FullReplay` gives the SDK the whole history and replays it from the start, every
episode (what the Functions host does for out-of-process languages). A live session
(:mod:`devhost.durable.session`) answers the same three questions from the state it kept since the
previous episode. Both must give the same answers; the session's tests hold them to it.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from devhost.durable.history import Event, EventType
from devhost.durable.replay import CREATE_TIMER, Replay, Scheduled
from devhost.durable.sdk import OrchestratorHandle, OrchestratorState, run_orchestrator
from devhost.durable.taskhub import InstanceRow

UPPER_SCHEMA_VERSION = 2
"""Replay schema V3 (flat action list); no long-timer settings are sent, so timers are plain."""


class EpisodeRunner(Protocol):
    """Runs one episode's orchestrator step; ``orchestrate`` is called first, once."""

    def orchestrate(self, row: InstanceRow, history: list[Event], new: list[Event]) -> OrchestratorState:
        """The SDK's answer after the stored ``history`` plus this episode's ``new`` events.

        Raises DurableError (ProtocolError) when the SDK's answer is malformed.
        """
        ...

    def schedule(self, state: OrchestratorState, is_done: bool) -> list[Scheduled]:
        """The work ``state.actions`` starts that the history has not recorded yet.

        Raises NonDeterminismError / ProtocolError (see :class:`devhost.durable.replay.Replay`).
        """
        ...

    def cancelled_timers(self, state: OrchestratorState) -> list[int]:
        """Ids of recorded timers whose top-level timer action the orchestrator cancelled."""
        ...


def sdk_context(row: InstanceRow, history: list[Event], replaying: bool) -> dict[str, Any]:
    """The orchestration trigger's context payload, as the Durable extension sends it."""
    return {
        "history": history,
        "instanceId": row.instance_id,
        "isReplaying": replaying,
        "parentInstanceId": row.parent_instance_id,
        "input": row.input,
        "upperSchemaVersion": UPPER_SCHEMA_VERSION,
        "upperSchemaVersionNew": UPPER_SCHEMA_VERSION,
    }


def cancelled_fire_times(timer_actions: list[dict[str, Any]]) -> set[Any]:
    """FireAt of every cancelled timer among ``timer_actions``."""
    return {
        a.get("fireAt") for a in timer_actions if a.get("actionType") == CREATE_TIMER and a.get("isCanceled")
    }


def timers_at(history: list[Event], fire_times: set[Any]) -> list[int]:
    """Ids of the TimerCreated events of ``history`` firing at one of ``fire_times``, in order."""
    if not fire_times:
        return []
    return [
        int(e["EventId"])
        for e in history
        if e["EventType"] == EventType.TIMER_CREATED and e.get("FireAt") in fire_times
    ]


class FullReplay:
    """Replays the whole history through the SDK handle, every episode."""

    def __init__(self, handle: OrchestratorHandle) -> None:
        self._handle = handle
        self._instance_id = ""
        self._history: list[Event] = []

    def orchestrate(self, row: InstanceRow, history: list[Event], new: list[Event]) -> OrchestratorState:
        self._instance_id = row.instance_id
        self._history = [dict(e, IsPlayed=True) for e in history] + new
        return run_orchestrator(self._handle, json.dumps(sdk_context(row, self._history, bool(history))))

    def schedule(self, state: OrchestratorState, is_done: bool) -> list[Scheduled]:
        return Replay(self._instance_id, self._history, state.actions).run(is_done=is_done)

    def cancelled_timers(self, state: OrchestratorState) -> list[int]:
        return timers_at(self._history, cancelled_fire_times(state.actions))
