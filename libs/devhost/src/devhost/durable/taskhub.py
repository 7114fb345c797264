"""The task hub: every durable instance, history, message and activity in one SQLite file.

Promises:

- WAL journal and one connection guarded by a lock; each public write is ONE transaction,
  so a process killed at any instant leaves either all or none of an episode's effects
  (new history, consumed messages, scheduled activities, timers, child instances, status).
- Messages are history events waiting for an instance; a message is visible once its
  ``visible_at`` (seconds since the epoch, on the engine's clock) has passed, which is how
  durable timers survive restarts.
- Activities are leased: a claim stamps ``lock_token`` and ``locked_until`` (wall clock); an
  expired lease or :meth:`TaskHub.release_all_leases` (done when an engine opens the hub) makes
  it claimable again, so an activity whose completion was not recorded runs again
  (at-least-once). Completing deletes the row and enqueues its result in one transaction and
  only if the lease is still held, so a completion is recorded at most once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.durable.entities import EntityRequest, enqueue_requests
from devhost.durable.history import Event
from devhost.durable.status import ACTIVE_STATUSES, OrchestrationStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_task_id INTEGER
);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, execution_id, seq)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    visible_at REAL NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (visible_at);
CREATE INDEX IF NOT EXISTS messages_by_instance ON messages (instance_id, id);
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT,
    locked_until REAL,
    lock_token TEXT,
    UNIQUE (instance_id, execution_id, task_id)
);
CREATE TABLE IF NOT EXISTS entities (
    entity_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT,
    last_operation_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS entity_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id TEXT NOT NULL,
    visible_at REAL NOT NULL,
    request TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entity_messages_by_entity ON entity_messages (entity_id, id);
"""


@dataclass(frozen=True)
class InstanceRow:
    """An instance as stored; JSON columns are still text."""

    instance_id: str
    name: str
    execution_id: str
    status: OrchestrationStatus
    input: str | None
    output: str | None
    custom_status: str | None
    created_at: float
    updated_at: float
    parent_instance_id: str | None
    parent_execution_id: str | None
    parent_task_id: int | None


@dataclass(frozen=True)
class Message:
    """A pending history event for an instance (``execution_id`` None: any execution)."""

    instance_id: str
    execution_id: str | None
    event: Event
    visible_at: float
    id: int = 0


@dataclass(frozen=True)
class ActivityWork:
    """A claimed activity invocation; ``input`` is the JSON text the orchestrator passed."""

    id: int
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None
    lock_token: str


@dataclass(frozen=True)
class NewInstance:
    """An instance to (re)create with its ExecutionStarted message."""

    instance_id: str
    name: str
    execution_id: str
    input: str | None
    started: Event
    now: float
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None
    parent_task_id: int | None = None


@dataclass
class EpisodeWrite:
    """Everything one orchestration episode changes, committed together by :meth:`commit_episode`."""

    instance_id: str
    execution_id: str
    consumed: list[int]
    history: list[Event]
    status: OrchestrationStatus
    now: float
    output: str | None = None
    custom_status: str | None = None
    messages: list[Message] = field(default_factory=list)
    activities: list[tuple[int, str, str | None]] = field(default_factory=list)
    children: list[NewInstance] = field(default_factory=list)
    cancelled_timers: list[int] = field(default_factory=list)
    ended: bool = False
    continued_as: NewInstance | None = None
    entity_requests: list[EntityRequest] = field(default_factory=list)


class TaskHub:
    """One task hub in one SQLite file; safe to share between threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA mmap_size=268435456")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection; the hub object is unusable afterwards."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- instances -----------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> InstanceRow | None:
        """The stored instance, or None when the id is unknown."""
        with self._lock:
            row = self._conn.execute(
                "SELECT instance_id, name, execution_id, status, input, output, custom_status, "
                "created_at, updated_at, parent_instance_id, parent_execution_id, parent_task_id "
                "FROM instances WHERE instance_id = ?",
                (instance_id,),
            ).fetchone()
        if row is None:
            return None
        return InstanceRow(row[0], row[1], row[2], OrchestrationStatus(row[3]), *row[4:])

    def list_instances(self) -> list[InstanceRow]:
        """Every instance, oldest first."""
        with self._lock:
            ids = [r[0] for r in self._conn.execute("SELECT instance_id FROM instances ORDER BY created_at")]
        return [row for i in ids if (row := self.get_instance(i)) is not None]

    def create_instance(self, new: NewInstance) -> OrchestrationStatus | None:
        """Create or restart an instance; returns the blocking status if it is still active."""
        with self._tx() as conn:
            return self._create_instance(conn, new)

    def _create_instance(self, conn: sqlite3.Connection, new: NewInstance) -> OrchestrationStatus | None:
        row = conn.execute(
            "SELECT status FROM instances WHERE instance_id = ?", (new.instance_id,)
        ).fetchone()
        if row is not None and OrchestrationStatus(row[0]) in ACTIVE_STATUSES:
            return OrchestrationStatus(row[0])
        for table in ("history", "messages", "activities"):
            conn.execute(f"DELETE FROM {table} WHERE instance_id = ?", (new.instance_id,))
        conn.execute(
            "INSERT OR REPLACE INTO instances VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?)",
            (
                new.instance_id,
                new.name,
                new.execution_id,
                OrchestrationStatus.PENDING,
                new.input,
                new.now,
                new.now,
                new.parent_instance_id,
                new.parent_execution_id,
                new.parent_task_id,
            ),
        )
        self._enqueue(conn, [Message(new.instance_id, new.execution_id, new.started, new.now)])
        return None

    # -- messages ------------------------------------------------------------------------
    def enqueue(self, messages: Sequence[Message]) -> None:
        """Queue messages for their instances in one transaction."""
        with self._tx() as conn:
            self._enqueue(conn, messages)

    @staticmethod
    def _enqueue(conn: sqlite3.Connection, messages: Sequence[Message]) -> None:
        conn.executemany(
            "INSERT INTO messages (instance_id, execution_id, visible_at, event) VALUES (?, ?, ?, ?)",
            [(m.instance_id, m.execution_id, m.visible_at, json.dumps(m.event)) for m in messages],
        )

    def ready_instances(self, now: float, limit: int = 100) -> list[str]:
        """Ids of instances with at least one visible message, oldest message first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT m.instance_id, MIN(m.id) AS first FROM messages m "
                "LEFT JOIN instances i ON i.instance_id = m.instance_id WHERE m.visible_at <= ? "
                "AND (i.status IS NULL OR i.status != 'Suspended' "
                "OR json_extract(m.event, '$.EventType') IN (3, 20)) "
                "GROUP BY m.instance_id ORDER BY first LIMIT ?",
                (now, limit),
            ).fetchall()
        return [r[0] for r in rows]

    def next_visible_at(self) -> float | None:
        """The earliest visibility time of any message (e.g. the next durable timer)."""
        with self._lock:
            row = self._conn.execute("SELECT MIN(visible_at) FROM messages").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def visible_messages(self, instance_id: str, now: float) -> list[Message]:
        """All visible messages of one instance, in arrival order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, execution_id, visible_at, event FROM messages "
                "WHERE instance_id = ? AND visible_at <= ? ORDER BY id",
                (instance_id, now),
            ).fetchall()
        return [Message(instance_id, r[1], json.loads(r[3]), r[2], r[0]) for r in rows]

    def drop_messages(self, ids: Sequence[int]) -> None:
        """Delete messages that can never be delivered (their instance ended)."""
        with self._tx() as conn:
            conn.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in ids])

    # -- history -------------------------------------------------------------------------
    def history(self, instance_id: str, execution_id: str) -> list[Event]:
        """The stored events of one execution in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT event FROM history WHERE instance_id = ? AND execution_id = ? ORDER BY seq",
                (instance_id, execution_id),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def commit_episode(self, write: EpisodeWrite, history_length: int) -> None:
        """Apply one episode atomically. ``history_length`` is the stored length it built on."""
        with self._tx() as conn:
            conn.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in write.consumed])
            conn.executemany(
                "INSERT INTO history VALUES (?, ?, ?, ?)",
                [
                    (write.instance_id, write.execution_id, history_length + n, json.dumps(ev))
                    for n, ev in enumerate(write.history)
                ],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO activities (instance_id, execution_id, task_id, name, input) "
                "VALUES (?, ?, ?, ?, ?)",
                [(write.instance_id, write.execution_id, t, n, i) for t, n, i in write.activities],
            )
            for timer_id in write.cancelled_timers:
                conn.execute(
                    "DELETE FROM messages WHERE instance_id = ? AND execution_id = ? "
                    "AND json_extract(event, '$.TimerId') = ?",
                    (write.instance_id, write.execution_id, timer_id),
                )
            if write.ended or write.continued_as is not None:
                conn.execute("DELETE FROM activities WHERE instance_id = ?", (write.instance_id,))
                conn.execute(
                    "DELETE FROM messages WHERE instance_id = ? AND (? OR execution_id IS NOT NULL)",
                    (write.instance_id, write.ended),
                )
            conn.execute(
                "UPDATE instances SET status = ?, output = ?, custom_status = ?, updated_at = ? "
                "WHERE instance_id = ?",
                (write.status, write.output, write.custom_status, write.now, write.instance_id),
            )
            if write.continued_as is not None:
                nxt = write.continued_as
                conn.execute(
                    "UPDATE instances SET execution_id = ?, input = ? WHERE instance_id = ?",
                    (nxt.execution_id, nxt.input, write.instance_id),
                )
                self._enqueue(conn, [Message(nxt.instance_id, nxt.execution_id, nxt.started, nxt.now)])
            self._enqueue(conn, write.messages)
            enqueue_requests(conn, write.entity_requests, write.now)
            for child in write.children:
                blocked = self._create_instance(conn, child)
                if blocked is not None and child.parent_task_id is not None:
                    self._enqueue(conn, [_child_refused(child, blocked)])

    # -- activities ----------------------------------------------------------------------
    def claim_activities(self, limit: int, lease_seconds: float, token: str) -> list[ActivityWork]:
        """Lease up to ``limit`` unleased (or lease-expired) activities, oldest first."""
        now = time.time()
        with self._tx() as conn:
            rows = conn.execute(
                "UPDATE activities SET locked_until = ?, lock_token = ? WHERE id IN ("
                "SELECT id FROM activities WHERE locked_until IS NULL OR locked_until < ? "
                "ORDER BY id LIMIT ?) RETURNING id, instance_id, execution_id, task_id, name, input",
                (now + lease_seconds, token, now, limit),
            ).fetchall()
        rows.sort(key=lambda r: int(r[0]))
        return [ActivityWork(r[0], r[1], r[2], r[3], r[4], r[5], token) for r in rows]

    def complete_activities(self, done: Sequence[tuple[ActivityWork, Event]], now: float) -> int:
        """Record activity outcomes (TaskCompleted/TaskFailed events) for leases still held.

        Returns how many were recorded; one whose lease was lost or whose instance moved on
        is skipped, so each completion is recorded at most once.
        """
        recorded = 0
        with self._tx() as conn:
            for work, outcome in done:
                cur = conn.execute(
                    "DELETE FROM activities WHERE id = ? AND lock_token = ?", (work.id, work.lock_token)
                )
                if cur.rowcount == 1:
                    self._enqueue(conn, [Message(work.instance_id, work.execution_id, outcome, now)])
                    recorded += 1
        return recorded

    def release_all_leases(self) -> int:
        """Make every leased activity claimable again (recovery after a crashed engine)."""
        with self._tx() as conn:
            cur = conn.execute("UPDATE activities SET locked_until = NULL, lock_token = NULL")
            return cur.rowcount

    def pending_activity_count(self) -> int:
        """Activities scheduled and not yet completed (leased or not)."""
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*) FROM activities").fetchone()
        return int(row[0])


def _child_refused(child: NewInstance, status: OrchestrationStatus) -> Message:
    assert child.parent_instance_id is not None
    reason = f"sub-orchestration instance {child.instance_id!r} already exists and is {status}"
    failed: dict[str, Any] = {
        "EventType": 9,
        "EventId": -1,
        "IsPlayed": False,
        "Timestamp": child.started["Timestamp"],
        "TaskScheduledId": child.parent_task_id,
        "Reason": reason,
        "Details": None,
    }
    return Message(child.parent_instance_id, child.parent_execution_id, failed, child.now)
