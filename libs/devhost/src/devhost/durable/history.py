"""History events in the JSON shape the Durable Task extension hands to the Python SDK.

Every event is a dict with ``EventType`` (the numbers of ``HistoryEventType``), ``EventId``
(the task sequence id for TaskScheduled, TimerCreated and SubOrchestrationInstanceCreated,
-1 otherwise), ``IsPlayed`` and ``Timestamp`` (ISO 8601, UTC), plus the fields of its kind:
``Name``/``Input``/``Version`` (ExecutionStarted, TaskScheduled, ...), ``TaskScheduledId`` and
``Result`` (TaskCompleted, SubOrchestrationInstanceCompleted), ``Reason``/``Details``
(TaskFailed, SubOrchestrationInstanceFailed), ``FireAt``/``TimerId`` (TimerCreated/TimerFired).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

Event = dict[str, Any]


class EventType(enum.IntEnum):
    """The history event numbers of DurableTask.Core (same values as the SDK's enum)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


SCHEDULING_TYPES = frozenset(
    {
        EventType.TASK_SCHEDULED,
        EventType.TIMER_CREATED,
        EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    }
)
"""Events whose EventId is a task sequence id assigned by replay."""


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a ``Z``, as the extension writes timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time`; also accepts ``+00:00`` offsets."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def event(kind: EventType, at: datetime, event_id: int = -1, **fields: Any) -> Event:
    """Build one history event; ``IsPlayed`` is False until a later episode replays it."""
    built: Event = {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_time(at),
    }
    built.update(fields)
    return built
