"""The SQLite file behind one embedded Event Hubs namespace, shared by every process that opens it.

WAL journal so readers never block the writer; `synchronous=NORMAL`, so a committed send
survives a killed process (not a power cut); every write is one `BEGIN IMMEDIATE` transaction so
two processes never interleave inside a batch; a 30 s busy timeout absorbs lock contention.
Tables are `WITHOUT ROWID` with the natural key as primary key, so a batch read is one range
scan of `(hub_id, partition, sequence)`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eventkit.writer_gate import WriterGate, gated_write

SCHEMA_VERSION = 1
PAGE_SIZE = 8192
"""Page size of a new namespace file. An event row (body plus properties, about 1.2 KB for a
CloudEvent) must fit its B-tree cell: with 4 KB pages a `WITHOUT ROWID` cell holds at most
~1,000 bytes in place, so every event spilled ~200 bytes onto an overflow page of its own and a
send wrote (and checkpointed) about four times its size. 8 KB pages hold ~2,000 bytes in place.
Existing files keep the page size they were created with."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hubs (
    hub_id            INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE COLLATE NOCASE,
    partition_count   INTEGER NOT NULL,
    retention_seconds INTEGER NOT NULL,
    created_ms        INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS partitions (
    hub_id           INTEGER NOT NULL,
    partition        INTEGER NOT NULL,
    next_sequence    INTEGER NOT NULL,
    next_offset      INTEGER NOT NULL,
    last_offset      INTEGER NOT NULL,
    last_enqueued_ms INTEGER,
    PRIMARY KEY (hub_id, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consumer_groups (
    hub_id     INTEGER NOT NULL,
    name       TEXT NOT NULL COLLATE NOCASE,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (hub_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    hub_id         INTEGER NOT NULL,
    partition      INTEGER NOT NULL,
    sequence       INTEGER NOT NULL,
    byte_offset    INTEGER NOT NULL,
    enqueued_ms    INTEGER NOT NULL,
    body           BLOB NOT NULL,
    properties     TEXT,
    content_type   TEXT,
    message_id     TEXT,
    correlation_id TEXT,
    partition_key  TEXT,
    PRIMARY KEY (hub_id, partition, sequence)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    hub_id         INTEGER NOT NULL,
    consumer_group TEXT NOT NULL COLLATE NOCASE,
    partition      INTEGER NOT NULL,
    sequence       INTEGER NOT NULL,
    byte_offset    INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL,
    PRIMARY KEY (hub_id, consumer_group, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ownership (
    hub_id         INTEGER NOT NULL,
    consumer_group TEXT NOT NULL COLLATE NOCASE,
    partition      INTEGER NOT NULL,
    owner_id       TEXT NOT NULL,
    modified_ms    INTEGER NOT NULL,
    expires_ms     INTEGER NOT NULL,
    PRIMARY KEY (hub_id, consumer_group, partition)
) WITHOUT ROWID;
"""


class NamespaceStore:
    """One connection to the namespace file, safe to share between the threads of a process.

    Open one per process (never carry it across `fork`). `close()` is idempotent.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._gate = WriterGate(self.path)
        self._connection = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._connection.execute(f"PRAGMA page_size={PAGE_SIZE}")  # new files only
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute("PRAGMA cache_size=-16000")
        with self.write() as connection:
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} was written by a newer eventkit (schema {version} > {SCHEMA_VERSION})"
                )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before the first read so nothing can slip in between."""
        with self._lock, gated_write(self._connection, self._gate) as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection, for statements that each read one consistent snapshot."""
        with self._lock:
            yield self._connection

    def close(self) -> None:
        with self._lock:
            self._connection.close()
            self._gate.close()
