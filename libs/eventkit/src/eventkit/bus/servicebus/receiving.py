"""Receiving in peek-lock mode, peeking, counting, and resubmitting dead letters.

A receive locks up to `max_messages` messages in one transaction: each gets a fresh lock
token and `locked_until = now + lock_duration` and is invisible to every other receiver (in
any process) until it is settled or the lock expires. Expiry (TTL) and the max delivery
count are applied lazily to the messages a receive comes across, as Azure does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ._core import Entity, NamespaceCore
from ._records import (
    COLUMNS,
    DEFERRED_AT,
    MAX_DELIVERY_REASON,
    TTL_EXPIRED_DESCRIPTION,
    TTL_EXPIRED_REASON,
    Row,
    lock_token,
    max_delivery_description,
    move_to_dead_letter,
    new_nonce,
    to_message,
)
from .entities import INFINITE_TTL, QueueProperties, RuntimeProperties, SubscriptionProperties, parse_path
from .errors import EntityNotFound, SessionRequired
from .messages import ReceivedMessage

_PLAIN = (
    f"SELECT {COLUMNS} FROM messages WHERE queue_id = ? AND available_at <= ? "
    "ORDER BY available_at, seq LIMIT ?"
)
_SESSION = (
    f"SELECT {COLUMNS} FROM messages WHERE queue_id = ? AND session_id = ? AND available_at <= ? "
    "ORDER BY seq LIMIT ?"
)

_COPIED = (
    "session_id, message_id, content_type, subject, correlation_id, partition_key, reply_to, to_address, ttl"
)
_RESUBMIT = (
    "INSERT INTO messages (queue_id, seq, state, available_at, enqueued_at, expires_at, "
    f"{_COPIED}, scheduled_at, properties, body) "
    f"SELECT ?, ?, 0, ?, ?, ?, {_COPIED}, NULL, properties, body FROM messages WHERE id = ?"
)


def _receivable_props(entity: Entity) -> QueueProperties | SubscriptionProperties:
    props = entity.props
    if entity.kind == "topic" or not isinstance(props, QueueProperties | SubscriptionProperties):
        raise EntityNotFound(
            f"cannot receive from topic {entity.path!r}: receive from 'topic/subscriptions/name'"
        )
    return props


class ReceiveOperations(NamespaceCore):
    """Peek-lock receive, peek, runtime counts and dead-letter resubmission."""

    def receive(
        self, entity_path: str, max_messages: int = 1, max_wait_time: float | None = None
    ) -> list[ReceivedMessage]:
        """Lock and return up to `max_messages` messages, oldest first.

        `entity_path` is a queue, `topic/subscriptions/sub`, or either with `/$deadletterqueue`.
        Waits up to `max_wait_time` seconds for the first message (None or 0: do not wait) and
        returns an empty list if none came. Raises EntityNotFound, SessionRequired (the
        entity requires sessions: use `accept_session`).
        """
        if max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, got {max_messages}")
        entity = self._resolve(entity_path)
        props = _receivable_props(entity)
        if props.requires_session and entity.kind != "deadletter":
            raise SessionRequired(
                f"{entity.path!r} requires sessions: accept a session (accept_session) to receive from it"
            )

        def attempt() -> list[ReceivedMessage]:
            with self._write() as conn:
                return self._take(conn, entity, max_messages, None, None)

        return self._poll(attempt, lambda: self._has_available(entity.id, None), max_wait_time, entity.id)

    def receive_deferred_messages(
        self, entity_path: str, sequence_numbers: Sequence[int]
    ) -> list[ReceivedMessage]:
        """Lock deferred messages by sequence number; unknown or non-deferred ones are skipped."""
        now = self.now()
        with self._write() as conn:
            entity = self._entity(conn, entity_path)
            props = _receivable_props(entity)
            locked_until = now + props.lock_duration.total_seconds()
            received: list[ReceivedMessage] = []
            for seq in sequence_numbers:
                row: Row | None = conn.execute(
                    f"SELECT {COLUMNS} FROM messages WHERE queue_id = ? AND available_at = ? AND seq = ? "
                    "AND state = 2",
                    (entity.id, DEFERRED_AT, seq),
                ).fetchone()
                if row is None:
                    continue
                nonce = new_nonce()
                conn.execute(
                    "UPDATE messages SET available_at = ?, locked_until = ?, lock_nonce = ?, "
                    "delivery_count = delivery_count + 1 WHERE id = ?",
                    (locked_until, locked_until, nonce, row[0]),
                )
                received.append(
                    to_message(row, entity, delivery_count=row[-1] + 1, token=lock_token(row[0], nonce),
                               locked_until=locked_until)
                )  # fmt: skip
        return received

    def peek(
        self, entity_path: str, max_messages: int = 1, from_sequence_number: int = 0
    ) -> list[ReceivedMessage]:
        """Messages in sequence order from `from_sequence_number`, without locking them.

        Includes locked, scheduled and deferred messages (see `state`); delivery counts are
        those of the last delivery (0 for a message never received).
        """
        with self._read() as conn:
            entity = self._entity(conn, entity_path)
            _receivable_props(entity)
            rows: list[Row] = conn.execute(
                f"SELECT {COLUMNS} FROM messages WHERE queue_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (entity.id, from_sequence_number, max_messages),
            ).fetchall()
        return [to_message(row, entity) for row in rows]

    def runtime_properties(self, path: str) -> RuntimeProperties:
        """Active (incl. locked), scheduled and dead-letter counts of a queue, subscription or topic."""
        now = self.now()
        with self._read() as conn:
            entity = self._entity(conn, path)
            topic = entity.kind == "topic"
            subs = [s.entity for s in self._subscribers_of(entity)] if topic else [entity]
            active = scheduled = dead = 0
            for sub in subs:
                count, future = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(state = 1 AND available_at > ?), 0) FROM messages "
                    "WHERE queue_id = ?",
                    (now, sub.id),
                ).fetchone()
                active += count - future
                scheduled += future
                if sub.dead_letter_id is not None:
                    (dlq,) = conn.execute(
                        "SELECT COUNT(*) FROM messages WHERE queue_id = ?", (sub.dead_letter_id,)
                    ).fetchone()
                    dead += dlq
        return RuntimeProperties(
            entity.path,
            active,
            scheduled,
            dead,
            subscription_count=len(subs) if entity.kind == "topic" else 0,
        )

    def resubmit_dead_letters(
        self, path: str, *, sequence_numbers: Sequence[int] | None = None, max_messages: int | None = None
    ) -> int:
        """Move unlocked dead letters of `path` back to it as fresh messages; returns how many.

        `path` is a queue or subscription (with or without `/$deadletterqueue`). Copies keep
        body, message id and properties, get a new sequence number, delivery count 0 and no
        dead-letter reason; a subscription's copies go to that subscription only. Atomic.
        """
        now = self.now()
        parsed = parse_path(path)
        with self._write() as conn:
            owner = self._entity(conn, parsed.base)
            props = _receivable_props(owner)
            assert owner.dead_letter_id is not None
            counter = owner.parent_id if owner.kind == "subscription" else owner.id
            rows = conn.execute(
                "SELECT id, seq, ttl FROM messages WHERE queue_id = ? AND locked_until <= ? ORDER BY seq",
                (owner.dead_letter_id, now),
            ).fetchall()
            if sequence_numbers is not None:
                wanted = set(sequence_numbers)
                rows = [r for r in rows if r[1] in wanted]
            rows = rows[:max_messages] if max_messages is not None else rows
            if not rows:
                return 0
            (end,) = conn.execute(
                "UPDATE entities SET next_seq = next_seq + ? WHERE id = ? RETURNING next_seq",
                (len(rows), counter),
            ).fetchone()
            for offset, (message_id, _seq, ttl) in enumerate(rows):
                effective = min(ttl if ttl is not None else INFINITE_TTL.total_seconds(),
                                props.default_message_time_to_live.total_seconds())  # fmt: skip
                expires_at = None if effective >= INFINITE_TTL.total_seconds() else now + effective
                conn.execute(
                    _RESUBMIT,
                    (owner.id, end - len(rows) + offset, now, now, expires_at, message_id),
                )
            conn.executemany("DELETE FROM messages WHERE id = ?", [(r[0],) for r in rows])
        self._notify_entity(owner.id)
        return len(rows)

    def _has_available(self, queue_id: int, session_id: str | None) -> bool:
        now = self.now()
        with self._lock:  # one statement: its own (autocommit) read transaction
            if session_id is None:
                row = self._conn.execute(
                    "SELECT 1 FROM messages WHERE queue_id = ? AND available_at <= ? LIMIT 1", (queue_id, now)
                ).fetchone()
            else:
                row = self._conn.execute(
                    "SELECT 1 FROM messages WHERE queue_id = ? AND session_id = ? AND available_at <= ? "
                    "LIMIT 1",
                    (queue_id, session_id, now),
                ).fetchone()
        return row is not None

    def _take(
        self,
        conn: sqlite3.Connection,
        entity: Entity,
        max_messages: int,
        session_id: str | None,
        session_locked_until: float | None,
    ) -> list[ReceivedMessage]:
        """Lock up to `max_messages` available messages (of one session, if given) in `conn`."""
        now = self.now()
        props = _receivable_props(entity)
        dead_letter_queue = entity.kind == "deadletter"
        locked_until = session_locked_until or now + props.lock_duration.total_seconds()
        received: list[ReceivedMessage] = []
        while len(received) < max_messages:
            wanted = max_messages - len(received)
            rows: list[Row] = (
                conn.execute(_PLAIN, (entity.id, now, wanted)).fetchall()
                if session_id is None
                else conn.execute(_SESSION, (entity.id, session_id, now, wanted)).fetchall()
            )
            if not rows:
                break
            locks: list[tuple[float, float, int, int, int]] = []
            expired: list[int] = []
            exhausted: list[int] = []
            for row in rows:
                row_id, state, expires_at, count = row[0], row[2], row[4], row[-1]
                if state == 2:
                    conn.execute("UPDATE messages SET available_at = ?, locked_until = 0 WHERE id = ?",
                                 (DEFERRED_AT, row_id))  # fmt: skip
                elif not dead_letter_queue and expires_at is not None and expires_at <= now:
                    expired.append(row_id)
                elif not dead_letter_queue and count >= props.max_delivery_count:
                    exhausted.append(row_id)
                else:
                    increment = 0 if dead_letter_queue else 1
                    nonce = new_nonce()
                    locks.append((locked_until, locked_until, nonce, increment, row_id))
                    token = lock_token(row_id, nonce)
                    message = to_message(
                        row, entity, delivery_count=count + increment, token=token, locked_until=locked_until
                    )
                    received.append(message)
            conn.executemany(
                "UPDATE messages SET state = 0, available_at = ?, locked_until = ?, lock_nonce = ?, "
                "delivery_count = delivery_count + ? WHERE id = ?",
                locks,
            )
            if exhausted:
                reason = max_delivery_description(props.max_delivery_count)
                move_to_dead_letter(conn, entity, exhausted, MAX_DELIVERY_REASON, reason, now)
            if expired and props.dead_lettering_on_message_expiration:
                move_to_dead_letter(conn, entity, expired, TTL_EXPIRED_REASON, TTL_EXPIRED_DESCRIPTION, now)
            elif expired:
                conn.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in expired])
        return received
