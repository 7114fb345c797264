"""Sending: batches, scheduled messages, duplicate detection and topic fan-out.

A batch is one transaction: every message of it is stored (or, for a duplicate, dropped)
or none is. Sending to a topic evaluates each subscription's rules at send time and stores
one copy per matching subscription; a message that matches no subscription is dropped, as
in Azure. Copies share the topic's sequence number.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import cast

from eventkit.publisher import TransportMessage

from ._core import Entity, NamespaceCore, WaitKey
from .entities import INFINITE_TTL, QueueProperties, SubscriptionProperties, TopicProperties
from .errors import EntityNotFound, InvalidMessage, SessionIdRequired
from .messages import OutgoingMessage, to_outgoing
from .sql_filter import FilterTarget

Sendable = OutgoingMessage | TransportMessage
INSERT_MESSAGE = """
INSERT INTO messages (queue_id, seq, state, available_at, enqueued_at, expires_at, session_id, message_id,
    content_type, subject, correlation_id, partition_key, reply_to, to_address, ttl, scheduled_at,
    properties, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INFINITE_SECONDS = INFINITE_TTL.total_seconds()


def _as_list(messages: Sendable | Iterable[Sendable]) -> list[OutgoingMessage]:
    if isinstance(messages, OutgoingMessage | TransportMessage):
        return [to_outgoing(messages)]
    return [to_outgoing(m) for m in messages]


def _timestamp(value: datetime, what: str) -> float:
    if value.tzinfo is None:
        raise InvalidMessage(f"{what} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.timestamp()


def _properties_json(message: OutgoingMessage) -> str:
    for name, value in message.application_properties.items():
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise InvalidMessage(
                f"application property {name!r} of message {message.message_id!r} has type "
                f"{type(value).__name__}; only str, int, float, bool and None are supported"
            )
    return json.dumps(dict(message.application_properties))


def filter_target(message: OutgoingMessage, message_id: str) -> FilterTarget:
    """What subscription filters see of `message`."""
    system = {
        "subject": message.subject,
        "message_id": message_id,
        "correlation_id": message.correlation_id,
        "content_type": message.content_type,
        "session_id": message.session_id,
        "to": message.to,
        "reply_to": message.reply_to,
        "partition_key": message.partition_key,
    }
    return FilterTarget({k: v for k, v in system.items() if v is not None}, message.application_properties)


class SendOperations(NamespaceCore):
    """Sending and scheduling."""

    def send(self, entity: str, messages: Sendable | Iterable[Sendable]) -> None:
        """Send one message or a batch, atomically, to a queue or topic.

        A message whose `message_id` was seen within the duplicate detection window of an
        entity that requires duplicate detection is silently dropped (the send succeeds).
        Raises EntityNotFound, SessionIdRequired (no session id for a session-enabled target,
        nothing is sent), InvalidMessage.
        """
        self._enqueue(entity, _as_list(messages), None)

    def schedule_messages(
        self, entity: str, messages: Sendable | Iterable[Sendable], schedule_time_utc: datetime
    ) -> list[int]:
        """Send messages that become receivable at `schedule_time_utc`; returns their sequence numbers."""
        return self._enqueue(entity, _as_list(messages), _timestamp(schedule_time_utc, "schedule_time_utc"))

    def cancel_scheduled_messages(self, entity: str, sequence_numbers: int | Sequence[int]) -> int:
        """Remove scheduled messages that are not yet enqueued; returns how many copies were removed.

        Unknown or already enqueued sequence numbers are ignored (idempotent).
        """
        numbers = [sequence_numbers] if isinstance(sequence_numbers, int) else list(sequence_numbers)
        now = self.now()
        with self._write() as conn:
            target = self._sendable(conn, entity)
            queue_ids = [s.entity.id for s in self._subscribers_of(target)] or [target.id]
            removed = 0
            for queue_id in queue_ids:
                for seq in numbers:
                    cursor = conn.execute(
                        "DELETE FROM messages WHERE queue_id = ? AND seq = ? AND state = 1 "
                        "AND available_at > ?",
                        (queue_id, seq, now),
                    )
                    removed += cursor.rowcount
        return removed

    def _sendable(self, conn: sqlite3.Connection, name: str) -> Entity:
        entity = self._entity(conn, name)
        if entity.kind not in ("queue", "topic"):
            raise EntityNotFound(f"cannot send to {entity.path!r}: only queues and topics accept messages")
        return entity

    def _enqueue(self, name: str, messages: list[OutgoingMessage], schedule_at: float | None) -> list[int]:
        if not messages:
            return []
        now = self.now()
        ids = [m.message_id or str(uuid.uuid4()) for m in messages]
        with self._write() as conn:
            entity = self._sendable(conn, name)
            (end,) = conn.execute(
                "UPDATE entities SET next_seq = next_seq + ? WHERE id = ? RETURNING next_seq",
                (len(messages), entity.id),
            ).fetchone()
            first = end - len(messages)
            keep = self._not_duplicates(conn, entity, ids, now)
            rows: list[tuple[object, ...]] = []
            for index, message in enumerate(messages):
                if index in keep:
                    rows += self._rows(entity, message, ids[index], first + index, now, schedule_at)
            conn.executemany(INSERT_MESSAGE, rows)
        woken: set[WaitKey] = set()
        for row in rows:  # (queue_id, seq, state, ..., session_id at 6)
            queue_id, session_id = cast(int, row[0]), cast("str | None", row[6])
            woken.add(queue_id)
            if session_id is not None:
                woken.add((queue_id, session_id))
        self._notify_arrival(woken)
        return list(range(first, end))

    def _not_duplicates(
        self, conn: sqlite3.Connection, entity: Entity, ids: list[str], now: float
    ) -> set[int]:
        props = entity.props
        assert isinstance(props, QueueProperties | TopicProperties)
        if not props.requires_duplicate_detection:
            return set(range(len(ids)))
        if random.random() < 0.01:
            conn.execute("DELETE FROM duplicates WHERE entity_id = ? AND expires_at <= ?", (entity.id, now))
        seen: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = sorted(set(ids[start : start + 500]))
            marks = ",".join("?" * len(chunk))
            seen.update(
                row[0]
                for row in conn.execute(
                    f"SELECT message_id FROM duplicates WHERE entity_id = ? AND expires_at > ? "
                    f"AND message_id IN ({marks})",
                    (entity.id, now, *chunk),
                )
            )
        keep: set[int] = set()
        window_end = now + props.duplicate_detection_history_time_window.total_seconds()
        for index, message_id in enumerate(ids):
            if message_id not in seen:
                seen.add(message_id)
                keep.add(index)
        conn.executemany(
            "INSERT OR REPLACE INTO duplicates (entity_id, message_id, expires_at) VALUES (?, ?, ?)",
            [(entity.id, ids[i], window_end) for i in keep],
        )
        return keep

    def _rows(
        self,
        entity: Entity,
        message: OutgoingMessage,
        message_id: str,
        seq: int,
        now: float,
        schedule_at: float | None,
    ) -> list[tuple[object, ...]]:
        if schedule_at is None and message.scheduled_enqueue_time_utc is not None:
            schedule_at = _timestamp(message.scheduled_enqueue_time_utc, "scheduled_enqueue_time_utc")
        scheduled = schedule_at is not None and schedule_at > now
        enqueued_at = schedule_at if schedule_at is not None and scheduled else now
        if entity.kind == "queue":
            targets = [entity]
        else:
            target = filter_target(message, message_id)
            targets = [
                s.entity for s in self._subscribers_of(entity) if any(match(target) for match in s.matchers)
            ]
        ttl_cap = entity.props.default_message_time_to_live.total_seconds()
        if message.time_to_live is not None:
            if message.time_to_live.total_seconds() <= 0:
                raise InvalidMessage(f"time_to_live of message {message_id!r} must be positive")
            ttl_cap = min(ttl_cap, message.time_to_live.total_seconds())
        properties = _properties_json(message)
        ttl = message.time_to_live.total_seconds() if message.time_to_live is not None else None
        rows: list[tuple[object, ...]] = []
        for queue in targets:
            props = queue.props
            assert isinstance(props, QueueProperties | SubscriptionProperties)
            if props.requires_session and message.session_id is None:
                raise SessionIdRequired(
                    f"message {message_id!r} has no session_id, and {queue.path!r} requires sessions: "
                    "entities with sessions enabled only accept messages with a session id"
                )
            effective = min(ttl_cap, props.default_message_time_to_live.total_seconds())
            expires_at = None if effective >= _INFINITE_SECONDS else enqueued_at + effective
            rows.append(
                (
                    queue.id, seq, 1 if scheduled else 0, enqueued_at, enqueued_at, expires_at,
                    message.session_id, message_id, message.content_type, message.subject,
                    message.correlation_id, message.partition_key, message.reply_to, message.to, ttl,
                    schedule_at, properties, bytes(message.body),
                )
            )  # fmt: skip
        return rows
