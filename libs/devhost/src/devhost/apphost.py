"""One app's host: settings, indexing, HTTP server, trigger plugins, orderly start and stop.

This is what runs inside each app's worker process (``devhost.worker``); tests and
``devhost invoke`` can also use it in-process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from devhost.clock import Clock, SystemClock
from devhost.errors import DevhostError
from devhost.hostjson import HostConfig, load_host_json
from devhost.http.keys import AppKeys, load_or_create_keys
from devhost.http.server import AppHttpServer, HttpRoute
from devhost.indexing import AppIndex, FunctionInfo, load_app
from devhost.invoke import InvocationResult, Invoker, default_thread_count
from devhost.language_pool import SETTING as WORKER_PROCESS_COUNT
from devhost.language_pool import LanguageWorkerPool, LanguageWorkerPoolFailure, worker_process_count
from devhost.provisioning import provision_app
from devhost.settings import AppSettings, ConnectionResolver, load_app_settings, resolve_binding
from devhost.state import STATE_DIR_VARIABLE
from devhost.triggers.base import AppContext, Trigger, TriggerRegistry, default_registry
from devhost.triggers.durable import bind_durable_clients, uses_durable

if TYPE_CHECKING:
    from devhost.durable.host import DurableHost

log = logging.getLogger("devhost.host")


@dataclass(frozen=True)
class FunctionStatus:
    """How one function is served: ``ready``, ``disabled``, ``error`` or ``unsupported``."""

    name: str
    trigger_type: str
    state: str
    detail: str = ""
    methods: tuple[str, ...] = ()
    route: str | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trigger": self.trigger_type,
            "state": self.state,
            "detail": self.detail,
            "methods": list(self.methods),
            "route": self.route,
            "message": self.message,
        }


def apply_settings_to_environment(settings: AppSettings) -> None:
    """Copy local.settings.json Values into os.environ unless already set (Core Tools' rule)."""
    for key, value in settings.from_file.items():
        if not os.environ.get(key):
            os.environ[key] = value


class AppHost:
    """Loads and runs one function app on one port."""

    def __init__(
        self,
        app_dir: Path,
        state_dir: Path,
        port: int,
        *,
        app_name: str | None = None,
        no_auth: bool = False,
        clock: Clock | None = None,
        registry: TriggerRegistry | None = None,
        bind: str = "127.0.0.1",
    ) -> None:
        self.app_dir = app_dir.resolve()
        self.app_name = app_name or self.app_dir.name
        self.state_dir = state_dir.resolve()
        self.port = port
        self.no_auth = no_auth
        self.clock: Clock = clock or SystemClock()
        self.registry = registry or default_registry()
        self.bind = bind
        self.state = "Default"
        self.started_monotonic = time.monotonic()
        self.triggers: dict[str, Trigger] = {}
        self.unsupported: dict[str, str] = {}
        self.statuses: list[FunctionStatus] = []
        self.routes: list[HttpRoute] = []
        self.index: AppIndex | None = None
        self.settings: AppSettings | None = None
        self.host_config = HostConfig()
        self._invoker: Invoker | None = None
        self._language_workers: LanguageWorkerPool | None = None
        self._runner: web.AppRunner | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.keys: AppKeys | None = None
        self._context: AppContext | None = None
        self.durable: DurableHost | None = None

    @property
    def context(self) -> AppContext:
        if self._context is None:
            raise RuntimeError("app host not started")
        return self._context

    @property
    def invoker(self) -> Invoker:
        if self._invoker is None:
            raise RuntimeError("app host not started")
        return self._invoker

    @property
    def base_url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def web_runner(self) -> web.AppRunner | None:
        """The HTTP server's runner once started (its ``server`` is None again after stop)."""
        return self._runner

    def load(self) -> list[FunctionStatus]:
        """Read settings and host.json, import and index the app, and decide how each function runs.

        Raises AppLoadError (import/indexing), SettingsError or HostJsonError. A function whose
        bindings cannot be resolved is reported in error; the others still run, as in Azure.
        """
        self.settings = load_app_settings(self.app_dir)
        apply_settings_to_environment(self.settings)
        os.environ[STATE_DIR_VARIABLE] = str(self.state_dir)  # bootstrap.py opens the same state
        self.host_config = load_host_json(self.app_dir)
        self.index = load_app(self.app_dir, self.app_name)
        for warning in self.index.warnings:
            log.warning("%s", warning)
        statuses = []
        for function in self.index.functions:
            statuses.append(self._plan(function))
        self.statuses = statuses
        return statuses

    def _plan(self, function: FunctionInfo) -> FunctionStatus:
        assert self.settings is not None
        trigger_type = function.trigger.type
        if self.settings.is_true(f"AzureWebJobs.{function.name}.Disabled"):
            return FunctionStatus(function.name, trigger_type, "disabled", message="disabled by app setting")
        try:
            trigger = resolve_binding(
                {**function.trigger.settings, "type": trigger_type}, self.settings, function.name
            )
            bindings = tuple(
                type(binding)(
                    binding.type,
                    binding.direction,
                    binding.name,
                    resolve_binding(binding.settings, self.settings, function.name),
                )
                for binding in function.bindings
            )
        except DevhostError as error:
            return FunctionStatus(function.name, trigger_type, "error", message=str(error))
        trigger.pop("type")
        resolved = function.with_bindings(
            type(function.trigger)(trigger_type, function.trigger.direction, function.trigger.name, trigger),
            bindings,
        )
        resolved = bind_durable_clients(resolved, self._durable_client_binding)
        for output in resolved.outputs:
            if output.type != "http" and self.registry.output_handler(output.type) is None:
                log.warning(
                    "Function '%s': output binding '%s' of type '%s' is not supported by devhost yet; "
                    "values set on it are dropped",
                    function.name,
                    output.name,
                    output.type,
                )
        if trigger_type == "httpTrigger":
            try:
                route = HttpRoute.for_function(resolved)
            except DevhostError as error:
                return FunctionStatus(function.name, trigger_type, "error", message=str(error))
            self.routes.append(route)
            methods = tuple(sorted(route.methods)) if function.trigger.get("methods") else ()
            return FunctionStatus(
                function.name,
                trigger_type,
                "ready",
                detail=route.auth_level,
                methods=methods,
                route=route.url("", self.host_config.route_prefix),
            )
        factory = self.registry.trigger_factory(trigger_type)
        if factory is None:
            reason = f"trigger type '{trigger_type}' is not supported by devhost yet"
            self.unsupported[function.name] = reason
            return FunctionStatus(function.name, trigger_type, "unsupported", message=reason)
        self.triggers[function.name] = factory(resolved)
        detail = str(trigger.get("schedule", "")) if trigger_type == "timerTrigger" else ""
        return FunctionStatus(function.name, trigger_type, "ready", detail=detail)

    def _durable_client_binding(self) -> str:
        if self.durable is None:
            raise RuntimeError("the durable host is not started")
        return self.durable.client_binding()

    def functions_metadata(self, base_url: str) -> list[dict[str, Any]]:
        """The ``GET /admin/functions`` listing (a subset of Azure's FunctionMetadataResponse)."""
        assert self.index is not None
        result = []
        status_by_name = {status.name: status for status in self.statuses}
        for function in self.index.functions:
            status = status_by_name.get(function.name)
            entry: dict[str, Any] = {
                "name": function.name,
                "language": "python",
                "href": f"{base_url}/admin/functions/{function.name}",
                "config": {
                    "bindings": [
                        {"type": b.type, "direction": b.direction, "name": b.name, **b.settings}
                        for b in (function.trigger, *function.bindings)
                    ]
                },
                "isDisabled": status is not None and status.state == "disabled",
                "state": status.state if status else "unknown",
            }
            if status is not None and status.route is not None:
                entry["invoke_url_template"] = f"{base_url}{status.route}"
            result.append(entry)
        return result

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _deliver_outputs(self, function: FunctionInfo, result: InvocationResult) -> None:
        values = dict(result.outputs)
        returned = next((b for b in function.outputs if b.name == "$return"), None)
        if returned is not None and returned.type != "http" and result.return_value is not None:
            values["$return"] = result.return_value
        for binding in function.outputs:
            if binding.type == "http" or binding.name not in values:
                continue
            handler = self.registry.output_handler(binding.type)
            if handler is None:
                log.warning(
                    "Function '%s': value for output binding '%s' (type '%s') dropped: not supported by "
                    "devhost yet",
                    function.name,
                    binding.name,
                    binding.type,
                )
                continue
            await handler.deliver(self.context, function, binding, values[binding.name])

    async def start(
        self,
        drain_timeout: float = 30.0,
        on_language_worker_failure: Callable[[LanguageWorkerPoolFailure], None] | None = None,
    ) -> None:
        """Start the HTTP server and every trigger; state becomes ``Running``.

        ``on_language_worker_failure`` is called when the language-worker pool gives up (a child
        cannot load the app, or children keep exiting); the caller should then stop the host.
        Raises OSError when the port cannot be bound.
        """
        if self.index is None or self.settings is None:
            self.load()
        assert self.index is not None and self.settings is not None
        self.state = "Starting"
        self.keys = load_or_create_keys(
            self.state_dir, self.app_name, [route.function.name for route in self.routes]
        )
        process_count = worker_process_count(self.settings.get(WORKER_PROCESS_COUNT))
        if process_count > 1:
            self._language_workers = LanguageWorkerPool(
                self.app_dir, self.app_name, process_count, on_failure=on_language_worker_failure
            )
        self._invoker = Invoker(
            self.app_name,
            str(self.app_dir),
            self.host_config.function_timeout,
            default_thread_count(self.settings.get("PYTHON_THREADPOOL_THREAD_COUNT")),
            deliver_outputs=self._deliver_outputs,
            language_workers=self._language_workers,
        )
        self._context = AppContext(
            app_name=self.app_name,
            app_dir=self.app_dir,
            state_dir=self.state_dir,
            index=self.index,
            settings=self.settings,
            connections=ConnectionResolver(self.settings),
            host=self.host_config,
            invoker=self._invoker,
            clock=self.clock,
            logger=logging.getLogger(f"devhost.app.{self.app_name}"),
        )
        # The entities the app binds to exist before any trigger listens or output sends.
        await provision_app(self._context)
        if self._language_workers is not None:
            await self._language_workers.start()
        if uses_durable(self.index.functions):
            from devhost.durable.host import DurableHost

            self.durable = DurableHost(self._context, self.port, self.keys.master_key, self.no_auth)
        server = AppHttpServer(
            self,
            self.routes,
            self.host_config.route_prefix,
            self.keys,
            self.no_auth,
            self._track,
            webhooks={"durabletask": self.durable.handle} if self.durable is not None else None,
        )
        self._runner = web.AppRunner(server.application(), shutdown_timeout=drain_timeout, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind, self.port)
        await site.start()
        self.state = "Initialized"
        if self.durable is not None:
            self.durable.start()
        for name, trigger in list(self.triggers.items()):
            try:
                await trigger.start(self._context)
            except DevhostError as error:
                log.error("The '%s' function is in error: %s", name, error, extra={"function": name})
                del self.triggers[name]
                self.statuses = [
                    FunctionStatus(s.name, s.trigger_type, "error", message=str(error))
                    if s.name == name
                    else s
                    for s in self.statuses
                ]
        self.state = "Running"
        self._write_run_file()

    def _run_file(self) -> Path:
        return self.state_dir / "run" / f"{self.app_name}.json"

    def _write_run_file(self) -> None:
        path = self._run_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"pid": os.getpid(), "port": self.port, "app_dir": str(self.app_dir)}))

    async def stop(self, drain_timeout: float = 30.0) -> bool:
        """Stop taking work, let in-flight invocations finish (bounded), release everything.

        Returns True when every in-flight invocation finished within ``drain_timeout``.
        """
        self.state = "Stopping"
        deadline = time.monotonic() + drain_timeout
        if self.triggers:
            stops = [trigger.stop(drain=True) for trigger in self.triggers.values()]
            try:
                await asyncio.wait_for(asyncio.gather(*stops, return_exceptions=True), drain_timeout)
            except TimeoutError:
                log.warning("Triggers did not stop within %.0fs", drain_timeout)
        if self.durable is not None:
            await self.durable.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        drained = True
        if self._invoker is not None:
            drained = await self._invoker.drain(max(0.0, deadline - time.monotonic()))
            if not drained:
                log.warning("%d invocation(s) still running at shutdown", self._invoker.in_flight)
            self._invoker.close()
        if self._language_workers is not None:
            await self._language_workers.close()
        self._run_file().unlink(missing_ok=True)
        self.state = "Stopped"
        return drained
