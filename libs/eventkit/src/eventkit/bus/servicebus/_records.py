"""Message rows: columns read back, lock tokens, and moves to the dead-letter queue."""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from datetime import timedelta

from ._core import Entity, to_datetime
from .errors import MessageLockLost
from .messages import MessageState, ReceivedMessage

COLUMNS = (
    "id, seq, state, enqueued_at, expires_at, session_id, message_id, content_type, subject, "
    "correlation_id, partition_key, reply_to, to_address, ttl, scheduled_at, properties, "
    "dl_reason, dl_description, body, delivery_count"
)
#: `available_at` of a deferred message: never returned by a plain receive.
DEFERRED_AT = 1e18
MAX_DELIVERY_REASON = "MaxDeliveryCountExceeded"
TTL_EXPIRED_REASON = "TTLExpiredException"
TTL_EXPIRED_DESCRIPTION = "The message expired and was dead lettered."
_NONCE_MASK = (1 << 64) - 1

Row = tuple[
    int, int, int, float, float | None, str | None, str, str | None, str | None, str | None,
    str | None, str | None, str | None, float | None, float | None, str, str | None, str | None,
    bytes, int,
]  # fmt: skip


def new_nonce() -> int:
    """A random lock secret that fits SQLite's signed 64-bit integer."""
    return random.getrandbits(63)


def lock_token(message_id: int, nonce: int) -> str:
    """A UUID-shaped token: the row id in the high 64 bits, the lock secret in the low 64."""
    return str(uuid.UUID(int=(message_id << 64) | nonce))


def parse_token(token: str) -> tuple[int, int]:
    """(row id, nonce) of a token; an unparsable token raises MessageLockLost."""
    try:
        value = uuid.UUID(str(token)).int
    except ValueError:
        raise MessageLockLost([str(token)]) from None
    return value >> 64, value & _NONCE_MASK


def to_message(
    row: Row,
    entity: Entity,
    *,
    delivery_count: int | None = None,
    token: str | None = None,
    locked_until: float | None = None,
) -> ReceivedMessage:
    """Build the public message from a row read with `COLUMNS`."""
    (
        _id, seq, state, enqueued_at, expires_at, session_id, message_id, content_type, subject,
        correlation_id, partition_key, reply_to, to_address, ttl, scheduled_at, properties,
        dl_reason, dl_description, body, stored_count,
    ) = row  # fmt: skip
    return ReceivedMessage(
        body=bytes(body),
        message_id=message_id,
        content_type=content_type,
        subject=subject,
        correlation_id=correlation_id,
        session_id=session_id,
        partition_key=partition_key,
        reply_to=reply_to,
        to=to_address,
        time_to_live=None if ttl is None else timedelta(seconds=ttl),
        scheduled_enqueue_time_utc=None if scheduled_at is None else to_datetime(scheduled_at),
        application_properties=json.loads(properties),
        sequence_number=seq,
        enqueued_time_utc=to_datetime(enqueued_at),
        expires_at_utc=None if expires_at is None else to_datetime(expires_at),
        delivery_count=stored_count if delivery_count is None else delivery_count,
        state=MessageState(state),
        entity_path=entity.path,
        lock_token=token,
        locked_until_utc=None if locked_until is None else to_datetime(locked_until),
        dead_letter_reason=dl_reason,
        dead_letter_error_description=dl_description,
    )


def move_to_dead_letter(
    conn: sqlite3.Connection,
    entity: Entity,
    message_ids: list[int],
    reason: str | None,
    description: str | None,
    now: float,
) -> None:
    """Move messages of `entity` to its dead-letter queue, unlocked, with the reason given."""
    assert entity.dead_letter_id is not None, f"{entity.path} has no dead-letter queue"
    conn.executemany(
        "UPDATE messages SET queue_id = ?, state = 0, available_at = ?, locked_until = 0, lock_nonce = NULL, "
        "dl_reason = ?, dl_description = ? WHERE id = ?",
        [(entity.dead_letter_id, now, reason, description, i) for i in message_ids],
    )


def max_delivery_description(max_delivery_count: int) -> str:
    """Azure's DeadLetterErrorDescription for MaxDeliveryCountExceeded."""
    return f"Message could not be consumed after {max_delivery_count} delivery attempts."
