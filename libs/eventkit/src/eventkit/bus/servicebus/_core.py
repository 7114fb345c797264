"""The SQLite file behind a namespace: schema, transactions, clock and the topology cache.

Every operation is one transaction on one file, so any number of processes can share a
namespace: writes take `BEGIN IMMEDIATE` (SQLite's single writer lock, waited for up to
`busy_timeout`), the journal is WAL so readers never block writers, and `synchronous=NORMAL`
keeps committed data across a process crash (not across a power loss).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from .entities import (
    DEAD_LETTER_SUFFIX,
    QueueProperties,
    SubscriptionProperties,
    TopicProperties,
    parse_path,
)
from .errors import EntityNotFound
from .filters import Matcher, RuleProperties, compile_filter, filter_from_json

Clock = Callable[[], datetime]
Properties = QueueProperties | TopicProperties | SubscriptionProperties
T = TypeVar("T")
_MICROSECOND = timedelta(microseconds=1)

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL,             -- queue | topic | subscription | deadletter
    parent_id INTEGER,              -- the topic of a subscription, the owner of a dead-letter queue
    props TEXT NOT NULL,            -- JSON of the *Properties dataclass
    next_seq INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS rules (
    subscription_id INTEGER NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    filter TEXT NOT NULL,
    PRIMARY KEY (subscription_id, name)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    queue_id INTEGER NOT NULL,      -- a queue, a subscription or a dead-letter queue
    seq INTEGER NOT NULL,
    state INTEGER NOT NULL,         -- 0 active, 1 scheduled, 2 deferred
    available_at REAL NOT NULL,     -- receivable from (enqueue, schedule or lock expiry time)
    locked_until REAL NOT NULL DEFAULT 0,
    lock_nonce INTEGER,
    delivery_count INTEGER NOT NULL DEFAULT 0,
    enqueued_at REAL NOT NULL,
    expires_at REAL,
    session_id TEXT,
    message_id TEXT NOT NULL,
    content_type TEXT, subject TEXT, correlation_id TEXT, partition_key TEXT,
    reply_to TEXT, to_address TEXT, ttl REAL, scheduled_at REAL,
    properties TEXT NOT NULL,
    dl_reason TEXT, dl_description TEXT,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_available ON messages (queue_id, available_at, seq);
CREATE INDEX IF NOT EXISTS messages_session ON messages (queue_id, session_id, seq)
    WHERE session_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS sessions (
    queue_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    lock_nonce INTEGER,
    locked_until REAL NOT NULL DEFAULT 0,
    state BLOB,
    PRIMARY KEY (queue_id, session_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS duplicates (
    entity_id INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (entity_id, message_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('topology', 0);
"""


def system_clock() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(UTC)


def to_datetime(seconds: float) -> datetime:
    """An epoch timestamp as a timezone-aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def props_to_json(props: Properties) -> str:
    # durations as whole microseconds: exact, unlike float seconds at TimeSpan.MaxValue
    data = {k: v // _MICROSECOND if isinstance(v, timedelta) else v for k, v in asdict(props).items()}
    return json.dumps(data)


def props_from_json(text: str) -> Properties:
    data: dict[str, Any] = json.loads(text)
    cls: type[Properties] = (
        SubscriptionProperties
        if "topic_name" in data
        else QueueProperties
        if "lock_duration" in data
        else TopicProperties
    )
    durations = {f.name for f in fields(cls) if f.type in ("timedelta", timedelta)}
    values: dict[str, Any] = {k: timedelta(microseconds=v) if k in durations else v for k, v in data.items()}
    return cls(**values)


@dataclass(frozen=True)
class Entity:
    """One row of `entities` with its parsed properties (dead-letter queues carry their owner's)."""

    id: int
    kind: str
    path: str
    props: Properties
    parent_id: int | None
    dead_letter_id: int | None


@dataclass(frozen=True)
class Subscriber:
    """A subscription of a topic, with its compiled rules, as a send fans out to it."""

    entity: Entity
    matchers: tuple[Matcher, ...]


WaitKey = int | tuple[int, str]
"""What a waiting receiver waits on: a queue id, or a (queue id, session id) pair."""


class NamespaceCore:
    """Connection, clock, transactions and the cached topology shared by every operation."""

    def __init__(self, path: str | Path, *, clock: Clock | None = None, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock: Clock = clock or system_clock
        self._lock = threading.RLock()
        self._arrivals = threading.Condition(threading.Lock())
        self._waiting: dict[WaitKey, list[int]] = {}  # key -> [waiters, arrivals seen]
        self._epoch = 0  # bumped by a notification for every key
        self._conn = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA mmap_size=268435456")
        self._topology_version = -1
        self._entities: dict[str, Entity] = {}
        self._by_id: dict[int, Entity] = {}
        self._subscribers: dict[int, tuple[Subscriber, ...]] = {}
        with self._lock:
            self._conn.executescript("BEGIN IMMEDIATE;" + SCHEMA + "COMMIT;")

    def close(self) -> None:
        """Close the connection. The namespace file stays; other processes are unaffected."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> NamespaceCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> float:
        """The namespace clock as an epoch timestamp."""
        return self._clock().timestamp()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    def _bump_topology(self, conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'topology'")

    def _refresh_topology(self, conn: sqlite3.Connection) -> None:
        (version,) = conn.execute("SELECT value FROM meta WHERE key = 'topology'").fetchone()
        if version == self._topology_version:
            return
        rows = conn.execute("SELECT id, kind, path, parent_id, props FROM entities").fetchall()
        dead_letters = {parent: id_ for id_, kind, _, parent, _ in rows if kind == "deadletter"}
        entities: dict[str, Entity] = {}
        for id_, kind, path, parent_id, props in rows:
            entity = Entity(id_, kind, path, props_from_json(props), parent_id, dead_letters.get(id_))
            entities[path.lower()] = entity
        subscribers: dict[int, list[Subscriber]] = {}
        rules: dict[int, list[Matcher]] = {}
        for sub_id, name, text in conn.execute("SELECT subscription_id, name, filter FROM rules"):
            rules.setdefault(sub_id, []).append(compile_filter(RuleProperties(name, filter_from_json(text))))
        for entity in entities.values():
            if entity.kind == "subscription" and entity.parent_id is not None:
                subscriber = Subscriber(entity, tuple(rules.get(entity.id, ())))
                subscribers.setdefault(entity.parent_id, []).append(subscriber)
        self._entities = entities
        self._by_id = {e.id: e for e in entities.values()}
        self._subscribers = {k: tuple(sorted(v, key=lambda s: s.entity.id)) for k, v in subscribers.items()}
        self._topology_version = version

    def _entity(self, conn: sqlite3.Connection, path: str) -> Entity:
        """The entity at `path` (DLQ paths resolve to the dead-letter queue); raises EntityNotFound."""
        self._refresh_topology(conn)
        parsed = parse_path(path)
        key = f"{parsed.base}/{DEAD_LETTER_SUFFIX}" if parsed.dead_letter else parsed.base
        entity = self._entities.get(key.lower())
        if entity is None:
            raise EntityNotFound(f"messaging entity {key!r} does not exist in namespace {self.path}")
        return entity

    def _resolve(self, path: str) -> Entity:
        """`_entity` outside a transaction: one autocommit read of the topology version while
        it is unchanged (receivers resolve their entity on every call). Raises EntityNotFound."""
        with self._lock:
            (version,) = self._conn.execute("SELECT value FROM meta WHERE key = 'topology'").fetchone()
            if version == self._topology_version:
                return self._entity(self._conn, path)
        with self._read() as conn:
            return self._entity(conn, path)

    def _entity_by_id(self, conn: sqlite3.Connection, entity_id: int) -> Entity:
        self._refresh_topology(conn)
        entity = self._by_id.get(entity_id)
        if entity is None:
            raise EntityNotFound(f"the entity of this message (id {entity_id}) was deleted")
        return entity

    def _subscribers_of(self, topic: Entity) -> tuple[Subscriber, ...]:
        return self._subscribers.get(topic.id, ())

    def _notify_arrival(self, keys: Iterable[WaitKey] | None = None) -> None:
        """Wake this process's receivers waiting on `keys` (None: every receiver).

        A key is a queue id (receivers and session acceptors of that entity) or a
        `(queue id, session id)` pair (a session receiver). Only keys someone waits on are
        counted, so the bookkeeping stays as small as the number of waiters.
        """
        with self._arrivals:
            if keys is None:
                self._epoch += 1
            else:
                for key in keys:
                    if key in self._waiting:
                        self._waiting[key][1] += 1
            self._arrivals.notify_all()

    def _notify_entity(self, entity_id: int) -> None:
        """Wake this process's receivers of one entity: its plain receivers and session acceptors,
        and its session receivers (a message put back may belong to any session)."""
        with self._arrivals:
            keys = [
                key
                for key in self._waiting
                if key == entity_id or (isinstance(key, tuple) and key[0] == entity_id)
            ]
        self._notify_arrival(keys)

    def _arrivals_seen(self, key: WaitKey) -> tuple[int, int]:
        entry = self._waiting.get(key)
        return (self._epoch, 0 if entry is None else entry[1])

    def _wait_for_arrival(self, key: WaitKey, timeout: float) -> None:
        with self._arrivals:
            seen = self._arrivals_seen(key)
            self._arrivals.wait_for(lambda: self._arrivals_seen(key) != seen, timeout)

    def _poll(
        self,
        attempt: Callable[[], list[T]],
        probe: Callable[[], bool],
        max_wait_time: float | None,
        key: WaitKey,
    ) -> list[T]:
        """Run `attempt` until it returns something or `max_wait_time` seconds passed.

        Between attempts it waits for a local send to `key` (condition) or a backoff from 2 ms
        to 50 ms (writers in other processes), and only retries the (writing) attempt once the
        read-only `probe` says something may be available, so idle receivers cost a cheap read
        every 50 ms and a send wakes only the receivers it concerns.
        """
        result = attempt()
        if result or not max_wait_time or max_wait_time <= 0:
            return result
        with self._arrivals:
            entry = self._waiting.setdefault(key, [0, 0])
            entry[0] += 1
        try:
            return self._wait_and_retry(attempt, probe, max_wait_time, key)
        finally:
            with self._arrivals:
                entry[0] -= 1
                if entry[0] == 0:
                    del self._waiting[key]

    def _wait_and_retry(
        self, attempt: Callable[[], list[T]], probe: Callable[[], bool], max_wait_time: float, key: WaitKey
    ) -> list[T]:
        deadline = time.monotonic() + max_wait_time
        backoff = 0.002
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return attempt() if probe() else []
            self._wait_for_arrival(key, min(backoff, remaining))
            backoff = min(backoff * 2, 0.05)
            if probe():
                result = attempt()
                if result:
                    return result
