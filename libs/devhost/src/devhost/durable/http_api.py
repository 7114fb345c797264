"""The Durable HTTP management API (``/runtime/webhooks/durabletask/...``) over an :class:`Engine`.

Routes, query parameters, status codes and bodies follow the extension's ``HttpApiHandler``:

- ``POST orchestrators/{name}[/{id}]``: 202 + check-status payload, ``Location``, ``Retry-After:
  10``; 400 for an unknown orchestrator, a bad instance id or invalid JSON; 409 when the id is
  Pending, Running or Suspended.
- ``GET instances/{id}``: 200 Completed/Terminated/Failed (500 for Failed with
  ``returnInternalServerErrorOnFailure=true``), 202 Pending/Running/Suspended with ``Location``
  and ``Retry-After: 5``, 404 unknown. ``showInput`` (default true), ``showHistory``.
- ``GET instances``: filters ``runtimeStatus`` (comma list), ``createdTimeFrom``,
  ``createdTimeTo``, ``instanceIdPrefix``, ``top``; paging by ``x-ms-continuation-token``.
- ``POST instances/{id}/raiseEvent/{event}``: 202; 404 unknown; 410 ended; 400 unless JSON.
- ``POST instances/{id}/terminate|suspend|resume?reason=``: 202; 404; 410 ended.
- ``POST instances/{id}/rewind?reason=``: 202; 404; 412 unless Failed.
- ``POST instances/{id}/restart[?restartWithNewInstanceId=false]``: 202 + check-status payload;
  400 unknown id; 409 when restarting in place while it runs.
- ``DELETE instances/{id}``: 200 ``{"instancesDeleted": 1}``; 404; 412 unless ended.
- ``DELETE instances?createdTimeFrom=...``: 200 with the count; 404 when none; 400 without from.
- ``entities/...``: see :mod:`devhost.durable.entities_http`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from devhost.durable.engine import Engine
from devhost.durable.entities_http import EntityApi
from devhost.durable.errors import (
    InstanceAlreadyExistsError,
    InstanceNotFoundError,
    InstanceNotRunningError,
    UnknownFunctionError,
)
from devhost.durable.links import ManagementLinks
from devhost.durable.maintenance import (
    InstanceNotFailedError,
    InstanceQuery,
    InvalidContinuationTokenError,
    purge_instances,
    query_instances,
    rewind_instance,
)
from devhost.durable.sdk import loads
from devhost.durable.status import InstanceStatus, OrchestrationStatus

MAX_INSTANCE_ID_LENGTH = 256
_ENDED = (OrchestrationStatus.COMPLETED, OrchestrationStatus.FAILED, OrchestrationStatus.TERMINATED)

Authorizer = Callable[[web.Request], bool]


class InvalidInstanceIdError(ValueError):
    """An instance id breaks the extension's rules (empty, too long, '@' first, reserved chars)."""


def validate_instance_id(instance_id: str) -> None:
    """Raise InvalidInstanceIdError unless ``instance_id`` is one the extension accepts."""
    if not instance_id.strip():
        raise InvalidInstanceIdError("Instance ID must not be null or empty.")
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        raise InvalidInstanceIdError(
            f"Instance ID lengths must not exceed {MAX_INSTANCE_ID_LENGTH} characters."
        )
    if instance_id.startswith("@"):
        raise InvalidInstanceIdError(
            f"Orchestration instance ids must not start with @ (instance {instance_id!r}); "
            "'@' is reserved for entities."
        )
    if any(c in "/\\#?" or ord(c) < 32 or 127 <= ord(c) < 160 for c in instance_id):
        raise InvalidInstanceIdError(
            f"Instance ID '{instance_id}' contains invalid characters ('/', '\\', '#', '?' or control)."
        )


def status_payload(status: InstanceStatus) -> dict[str, Any]:
    """StatusResponsePayload: times as ``yyyy-MM-ddTHH:mm:ssZ``; ``historyEvents`` when asked."""
    body: dict[str, Any] = {
        "name": status.name,
        "instanceId": status.instance_id,
        "runtimeStatus": status.runtime_status.value,
        "input": status.input,
        "customStatus": status.custom_status,
        "output": status.output,
        "createdTime": status.created_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lastUpdatedTime": status.last_updated_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if status.history is not None:
        body["historyEvents"] = readable_history(status.history)
    return body


_KIND_NAMES = {
    0: "ExecutionStarted",
    1: "ExecutionCompleted",
    3: "ExecutionTerminated",
    4: "TaskScheduled",
    5: "TaskCompleted",
    6: "TaskFailed",
    7: "SubOrchestrationInstanceCreated",
    8: "SubOrchestrationInstanceCompleted",
    9: "SubOrchestrationInstanceFailed",
    10: "TimerCreated",
    11: "TimerFired",
    14: "EventSent",
    15: "EventRaised",
    16: "ContinueAsNew",
    19: "ExecutionSuspended",
    20: "ExecutionResumed",
}


def readable_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History as the extension's ``showHistory`` lists it: no OrchestratorStarted/Completed rows,
    ``EventType`` as a name, results decoded from JSON, and each completion named after its task."""
    names = {int(e["EventId"]): e.get("Name") for e in history if e["EventType"] in (4, 7)}
    rows: list[dict[str, Any]] = []
    for ev in history:
        kind = int(ev["EventType"])
        if kind not in _KIND_NAMES:
            continue
        row: dict[str, Any] = {"EventType": _KIND_NAMES[kind]}
        if kind == 1:
            row["OrchestrationStatus"] = ev.get("OrchestrationStatus")
        name = ev.get("Name") or names.get(int(ev.get("TaskScheduledId", -2)))
        if name:
            row["Name"] = name
        for field in ("Input", "Result"):
            if ev.get(field) is not None:
                row[field] = _maybe_json(ev[field])
        for field in ("Reason", "Details", "FireAt", "InstanceId"):
            if ev.get(field) is not None:
                row[field] = ev[field]
        if "TaskScheduledId" in ev:
            row["ScheduledId"] = ev["TaskScheduledId"]
        row["Timestamp"] = ev.get("Timestamp")
        rows.append(row)
    return rows


def _maybe_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def client_value(text: str) -> Any:
    """The value a JSON request body carries.

    The SDK's client JSON-encodes its payload and then posts that string as JSON (so the body is
    a JSON string holding JSON); the extension unwraps that layer when it hands the value to the
    worker. A plain JSON body (curl) is taken as is. Raises ValueError for invalid JSON.
    """
    value = json.loads(text)
    if isinstance(value, str):
        try:
            return loads(value)
        except ValueError:
            return value
    return value


def _error(status: int, message: str, exception: Exception | None = None) -> web.Response:
    body: dict[str, Any] = {"Message": message}
    if exception is not None:
        body.update(ExceptionMessage=str(exception), ExceptionType=type(exception).__name__)
    return web.json_response(body, status=status)


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None or value.lower() not in ("true", "false"):
        return default
    return value.lower() == "true"


def _time(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _statuses(request: web.Request) -> list[OrchestrationStatus]:
    wanted: list[OrchestrationStatus] = []
    for raw in request.query.getall("runtimeStatus", []):
        for part in raw.split(","):
            match = next((s for s in OrchestrationStatus if s.value.lower() == part.strip().lower()), None)
            if match is not None:
                wanted.append(match)
    return wanted


class ManagementApi:
    """Answers ``/runtime/webhooks/durabletask/<segments>`` for one app's engine."""

    def __init__(self, engine: Engine, links: ManagementLinks, authorize: Authorizer) -> None:
        self._engine = engine
        self._links = links
        self._authorize = authorize
        self._entity_api = EntityApi(engine.entities, engine.wake)

    async def handle(self, request: web.Request, segments: list[str]) -> web.Response:
        """Dispatch one request; ``segments`` are the path parts after ``durabletask``."""
        if not self._authorize(request):
            return web.Response(status=401)
        method = request.method.upper()
        head = segments[0].lower() if segments else ""
        if head == "entities":
            return await self._entity_api.handle(request, segments[1:])
        if head == "orchestrators" and len(segments) in (2, 3) and method == "POST":
            return await self._start(request, segments[1], segments[2] if len(segments) == 3 else None)
        if head != "instances":
            return web.Response(status=404)
        if len(segments) == 1:
            if method == "GET":
                return self._list(request)
            if method == "DELETE":
                return self._purge_by_filter(request)
            return web.Response(status=404)
        instance_id = segments[1]
        if len(segments) == 2:
            if method == "GET":
                return self._status(request, instance_id)
            if method == "DELETE":
                return self._purge_one(instance_id)
            return web.Response(status=404)
        operation = segments[2].lower()
        if method != "POST":
            return web.Response(status=404)
        if operation == "raiseevent" and len(segments) == 4:
            return await self._raise_event(request, instance_id, segments[3])
        if len(segments) != 3:
            return web.Response(status=404)
        reason = request.query.get("reason")
        if operation in ("terminate", "suspend", "resume"):
            return self._control(instance_id, operation, reason)
        if operation == "rewind":
            return self._rewind(instance_id, reason)
        if operation == "restart":
            return self._restart(request, instance_id)
        return web.Response(status=404)

    def _origin(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    def _accepted(self, request: web.Request, instance_id: str) -> web.Response:
        payload = self._links.check_status_payload(instance_id, self._origin(request))
        return web.json_response(
            payload,
            status=202,
            headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"},
        )

    async def _start(self, request: web.Request, name: str, instance_id: str | None) -> web.Response:
        text = await request.text() if request.can_read_body else ""
        data: Any = None
        if text:
            try:
                data = client_value(text)
            except ValueError as error:
                return _error(400, "Invalid JSON content", error)
        new_id = instance_id or uuid.uuid4().hex
        try:
            validate_instance_id(new_id)
            self._engine.start_new(name, new_id, data)
        except (InvalidInstanceIdError, UnknownFunctionError) as error:
            return _error(400, "One or more of the arguments submitted is incorrect", error)
        except InstanceAlreadyExistsError as error:
            return _error(409, str(error), error)
        return self._accepted(request, new_id)

    def _status(self, request: web.Request, instance_id: str) -> web.Response:
        status = self._engine.get_status(
            instance_id,
            show_history=_flag(request, "showHistory", False),
            show_input=_flag(request, "showInput", True),
        )
        if status is None:
            return web.Response(status=404)
        body = status_payload(status)
        if status.runtime_status in _ENDED:
            failed = status.runtime_status == OrchestrationStatus.FAILED
            code = 500 if failed and _flag(request, "returnInternalServerErrorOnFailure", False) else 200
            return web.json_response(body, status=code)
        return web.json_response(body, status=202, headers={"Location": str(request.url), "Retry-After": "5"})

    def _list(self, request: web.Request) -> web.Response:
        query = InstanceQuery(
            runtime_status=_statuses(request),
            created_from=_time(request, "createdTimeFrom"),
            created_to=_time(request, "createdTimeTo"),
            instance_id_prefix=request.query.get("instanceIdPrefix"),
        )
        try:
            top = int(request.query.get("top", "100"))
        except ValueError:
            top = 100
        show_input = _flag(request, "showInput", True)
        try:
            rows, token = query_instances(
                self._engine.hub, query, top, request.headers.get("x-ms-continuation-token")
            )
        except InvalidContinuationTokenError as error:
            return _error(400, str(error), error)
        bodies = []
        for row in rows:
            status = self._engine.get_status(row.instance_id, show_input=show_input)
            if status is not None:
                bodies.append(status_payload(status))
        return web.json_response(bodies, headers={"x-ms-continuation-token": token or ""})

    def _purge_one(self, instance_id: str) -> web.Response:
        status = self._engine.get_status(instance_id, show_input=False)
        if status is None:
            return web.Response(status=404)
        if status.runtime_status not in _ENDED:
            return web.json_response(
                "Only orchestrations in a terminal state can be purged, but the orchestration with "
                f"instance ID {instance_id} has status {status.runtime_status.value}",
                status=412,
            )
        deleted = purge_instances(self._engine.hub, InstanceQuery(), instance_id)
        return web.json_response({"instancesDeleted": deleted})

    def _purge_by_filter(self, request: web.Request) -> web.Response:
        created_from = _time(request, "createdTimeFrom")
        if created_from is None:
            return web.json_response("Please provide value for 'createdTimeFrom' parameter.", status=400)
        query = InstanceQuery(
            runtime_status=_statuses(request),
            created_from=created_from,
            created_to=_time(request, "createdTimeTo") or datetime.now(UTC),
        )
        deleted = purge_instances(self._engine.hub, query)
        if deleted == 0:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    async def _raise_event(self, request: web.Request, instance_id: str, event_name: str) -> web.Response:
        status = self._engine.get_status(instance_id, show_input=False)
        if status is None:
            return web.Response(status=404)
        if status.runtime_status in _ENDED:
            return web.Response(status=410)
        if request.content_type.lower() != "application/json":
            return _error(400, "Only application/json request content is supported")
        text = await request.text()
        try:
            data = client_value(text) if text else None
        except ValueError as error:
            return _error(400, "Invalid JSON content", error)
        try:
            self._engine.raise_event(instance_id, event_name, data)
        except InstanceNotFoundError:
            return web.Response(status=404)
        except InstanceNotRunningError:
            return web.Response(status=410)
        return web.Response(status=202)

    def _control(self, instance_id: str, operation: str, reason: str | None) -> web.Response:
        actions = {
            "terminate": self._engine.terminate,
            "suspend": self._engine.suspend,
            "resume": self._engine.resume,
        }
        try:
            actions[operation](instance_id, reason)
        except InstanceNotFoundError:
            return web.Response(status=404)
        except InstanceNotRunningError:
            return web.Response(status=410)
        return web.Response(status=202)

    def _rewind(self, instance_id: str, reason: str | None) -> web.Response:
        try:
            rewind_instance(self._engine.hub, instance_id, reason, datetime.now(UTC))
        except InstanceNotFoundError:
            return web.json_response(f'No orchestration with instance ID "{instance_id}" found.', status=404)
        except InstanceNotFailedError as error:
            return web.json_response(str(error), status=412)
        self._engine.wake()
        return web.Response(status=202)

    def _restart(self, request: web.Request, instance_id: str) -> web.Response:
        status = self._engine.get_status(instance_id, show_input=True)
        if status is None:
            error = InstanceNotFoundError(instance_id)
            return _error(400, "InstanceId does not match a valid orchestration instance.", error)
        new_id = uuid.uuid4().hex if _flag(request, "restartWithNewInstanceId", True) else instance_id
        try:
            self._engine.start_new(status.name, new_id, status.input)
        except InstanceAlreadyExistsError as error:
            return _error(409, "A non-terminal instance with this instance ID already exists.", error)
        except UnknownFunctionError as error:
            return _error(400, "InstanceId does not match a valid orchestration instance.", error)
        return self._accepted(request, new_id)
