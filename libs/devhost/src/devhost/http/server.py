"""One aiohttp server per app: function routes under ``/{routePrefix}``, auth levels, admin API.

Matching Azure: a path that matches a route but not its methods is 404 (not 405); a missing or
wrong key is 401 with an empty body; an unhandled function error is 500 with an empty body.
Keys are read from ``?code=`` or the ``x-functions-key`` header. ``authLevel=function`` accepts
the function's key, a host key or the master key; ``admin`` only the master key. With
``no_auth`` (``devhost run --no-auth``) no key is checked, as Core Tools does locally.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from devhost.http.convert import UnsupportedReturnError, to_function_request, to_web_response
from devhost.http.keys import AppKeys
from devhost.http.routing import RouteTemplate, parse_route, split_path
from devhost.indexing import FunctionInfo
from devhost.invoke import Invoker
from devhost.triggers.base import Trigger

log = logging.getLogger("devhost.http")

ALL_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP-triggered function's route."""

    function: FunctionInfo
    template: RouteTemplate
    methods: frozenset[str]
    auth_level: str

    @classmethod
    def for_function(cls, function: FunctionInfo) -> HttpRoute:
        """Build the route; raises RouteTemplateError for a bad template."""
        route = function.trigger.get("route") or function.name
        methods = function.trigger.get("methods")
        return cls(
            function=function,
            template=parse_route(str(route)),
            methods=frozenset(str(m).upper() for m in methods) if methods else ALL_METHODS,
            auth_level=str(function.trigger.get("authLevel") or "function").lower(),
        )

    def url(self, base: str, prefix: str) -> str:
        path = "/".join(part for part in (prefix.strip("/"), self.template.template.strip("/")) if part)
        return f"{base}/{path}"


WebhookHandler = Callable[[web.Request, list[str]], Awaitable[web.StreamResponse]]
"""Serves ``/runtime/webhooks/<extension>/<segments>`` (it checks its own keys)."""


class HostState(Protocol):
    """What the HTTP server needs from the running app host."""

    app_name: str
    state: str
    started_monotonic: float

    @property
    def invoker(self) -> Invoker: ...

    triggers: dict[str, Trigger]
    unsupported: dict[str, str]

    def functions_metadata(self, base_url: str) -> list[dict[str, Any]]: ...


def _key_of(request: web.Request) -> str | None:
    return request.query.get("code") or request.headers.get("x-functions-key")


class AppHttpServer:
    """Routes requests to functions and serves the admin API for one app."""

    def __init__(
        self,
        host: HostState,
        routes: list[HttpRoute],
        route_prefix: str,
        keys: AppKeys,
        no_auth: bool,
        track: Callable[[asyncio.Task[Any]], None],
        webhooks: Mapping[str, WebhookHandler] | None = None,
    ) -> None:
        self._host = host
        self._routes = sorted(routes, key=lambda route: route.template.sort_key)
        self._prefix = [part for part in route_prefix.strip("/").split("/") if part]
        self._keys = keys
        self._no_auth = no_auth
        self._track = track
        self._webhooks = {name.lower(): handler for name, handler in (webhooks or {}).items()}

    def application(self) -> web.Application:
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_route("*", r"/{tail:[\s\S]*}", self._dispatch)  # newlines too (%0A)
        return app

    def _authorised(self, request: web.Request, level: str, function: str | None) -> bool:
        if self._no_auth or level == "anonymous":
            return True
        key = _key_of(request)
        if not key:
            return False
        if level == "admin" or function is None:
            return self._keys.accepts_admin(key)
        return self._keys.accepts_function(function, key)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        segments = split_path(request.path)
        if segments and segments[0].lower() == "admin":
            return await self._admin(request, segments[1:])
        lowered = [segment.lower() for segment in segments[:3]]
        if len(lowered) == 3 and lowered[:2] == ["runtime", "webhooks"] and lowered[2] in self._webhooks:
            return await self._webhooks[lowered[2]](request, segments[3:])
        head = [segment.lower() for segment in segments[: len(self._prefix)]]
        if head != [part.lower() for part in self._prefix]:
            return web.Response(status=404)
        rest = segments[len(self._prefix) :]
        for route in self._routes:
            params = route.template.match(rest)
            if params is None or request.method.upper() not in route.methods:
                continue
            if not self._authorised(request, route.auth_level, route.function.name):
                return web.Response(status=401)
            return await self._invoke_http(request, route, params)
        return web.Response(status=404)

    async def _invoke_http(
        self, request: web.Request, route: HttpRoute, params: dict[str, str]
    ) -> web.Response:
        function = route.function
        function_request = await to_function_request(request, params)
        result = await self._host.invoker.invoke(
            function,
            {function.trigger.name: function_request},
            f"This function was programmatically called via HTTP {request.method} {request.path}",
        )
        if not result.succeeded:
            return web.Response(status=500)
        output = next((b for b in function.outputs if b.type == "http"), None)
        value = result.return_value
        if output is not None and output.name != "$return":
            value = result.outputs.get(output.name)
        try:
            return to_web_response(value, function.name)
        except UnsupportedReturnError as error:
            log.error(str(error), extra={"function": function.name, "invocation_id": result.invocation_id})
            return web.Response(status=500)

    async def _admin(self, request: web.Request, segments: list[str]) -> web.StreamResponse:
        lowered = [segment.lower() for segment in segments]
        if lowered == ["host", "ping"]:
            return web.Response(status=200)
        if not self._authorised(request, "admin", None):
            return web.Response(status=401)
        if lowered == ["host", "status"] and request.method == "GET":
            return web.json_response(
                {
                    "id": self._host.app_name,
                    "state": self._host.state,
                    "version": "devhost",
                    "processUptime": int((time.monotonic() - self._host.started_monotonic) * 1000),
                }
            )
        if lowered == ["functions"] and request.method == "GET":
            base = f"{request.scheme}://{request.host}"
            return web.json_response(self._host.functions_metadata(base))
        if len(lowered) == 2 and lowered[0] == "functions" and request.method == "POST":
            return await self._admin_invoke(request, segments[1])
        return web.Response(status=404)

    async def _admin_invoke(self, request: web.Request, name: str) -> web.Response:
        trigger = next((t for fn, t in self._host.triggers.items() if fn.lower() == name.lower()), None)
        if trigger is None and any(route.function.name.lower() == name.lower() for route in self._routes):
            return web.json_response(
                {"error": f"{name} is an HTTP function; call its URL instead of the admin API"}, status=400
            )
        if trigger is None:
            reason = next((r for fn, r in self._host.unsupported.items() if fn.lower() == name.lower()), None)
            if reason is not None:
                return web.json_response({"error": reason}, status=400)
            return web.Response(status=404)
        text = await request.text()
        input_text = ""
        if text.strip():
            try:
                body = json.loads(text)
            except json.JSONDecodeError:
                return web.json_response({"error": 'body must be JSON like {"input": "..."}'}, status=400)
            if isinstance(body, dict) and body.get("input") is not None:
                value = body["input"]
                input_text = value if isinstance(value, str) else json.dumps(value)
        try:
            arguments = trigger.admin_arguments(input_text)
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)
        task = asyncio.ensure_future(
            self._host.invoker.invoke(
                trigger.function,
                arguments,
                "This function was programmatically called via the host APIs.",
                use_retry=False,
            )
        )
        self._track(task)
        return web.Response(status=202)
