"""Settling locked messages: complete, abandon, dead-letter, defer, renew the lock.

Every settlement checks the lock token against the stored lock and the clock; a lock that
expired (or a token that was never issued, or whose message was received again since)
raises `MessageLockLost`, as Azure's MessageLockLostError. Settling is idempotent in effect:
a second `complete` of the same token raises MessageLockLost and changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime

from eventkit.publisher import PropertyValue

from ._core import Entity, NamespaceCore, to_datetime
from ._records import (
    DEFERRED_AT,
    MAX_DELIVERY_REASON,
    max_delivery_description,
    move_to_dead_letter,
    parse_token,
)
from .entities import QueueProperties, SubscriptionProperties
from .errors import MessageLockLost, ServiceBusError


class SettleOperations(NamespaceCore):
    """Settlement by lock token."""

    def complete(self, lock_token: str) -> None:
        """Remove the message for good. Raises MessageLockLost."""
        self.complete_many([lock_token])

    def complete_many(self, lock_tokens: Sequence[str]) -> None:
        """Complete many messages in one transaction.

        Every message whose lock is still held is completed; if any token's lock was lost,
        MessageLockLost is raised afterwards, naming exactly those tokens.
        """
        parsed = [parse_token(token) for token in lock_tokens]
        now = self.now()
        with self._write() as conn:
            held = self._held(conn, parsed, now)
            conn.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in held])
        lost = [token for token, (row_id, _) in zip(lock_tokens, parsed, strict=True) if row_id not in held]
        if lost:
            raise MessageLockLost(lost)

    def abandon(
        self, lock_token: str, properties_to_modify: Mapping[str, PropertyValue] | None = None
    ) -> None:
        """Release the lock so the message is delivered again (its delivery count then grows).

        A message that has reached its entity's max delivery count goes to the dead-letter
        queue (reason MaxDeliveryCountExceeded) instead. Raises MessageLockLost.
        """
        now = self.now()
        with self._write() as conn:
            row_id, entity, _state, count = self._locked(conn, lock_token, now)
            props = entity.props
            assert isinstance(props, QueueProperties | SubscriptionProperties)
            if properties_to_modify:
                self._modify_properties(conn, row_id, properties_to_modify)
            woken = entity.id
            if entity.kind != "deadletter" and count >= props.max_delivery_count:
                reason = max_delivery_description(props.max_delivery_count)
                move_to_dead_letter(conn, entity, [row_id], MAX_DELIVERY_REASON, reason, now)
                woken = entity.dead_letter_id if entity.dead_letter_id is not None else entity.id
            else:
                # back in its original place in line (Azure redelivers an abandoned message first)
                conn.execute(
                    "UPDATE messages SET available_at = CASE WHEN state = 2 THEN ? ELSE enqueued_at END, "
                    "locked_until = 0, lock_nonce = NULL WHERE id = ?",
                    (DEFERRED_AT, row_id),
                )
        self._notify_entity(woken)

    def dead_letter(
        self,
        lock_token: str,
        reason: str | None = None,
        error_description: str | None = None,
        properties_to_modify: Mapping[str, PropertyValue] | None = None,
    ) -> None:
        """Move the message to `<entity>/$deadletterqueue` with `reason` and `error_description`.

        Raises MessageLockLost, ServiceBusError for a message already in a dead-letter queue.
        """
        now = self.now()
        with self._write() as conn:
            row_id, entity, _state, _count = self._locked(conn, lock_token, now)
            if entity.kind == "deadletter":
                raise ServiceBusError(
                    f"message in {entity.path!r} is already dead-lettered: complete it or resubmit it"
                )
            if properties_to_modify:
                self._modify_properties(conn, row_id, properties_to_modify)
            move_to_dead_letter(conn, entity, [row_id], reason, error_description, now)

    def defer(self, lock_token: str) -> None:
        """Set the message aside; only `receive_deferred_messages` by sequence number returns it."""
        now = self.now()
        with self._write() as conn:
            row_id, _entity, _state, _count = self._locked(conn, lock_token, now)
            conn.execute(
                "UPDATE messages SET state = 2, available_at = ?, locked_until = 0, lock_nonce = NULL "
                "WHERE id = ?",
                (DEFERRED_AT, row_id),
            )

    def renew_lock(self, lock_token: str) -> datetime:
        """Extend the lock by the entity's lock duration from now; returns the new locked-until."""
        now = self.now()
        with self._write() as conn:
            row_id, entity, _state, _count = self._locked(conn, lock_token, now)
            props = entity.props
            assert isinstance(props, QueueProperties | SubscriptionProperties)
            locked_until = now + props.lock_duration.total_seconds()
            conn.execute(
                "UPDATE messages SET available_at = ?, locked_until = ? WHERE id = ?",
                (locked_until, locked_until, row_id),
            )
        return to_datetime(locked_until)

    def _held(self, conn: sqlite3.Connection, parsed: list[tuple[int, int]], now: float) -> set[int]:
        nonces = dict(parsed)
        held: set[int] = set()
        ids = list(nonces)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row_id, nonce in conn.execute(
                f"SELECT id, lock_nonce FROM messages WHERE id IN ({marks}) AND locked_until > ?",
                (*chunk, now),
            ):
                if nonces[row_id] == nonce:
                    held.add(row_id)
        return held

    def _locked(self, conn: sqlite3.Connection, lock_token: str, now: float) -> tuple[int, Entity, int, int]:
        row_id, nonce = parse_token(lock_token)
        row = conn.execute(
            "SELECT queue_id, state, delivery_count FROM messages "
            "WHERE id = ? AND lock_nonce = ? AND locked_until > ?",
            (row_id, nonce, now),
        ).fetchone()
        if row is None:
            raise MessageLockLost([lock_token])
        queue_id, state, count = row
        return row_id, self._entity_by_id(conn, queue_id), state, count

    def _modify_properties(
        self, conn: sqlite3.Connection, row_id: int, changes: Mapping[str, PropertyValue]
    ) -> None:
        (text,) = conn.execute("SELECT properties FROM messages WHERE id = ?", (row_id,)).fetchone()
        properties = json.loads(text)
        properties.update(changes)
        conn.execute("UPDATE messages SET properties = ? WHERE id = ?", (json.dumps(properties), row_id))
