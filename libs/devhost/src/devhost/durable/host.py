"""Durable Functions inside one app's worker: the engine, the management API, the client binding.

Promises:

- One task hub per app: ``<state>/apps/<app>/taskhub.db``; one engine per worker process drives
  it on a background thread (the worker is the hub's only dispatcher).
- Orchestrators and entities are the SDK handles the app registered (run by the engine thread, as the
  extension runs them). Activities go through the host's :class:`~devhost.invoke.Invoker` on the
  app's event loop, so each activity execution is logged, timed and bounded by functionTimeout
  like any invocation; a failed invocation becomes a TaskFailed event.
- The management API requires the extension's system key (``code=`` on every URL the client
  binding hands out) or the master key, unless the host runs with ``--no-auth``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from typing import Any

from aiohttp import BasicAuth, web

from devhost.durable.engine import Engine
from devhost.durable.entities_dispatch import batch_size_from
from devhost.durable.http_api import ManagementApi
from devhost.durable.links import ManagementLinks, load_or_create_system_key, task_hub_name
from devhost.durable.session import SessionSettings
from devhost.errors import HostJsonError
from devhost.hostjson import durable_task_value
from devhost.indexing import FunctionInfo
from devhost.state import StateLayout
from devhost.triggers.base import AppContext

log = logging.getLogger("devhost.durable")


class ActivityFailedError(Exception):
    """An activity invocation failed; the message carries the function's own error."""


def max_concurrent_activities(host_json: dict[str, Any]) -> int:
    """``extensions.durableTask.maxConcurrentActivityFunctions`` (keys case-insensitive), else
    Azure's default: 10 times the processor count.

    Raises HostJsonError naming the setting when it is not a positive integer.
    """
    configured = durable_task_value(host_json, "maxConcurrentActivityFunctions")
    if configured is None:
        return 10 * (os.cpu_count() or 1)
    if isinstance(configured, bool) or not isinstance(configured, int) or configured < 1:
        raise HostJsonError(
            "host.json extensions.durableTask.maxConcurrentActivityFunctions must be a positive "
            f"integer, not {configured!r}"
        )
    return configured


class DurableHost:
    """The engine, links and management API of one running app."""

    def __init__(self, ctx: AppContext, port: int, master_key: str | None, no_auth: bool) -> None:
        self._ctx = ctx
        layout = StateLayout(ctx.state_dir)
        app_dir = layout.app_dir(ctx.app_name)
        system_key = load_or_create_system_key(app_dir / "durabletask.keys.json")
        self._accepted_keys = [k for k in (system_key, master_key) if k]
        self._no_auth = no_auth
        self.links = ManagementLinks(
            origin=f"http://localhost:{port}",
            rpc_origin=f"http://127.0.0.1:{port}",
            hub=task_hub_name(ctx.host.raw, ctx.app_name),
            system_key=None if no_auth else system_key,
        )
        self.engine = Engine(
            app_dir / "taskhub.db",
            sessions=SessionSettings.from_host_json(ctx.host.raw),
            activity_workers=max_concurrent_activities(ctx.host.raw),
        )
        self.engine.entities.batch_size = batch_size_from(ctx.host.raw)
        self.api = ManagementApi(self.engine, self.links, self._authorised)
        self._loop: asyncio.AbstractEventLoop | None = None
        for function in ctx.index.functions:
            if ctx.settings.is_true(f"AzureWebJobs.{function.name}.Disabled"):
                continue
            kind = function.trigger.type.lower()
            if kind == "orchestrationtrigger":
                self.engine.register_orchestrator(function.name, function.user_function)
            elif kind == "activitytrigger":
                self.engine.register_activity(function.name, self._activity(function))
            elif kind == "entitytrigger":
                self.engine.entities.register(function.name, function.user_function)

    def client_binding(self) -> str:
        """The payload of a ``durableClient`` input binding (JSON text, as the host passes it)."""
        return self.links.client_binding()

    async def handle(self, request: web.Request, segments: list[str]) -> web.Response:
        """Serve ``/runtime/webhooks/durabletask/<segments>``."""
        return await self.api.handle(request, segments)

    def _authorised(self, request: web.Request) -> bool:
        if self._no_auth:
            return True
        offered = request.query.get("code") or request.headers.get("x-functions-key")
        header = request.headers.get("Authorization")
        if not offered and header:
            try:
                offered = BasicAuth.decode(header).password
            except ValueError:
                offered = None
        return bool(offered) and any(secrets.compare_digest(str(offered), k) for k in self._accepted_keys)

    def _activity(self, function: FunctionInfo) -> Any:
        reason = "This function was programmatically called via the durable task engine."

        def call(value: Any) -> Any:
            loop = self._loop
            if loop is None:
                raise RuntimeError("the durable host is not started")
            future = asyncio.run_coroutine_threadsafe(
                self._ctx.invoker.invoke(function, {function.trigger.name: value}, reason), loop
            )
            result = future.result()
            if not result.succeeded:
                error = result.error
                raise ActivityFailedError(f"{type(error).__name__}: {error}") from error
            return result.return_value

        call.__name__ = function.name
        return call

    def start(self) -> None:
        """Start dispatching on the running event loop's app (call from the host's loop)."""
        self._loop = asyncio.get_running_loop()
        self.engine.start()
        log.info("Durable task hub '%s' running (%s)", self.links.hub, self.engine.hub.path)

    async def stop(self) -> None:
        """Stop dispatching after the current step; in-flight activities finish first."""
        await asyncio.to_thread(self.engine.close)
