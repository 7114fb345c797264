"""Task hub maintenance behind the management API: query with continuation, purge, rewind.

Promises:

- :func:`query_instances` pages by (created time, instance id) with an opaque continuation token,
  so instances created while a client pages are neither skipped nor repeated.
- :func:`purge_instances` deletes instances with their history, messages and activities in one
  transaction; only ended (Completed, Failed, Terminated) instances are ever purged.
- :func:`rewind_instance` turns a Failed instance back to Running in one transaction: the failed
  task outcomes and the failure itself are removed from its history and the failed activities are
  scheduled again (DurableTask.Core's rewind for activities).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from devhost.durable.errors import DurableError, InstanceNotFoundError
from devhost.durable.history import Event, EventType, event
from devhost.durable.status import OrchestrationStatus
from devhost.durable.taskhub import InstanceRow, TaskHub

ENDED = (OrchestrationStatus.COMPLETED, OrchestrationStatus.FAILED, OrchestrationStatus.TERMINATED)


class InvalidContinuationTokenError(DurableError):
    """A continuation token was not one this task hub handed out."""

    def __init__(self, token: str) -> None:
        super().__init__(f"continuation token {token[:40]!r} is not valid for this task hub")


class InstanceNotFailedError(DurableError):
    """Only Failed instances can be rewound."""

    def __init__(self, instance_id: str, status: str) -> None:
        super().__init__(
            f'This orchestration has status {status}, but only orchestrations in the "Failed" state '
            f"can be rewound (instance {instance_id!r})."
        )


@dataclass(frozen=True)
class InstanceQuery:
    """A filter of the management API's list and purge operations; every field is optional."""

    runtime_status: Sequence[OrchestrationStatus] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    instance_id_prefix: str | None = None


def _where(query: InstanceQuery) -> tuple[str, list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    if query.runtime_status:
        clauses.append(f"status IN ({', '.join('?' for _ in query.runtime_status)})")
        args.extend(str(s) for s in query.runtime_status)
    if query.created_from is not None:
        clauses.append("created_at >= ?")
        args.append(query.created_from.timestamp())
    if query.created_to is not None:
        clauses.append("created_at <= ?")
        args.append(query.created_to.timestamp())
    if query.instance_id_prefix:
        clauses.append("substr(instance_id, 1, ?) = ?")
        args.extend([len(query.instance_id_prefix), query.instance_id_prefix])
    return (" AND ".join(clauses) or "1 = 1"), args


def _encode_token(created_at: float, instance_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at, instance_id]).encode()).decode()


def _decode_token(token: str) -> tuple[float, str]:
    try:
        created_at, instance_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return float(created_at), str(instance_id)
    except (ValueError, TypeError, binascii.Error) as error:
        raise InvalidContinuationTokenError(token) from error


def query_instances(
    hub: TaskHub, query: InstanceQuery, page_size: int = 100, continuation: str | None = None
) -> tuple[list[InstanceRow], str | None]:
    """One page of matching instances, oldest first, and the token of the next page (None: last).

    Raises InvalidContinuationTokenError for a token this function did not produce.
    """
    where, args = _where(query)
    if continuation:
        created_at, instance_id = _decode_token(continuation)
        where += " AND (created_at > ? OR (created_at = ? AND instance_id > ?))"
        args.extend([created_at, created_at, instance_id])
    with hub._lock:
        rows = hub._conn.execute(
            f"SELECT instance_id, created_at FROM instances WHERE {where} "
            "ORDER BY created_at, instance_id LIMIT ?",
            [*args, max(1, page_size) + 1],
        ).fetchall()
    more = len(rows) > max(1, page_size)
    rows = rows[: max(1, page_size)]
    found = [row for r in rows if (row := hub.get_instance(r[0])) is not None]
    token = _encode_token(float(rows[-1][1]), str(rows[-1][0])) if more and rows else None
    return found, token


def purge_instances(hub: TaskHub, query: InstanceQuery, instance_id: str | None = None) -> int:
    """Delete ended instances matching ``query`` (or the one ``instance_id``); returns how many."""
    where, args = _where(query)
    where += f" AND status IN ({', '.join('?' for _ in ENDED)})"
    args.extend(str(s) for s in ENDED)
    if instance_id is not None:
        where += " AND instance_id = ?"
        args.append(instance_id)
    with hub._tx() as conn:
        ids = [r[0] for r in conn.execute(f"SELECT instance_id FROM instances WHERE {where}", args)]
        for table in ("instances", "history", "messages", "activities"):
            conn.executemany(f"DELETE FROM {table} WHERE instance_id = ?", [(i,) for i in ids])
    return len(ids)


def rewind_instance(hub: TaskHub, instance_id: str, reason: str | None, now: datetime) -> None:
    """Rewind a Failed instance (see the module docstring).

    Raises InstanceNotFoundError or InstanceNotFailedError.
    """
    with hub._tx() as conn:
        row = hub.get_instance(instance_id)
        if row is None:
            raise InstanceNotFoundError(instance_id)
        if row.status != OrchestrationStatus.FAILED:
            raise InstanceNotFailedError(instance_id, row.status.value)
        history = hub.history(instance_id, row.execution_id)
        failed_ids = {int(e["TaskScheduledId"]) for e in history if e["EventType"] == EventType.TASK_FAILED}
        scheduled = {int(e["EventId"]): e for e in history if e["EventType"] == EventType.TASK_SCHEDULED}
        dropped = (EventType.TASK_FAILED, EventType.EXECUTION_COMPLETED)
        kept: list[Event] = [e for e in history if e["EventType"] not in dropped]
        conn.execute(
            "DELETE FROM history WHERE instance_id = ? AND execution_id = ?", (instance_id, row.execution_id)
        )
        conn.executemany(
            "INSERT INTO history VALUES (?, ?, ?, ?)",
            [(instance_id, row.execution_id, n, json.dumps(e)) for n, e in enumerate(kept)],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO activities (instance_id, execution_id, task_id, name, input) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    instance_id,
                    row.execution_id,
                    task_id,
                    scheduled[task_id]["Name"],
                    scheduled[task_id].get("Input"),
                )
                for task_id in sorted(failed_ids)
                if task_id in scheduled
            ],
        )
        if not failed_ids:  # the orchestrator itself failed: run an episode to replay it
            nudge = event(EventType.GENERIC_EVENT, now, Data=reason)
            conn.execute(
                "INSERT INTO messages (instance_id, execution_id, visible_at, event) VALUES (?, ?, ?, ?)",
                (instance_id, row.execution_id, now.timestamp(), json.dumps(nudge)),
            )
        conn.execute(
            "UPDATE instances SET status = ?, output = NULL, updated_at = ? WHERE instance_id = ?",
            (OrchestrationStatus.RUNNING, now.timestamp(), instance_id),
        )
