"""Sessions: exclusive, ordered receipt of the messages that share a `session_id`.

`accept_session` locks one session of a session-enabled queue or subscription for one
receiver (any process): until the session lock expires or is released, only that
`SessionReceiver` gets the session's messages, in sequence order. Messages it receives are
locked for as long as the session lock; renewing the session renews them.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from ._core import Entity, to_datetime
from ._records import new_nonce
from .entities import QueueProperties, SubscriptionProperties
from .errors import NoSessionAvailable, ServiceBusError, SessionCannotBeLocked, SessionLockLost
from .messages import ReceivedMessage
from .receiving import ReceiveOperations

_NEXT_SESSION = """
SELECT m.session_id FROM messages m
WHERE m.queue_id = ? AND m.available_at <= ? AND m.session_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.queue_id = m.queue_id AND s.session_id = m.session_id
                  AND s.locked_until > ?)
ORDER BY m.available_at, m.seq LIMIT 1
"""


def _session_props(entity: Entity) -> QueueProperties | SubscriptionProperties:
    props = entity.props
    if not isinstance(props, QueueProperties | SubscriptionProperties) or entity.kind == "deadletter":
        raise ServiceBusError(f"{entity.path!r} is not a queue or subscription")
    if not props.requires_session:
        raise ServiceBusError(f"{entity.path!r} does not require sessions: use receive() instead")
    return props


class SessionReceiver:
    """A held session lock. Settle its messages with the namespace's `complete` & co.

    Closing (or leaving the `with` block) releases the session and its unsettled messages.
    """

    def __init__(
        self, bus: ReceiveOperations, entity: Entity, session_id: str, nonce: int, locked_until: float
    ):
        self._bus = bus
        self._entity = entity
        self._props = _session_props(entity)
        self.session_id = session_id
        self._nonce = nonce
        self._locked_until = locked_until

    @property
    def locked_until_utc(self) -> datetime:
        """When the session lock expires unless renewed."""
        return to_datetime(self._locked_until)

    def __enter__(self) -> SessionReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def receive(self, max_messages: int = 1, max_wait_time: float | None = None) -> list[ReceivedMessage]:
        """Lock up to `max_messages` of this session's messages, in sequence order.

        Raises SessionLockLost when the session lock expired or was released.
        """

        def attempt() -> list[ReceivedMessage]:
            with self._bus._write() as conn:
                self._check(conn)
                return self._bus._take(conn, self._entity, max_messages, self.session_id, self._locked_until)

        return self._bus._poll(
            attempt,
            lambda: self._bus._has_available(self._entity.id, self.session_id),
            max_wait_time,
            (self._entity.id, self.session_id),
        )

    def renew_lock(self) -> datetime:
        """Extend the session lock (and the locks of its received messages) by the lock duration."""
        now = self._bus.now()
        locked_until = now + self._props.lock_duration.total_seconds()
        with self._bus._write() as conn:
            self._check(conn)
            conn.execute(
                "UPDATE sessions SET locked_until = ? WHERE queue_id = ? AND session_id = ?",
                (locked_until, self._entity.id, self.session_id),
            )
            conn.execute(
                "UPDATE messages SET available_at = ?, locked_until = ? "
                "WHERE queue_id = ? AND session_id = ? AND lock_nonce IS NOT NULL AND locked_until > ?",
                (locked_until, locked_until, self._entity.id, self.session_id, now),
            )
        self._locked_until = locked_until
        return self.locked_until_utc

    def get_state(self) -> bytes | None:
        """The session state last set (None if never). Raises SessionLockLost."""
        with self._bus._write() as conn:
            self._check(conn)
            (state,) = conn.execute(
                "SELECT state FROM sessions WHERE queue_id = ? AND session_id = ?",
                (self._entity.id, self.session_id),
            ).fetchone()
        return None if state is None else bytes(state)

    def set_state(self, state: bytes | None) -> None:
        """Store opaque session state, kept after the session is released. Raises SessionLockLost."""
        with self._bus._write() as conn:
            self._check(conn)
            conn.execute(
                "UPDATE sessions SET state = ? WHERE queue_id = ? AND session_id = ?",
                (state, self._entity.id, self.session_id),
            )

    def close(self) -> None:
        """Release the session; its locked, unsettled messages become available again. Idempotent."""
        now = self._bus.now()
        with self._bus._write() as conn:
            try:
                self._check(conn)
            except SessionLockLost:
                return
            conn.execute(
                "UPDATE sessions SET lock_nonce = NULL, locked_until = 0 "
                "WHERE queue_id = ? AND session_id = ?",
                (self._entity.id, self.session_id),
            )
            conn.execute(
                "UPDATE messages SET available_at = enqueued_at, locked_until = 0, lock_nonce = NULL "
                "WHERE queue_id = ? AND session_id = ? AND lock_nonce IS NOT NULL AND locked_until > ?",
                (self._entity.id, self.session_id, now),
            )
        self._bus._notify_arrival([self._entity.id])

    def _check(self, conn: sqlite3.Connection) -> None:
        row = conn.execute(
            "SELECT lock_nonce, locked_until FROM sessions WHERE queue_id = ? AND session_id = ?",
            (self._entity.id, self.session_id),
        ).fetchone()
        if row is None or row[0] != self._nonce or row[1] <= self._bus.now():
            raise SessionLockLost(
                f"the lock on session {self.session_id!r} of {self._entity.path!r} expired or was released; "
                "accept the session again"
            )


class SessionOperations(ReceiveOperations):
    """Accepting sessions."""

    def accept_session(
        self, entity_path: str, session_id: str | None = None, *, max_wait_time: float | None = None
    ) -> SessionReceiver:
        """Lock `session_id`, or the next session with available messages, for this receiver.

        Raises SessionCannotBeLocked (that session is held by another receiver),
        NoSessionAvailable (no unlocked session with messages within `max_wait_time` seconds),
        ServiceBusError (the entity does not require sessions), EntityNotFound.
        """
        entity = self._resolve(entity_path)
        props = _session_props(entity)
        if session_id is not None:
            with self._write() as conn:
                return self._lock_session(conn, entity, props, session_id)

        def attempt() -> list[SessionReceiver]:
            now = self.now()
            with self._write() as conn:
                row = conn.execute(_NEXT_SESSION, (entity.id, now, now)).fetchone()
                return [] if row is None else [self._lock_session(conn, entity, props, row[0])]

        found = self._poll(attempt, lambda: self._has_available(entity.id, None), max_wait_time, entity.id)
        if not found:
            raise NoSessionAvailable(f"no unlocked session with available messages in {entity.path!r}")
        return found[0]

    def _lock_session(
        self,
        conn: sqlite3.Connection,
        entity: Entity,
        props: QueueProperties | SubscriptionProperties,
        session_id: str,
    ) -> SessionReceiver:
        now = self.now()
        row = conn.execute(
            "SELECT locked_until FROM sessions WHERE queue_id = ? AND session_id = ?", (entity.id, session_id)
        ).fetchone()
        if row is not None and row[0] > now:
            raise SessionCannotBeLocked(
                f"session {session_id!r} of {entity.path!r} is locked by another receiver until "
                f"{to_datetime(row[0]).isoformat()}"
            )
        nonce = new_nonce()
        locked_until = now + props.lock_duration.total_seconds()
        conn.execute(
            "INSERT INTO sessions (queue_id, session_id, lock_nonce, locked_until) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (queue_id, session_id) DO UPDATE SET lock_nonce = excluded.lock_nonce, "
            "locked_until = excluded.locked_until",
            (entity.id, session_id, nonce, locked_until),
        )
        return SessionReceiver(self, entity, session_id, nonce, locked_until)
