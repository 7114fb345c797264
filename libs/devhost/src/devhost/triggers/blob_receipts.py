"""Blob receipts: which version (ETag) of which blob a function has processed, across restarts.

Azure keeps one receipt blob per (function, blob, ETag) in ``azure-webjobs-hosts/blobreceipts``;
devhost keeps one row per (function, container, blob, ETag) in
``<state>/apps/<app>/blob_receipts.db`` (SQLite, WAL). A row is ``failing`` while attempts
fail, and becomes ``done`` on success or ``poisoned`` once the blob went to the poison queue;
rows that are ``done`` or ``poisoned`` mean "never again for this version". A new version of the
blob has a new ETag, hence no row, and is processed again.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from devhost.state import open_state_database

_WHERE = "WHERE function=? AND container=? AND name=? AND etag=?"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    function TEXT NOT NULL,
    container TEXT NOT NULL,
    name TEXT NOT NULL,
    etag TEXT NOT NULL,
    status TEXT NOT NULL,          -- failing | done | poisoned
    failures INTEGER NOT NULL,     -- failed attempts so far
    updated_at REAL NOT NULL,
    PRIMARY KEY (function, container, name, etag)
) WITHOUT ROWID
"""

DONE = "done"
POISONED = "poisoned"
FAILING = "failing"


class BlobReceipts:
    """The receipts of one app; safe to use from several threads (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = open_state_database(path, _SCHEMA)

    def status(self, function: str, container: str, name: str, etag: str) -> tuple[str, int] | None:
        """(status, failures) of that blob version for that function, or None if never attempted."""
        with self._lock:
            row = self._db.execute(
                f"SELECT status, failures FROM receipts {_WHERE}",
                (function, container, name, etag),
            ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    def is_settled(self, function: str, container: str, name: str, etag: str) -> bool:
        """Whether that version was processed (or poisoned) already: it must not run again."""
        found = self.status(function, container, name, etag)
        return found is not None and found[0] in (DONE, POISONED)

    def record_failure(self, function: str, container: str, name: str, etag: str) -> int:
        """Count one more failed attempt; returns the failures so far for that version."""
        with self._lock:
            self._db.execute(
                "INSERT INTO receipts VALUES (?, ?, ?, ?, ?, 1, ?) "
                "ON CONFLICT (function, container, name, etag) DO UPDATE SET "
                "failures = failures + 1, updated_at = excluded.updated_at",
                (function, container, name, etag, FAILING, time.time()),
            )
            row = self._db.execute(
                f"SELECT failures FROM receipts {_WHERE}",
                (function, container, name, etag),
            ).fetchone()
        return int(row[0])

    def settle(self, function: str, container: str, name: str, etag: str, status: str) -> None:
        """Mark that version ``done`` or ``poisoned``: it will not be processed again."""
        if status not in (DONE, POISONED):
            raise ValueError(f"receipt status must be {DONE!r} or {POISONED!r}, got {status!r}")
        with self._lock:
            self._db.execute(
                "INSERT INTO receipts VALUES (?, ?, ?, ?, ?, 0, ?) "
                "ON CONFLICT (function, container, name, etag) DO UPDATE SET "
                "status = excluded.status, updated_at = excluded.updated_at",
                (function, container, name, etag, status, time.time()),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
