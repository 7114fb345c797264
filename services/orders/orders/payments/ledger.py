"""The simulator's SQLite ledger: charges, refunds and the idempotency record of every key.

Shared by every process that opens the same file (the Functions worker, devhost, a test): the
journal is WAL so reads never block the writer, every decision is one `BEGIN IMMEDIATE`
transaction (SQLite's single writer lock, taken before the first read, waited for up to the busy
timeout), and `synchronous=NORMAL` makes a commit survive a killed process (not a power cut).
A charge and its idempotency record are written in the same transaction, and
`charges.idempotency_key` is UNIQUE as a second guard: one key can never charge twice.
Each call opens its own connection, so a gateway is safe to share between threads and to carry
across `fork`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from eventkit.writer_gate import WriterGate, gated_write

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    idempotency_key TEXT PRIMARY KEY,
    request         TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    outcome         TEXT CHECK (outcome IN ('succeeded', 'declined')),
    result_id       TEXT,
    decline_code    TEXT,
    decline_message TEXT,
    first_seen_at   TEXT NOT NULL,
    decided_at      TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS charges (
    seq             INTEGER PRIMARY KEY,
    payment_id      TEXT NOT NULL UNIQUE,
    order_id        TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    currency        TEXT NOT NULL,
    captured_at     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS charges_by_order ON charges (order_id);
CREATE TABLE IF NOT EXISTS refunds (
    seq             INTEGER PRIMARY KEY,
    refund_id       TEXT NOT NULL UNIQUE,
    payment_id      TEXT NOT NULL REFERENCES charges (payment_id),
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    currency        TEXT NOT NULL,
    refunded_at     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS refunds_by_payment ON refunds (payment_id);
"""

_CHARGE_COLUMNS = (
    "c.payment_id, c.order_id, c.customer_id, c.amount_minor, c.currency, c.captured_at, "
    "c.idempotency_key, (SELECT COALESCE(SUM(r.amount_minor), 0) FROM refunds r "
    "WHERE r.payment_id = c.payment_id)"
)


@dataclass(frozen=True)
class Charge:
    """One captured payment in the ledger, with the total refunded from it so far."""

    payment_id: str
    order_id: str
    customer_id: str
    amount_minor: int
    currency: str
    captured_at: datetime
    idempotency_key: str
    refunded_minor: int


@dataclass(frozen=True)
class Refund:
    """One refund in the ledger."""

    refund_id: str
    payment_id: str
    amount_minor: int
    currency: str
    refunded_at: datetime
    idempotency_key: str


@dataclass(frozen=True)
class KeyRecord:
    """What the ledger remembers of one idempotency key."""

    request: str
    attempts: int
    outcome: str | None
    result_id: str | None
    decline_code: str | None
    decline_message: str | None


class LedgerError(RuntimeError):
    """The ledger file cannot be used (written by a newer version, or locked for too long)."""


class Ledger:
    """The ledger file at `path` (created with its folder on first use)."""

    def __init__(self, path: Path, *, busy_timeout_seconds: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout_seconds = busy_timeout_seconds
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._enable_wal()
        with self.transaction() as connection:
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"payment ledger {self.path} was written by a newer orders service "
                    f"(schema {version} > {SCHEMA_VERSION}); use a new file or upgrade"
                )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=self.busy_timeout_seconds, isolation_level=None)
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    def _enable_wal(self) -> None:
        # Switching the journal mode needs the file to itself; another process opening the same
        # file at the same moment makes it fail at once with "locked", whatever the busy timeout.
        deadline = time.monotonic() + self.busy_timeout_seconds
        while True:
            try:
                with closing(self._connect()) as connection:
                    connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise LedgerError(f"cannot open payment ledger {self.path}: {error}") from error
                time.sleep(0.01)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (`eventkit.writer_gate.gated_write`): the writer lock is taken
        before the first read, so nothing can change between what the caller reads and what it
        writes; writers queue in the kernel instead of SQLite's sleeping busy handler. Commits on
        success. The gate's side file is opened per transaction, as the connection is."""
        gate = WriterGate(self.path)
        try:
            with closing(self._connect()) as connection, gated_write(connection, gate):
                yield connection
        finally:
            gate.close()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads that each see one committed state."""
        with closing(self._connect()) as connection:
            yield connection

    def charges(self, order_id: str | None = None) -> list[Charge]:
        """Every charge (or one order's charges), oldest first."""
        query = f"SELECT {_CHARGE_COLUMNS} FROM charges c"
        arguments: tuple[str, ...] = ()
        if order_id is not None:
            query += " WHERE c.order_id = ?"
            arguments = (order_id,)
        with self.snapshot() as connection:
            rows = connection.execute(query + " ORDER BY c.seq", arguments).fetchall()
        return [_charge(row) for row in rows]

    def refunds(self, payment_id: str | None = None) -> list[Refund]:
        """Every refund (or one payment's refunds), oldest first."""
        query = (
            "SELECT refund_id, payment_id, amount_minor, currency, refunded_at, idempotency_key FROM refunds"
        )
        arguments: tuple[str, ...] = ()
        if payment_id is not None:
            query += " WHERE payment_id = ?"
            arguments = (payment_id,)
        with self.snapshot() as connection:
            rows = connection.execute(query + " ORDER BY seq", arguments).fetchall()
        return [
            Refund(row[0], row[1], row[2], row[3], datetime.fromisoformat(row[4]), row[5]) for row in rows
        ]

    def attempts(self, idempotency_key: str) -> int:
        """How many requests reached the provider's decision with this key (0 if never seen);
        replays of a decided key are not attempts."""
        with self.snapshot() as connection:
            row = connection.execute(
                "SELECT attempts FROM idempotency_keys WHERE idempotency_key = ?", (idempotency_key,)
            ).fetchone()
        return int(row[0]) if row else 0


def read_key(connection: sqlite3.Connection, idempotency_key: str) -> KeyRecord | None:
    row = connection.execute(
        "SELECT request, attempts, outcome, result_id, decline_code, decline_message "
        "FROM idempotency_keys WHERE idempotency_key = ?",
        (idempotency_key,),
    ).fetchone()
    return KeyRecord(*row) if row else None


def record_attempt(
    connection: sqlite3.Connection, idempotency_key: str, request: str, attempts: int, now: str
) -> None:
    """Remember an undecided attempt (a transient failure), creating the key's record if new."""
    connection.execute(
        "INSERT INTO idempotency_keys (idempotency_key, request, attempts, first_seen_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key) DO UPDATE SET attempts = excluded.attempts",
        (idempotency_key, request, attempts, now),
    )


def record_outcome(
    connection: sqlite3.Connection,
    idempotency_key: str,
    request: str,
    attempts: int,
    now: str,
    *,
    result_id: str | None = None,
    decline: tuple[str, str] | None = None,
) -> None:
    """Remember a key's final outcome: a result id, or a decline's (code, message)."""
    outcome = "declined" if decline else "succeeded"
    code, message = decline if decline else (None, None)
    connection.execute(
        "INSERT INTO idempotency_keys (idempotency_key, request, attempts, outcome, result_id, "
        "decline_code, decline_message, first_seen_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (idempotency_key) DO UPDATE SET attempts = excluded.attempts, "
        "outcome = excluded.outcome, result_id = excluded.result_id, "
        "decline_code = excluded.decline_code, decline_message = excluded.decline_message, "
        "decided_at = excluded.decided_at",
        (idempotency_key, request, attempts, outcome, result_id, code, message, now, now),
    )


def read_charge(connection: sqlite3.Connection, payment_id: str) -> Charge | None:
    row = connection.execute(
        f"SELECT {_CHARGE_COLUMNS} FROM charges c WHERE c.payment_id = ?", (payment_id,)
    ).fetchone()
    return _charge(row) if row else None


def _charge(row: tuple[str, str, str, int, str, str, str, int]) -> Charge:
    return Charge(row[0], row[1], row[2], row[3], row[4], datetime.fromisoformat(row[5]), row[6], row[7])


def insert_charge(connection: sqlite3.Connection, charge: Charge) -> None:
    connection.execute(
        "INSERT INTO charges (payment_id, order_id, customer_id, amount_minor, currency, captured_at, "
        "idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            charge.payment_id,
            charge.order_id,
            charge.customer_id,
            charge.amount_minor,
            charge.currency,
            charge.captured_at.isoformat(),
            charge.idempotency_key,
        ),
    )


def insert_refund(connection: sqlite3.Connection, refund: Refund) -> None:
    connection.execute(
        "INSERT INTO refunds (refund_id, payment_id, amount_minor, currency, refunded_at, idempotency_key) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            refund.refund_id,
            refund.payment_id,
            refund.amount_minor,
            refund.currency,
            refund.refunded_at.isoformat(),
            refund.idempotency_key,
        ),
    )


def read_refund(connection: sqlite3.Connection, refund_id: str) -> Refund | None:
    row = connection.execute(
        "SELECT refund_id, payment_id, amount_minor, currency, refunded_at, idempotency_key "
        "FROM refunds WHERE refund_id = ?",
        (refund_id,),
    ).fetchone()
    return Refund(row[0], row[1], row[2], row[3], datetime.fromisoformat(row[4]), row[5]) if row else None
