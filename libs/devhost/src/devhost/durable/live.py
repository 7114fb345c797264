"""A live orchestration: the SDK's context, executor and generator, kept between episodes.

A full replay rebuilds the SDK's ``DurableOrchestrationContext`` from the whole history and runs
the orchestrator generator again from its start, every episode. A :class:`LiveOrchestration`
keeps the context, the ``TaskOrchestrationExecutor`` and the suspended generator of one execution
and hands the executor only the events recorded since it last ran. That reaches exactly the state
a full replay reaches, because:

- the SDK's state is a deterministic function of the events it processed, in order; the live
  executor processed the same earlier events in the same order, once;
- what a full replay sees differently is replay flags only: events of earlier episodes are
  played (``IsPlayed``), and so is every task they completed and every parent told of it. Before
  resuming, those flags are set as a full replay would set them, so ``context.is_replaying``
  reads the same at every point of the orchestrator;
- the SDK only appends actions; the dict of an action is built once, by the SDK's own
  serialisation, when it first appears; timer actions, whose ``isCanceled`` can change later,
  are refreshed every episode.

Only handles made by ``df.Orchestrator.create`` (which ``DFApp.orchestration_trigger`` uses) can
be kept live: :func:`start_live` answers ``None`` as its first value for anything else, and the
caller replays in full.
"""

from __future__ import annotations

import json
from typing import Any

from azure.durable_functions.models.actions.CompoundAction import CompoundAction
from azure.durable_functions.models.actions.CreateTimerAction import CreateTimerAction
from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.models.history.HistoryEvent import HistoryEvent
from azure.durable_functions.models.ReplaySchema import ReplaySchema
from azure.durable_functions.models.Task import TaskState
from azure.durable_functions.models.TaskOrchestrationExecutor import TaskOrchestrationExecutor

from devhost.durable.history import Event
from devhost.durable.sdk import OrchestratorHandle, OrchestratorState, answer_of, run_orchestrator

_TABLES = ("event_to_SetTaskValuePayload", "task_completion_events")


class _RecordingExecutor(TaskOrchestrationExecutor):  # type: ignore[misc]
    """The SDK's executor, noting every task an event completed (to mark it played later)."""

    _shared: dict[str, Any] | None = None

    def __init__(self) -> None:
        # The SDK's __init__ builds a namedtuple class per executor (~70 us); its two products
        # are read-only tables, so they are built once and shared; initialize() is the SDK's own.
        shared = _RecordingExecutor._shared
        if shared is None:
            super().__init__()
            shared = {key: self.__dict__[key] for key in _TABLES}
            _RecordingExecutor._shared = shared
        else:
            self.__dict__.update(shared)
            self.initialize()
        self.completed: list[Any] = []

    def set_task_value(self, event: Any, is_success: bool, id_key: str) -> None:
        pending = self.context.open_tasks.get(getattr(event, id_key))
        target = pending[-1] if isinstance(pending, list) and pending else pending
        super().set_task_value(event, is_success, id_key)
        if target is not None and not isinstance(target, list) and target.state is not TaskState.RUNNING:
            self.completed.append(target)


class LiveOrchestration:
    """One execution's SDK objects; see the module docstring for why resuming equals replaying."""

    def __init__(self, context: Any, executor: _RecordingExecutor) -> None:
        self._context = context
        self._executor = executor
        self._unplayed: list[Any] = []
        self._reported = 0
        self._timers: list[tuple[Any, dict[str, Any]]] = []
        self.actions: list[dict[str, Any]] = []
        """Every action the orchestrator yielded so far, as dicts (the full path's ``actions``)."""
        self.timer_actions: list[dict[str, Any]] = []
        """The top-level timer actions among :attr:`actions` (their ``isCanceled`` is kept current)."""

    def resume(self, played: list[Event], new: list[Event]) -> OrchestratorState:
        """Feed the events recorded after the last run, then the new ones; answer like a replay.

        ``played`` are events committed since the executor last ran (the rest of the previous
        episode); ``new`` are this episode's events from its OrchestratorStarted on. The answer's
        ``actions`` is :attr:`actions`, the whole list, as a full replay returns it.
        """
        self._mark_played()
        executor = self._executor

        def drive() -> str:  # inside answer_of, as the SDK parses its history inside the handle
            old = [HistoryEvent(**dict(e, IsPlayed=True)) for e in played]
            fresh = [HistoryEvent(**e) for e in new]
            self._context.histories.extend(old)
            self._context.histories.extend(fresh)
            self._unplayed = fresh
            for events, is_new in ((old, False), (fresh, True)):
                executor._is_processing_new_events = is_new
                for ev in events:
                    executor.process_event(ev)
                    if executor.has_execution_completed:
                        return self._state_json()
            return self._state_json()

        return self._collect(answer_of(drive))

    def _mark_played(self) -> None:
        for ev in self._unplayed:
            ev._is_played = True
        for task in self._executor.completed:
            node = task
            while node is not None:
                node.is_played = True
                parent = node.parent
                if parent is not None and parent.state is TaskState.RUNNING:
                    parent.is_played = True  # told of the completion, still open
                    break
                node = parent
        self._executor.completed.clear()

    def _state_json(self) -> str:
        """The SDK's own OrchestratorState JSON, with only the actions not reported yet."""
        everything = self._context._action_payload_v2
        self._context._action_payload_v2 = everything[self._reported :]
        try:
            return str(self._executor.get_orchestrator_state_str())
        finally:
            self._context._action_payload_v2 = everything

    def _collect(self, state: OrchestratorState) -> OrchestratorState:
        objects = self._context._action_payload_v2[self._reported :]
        if len(objects) != len(state.actions):  # an SDK error without state: no actions, as replayed
            return state
        for obj, data in zip(objects, state.actions, strict=True):
            if isinstance(obj, CreateTimerAction):
                self.timer_actions.append(data)
            self._note_timers(obj, data)
        self.actions.extend(state.actions)
        self._reported += len(objects)
        for timer, data in self._timers:
            data["isCanceled"] = timer.is_cancelled
        return OrchestratorState(state.is_done, self.actions, state.output, state.error, state.custom_status)

    def _note_timers(self, obj: Any, data: dict[str, Any]) -> None:
        if isinstance(obj, CreateTimerAction):
            self._timers.append((obj, data))
        elif isinstance(obj, CompoundAction):
            for child, child_data in zip(obj.compound_tasks, data.get("compoundActions", []), strict=False):
                self._note_timers(child, child_data)


def start_live(
    handle: OrchestratorHandle, context: dict[str, Any]
) -> tuple[LiveOrchestration | None, OrchestratorState]:
    """Run the first episode of a live orchestration from a full context (the SDK's handle path).

    Returns the live orchestration (None when the handle is not an SDK orchestrator, or the
    execution ended in this episode) and the SDK's answer, equal to ``run_orchestrator``'s.
    """
    fn = getattr(handle, "orchestrator_function", None)
    if fn is None:
        return None, run_orchestrator(handle, json.dumps(context))
    ctx = DurableOrchestrationContext.from_json(json.dumps(context))
    ctx._input_expected_type = getattr(handle, "_df_input_type", None)
    executor = _RecordingExecutor()
    live = LiveOrchestration(ctx, executor)
    # what Orchestrator(fn).handle(ctx) does, with the executor kept
    state = answer_of(lambda: str(executor.execute(ctx, ctx.histories, fn)))
    if ctx._replay_schema is ReplaySchema.V1 or not hasattr(executor, "generator"):
        return None, state
    live._unplayed = list(ctx.histories)
    live._reported = 0
    return live, live._collect(state)
