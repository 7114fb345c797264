"""SQLite EventStore: the embedded default (devhost, local runs, tests).

Guarantees, on one database file shared by any number of threads and OS processes:

- **Atomic, serialised appends.** An append runs in one `BEGIN IMMEDIATE` transaction: it takes
  SQLite's single write lock, checks the stream's version, writes the tracking row and every
  event, and commits. `UNIQUE(stream_id, version)` and the tracking table's primary key are the
  last line of defence: a violation rolls the whole transaction back.
- **Multi-stream appends** (`append_many`) are one such transaction too: every stream's version
  is checked under the write lock, and either every stream's events are written or none.
- **Positions are commit order.** `position` is the table's `INTEGER PRIMARY KEY` (rowid),
  assigned inside the write transaction as the largest position + 1; events are never deleted, so
  positions are never reused (AUTOINCREMENT would add a table write per append for nothing).
  SQLite admits one writer at a time, so a transaction that commits later always holds higher
  positions than every transaction committed before it. A `read_all` reader that has seen
  position p will never later find a new event at a position <= p: the feed is a safe cursor
  for the outbox relay.
- **Durability.** WAL journal. With the default `synchronous="NORMAL"` an acknowledged append
  survives a crash of any process (kill -9); an OS crash or power loss may lose the last
  transactions acknowledged before it, never corrupting the file or splitting an append. Pass
  `synchronous="FULL"` to sync the WAL on every commit and survive power loss too, at the cost of
  one fsync per append.
- **Concurrency.** One connection per thread (per process); writers wait for the lock up to
  `busy_timeout` seconds, then `sqlite3.OperationalError: database is locked` propagates.

Use a local file system: WAL needs shared memory, so network shares (SMB/NFS) are not supported.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

from eventkit.store.errors import AlreadyProcessed, BatchConcurrencyError, ConcurrencyError
from eventkit.store.events import JsonObject, NewEvent, StoredEvent, StreamAppend, Tracking
from eventkit.store.port import (
    EventStore,
    check_append,
    check_append_many,
    check_feed_args,
    check_stream_id,
    check_tracking,
    dump_json,
)
from eventkit.writer_gate import WriterGate, gated_write

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY,  -- rowid: max+1; events are never deleted, so never reused
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    event_id TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,  -- microseconds since the Unix epoch, UTC
    UNIQUE (stream_id, version)
)""",
    """
CREATE TABLE IF NOT EXISTS tracking (
    consumer TEXT NOT NULL,
    key TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, key)
) WITHOUT ROWID""",
)
_COLUMNS = "stream_id, version, position, type, data, metadata, event_id, recorded_at"
_INSERT_EVENT = (
    "INSERT INTO events (stream_id, version, type, data, metadata, event_id, recorded_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_VERSIONS_PER_QUERY = 500
_COLUMNS_OF_E = ", ".join(f"e.{column}" for column in _COLUMNS.split(", "))
_INSERT_TRACKING = "INSERT INTO tracking (consumer, key, recorded_at) VALUES (?, ?, ?)"
_VERSION = "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Synchronous = Literal["NORMAL", "FULL"]


class FeedKey(NamedTuple):
    """An event's place in the feed, from `SQLiteEventStore.read_all_keys`."""

    stream_id: str
    version: int
    position: int
    recorded_at_micros: int


class SQLiteEventStore(EventStore):
    """Event store in one SQLite file; safe for many threads and many processes at once."""

    def __init__(
        self, path: str | os.PathLike[str], *, synchronous: Synchronous = "NORMAL", busy_timeout: float = 30.0
    ) -> None:
        """Open (and create, with its schema, if missing) the store at `path`."""
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        self._path = Path(path)
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        self._gate = WriterGate(self._path)
        self._connection()  # create the schema now, so errors surface in the constructor

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        tracking: Tracking | None = None,
    ) -> int:
        check_append(stream_id, expected_version, events)
        if tracking is not None:
            check_tracking(tracking.consumer, tracking.key)
        now = _micros(datetime.now(UTC))
        rows = _rows(stream_id, expected_version, events, now)
        with self._write_transaction() as connection:
            (actual,) = connection.execute(_VERSION, (stream_id,)).fetchone()
            if actual != expected_version:
                raise ConcurrencyError(stream_id, expected_version, actual)
            if tracking is not None:
                try:
                    connection.execute(_INSERT_TRACKING, (tracking.consumer, tracking.key, now))
                except sqlite3.IntegrityError:
                    raise AlreadyProcessed(tracking.consumer, tracking.key) from None
            try:
                connection.executemany(_INSERT_EVENT, rows)
            except sqlite3.IntegrityError:  # unreachable while the version check holds the lock
                (actual,) = connection.execute(_VERSION, (stream_id,)).fetchone()
                raise ConcurrencyError(stream_id, expected_version, actual) from None
        return expected_version + len(rows)

    def append_many(self, appends: Sequence[StreamAppend]) -> list[int]:
        """Atomic: one write transaction checks every stream's version and writes every event, or
        raises `BatchConcurrencyError` (naming each clashing stream) and writes nothing.

        The versions are read with one query per 500 streams, not one per stream: every call into
        SQLite gives Python's GIL to other threads and must wait to take it back."""
        check_append_many(appends)
        now = _micros(datetime.now(UTC))
        rows = [
            row for part in appends for row in _rows(part.stream_id, part.expected_version, part.events, now)
        ]
        with self._write_transaction() as connection:
            conflicts = _conflicts(connection, appends)
            if conflicts:
                raise BatchConcurrencyError(conflicts)
            try:
                connection.executemany(_INSERT_EVENT, rows)
            except sqlite3.IntegrityError:  # unreachable while the version checks hold the lock
                conflicts = _conflicts(connection, appends)
                if not conflicts:
                    raise
                raise BatchConcurrencyError(conflicts) from None
        return [part.expected_version + len(part.events) for part in appends]

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[StoredEvent]:
        check_stream_id(stream_id)
        cursor = self._connection().execute(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = ? AND version >= ? ORDER BY version",
            (stream_id, from_version),
        )
        return _events(cursor)

    def read_streams(self, from_versions: Mapping[str, int]) -> dict[str, list[StoredEvent]]:
        """One query per 500 streams (each call into SQLite gives the GIL away and must wait to
        take it back, which costs a busy process far more than the query)."""
        for stream_id in from_versions:
            check_stream_id(stream_id)
        result: dict[str, list[StoredEvent]] = {stream_id: [] for stream_id in from_versions}
        wanted = list(from_versions.items())
        connection = self._connection()
        for start in range(0, len(wanted), _VERSIONS_PER_QUERY):
            part = wanted[start : start + _VERSIONS_PER_QUERY]
            values = ",".join("(?, ?)" for _ in part)
            query = (
                f"WITH wanted(stream_id, from_version) AS (VALUES {values}) "
                f"SELECT {_COLUMNS_OF_E} FROM wanted JOIN events AS e ON e.stream_id = wanted.stream_id "
                "AND e.version >= wanted.from_version ORDER BY e.stream_id, e.version"
            )
            rows = connection.execute(query, [value for pair in part for value in pair]).fetchall()
            for event in _events(rows):
                result[event.stream_id].append(event)
        return result

    def stream_version(self, stream_id: str) -> int:
        check_stream_id(stream_id)
        (version,) = self._connection().execute(_VERSION, (stream_id,)).fetchone()
        return int(version)

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        check_feed_args(after_position, limit)
        cursor = self._connection().execute(
            f"SELECT {_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?",
            (after_position, limit),
        )
        return _events(cursor)

    def read_all_keys(self, after_position: int = 0, limit: int = 1000) -> list[FeedKey]:
        """What `read_all` would return, without the events' contents: each event's stream,
        version, position and commit time (UTC microseconds since the epoch), in feed order.
        For finding where appends begin and end without decoding any JSON."""
        check_feed_args(after_position, limit)
        cursor = self._connection().execute(
            "SELECT stream_id, version, position, recorded_at FROM events WHERE position > ? "
            "ORDER BY position LIMIT ?",
            (after_position, limit),
        )
        return [FeedKey(*row) for row in cursor]

    def read_positions(self, positions: Sequence[int]) -> list[StoredEvent]:
        """The events at these feed positions (those that exist), in feed order."""
        wanted = sorted(set(positions))
        events: list[StoredEvent] = []
        connection = self._connection()
        for start in range(0, len(wanted), _VERSIONS_PER_QUERY):
            chunk = wanted[start : start + _VERSIONS_PER_QUERY]
            cursor = connection.execute(
                f"SELECT {_COLUMNS} FROM events WHERE position IN ({', '.join('?' * len(chunk))}) "
                "ORDER BY position",
                chunk,
            )
            events.extend(_events(cursor))
        return events

    def has_processed(self, consumer: str, key: str) -> bool:
        row = (
            self._connection()
            .execute("SELECT 1 FROM tracking WHERE consumer = ? AND key = ?", (consumer, key))
            .fetchone()
        )
        return row is not None

    def record_processed(self, consumer: str, key: str) -> None:
        check_tracking(consumer, key)
        with self._write_transaction() as connection:
            try:
                connection.execute(_INSERT_TRACKING, (consumer, key, _micros(datetime.now(UTC))))
            except sqlite3.IntegrityError:
                raise AlreadyProcessed(consumer, key) from None

    def close(self) -> None:
        """Close every connection this store opened (in any thread of this process)."""
        with self._connections_lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._gate.close()

    @contextmanager
    def _write_transaction(self) -> Iterator[sqlite3.Connection]:
        with gated_write(self._connection(), self._gate) as connection:
            yield connection

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid() and not self._closed:
            return connection
        with self._connections_lock:
            if self._closed:
                raise RuntimeError(f"the event store at {self._path} is closed")
            connection = _open(self._path, self._synchronous, self._busy_timeout)
            self._connections.append(connection)
        self._local.connection = connection
        self._local.pid = os.getpid()
        return connection


def _open(path: Path, synchronous: Synchronous, busy_timeout: float) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    if str(mode).lower() != "wal":
        connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    connection.execute("PRAGMA mmap_size=268435456")
    connection.execute("BEGIN IMMEDIATE")  # serialise schema creation between processes
    try:
        for statement in _SCHEMA:
            connection.execute(statement)
    except BaseException:
        connection.execute("ROLLBACK")
        connection.close()
        raise
    connection.execute("COMMIT")
    return connection


def _rows(
    stream_id: str, expected_version: int, events: Sequence[NewEvent], now: int
) -> list[tuple[str, int, str, str, str, str, int]]:
    rows = []
    metadata: JsonObject = {}
    metadata_text = ""
    for index, event in enumerate(events, start=1):
        if not metadata_text or not _same_flat(event.metadata, metadata):  # a decision's events share it
            metadata, metadata_text = event.metadata, dump_json(event.metadata, "metadata", event)
        rows.append(
            (
                stream_id,
                expected_version + index,
                event.type,
                dump_json(event.data, "data", event),
                metadata_text,
                event.event_id,
                now,
            )
        )
    return rows


def _same_flat(a: JsonObject, b: JsonObject) -> bool:
    """Whether two flat JSON objects encode to the same text: same keys in the same order, same
    scalar values of the same types (`1`, `1.0` and `True` are equal in Python, not in JSON)."""
    if len(a) != len(b):
        return False
    for (key, value), (other_key, other) in zip(a.items(), b.items(), strict=True):
        if (
            key != other_key
            or type(value) is not type(other)
            or value != other
            or isinstance(value, dict | list)
        ):
            return False
    return True


def _conflicts(connection: sqlite3.Connection, appends: Sequence[StreamAppend]) -> list[ConcurrencyError]:
    actual: dict[str, int] = {}
    for start in range(0, len(appends), _VERSIONS_PER_QUERY):
        ids = [part.stream_id for part in appends[start : start + _VERSIONS_PER_QUERY]]
        marks = ",".join("?" * len(ids))
        query = f"SELECT stream_id, MAX(version) FROM events WHERE stream_id IN ({marks}) GROUP BY stream_id"
        actual.update(connection.execute(query, ids).fetchall())
    return [
        ConcurrencyError(part.stream_id, part.expected_version, actual.get(part.stream_id, 0))
        for part in appends
        if actual.get(part.stream_id, 0) != part.expected_version
    ]


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_Row = tuple[str, int, int, str, str, str, str, int]


def _events(rows: Iterable[_Row]) -> list[StoredEvent]:
    """Decode rows. Events of one append share their commit time and usually their metadata
    text, so each distinct metadata text is parsed once per read (every event still gets its own
    dict: a flat one is copied, a nested one parsed again) and each commit time converted once."""
    flat_metadata: dict[str, dict[str, Any] | None] = {}
    times: dict[int, datetime] = {}
    events: list[StoredEvent] = []
    for stream_id, version, position, type_, data, metadata, event_id, recorded_at in rows:
        flat = flat_metadata.get(metadata, _UNSEEN)
        if flat is _UNSEEN:
            parsed = json.loads(metadata)
            is_flat = isinstance(parsed, dict) and all(
                not isinstance(v, dict | list) for v in parsed.values()
            )
            flat = parsed if is_flat else None
            flat_metadata[metadata] = flat
        when = times.get(recorded_at)
        if when is None:
            when = times[recorded_at] = _EPOCH + timedelta(microseconds=recorded_at)
        events.append(
            StoredEvent(
                stream_id=stream_id,
                version=version,
                position=position,
                type=type_,
                data=json.loads(data),
                metadata=dict(flat) if flat is not None else json.loads(metadata),
                event_id=event_id,
                recorded_at=when,
            )
        )
    return events


_UNSEEN: dict[str, Any] = {}
