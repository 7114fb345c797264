"""Building ``func.ServiceBusMessage`` from an embedded-namespace message, as the Python worker
builds it from the host's trigger data (body and trigger metadata).

The worker fills the object's fields from the trigger metadata (``MessageId``, ``DeliveryCount``,
``EnqueuedTimeUtc``...) and keeps that metadata for ``message.metadata``. For ``cardinality=many``
the host sends arrays (``MessageIdArray``, ``DeliveryCountArray``...) and every message of the
batch shares them; devhost does the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from azure.functions.meta import Datum
from azure.functions.servicebus import ServiceBusMessage

from eventkit.bus.servicebus import ReceivedMessage


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _common_metadata(entity: str) -> dict[str, Datum]:
    return {"EntityPath": Datum(entity, "string")}


def message_metadata(message: ReceivedMessage, entity: str) -> dict[str, Datum]:
    """The trigger metadata of one message (names as the Service Bus extension binds them)."""
    metadata = _common_metadata(entity)
    values: dict[str, Any] = {
        "MessageId": message.message_id,
        "DeliveryCount": message.delivery_count,
        "SequenceNumber": message.sequence_number,
        "EnqueuedTimeUtc": _iso(message.enqueued_time_utc),
        "ExpiresAtUtc": _iso(message.expires_at_utc),
        "LockedUntil": _iso(message.locked_until_utc),
        "LockToken": message.lock_token,
        "ContentType": message.content_type,
        "CorrelationId": message.correlation_id,
        "SessionId": message.session_id,
        "Label": message.subject,
        "Subject": message.subject,
        "ReplyTo": message.reply_to,
        "To": message.to,
        "PartitionKey": message.partition_key,
        "DeadLetterReason": message.dead_letter_reason,
        "DeadLetterErrorDescription": message.dead_letter_error_description,
    }
    for name, value in values.items():
        if value is not None:
            metadata[name] = Datum(value, "int" if isinstance(value, int) else "string")
    properties = json.dumps(dict(message.application_properties))
    metadata["ApplicationProperties"] = Datum(properties, "json")
    metadata["UserProperties"] = Datum(properties, "json")
    return metadata


def batch_metadata(messages: Sequence[ReceivedMessage], entity: str) -> dict[str, Datum]:
    """The shared trigger metadata of a ``cardinality=many`` batch (``...Array`` entries)."""
    metadata = _common_metadata(entity)
    arrays: dict[str, list[Any]] = {
        "MessageIdArray": [m.message_id for m in messages],
        "DeliveryCountArray": [m.delivery_count for m in messages],
        "SequenceNumberArray": [m.sequence_number for m in messages],
        "EnqueuedTimeUtcArray": [_iso(m.enqueued_time_utc) for m in messages],
        "LockTokenArray": [m.lock_token for m in messages],
        "ContentTypeArray": [m.content_type for m in messages],
        "CorrelationIdArray": [m.correlation_id for m in messages],
        "SessionIdArray": [m.session_id for m in messages],
        "SubjectArray": [m.subject for m in messages],
        "ApplicationPropertiesArray": [dict(m.application_properties) for m in messages],
    }
    for name, values in arrays.items():
        metadata[name] = Datum(json.dumps(values), "json")
    return metadata


def to_function_message(
    message: ReceivedMessage, entity: str, metadata: dict[str, Datum] | None = None
) -> ServiceBusMessage:
    """A real ``func.ServiceBusMessage`` carrying every field the worker would set.

    ``dead_letter_source`` is the entity a dead-lettered message came from (the DLQ's parent).
    """
    properties = dict(message.application_properties)
    dead_letter_source = None
    if message.dead_letter_reason is not None and "/$deadletterqueue" in message.entity_path.lower():
        dead_letter_source = message.entity_path.rsplit("/", 1)[0]
    return ServiceBusMessage(
        body=message.body,
        trigger_metadata=metadata if metadata is not None else message_metadata(message, entity),
        application_properties=properties,
        content_type=message.content_type,
        correlation_id=message.correlation_id,
        dead_letter_error_description=message.dead_letter_error_description,
        dead_letter_reason=message.dead_letter_reason,
        dead_letter_source=dead_letter_source,
        delivery_count=message.delivery_count,
        enqueued_sequence_number=message.sequence_number,
        enqueued_time_utc=message.enqueued_time_utc,
        expires_at_utc=message.expires_at_utc,
        label=message.subject,
        locked_until=message.locked_until_utc,
        lock_token=message.lock_token,
        message_id=message.message_id,
        partition_key=message.partition_key,
        reply_to=message.reply_to,
        reply_to_session_id=None,
        scheduled_enqueue_time_utc=message.scheduled_enqueue_time_utc,
        sequence_number=message.sequence_number,
        session_id=message.session_id,
        state=message.state.value,
        subject=message.subject,
        time_to_live=message.time_to_live,
        to=message.to,
        transaction_partition_key=None,
        user_properties=dict(properties),
    )


def admin_message(input_text: str, entity: str) -> ServiceBusMessage:
    """The message ``POST /admin/functions/<name>`` passes: the input as the body, as the host does."""
    return ServiceBusMessage(
        body=input_text.encode(),
        trigger_metadata=_common_metadata(entity),
        application_properties={},
        message_id="",
        delivery_count=1,
        user_properties={},
    )
