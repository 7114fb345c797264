"""Change feed leases: where each Cosmos DB-triggered function is in its container's feed.

In Azure the trigger keeps one lease document per partition key range in the *lease container*
(``leases`` by default), holding the continuation token. devhost keeps, in the same spirit, one
row per (lease prefix, app, function, monitored database/container) in
``<state>/cosmos/<lease database>/<lease container>.leases.db`` (SQLite), holding the feed
position (eventkit's SQLite event store position) of the last change delivered successfully.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from devhost.state import open_state_database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    prefix TEXT NOT NULL,
    app TEXT NOT NULL,
    function TEXT NOT NULL,
    database_name TEXT NOT NULL,
    container_name TEXT NOT NULL,
    position INTEGER NOT NULL,    -- last feed position checkpointed
    updated_at REAL NOT NULL,
    PRIMARY KEY (prefix, app, function, database_name, container_name)
) WITHOUT ROWID
"""


@dataclass(frozen=True)
class LeaseKey:
    """Whose lease: one per function of an app per monitored container (and lease prefix)."""

    prefix: str
    app: str
    function: str
    database: str
    container: str

    def as_row(self) -> tuple[str, str, str, str, str]:
        return (self.prefix, self.app, self.function, self.database, self.container)


class LeaseStore:
    """The leases in one lease container; safe from several threads (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = open_state_database(path, _SCHEMA)

    def position(self, key: LeaseKey) -> int | None:
        """The checkpointed position, or None when this lease was never created."""
        with self._lock:
            row = self._db.execute(
                "SELECT position FROM leases WHERE prefix=? AND app=? AND function=? "
                "AND database_name=? AND container_name=?",
                key.as_row(),
            ).fetchone()
        return None if row is None else int(row[0])

    def create_if_missing(self, key: LeaseKey, position: int) -> int:
        """Create the lease at ``position`` unless it exists; returns the lease's position."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO leases VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*key.as_row(), position, time.time()),
            )
        found = self.position(key)
        assert found is not None
        return found

    def checkpoint(self, key: LeaseKey, position: int) -> None:
        """Move the lease to ``position`` (after a batch was delivered)."""
        with self._lock:
            self._db.execute(
                "UPDATE leases SET position=?, updated_at=? WHERE prefix=? AND app=? AND function=? "
                "AND database_name=? AND container_name=?",
                (position, time.time(), *key.as_row()),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
