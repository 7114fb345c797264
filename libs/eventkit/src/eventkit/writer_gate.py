"""Writers of one SQLite file take turns in the kernel instead of in SQLite's busy handler.

SQLite lets one writer in at a time; a writer that finds the lock taken is handled by the busy
handler, which *sleeps* 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms between tries.
Under steady contention from several processes (the inventory app's language workers applying
feeds and relaying the change feed) a waiting writer keeps sleeping through the moments the lock
is free: the file's write throughput collapses while the CPUs idle.

A `WriterGate` queues writers before they ask SQLite: threads of one process on a lock, processes
on an exclusive `flock` of a side file (`<database>-writer.lock`). A waiting process blocks in
the kernel and is woken as soon as the holder releases it (or dies: the kernel drops the lock of
a killed process), so `BEGIN IMMEDIATE` then finds the database free. Writers that do not use
the gate (another program) are still handled by SQLite's busy timeout, as before.

Where `fcntl` does not exist (Windows) only the in-process lock is taken.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = "-writer.lock"


class WriterGate:
    """The turn-taking of one database file's writers (one per store object)."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + LOCK_SUFFIX)
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    def _descriptor(self) -> int:
        # opened lazily per process: a descriptor is not inherited across exec (O_CLOEXEC), and
        # a forked child must not share its parent's open file (flock is per open file)
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the file's writer turn for the duration of the block (reentrant in a thread)."""
        with self._lock:
            if fcntl is None or self._depth:  # Windows, or this thread holds the turn already
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the side file's descriptor (the file stays for other processes)."""
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


@contextmanager
def gated_write(connection: sqlite3.Connection, gate: WriterGate) -> Iterator[sqlite3.Connection]:
    """One write transaction on `connection` in the file's writer turn: `BEGIN IMMEDIATE` (the
    writer lock is taken before the first read), `COMMIT` on success, `ROLLBACK` on any error."""
    with gate.turn():
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
