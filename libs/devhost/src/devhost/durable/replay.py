"""Replays an orchestrator's action list against its history, as DurableTask.Core does.

The SDK returns every action the orchestrator has yielded so far (replay schema V2+), without
task ids. The extension gives ids by replaying: actions are started in the order they were
yielded, each atomic task (activity, timer, sub-orchestration, retry attempt, retry timer) takes
the next sequence number, and ``call_*_with_retry`` failures are retried by the host with a
durable timer between attempts (plus the one extra timer after the last attempt the SDK waits
for). This module mirrors that bookkeeping so that ids here equal the ids the SDK gives its
tasks, checks every id already present in the history against what the orchestrator schedules
now (raising :class:`NonDeterminismError` naming both), and returns the newly scheduled work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devhost.durable.entities import (
    InvalidEntityIdError,
    orchestration_request_id,
    request_id_of,
    response_failed,
    sent_event_fields,
)
from devhost.durable.errors import NonDeterminismError, ProtocolError
from devhost.durable.history import SCHEDULING_TYPES, Event, EventType, parse_time

CALL_ACTIVITY = 0
CALL_ACTIVITY_WITH_RETRY = 1
CALL_SUB_ORCHESTRATOR = 2
CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
CONTINUE_AS_NEW = 4
CREATE_TIMER = 5
WAIT_FOR_EXTERNAL_EVENT = 6
CALL_ENTITY = 7
SIGNAL_ENTITY = 9
WHEN_ANY = 11
WHEN_ALL = 12
UNSUPPORTED = {8: "call_http"}

_COMPLETIONS = {
    EventType.TASK_COMPLETED: ("TaskScheduledId", False),
    EventType.TASK_FAILED: ("TaskScheduledId", True),
    EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED: ("TaskScheduledId", False),
    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED: ("TaskScheduledId", True),
    EventType.TIMER_FIRED: ("TimerId", False),
}


@dataclass(frozen=True)
class Scheduled:
    """One new unit of work: the history event to record and what the host must do for it.

    ``event`` is TaskScheduled, TimerCreated or SubOrchestrationInstanceCreated with its EventId.
    ``fail_reason`` is set for a retry attempt made after ``retryTimeout`` expired: the host
    records it as failed at once instead of running it.
    """

    event: Event
    fail_reason: str | None = None


@dataclass(eq=False)
class _Node:
    parent: _Node | None
    done: bool = False
    failed: bool = False
    children: list[_Node] = field(default_factory=list)
    kind: int = -1
    task_id: int | None = None
    action: dict[str, Any] = field(default_factory=dict)
    # retry bookkeeping
    attempts: int = 0
    waiting_timer: bool = False
    started_at: datetime | None = None
    expired: bool = False
    known_done: int = 0  # children[:known_done] are done (done never reverts): all() in O(1) amortised


@dataclass
class _RetryPolicy:
    first_ms: float
    max_attempts: int
    backoff: float
    max_interval_ms: float
    timeout_ms: float

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> _RetryPolicy:
        return cls(
            first_ms=float(raw.get("firstRetryIntervalInMilliseconds", 0)),
            max_attempts=int(raw.get("maxNumberOfAttempts", 1)),
            backoff=float(raw.get("backoffCoefficient", 1.0)),
            max_interval_ms=float(raw.get("maxRetryIntervalInMilliseconds", math.inf)),
            timeout_ms=float(raw.get("retryTimeoutInMilliseconds", math.inf)),
        )

    def delay(self, attempt_index: int) -> timedelta:
        millis = min(self.first_ms * self.backoff**attempt_index, self.max_interval_ms)
        return timedelta(milliseconds=millis)


def _all_done(node: _Node) -> bool:
    children = node.children
    while node.known_done < len(children) and children[node.known_done].done:
        node.known_done += 1
    return node.known_done == len(children)


def _describe(event: Event) -> str:
    kind = EventType(event["EventType"]).name
    name = event.get("Name")
    return f"{kind} {name!r}" if name is not None else kind


class Replay:
    """One replay of an execution: feed it the SDK's actions, read ``scheduled`` afterwards."""

    def __init__(self, instance_id: str, history: list[Event], actions: list[dict[str, Any]]):
        self._instance_id = instance_id
        self._history = history
        self._actions = actions
        self._cursor = 0
        self._next_id = 0
        self._sub_counter = 0
        self._current: _Node | None = None
        self._open: dict[int, _Node] = {}
        self._deferred: dict[int, bool] = {}
        self._waiters: dict[str, list[_Node]] = {}
        self._buffered_events: set[str] = set()
        self._entity_calls: dict[str, _Node] = {}
        started = next((e for e in history if e["EventType"] == EventType.EXECUTION_STARTED), None)
        self._execution_id = str(((started or {}).get("OrchestrationInstance") or {}).get("ExecutionId", ""))
        self._now = parse_time(history[0]["Timestamp"]) if history else datetime.min
        self._recorded: dict[int, Event] = {
            int(e["EventId"]): e
            for e in history
            if e["EventType"] in SCHEDULING_TYPES or e["EventType"] == EventType.EVENT_SENT
        }
        self._last_recorded = max(self._recorded, default=-1)
        self.scheduled: list[Scheduled] = []

    def run(self, is_done: bool) -> list[Scheduled]:
        """Replay the whole history; returns the new work. Raises NonDeterminismError."""
        return self.resume(self._history, is_done)

    def resume(self, events: list[Event], is_done: bool) -> list[Scheduled]:
        """Replay ``events``, recorded after everything replayed so far, against the actions list
        given at construction (which the caller may have appended to since); returns the work new
        since the last call. A live session calls this once per episode. Raises as :meth:`run`.
        """
        self.scheduled = []
        for ev in events:
            kind = ev["EventType"]
            if kind == EventType.ORCHESTRATOR_STARTED:
                self._now = max(self._now, parse_time(ev["Timestamp"]))
            elif kind == EventType.EXECUTION_STARTED:
                self._advance()
            elif kind in _COMPLETIONS:
                key, failed = _COMPLETIONS[EventType(kind)]
                self._complete_id(int(ev[key]), failed)
            elif kind == EventType.EVENT_RAISED:
                self._raise(str(ev["Name"]), ev)
        while self._cursor < len(self._actions):  # lenient: start what the SDK yielded anyway
            self._start_top()
        if not is_done and self._last_recorded >= self._next_id:
            forgotten = sorted(i for i in self._recorded if i >= self._next_id)
            if forgotten:
                first = forgotten[0]
                raise NonDeterminismError(
                    f"non-deterministic orchestration {self._instance_id!r}: at task index {first} "
                    f"the history recorded {_describe(self._recorded[first])} but the orchestrator "
                    "no longer schedules it (was the orchestrator code changed while it ran?)"
                )
        return self.scheduled

    # -- top-level sequencing ------------------------------------------------------------
    def _advance(self) -> None:
        while self._cursor < len(self._actions) and (self._current is None or self._current.done):
            self._start_top()

    def _start_top(self) -> None:
        action = self._actions[self._cursor]
        self._cursor += 1
        self._current = self._start(action, None)

    # -- starting tasks ---------------------------------------------------------------------
    def _start(self, action: dict[str, Any], parent: _Node | None) -> _Node:
        kind = int(action.get("actionType", -1))
        node = _Node(parent=parent, kind=kind, action=action)
        if parent is not None:
            parent.children.append(node)
        if kind in UNSUPPORTED:
            raise ProtocolError(
                f"orchestrator {self._instance_id!r} used {UNSUPPORTED[kind]}, which devhost's "
                "durable engine does not support yet"
            )
        if kind in (WHEN_ALL, WHEN_ANY):
            for child in action.get("compoundActions", []):
                self._start(child, node)
            if not node.children:
                node.done = True
            return node
        if kind in (CALL_ACTIVITY_WITH_RETRY, CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            node.started_at = self._now
            node.attempts = 1
            self._attempt(node)
            return node
        if kind == CONTINUE_AS_NEW:
            node.done = True
            return node
        if kind == WAIT_FOR_EXTERNAL_EVENT:
            name = str(action["externalEventName"])
            if name in self._buffered_events:
                node.done = True
            else:
                self._waiters.setdefault(name, []).append(node)
            return node
        if kind in (CALL_ENTITY, SIGNAL_ENTITY):
            self._start_entity_operation(node, action)
            return node
        if kind in (CALL_ACTIVITY, CALL_SUB_ORCHESTRATOR, CREATE_TIMER):
            self._assign(node, self._scheduling_event(action, kind))
            return node
        raise ProtocolError(f"orchestrator {self._instance_id!r} returned unknown action {action!r}")

    def _start_entity_operation(self, node: _Node, action: dict[str, Any]) -> None:
        signal = node.kind == SIGNAL_ENTITY
        request_id = orchestration_request_id(self._instance_id, self._execution_id, self._next_id)
        try:
            fields = sent_event_fields(self._instance_id, action, signal, request_id)
        except InvalidEntityIdError as exc:
            raise ProtocolError(f"orchestrator {self._instance_id!r}: {exc}") from exc
        self._assign(node, fields)
        task_id = self._next_id - 1
        self._open.pop(task_id, None)  # completed by a response named after its request id
        if signal:
            node.done = True
            return
        recorded = request_id_of(self._recorded.get(task_id) or fields)
        self._entity_calls[recorded or request_id] = node

    def _attempt(self, retry: _Node) -> None:
        base = CALL_ACTIVITY if retry.kind == CALL_ACTIVITY_WITH_RETRY else CALL_SUB_ORCHESTRATOR
        child = _Node(parent=retry, kind=base, action=retry.action)
        retry.children.append(child)
        reason = None
        if retry.expired:
            reason = f"retry timeout of {retry.action.get('functionName')!r} expired"
        self._assign(child, self._scheduling_event(retry.action, base), reason)

    def _scheduling_event(self, action: dict[str, Any], kind: int) -> Event:
        if kind == CALL_ACTIVITY:
            return {
                "EventType": int(EventType.TASK_SCHEDULED),
                "Name": action["functionName"],
                "Input": action.get("input"),
                "Version": "",
            }
        if kind == CREATE_TIMER:
            return {"EventType": int(EventType.TIMER_CREATED), "FireAt": action["fireAt"]}
        child_id = action.get("instanceId") or f"{self._instance_id}:{self._sub_counter}"
        self._sub_counter += 1
        return {
            "EventType": int(EventType.SUB_ORCHESTRATION_INSTANCE_CREATED),
            "Name": action["functionName"],
            "Input": action.get("input"),
            "InstanceId": child_id,
            "Version": action.get("version") or "",
        }

    def _assign(self, node: _Node, fields: Event, fail_reason: str | None = None) -> None:
        task_id = self._next_id
        self._next_id += 1
        node.task_id = task_id
        recorded = self._recorded.get(task_id)
        if recorded is not None:
            same = recorded["EventType"] == fields["EventType"] and recorded.get("Name") == fields.get("Name")
            if not same:
                raise NonDeterminismError(
                    f"non-deterministic orchestration {self._instance_id!r}: at task index "
                    f"{task_id} the history recorded {_describe(recorded)} but the orchestrator "
                    f"now schedules {_describe(fields)} (was the orchestrator code changed while "
                    "it ran?)"
                )
        else:
            ev: Event = {"EventId": task_id, "IsPlayed": False, "Timestamp": None}
            ev.update(fields)
            self.scheduled.append(Scheduled(ev, fail_reason))
        self._open[task_id] = node
        if task_id in self._deferred:
            self._complete_id(task_id, self._deferred.pop(task_id))

    # -- completing tasks -------------------------------------------------------------------
    def _complete_id(self, task_id: int, failed: bool) -> None:
        node = self._open.pop(task_id, None)
        if node is None:
            if task_id >= self._next_id:
                self._deferred[task_id] = failed
            return
        self._finish(node, failed)

    def _raise(self, name: str, raised: Event) -> None:
        call = self._entity_calls.pop(name, None)
        if call is not None:  # the response to a call_entity, named after its request id
            self._finish(call, response_failed(raised))
            return
        waiters = self._waiters.get(name)
        if waiters:
            self._finish(waiters.pop(), False)
        else:
            self._buffered_events.add(name)

    def _finish(self, node: _Node, failed: bool) -> None:
        node.done = True
        node.failed = failed
        parent = node.parent
        if parent is not None and not parent.done:
            self._child_finished(parent, node)
        self._advance()

    def _child_finished(self, parent: _Node, child: _Node) -> None:
        if parent.kind in (CALL_ACTIVITY_WITH_RETRY, CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            self._retry_step(parent, child)
        elif parent.kind == WHEN_ANY:
            self._finish(parent, False)
        elif child.failed:
            self._finish(parent, True)
        elif _all_done(parent):
            self._finish(parent, False)

    def _retry_step(self, retry: _Node, child: _Node) -> None:
        policy = _RetryPolicy.parse(retry.action.get("retryOptions", {}))
        if retry.waiting_timer:
            retry.waiting_timer = False
            if retry.attempts >= policy.max_attempts:
                self._finish(retry, True)
            else:
                retry.attempts += 1
                self._attempt(retry)
            return
        if not child.failed:
            self._finish(retry, False)
            return
        started = retry.started_at or self._now
        elapsed_ms = (self._now - started).total_seconds() * 1000
        retry.expired = retry.expired or elapsed_ms >= policy.timeout_ms
        delay = timedelta(0) if retry.expired else policy.delay(retry.attempts - 1)
        timer = _Node(parent=retry, kind=CREATE_TIMER)
        retry.children.append(timer)
        retry.waiting_timer = True
        fire_at = (self._now + delay).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self._assign(timer, {"EventType": int(EventType.TIMER_CREATED), "FireAt": fire_at})
