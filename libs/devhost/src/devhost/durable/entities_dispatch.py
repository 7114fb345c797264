"""Runs entity operations: one batch per entity at a time, each batch committed in one transaction.

Promises:

- Operations on one entity run one at a time, in the order their requests were queued; a batch
  holds up to ``batch_size`` of them (host.json ``maxEntityOperationBatchSize``).
- A batch's effects are ONE task hub transaction: the requests are consumed, the new state is
  stored (or the entity deleted), responses go to the calling orchestrations and the entity's
  own signals are queued. A process killed mid-batch leaves none of it, so the batch runs again
  from the same state: each queued request is applied exactly once.
- An operation that raises fails alone (the SDK catches it): a call gets the exception, the
  state keeps what the batch's other operations set (the SDK returns one state per batch).
  When the entity function itself cannot run (unknown name, the handle raised, a malformed
  answer) every operation of the batch fails with that reason and the state is unchanged.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from devhost.durable.clock import Clock, system_clock
from devhost.durable.entities import (
    EntityId,
    EntityRequest,
    EntityRow,
    InvalidEntityIdError,
    enqueue_requests,
    new_request,
    read_entity,
    response_event,
    write_entity,
)
from devhost.durable.errors import DurableError
from devhost.durable.taskhub import Message, TaskHub
from devhost.hostjson import durable_task_value

log = logging.getLogger("devhost.durable.entities")

EntityHandle = Callable[[str], str]
"""The SDK's entity handle (``df.Entity.create(fn)``): batch context JSON in, result JSON out."""

DEFAULT_BATCH_SIZE = 5000
"""The extension's ``maxEntityOperationBatchSize`` outside the Consumption plan."""


class InvalidEntityQueryError(DurableError):
    """A continuation token of the entity listing was not one this task hub handed out."""


@dataclass(frozen=True)
class _Outcome:
    exists: bool
    state: str | None
    results: list[tuple[str, bool]]
    signals: list[EntityRequest]


@dataclass(frozen=True)
class IndexedApp:
    """An app's functions listed once: ``FunctionApp.get_functions()`` refuses a second call."""

    functions: list[Any]

    def get_functions(self) -> list[Any]:
        """The functions listed when this object was made."""
        return self.functions


def entity_functions_of(app: Any) -> dict[str, EntityHandle]:
    """Entity handles of a ``df.DFApp`` (``entityTrigger`` functions), keyed by function name."""
    handles: dict[str, EntityHandle] = {}
    for function in app.get_functions():
        if function.get_trigger().type == "entityTrigger":
            handles[str(function.get_function_name())] = cast(EntityHandle, function.get_user_function())
    return handles


class EntityDispatcher:
    """Entity functions of one task hub and the loop step that runs their queued operations."""

    def __init__(self, hub: TaskHub, clock: Clock = system_clock, batch_size: int = DEFAULT_BATCH_SIZE):
        self._hub = hub
        self._clock = clock
        self._handles: dict[str, EntityHandle] = {}
        self.batch_size = max(1, batch_size)
        self.batch_count = 0
        """Batches committed by this dispatcher (for tests and metrics)."""

    def register(self, name: str, handle: EntityHandle) -> None:
        """Register an entity function; entity names are case-insensitive, as on Azure."""
        self._handles[name.lower()] = handle

    # -- client operations ---------------------------------------------------------------
    def signal(self, entity: EntityId, operation: str, value_json: str | None) -> str:
        """Queue a one-way operation (the client's ``signal_entity``); returns the request id."""
        request = new_request(entity, operation, value_json, signal=True)
        with self._hub._tx() as conn:
            enqueue_requests(conn, [request], self._clock().timestamp())
        return request.id

    def read(self, entity: EntityId) -> EntityRow | None:
        """The entity's stored state, or None when it does not exist."""
        with self._hub._lock:
            return read_entity(self._hub._conn, entity)

    def list_entities(
        self,
        name: str | None,
        *,
        top: int = 100,
        continuation: str | None = None,
        operated_from: float | None = None,
        operated_to: float | None = None,
    ) -> tuple[list[EntityRow], str | None]:
        """Existing entities (of ``name`` when given) by id, one page, and the next page's token.

        Raises InvalidEntityQueryError for a token this method did not hand out.
        """
        where, args = ["1 = 1"], list[object]()
        if name:
            where.append("name = ?")
            args.append(name.lower())
        if operated_from is not None:
            where.append("last_operation_at >= ?")
            args.append(operated_from)
        if operated_to is not None:
            where.append("last_operation_at <= ?")
            args.append(operated_to)
        if continuation:
            where.append("entity_id > ?")
            args.append(_decode_token(continuation))
        size = max(1, top)
        with self._hub._lock:
            rows = self._hub._conn.execute(
                f"SELECT entity_id, state, last_operation_at FROM entities WHERE {' AND '.join(where)} "
                "ORDER BY entity_id LIMIT ?",
                [*args, size + 1],
            ).fetchall()
        found = [EntityRow(EntityId.parse(r[0]), r[1], float(r[2])) for r in rows[:size]]
        token = _encode_token(found[-1].entity.instance_id) if len(rows) > size else None
        return found, token

    def pending_count(self) -> int:
        """Operation requests queued and not yet applied."""
        with self._hub._lock:
            return int(self._hub._conn.execute("SELECT COUNT(*) FROM entity_messages").fetchone()[0])

    # -- processing ----------------------------------------------------------------------
    def run_once(self) -> int:
        """Run one batch for every entity with queued requests; returns how many batches ran."""
        stamp = self._clock().timestamp()
        with self._hub._lock:
            ready = [
                r[0]
                for r in self._hub._conn.execute(
                    "SELECT entity_id, MIN(id) AS first FROM entity_messages WHERE visible_at <= ? "
                    "GROUP BY entity_id ORDER BY first LIMIT 1000",
                    (stamp,),
                )
            ]
        for entity_id in ready:
            self._run_batch(entity_id, stamp)
        return len(ready)

    def _run_batch(self, entity_id: str, stamp: float) -> None:
        with self._hub._lock:
            rows = self._hub._conn.execute(
                "SELECT id, request FROM entity_messages WHERE entity_id = ? AND visible_at <= ? "
                "ORDER BY id LIMIT ?",
                (entity_id, stamp, self.batch_size),
            ).fetchall()
        ids = [int(r[0]) for r in rows]
        try:
            entity = EntityId.parse(entity_id)
        except InvalidEntityIdError:
            log.warning("dropping %d request(s) for malformed entity id %r", len(ids), entity_id)
            with self._hub._tx() as conn:
                conn.executemany("DELETE FROM entity_messages WHERE id = ?", [(i,) for i in ids])
            return
        requests = [EntityRequest.from_json(entity, r[1]) for r in rows]
        stored = self.read(entity)
        outcome = self._execute(entity, stored, requests)
        now = self._clock()
        responses = [
            Message(r.parent, r.parent_execution, response_event(r.id, result, failed, now), stamp)
            for r, (result, failed) in zip(requests, outcome.results, strict=True)
            if not r.signal and r.parent
        ]
        with self._hub._tx() as conn:
            conn.executemany("DELETE FROM entity_messages WHERE id = ?", [(i,) for i in ids])
            write_entity(conn, entity, outcome.exists, outcome.state, stamp)
            self._hub._enqueue(conn, responses)
            enqueue_requests(conn, outcome.signals, stamp)
        self.batch_count += 1

    def _execute(self, entity: EntityId, stored: EntityRow | None, requests: list[EntityRequest]) -> _Outcome:
        handle = self._handles.get(entity.name)
        if handle is None:
            known = ", ".join(sorted(self._handles)) or "none"
            return _failed(
                stored, requests, f"no entity function named {entity.name!r} is registered ({known})"
            )
        context = {
            "self": {"name": entity.name, "key": entity.key},
            "exists": stored is not None,
            "state": None if stored is None else stored.state,
            "batch": [
                {"name": r.operation, "input": r.input, "isSignal": r.signal, "id": r.id} for r in requests
            ],
        }
        try:
            answer = json.loads(handle(json.dumps(context)))
            results = [(_text(r.get("result")), bool(r.get("isError"))) for r in answer["results"]]
            if len(results) != len(requests):
                raise ValueError(f"{len(results)} results for a batch of {len(requests)} operations")
            signals = _signals(entity, answer.get("signals") or [])
        except Exception as exc:  # the entity function could not run the batch at all
            reason = f"entity function '{entity.name}' failed: {type(exc).__name__}: {exc}"
            log.warning("%s (key %r, %d operation(s))", reason, entity.key, len(requests))
            return _failed(stored, requests, reason)
        for request, (result, failed) in zip(requests, results, strict=True):
            if failed:
                log.warning(
                    "entity @%s@%s operation %r failed: %s",
                    entity.name,
                    entity.key,
                    request.operation,
                    result,
                )
        exists = bool(answer.get("entityExists"))
        return _Outcome(exists, _text(answer.get("entityState")) if exists else None, results, signals)


def _failed(stored: EntityRow | None, requests: Sequence[EntityRequest], reason: str) -> _Outcome:
    state = None if stored is None else stored.state
    return _Outcome(stored is not None, state, [(json.dumps(reason), True) for _ in requests], [])


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _signals(sender: EntityId, raw: Sequence[dict[str, Any]]) -> list[EntityRequest]:
    signals: list[EntityRequest] = []
    for signal in raw:
        target = EntityId(str(signal["target"]["name"]), str(signal["target"]["key"]))
        signals.append(
            EntityRequest(
                target, str(uuid.uuid4()), str(signal["name"]), True, signal.get("input"), sender.instance_id
            )
        )
    return signals


def _encode_token(entity_id: str) -> str:
    return base64.urlsafe_b64encode(entity_id.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, binascii.Error) as error:
        raise InvalidEntityQueryError(
            f"continuation token {token[:40]!r} is not valid for this task hub"
        ) from error


def batch_size_from(host_json: dict[str, Any]) -> int:
    """``extensions.durableTask.maxEntityOperationBatchSize`` (keys case-insensitive), else 5000.

    Raises ValueError naming the setting when it is not a positive integer.
    """
    configured = durable_task_value(host_json, "maxEntityOperationBatchSize")
    if configured is None:
        return DEFAULT_BATCH_SIZE
    if isinstance(configured, bool) or not isinstance(configured, int) or configured < 1:
        raise ValueError(
            f"host.json extensions.durableTask.maxEntityOperationBatchSize must be a positive integer, "
            f"not {configured!r}"
        )
    return configured
