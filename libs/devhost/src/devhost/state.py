"""Where devhost keeps the embedded infrastructure inside its state folder, and how to open it.

One state folder (default `.devhost/`) holds everything that survives a restart, shared by
every app process and by the CLI:

    <state>/servicebus.db            the Service Bus namespace (eventkit.bus.servicebus)
    <state>/eventhubs.db             the Event Hubs namespace (eventkit.bus.eventhubs)
    <state>/blobs/<container>/<name> blobs as plain files (eventkit.blobs.FileSystemBlobStore)
    <state>/cosmos/<database>/<container>.db   an app's Cosmos DB container (SQLite event store)
    <state>/apps/<app>/...           per-app host state: keys, timer status, leases, receipts,
                                     the Durable task hub

App processes learn the folder from the `DEVHOST_STATE_DIR` environment variable that the
worker sets, so a service's `bootstrap.py` can open the same embedded adapters as devhost.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from eventkit.blobs import FileSystemBlobStore
from eventkit.bus.eventhubs import EmbeddedEventHubs
from eventkit.bus.servicebus import EmbeddedServiceBus
from eventkit.store import SQLiteEventStore

STATE_DIR_VARIABLE = "DEVHOST_STATE_DIR"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


class StateLayoutError(ValueError):
    """A name would not make a safe file name inside the state folder."""


def _safe(kind: str, name: str) -> str:
    if not _SAFE.fullmatch(name) or ".." in name:
        raise StateLayoutError(f"{kind} name {name!r} is not allowed (letters, digits, '.', '_', '-')")
    return name


@dataclass(frozen=True)
class StateLayout:
    """The paths of one state folder. Creating the layout creates nothing on disk."""

    root: Path

    @classmethod
    def from_environment(cls, default: str | os.PathLike[str] = ".devhost") -> StateLayout:
        return cls(Path(os.environ.get(STATE_DIR_VARIABLE) or default).resolve())

    @property
    def servicebus_path(self) -> Path:
        return self.root / "servicebus.db"

    @property
    def eventhubs_path(self) -> Path:
        return self.root / "eventhubs.db"

    @property
    def blobs_root(self) -> Path:
        return self.root / "blobs"

    def cosmos_container_path(self, database: str, container: str) -> Path:
        return self.root / "cosmos" / _safe("database", database) / f"{_safe('container', container)}.db"

    def app_dir(self, app_name: str) -> Path:
        return self.root / "apps" / _safe("app", app_name)

    def open_servicebus(self) -> EmbeddedServiceBus:
        self.root.mkdir(parents=True, exist_ok=True)
        return EmbeddedServiceBus(self.servicebus_path)

    def open_eventhubs(self) -> EmbeddedEventHubs:
        self.root.mkdir(parents=True, exist_ok=True)
        return EmbeddedEventHubs(self.eventhubs_path)

    def open_blobs(self) -> FileSystemBlobStore:
        self.blobs_root.mkdir(parents=True, exist_ok=True)
        return FileSystemBlobStore(self.blobs_root)

    def open_cosmos_container(self, database: str, container: str) -> SQLiteEventStore:
        path = self.cosmos_container_path(database, container)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEventStore(path)


def open_state_database(path: Path, schema: str) -> sqlite3.Connection:
    """A WAL SQLite connection for host bookkeeping (blob receipts, change-feed leases), with
    `schema` applied; one connection shared by threads, so callers serialise use with a lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(schema)
    return connection
