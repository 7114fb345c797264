"""The entity routes of the Durable HTTP management API (``/runtime/webhooks/durabletask/entities``).

As the extension's ``HttpApiHandler`` answers them:

- ``GET entities/{name}/{key}``: 200 with the entity's state as JSON; 404 when it does not exist.
  The key ``$`` stands for the empty key.
- ``GET entities/{name}`` (or ``entities``): the entities of that name (all), each
  ``{"entityId": {"name", "key"}, "lastOperationTime", "state"}`` (``state`` only with
  ``fetchState=true``); ``top``, ``lastOperationTimeFrom``/``To``; paging by
  ``x-ms-continuation-token``.
- ``POST entities/{name}/{key}?op={operation}``: 202 once the signal is recorded; the body is the
  operation's input (JSON when the content type is ``application/json``, else the text as a
  string); 400 for invalid JSON or a bad name. ``DELETE`` signals the operation ``delete``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from devhost.durable.entities import EntityId, EntityRow, InvalidEntityIdError
from devhost.durable.entities_dispatch import EntityDispatcher, InvalidEntityQueryError

EMPTY_KEY = "$"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"Message": message}, status=status)


def _time(request: web.Request, name: str) -> float | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def operation_value(body: str, content_type: str) -> str | None:
    """The JSON text of an operation's input posted as ``body``.

    A JSON body that is a string holding JSON is the SDK client's double encoding and is
    unwrapped once; other JSON is taken as is; a non-JSON content type makes the text a string.
    Raises ValueError for an ``application/json`` body that is not JSON.
    """
    if not body:
        return None
    if content_type.lower() != "application/json":
        return json.dumps(body)
    value = json.loads(body)
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return body
        return value
    return body


def entity_status(row: EntityRow, fetch_state: bool) -> dict[str, Any]:
    """DurableEntityStatus as the extension serializes it."""
    moment = datetime.fromtimestamp(row.last_operation_at, UTC)
    status: dict[str, Any] = {
        "entityId": {"name": row.entity.name, "key": row.entity.key},
        "lastOperationTime": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    if fetch_state:
        status["state"] = None if row.state is None else json.loads(row.state)
    return status


class EntityApi:
    """Answers ``entities/...`` for one app's entity dispatcher (already authorised)."""

    def __init__(self, entities: EntityDispatcher, wake: Callable[[], None]) -> None:
        self._entities = entities
        self._wake = wake

    async def handle(self, request: web.Request, segments: list[str]) -> web.Response:
        """Serve one request; ``segments`` are the path parts after ``entities``."""
        if len(segments) > 2:
            return web.Response(status=404)
        name = segments[0] if segments else ""
        key = segments[1] if len(segments) == 2 else None
        method = request.method.upper()
        try:
            if method == "GET" and key:
                return self._get(EntityId(name, "" if key == EMPTY_KEY else key))
            if method == "GET":
                return self._list(request, name)
            if method in ("POST", "DELETE"):
                operation = "delete" if method == "DELETE" else request.query.get("op", "")
                return await self._signal(request, EntityId(name, key or ""), operation)
        except InvalidEntityIdError as error:
            return _error(400, str(error))
        return web.Response(status=404)

    def _get(self, entity: EntityId) -> web.Response:
        row = self._entities.read(entity)
        if row is None:
            return web.Response(status=404)
        return web.Response(status=200, text=row.state or "null", content_type="application/json")

    def _list(self, request: web.Request, name: str) -> web.Response:
        try:
            top = int(request.query.get("top", "100"))
        except ValueError:
            top = 100
        try:
            rows, token = self._entities.list_entities(
                name or None,
                top=top,
                continuation=request.headers.get("x-ms-continuation-token"),
                operated_from=_time(request, "lastOperationTimeFrom"),
                operated_to=_time(request, "lastOperationTimeTo"),
            )
        except InvalidEntityQueryError as error:
            return _error(400, str(error))
        fetch_state = request.query.get("fetchState", "").lower() == "true"
        return web.json_response(
            [entity_status(r, fetch_state) for r in rows], headers={"x-ms-continuation-token": token or ""}
        )

    async def _signal(self, request: web.Request, entity: EntityId, operation: str) -> web.Response:
        body = await request.text() if request.can_read_body else ""
        try:
            value = operation_value(body, request.content_type)
        except ValueError as error:
            return _error(400, f"Could not parse JSON content: {error}")
        self._entities.signal(entity, operation, value)
        self._wake()
        return web.Response(status=202)
