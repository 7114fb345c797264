"""One orchestration episode: pending messages + stored history -> SDK call -> one EpisodeWrite.

An episode takes ALL visible messages of an instance at once, so a fan-in of N results costs
one replay, not N. It appends OrchestratorStarted, the new events and the events for newly
scheduled work (TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated), then
OrchestratorCompleted, and on the end of the execution ExecutionCompleted or
ExecutionTerminated, as the Durable Task extension records them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devhost.durable.entities import sent_request
from devhost.durable.errors import DurableError
from devhost.durable.history import Event, EventType, event, format_time, parse_time
from devhost.durable.replay import CONTINUE_AS_NEW, SIGNAL_ENTITY
from devhost.durable.runner import UPPER_SCHEMA_VERSION as UPPER_SCHEMA_VERSION  # re-exported
from devhost.durable.runner import EpisodeRunner, FullReplay
from devhost.durable.sdk import OrchestratorHandle, OrchestratorState
from devhost.durable.status import OrchestrationStatus
from devhost.durable.taskhub import EpisodeWrite, InstanceRow, Message, NewInstance

_CONTROL = {EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED}


@dataclass(frozen=True)
class EpisodeInput:
    row: InstanceRow
    history: list[Event]
    messages: list[Message]
    now: datetime


def started_event(
    name: str,
    instance_id: str,
    execution_id: str,
    input_json: str | None,
    now: datetime,
    parent: dict[str, Any] | None = None,
) -> Event:
    """The ExecutionStarted event that begins an execution."""
    return event(
        EventType.EXECUTION_STARTED,
        now,
        Name=name,
        Input=input_json,
        Version="",
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
    )


def build_episode(
    job: EpisodeInput, handle: OrchestratorHandle | None, runner: EpisodeRunner | None = None
) -> EpisodeWrite | None:
    """Decide what the episode writes; None when every message was stale (nothing to run).

    ``runner`` runs the orchestrator (default: a :class:`FullReplay` of the whole history; the
    engine passes a live session's, see :mod:`devhost.durable.session`).
    """
    row, now = job.row, job.now
    stamp = now.timestamp()
    consumed = [m.id for m in job.messages]
    new: list[Event] = [event(EventType.ORCHESTRATOR_STARTED, now)]
    write = EpisodeWrite(
        row.instance_id,
        row.execution_id,
        consumed,
        new,
        OrchestrationStatus.RUNNING,
        stamp,
        custom_status=row.custom_status,
    )

    terminate = next(
        (m for m in job.messages if m.event["EventType"] == EventType.EXECUTION_TERMINATED), None
    )
    if terminate is not None:
        reason = terminate.event.get("Input")
        new.append(event(EventType.EXECUTION_TERMINATED, now, Input=reason))
        write.status, write.output, write.ended = OrchestrationStatus.TERMINATED, json.dumps(reason), True
        return write

    suspended = row.status == OrchestrationStatus.SUSPENDED
    control = [m for m in job.messages if m.event["EventType"] in _CONTROL]
    for m in control:
        suspended = m.event["EventType"] == EventType.EXECUTION_SUSPENDED
        new.append(event(EventType(m.event["EventType"]), now, Reason=m.event.get("Reason")))
    if suspended:
        write.consumed = [m.id for m in control]
        write.status = OrchestrationStatus.SUSPENDED
        return write

    new.extend(m.event for m in job.messages if m.event["EventType"] not in _CONTROL)
    if len(new) == 1 + len(control) and job.history:
        if not control:
            return None
        write.status = OrchestrationStatus.RUNNING
        return write
    if handle is None:
        return _fail(write, job, f"no orchestrator function named {row.name!r} is registered", now)

    run = runner or FullReplay(handle)
    try:
        state = run.orchestrate(row, job.history, new)
    except DurableError as exc:
        return _fail(write, job, str(exc), now)
    write.custom_status = None if state.custom_status is None else json.dumps(state.custom_status)
    if state.error is not None:
        return _fail(write, job, f"Orchestrator function '{row.name}' failed: {state.error}", now)
    if state.is_done:
        if any(a.get("actionType") == SIGNAL_ENTITY for a in state.actions):
            try:  # signals sent just before returning are sent, as the extension sends them
                final = run.schedule(state, is_done=True)
            except DurableError as exc:
                return _fail(write, job, str(exc), now)
            for item in (i for i in final if i.event["EventType"] == EventType.EVENT_SENT):
                new.append(dict(item.event, Timestamp=format_time(now)))
                _queue_work(write, job, new[-1], None, now)
        return _finish(write, job, state, now)
    try:
        scheduled = run.schedule(state, is_done=False)
    except DurableError as exc:
        return _fail(write, job, str(exc), now)
    for item in scheduled:
        ev = dict(item.event, Timestamp=format_time(now))
        new.append(ev)
        _queue_work(write, job, ev, item.fail_reason, now)
    write.cancelled_timers = run.cancelled_timers(state)
    new.append(event(EventType.ORCHESTRATOR_COMPLETED, now))
    return write


def _queue_work(
    write: EpisodeWrite, job: EpisodeInput, ev: Event, fail_reason: str | None, now: datetime
) -> None:
    row, task_id, stamp = job.row, int(ev["EventId"]), now.timestamp()
    kind = ev["EventType"]
    if kind == EventType.TASK_SCHEDULED and fail_reason is None:
        write.activities.append((task_id, str(ev["Name"]), ev.get("Input")))
    elif kind == EventType.TASK_SCHEDULED:
        failed = event(EventType.TASK_FAILED, now, TaskScheduledId=task_id, Reason=fail_reason, Details=None)
        write.messages.append(Message(row.instance_id, row.execution_id, failed, stamp))
    elif kind == EventType.EVENT_SENT:
        write.entity_requests.append(sent_request(ev, row.execution_id))
    elif kind == EventType.TIMER_CREATED:
        fire_at = parse_time(str(ev["FireAt"]))
        fired = event(EventType.TIMER_FIRED, fire_at, TimerId=task_id, FireAt=ev["FireAt"])
        write.messages.append(Message(row.instance_id, row.execution_id, fired, fire_at.timestamp()))
    else:
        child_id, execution_id = str(ev["InstanceId"]), uuid.uuid4().hex
        parent = {
            "Name": row.name,
            "TaskScheduleId": task_id,
            "OrchestrationInstance": {"InstanceId": row.instance_id, "ExecutionId": row.execution_id},
        }
        started = started_event(str(ev["Name"]), child_id, execution_id, ev.get("Input"), now, parent)
        write.children.append(
            NewInstance(
                child_id,
                str(ev["Name"]),
                execution_id,
                ev.get("Input"),
                started,
                stamp,
                row.instance_id,
                row.execution_id,
                task_id,
            )
        )


def _finish(write: EpisodeWrite, job: EpisodeInput, state: OrchestratorState, now: datetime) -> EpisodeWrite:
    row = job.row
    again = next((a for a in state.actions if a.get("actionType") == CONTINUE_AS_NEW), None)
    if again is not None:
        execution_id = uuid.uuid4().hex
        new_input = again.get("input")
        write.history.append(
            event(EventType.EXECUTION_COMPLETED, now, OrchestrationStatus="ContinuedAsNew", Result=new_input)
        )
        started = started_event(row.name, row.instance_id, execution_id, new_input, now)
        write.continued_as = NewInstance(
            row.instance_id, row.name, execution_id, new_input, started, now.timestamp()
        )
        write.status = OrchestrationStatus.CONTINUED_AS_NEW
        return write
    output = json.dumps(state.output)
    write.history.append(
        event(EventType.EXECUTION_COMPLETED, now, OrchestrationStatus="Completed", Result=output)
    )
    write.status, write.output, write.ended = OrchestrationStatus.COMPLETED, output, True
    _notify_parent(
        write,
        row,
        now,
        event(
            EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
            now,
            TaskScheduledId=row.parent_task_id,
            Result=output,
        ),
    )
    return write


def _fail(write: EpisodeWrite, job: EpisodeInput, message: str, now: datetime) -> EpisodeWrite:
    row = job.row
    write.history.append(
        event(
            EventType.EXECUTION_COMPLETED,
            now,
            OrchestrationStatus="Failed",
            Result=message,
            FailureDetails={"ErrorMessage": message},
        )
    )
    write.status, write.output, write.ended = OrchestrationStatus.FAILED, json.dumps(message), True
    _notify_parent(
        write,
        row,
        now,
        event(
            EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
            now,
            TaskScheduledId=row.parent_task_id,
            Reason=message,
            Details=None,
        ),
    )
    return write


def _notify_parent(write: EpisodeWrite, row: InstanceRow, now: datetime, outcome: Event) -> None:
    if row.parent_instance_id is None or row.parent_task_id is None:
        return
    write.messages.append(Message(row.parent_instance_id, row.parent_execution_id, outcome, now.timestamp()))
