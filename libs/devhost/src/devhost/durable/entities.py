"""Durable entities in the task hub: ids, operation requests, responses and stored state.

The shapes are the Durable Task extension's out-of-process entity protocol, which the
``azure-functions-durable`` SDK speaks:

- an entity's instance id (scheduler id) is ``@<name lower-cased>@<key>``;
- an operation request is the extension's RequestMessage JSON: ``id`` (a GUID), ``op``,
  ``signal``, ``input`` (the text the SDK's ``get_input`` decodes: the operation's JSON as a JSON
  string, or null), ``parent`` and ``parentExecution`` (who waits for the response of a call);
- the response of a call reaches the orchestrator as an EventRaised event named after the
  request id whose Input is ``{"result": <JSON text>}`` plus ``"exceptionType": "Error"`` when
  the operation raised, which the SDK turns into the call's value or exception.

Tables (created with the task hub): ``entities`` holds each existing entity's state (JSON text)
and last operation time; ``entity_messages`` queues requests per entity in arrival order.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devhost.durable.history import Event, EventType, event

ENTITY_PREFIX = "@"


class InvalidEntityIdError(ValueError):
    """An entity name or key breaks the rules of entity ids (empty name, '@' in the name)."""


@dataclass(frozen=True)
class EntityId:
    """An entity's name (compared lower-case, as the extension does) and key."""

    name: str
    key: str

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidEntityIdError("an entity name must not be empty")
        if ENTITY_PREFIX in self.name:
            raise InvalidEntityIdError(f"entity name {self.name!r} must not contain '@'")
        object.__setattr__(self, "name", self.name.lower())

    @property
    def instance_id(self) -> str:
        """The scheduler id ``@name@key`` the entity is stored under."""
        return f"{ENTITY_PREFIX}{self.name}{ENTITY_PREFIX}{self.key}"

    @classmethod
    def parse(cls, instance_id: str) -> EntityId:
        """Inverse of :attr:`instance_id`; raises InvalidEntityIdError for any other id."""
        if not instance_id.startswith(ENTITY_PREFIX) or ENTITY_PREFIX not in instance_id[1:]:
            raise InvalidEntityIdError(f"{instance_id!r} is not an entity id ('@<name>@<key>')")
        name, _, key = instance_id[1:].partition(ENTITY_PREFIX)
        return cls(name, key)


@dataclass(frozen=True)
class EntityRequest:
    """One operation request queued for an entity (``parent`` None: nobody waits for it)."""

    entity: EntityId
    id: str
    operation: str
    signal: bool
    input: str | None
    parent: str | None = None
    parent_execution: str | None = None

    def to_json(self) -> str:
        """The extension's RequestMessage JSON."""
        return json.dumps(
            {
                "id": self.id,
                "op": self.operation,
                "signal": self.signal,
                "input": self.input,
                "parent": self.parent,
                "parentExecution": self.parent_execution,
            }
        )

    @classmethod
    def from_json(cls, entity: EntityId, text: str) -> EntityRequest:
        """Read a RequestMessage JSON queued for ``entity``."""
        raw = json.loads(text)
        return cls(
            entity,
            str(raw["id"]),
            str(raw.get("op") or ""),
            bool(raw.get("signal")),
            raw.get("input"),
            raw.get("parent"),
            raw.get("parentExecution"),
        )


def operation_input(value_json: str | None) -> str | None:
    """The request ``input`` for an operation whose value is the JSON text ``value_json``.

    The extension serializes the JSON text once more (a JSON string holding JSON), which is
    what the SDK's ``DurableEntityContext.get_input`` decodes; None means "no input".
    """
    return None if value_json is None else json.dumps(value_json)


def new_request(
    entity: EntityId,
    operation: str,
    value_json: str | None,
    *,
    signal: bool,
    parent: str | None = None,
    parent_execution: str | None = None,
    request_id: str | None = None,
) -> EntityRequest:
    """A request with ``request_id`` or a fresh GUID (the id a call's response is named after)."""
    return EntityRequest(
        entity,
        request_id or str(uuid.uuid4()),
        operation,
        signal,
        operation_input(value_json),
        parent,
        parent_execution,
    )


_REQUEST_IDS = uuid.UUID("6f1d2c0e-3b7a-4f52-9a51-0d8e7c4b2a90")


def orchestration_request_id(instance_id: str, execution_id: str, task_id: int) -> str:
    """The request id of an orchestration's entity operation: a GUID derived from the execution
    and the operation's task id, so every replay of that execution computes the same one."""
    return str(uuid.uuid5(_REQUEST_IDS, f"{instance_id}/{execution_id}/{task_id}"))


def response_event(request_id: str, result_json: str, failed: bool, now: datetime) -> Event:
    """The EventRaised event that carries a call's result (or exception) to its orchestrator."""
    body: dict[str, Any] = {"result": result_json}
    if failed:
        body["exceptionType"] = "Error"
    return event(EventType.EVENT_RAISED, now, Name=request_id, Input=json.dumps(body))


def response_failed(raised: Event) -> bool:
    """Whether a response event (see :func:`response_event`) reports an exception."""
    try:
        body = json.loads(raised.get("Input") or "{}")
    except ValueError:
        return False
    return isinstance(body, dict) and "exceptionType" in body


def enqueue_requests(conn: sqlite3.Connection, requests: Sequence[EntityRequest], now: float) -> None:
    """Queue requests inside the caller's transaction (arrival order = id order)."""
    conn.executemany(
        "INSERT INTO entity_messages (entity_id, visible_at, request) VALUES (?, ?, ?)",
        [(r.entity.instance_id, now, r.to_json()) for r in requests],
    )


@dataclass(frozen=True)
class EntityRow:
    """An existing entity as stored: ``state`` is JSON text (None: no state was set)."""

    entity: EntityId
    state: str | None
    last_operation_at: float


def read_entity(conn: sqlite3.Connection, entity: EntityId) -> EntityRow | None:
    """The stored entity, or None when it does not exist (never created, or deleted)."""
    row = conn.execute(
        "SELECT state, last_operation_at FROM entities WHERE entity_id = ?", (entity.instance_id,)
    ).fetchone()
    return None if row is None else EntityRow(entity, row[0], float(row[1]))


def write_entity(
    conn: sqlite3.Connection, entity: EntityId, exists: bool, state: str | None, now: float
) -> None:
    """Store (or, when ``exists`` is False, delete) an entity inside the caller's transaction."""
    if not exists:
        conn.execute("DELETE FROM entities WHERE entity_id = ?", (entity.instance_id,))
        return
    conn.execute(
        "INSERT INTO entities (entity_id, name, key, state, last_operation_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (entity_id) DO UPDATE SET state = excluded.state, "
        "last_operation_at = excluded.last_operation_at",
        (entity.instance_id, entity.name, entity.key, state, now),
    )


def sent_event_fields(instance_id: str, action: dict[str, Any], signal: bool, request_id: str) -> Event:
    """The EventSent fields that record a ``call_entity``/``signal_entity`` action.

    ``Input`` is the RequestMessage JSON with ``request_id``, so a replay finds the id a call's
    response is named after. Raises InvalidEntityIdError for a malformed target.
    """
    target = EntityId.parse(str(action["instanceId"]))
    request = new_request(
        target,
        str(action["operation"]),
        action.get("input"),
        signal=signal,
        parent=instance_id,
        request_id=request_id,
    )
    return {
        "EventType": int(EventType.EVENT_SENT),
        "Name": "op",
        "InstanceId": target.instance_id,
        "Input": request.to_json(),
    }


def sent_request(sent: Event, execution_id: str) -> EntityRequest:
    """The request an EventSent event (see :func:`sent_event_fields`) delivers to its entity."""
    request = EntityRequest.from_json(EntityId.parse(str(sent["InstanceId"])), str(sent["Input"]))
    if request.signal:
        return request
    return EntityRequest(
        request.entity, request.id, request.operation, False, request.input, request.parent, execution_id
    )


def request_id_of(sent: Event) -> str | None:
    """The request id recorded in an EventSent event, or None for another kind of event."""
    try:
        raw = json.loads(sent.get("Input") or "")
    except ValueError:
        return None
    return str(raw["id"]) if isinstance(raw, dict) and "id" in raw else None
