"""The Durable client's calls to its own app's management API, served in process.

The SDK's ``DurableOrchestrationClient`` sends every call (``start_new``, ``raise_event``,
``get_status``, ``terminate``, ``signal_entity``, purge, rewind...) with ``post_async_request``,
``get_async_request`` or ``delete_async_request`` (``models/utils/http_utils.py``, each returning
``[status, json_body]``) to ``rpcBaseUrl``: the worker's own HTTP server. In the app's worker
process those names are replaced (where the SDK imported them: ``DurableOrchestrationClient``'s
module globals, which each client copies when it is built). A replacement serves a URL of this
worker's server under ``/runtime/webhooks/durabletask/`` through the server's own request handler
(:mod:`devhost.durable.inprocess_http`), so routing, key checks, status codes and bodies are what
HTTP gives, without the aiohttp client, the socket and the server's parser. Any other URL, and any
call once the server has stopped, goes to the SDK's own function (real HTTP).

App setting :data:`SETTING` (``inprocess``, the default, or ``http``) chooses; a bad value is
refused at app start with :class:`ClientTransportSettingError`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from types import ModuleType
from typing import Any

from aiohttp import web
from yarl import URL

from devhost.durable.inprocess_http import ServedResponse, serve
from devhost.errors import SettingsError

log = logging.getLogger("devhost.durable")

SETTING = "DEVHOST_DURABLE_CLIENT_TRANSPORT"
WEBHOOK_PREFIX = "/runtime/webhooks/durabletask/"
SDK_PACKAGE = "azure.durable_functions"
SDK_CLIENT_MODULE = "azure.durable_functions.models.DurableOrchestrationClient"
SDK_HTTP_MODULE = "azure.durable_functions.models.utils.http_utils"
REQUEST_FUNCTIONS = ("post_async_request", "get_async_request", "delete_async_request")

RunnerSource = Callable[[], web.BaseRunner | None]
RequestFunction = Callable[..., Awaitable[list[Any]]]


class ClientTransport(StrEnum):
    """How a Durable client reaches its own app's management API."""

    INPROCESS = "inprocess"
    HTTP = "http"


class ClientTransportSettingError(SettingsError):
    """The :data:`SETTING` app setting holds a value other than ``inprocess`` or ``http``."""


def client_transport(value: str | None) -> ClientTransport:
    """The transport app setting :data:`SETTING` asks for; unset or blank is ``inprocess``.

    Case and surrounding spaces are ignored. Raises ClientTransportSettingError naming the setting
    and the allowed values for anything else.
    """
    if value is None or not value.strip():
        return ClientTransport.INPROCESS
    try:
        return ClientTransport(value.strip().lower())
    except ValueError:
        allowed = " or ".join(repr(t.value) for t in ClientTransport)
        raise ClientTransportSettingError(f"app setting {SETTING} must be {allowed}, got {value!r}") from None


@dataclass(frozen=True)
class OwnServer:
    """The scheme/hosts/port under which this worker's HTTP server is reached."""

    port: int
    hosts: frozenset[str] = frozenset({"127.0.0.1", "localhost"})

    @classmethod
    def bound_to(cls, bind: str, port: int) -> OwnServer:
        """The names that reach a server listening on ``bind:port`` (loopback or all addresses)."""
        if bind in ("127.0.0.1", "0.0.0.0"):
            return cls(port)
        return cls(port, frozenset({bind.lower()}))

    def serves(self, url: URL) -> bool:
        """Whether ``url`` is this server's Durable management API (any credentials, any query)."""
        return (
            url.scheme == "http"
            and (url.host or "").lower() in self.hosts
            and url.port == self.port
            and url.path.lower().startswith(WEBHOOK_PREFIX)
        )


class InProcessClientTransport:
    """The SDK's three request functions, serving this worker's own management URLs in process.

    ``runner`` gives the app's running ``web.AppRunner`` (None before start); ``loop`` is the loop
    the server runs on. Calls from another loop (code running ``asyncio.run`` on another
    thread) are handed to the server's loop; calls on it run there directly. Either way the
    handler runs in its own task, so a cancelled caller does not cut it short (as with a socket).
    """

    def __init__(self, runner: RunnerSource, loop: asyncio.AbstractEventLoop, own: OwnServer) -> None:
        self._runner = runner
        self._loop = loop
        self._own = own
        self._handlers: set[asyncio.Task[ServedResponse]] = set()
        self._counting = threading.Lock()
        self.served_in_process = 0
        """Calls answered by the in-process path."""
        self.sent_over_http = 0
        """Calls handed to the SDK's own functions (other URLs, or no server running)."""
        http_utils = importlib.import_module(SDK_HTTP_MODULE)
        self.originals: dict[str, RequestFunction] = {n: getattr(http_utils, n) for n in REQUEST_FUNCTIONS}
        """The SDK's own functions, which every call this transport does not serve goes to."""
        self.replacements: dict[str, RequestFunction] = {
            "post_async_request": self.post_async_request,
            "get_async_request": self.get_async_request,
            "delete_async_request": self.delete_async_request,
        }
        """The functions put in place of the SDK's, by the SDK's names."""

    async def post_async_request(
        self,
        url: str,
        data: Any = None,
        trace_parent: str | None = None,
        trace_state: str | None = None,
        function_invocation_id: str | None = None,
    ) -> list[Any]:
        """The SDK's ``post_async_request``: ``[status, parsed JSON body or None]``."""
        headers = [
            ("traceparent", trace_parent),
            ("tracestate", trace_state),
            ("X-Azure-Functions-InvocationId", function_invocation_id),
        ]
        body = None if data is None else json.dumps(data).encode("utf-8")  # the client's json=
        served = await self._serve("POST", url, body, headers)
        if served is None:
            return await self.originals["post_async_request"](
                url, data, trace_parent, trace_state, function_invocation_id
            )
        return [served.status, served.json()]

    async def get_async_request(self, url: str, function_invocation_id: str | None = None) -> list[Any]:
        """The SDK's ``get_async_request``: ``[status, parsed JSON body]``, ``""`` for no body."""
        headers = [("X-Azure-Functions-InvocationId", function_invocation_id)]
        served = await self._serve("GET", url, None, headers)
        if served is None:
            return await self.originals["get_async_request"](url, function_invocation_id)
        data = served.json()
        return [served.status, "" if data is None else data]

    async def delete_async_request(self, url: str, function_invocation_id: str | None = None) -> list[Any]:
        """The SDK's ``delete_async_request``: ``[status, parsed JSON body or None]``."""
        headers = [("X-Azure-Functions-InvocationId", function_invocation_id)]
        served = await self._serve("DELETE", url, None, headers)
        if served is None:
            return await self.originals["delete_async_request"](url, function_invocation_id)
        return [served.status, served.json()]

    async def _serve(
        self, method: str, url: str, body: bytes | None, headers: list[tuple[str, str | None]]
    ) -> ServedResponse | None:
        try:
            parsed = URL(url)
        except (ValueError, TypeError):
            parsed = None
        runner = self._runner()
        server = runner.server if runner is not None else None
        if parsed is None or server is None or not self._own.serves(parsed) or not self._loop.is_running():
            with self._counting:
                self.sent_over_http += 1
            return None
        with self._counting:
            self.served_in_process += 1
        sent = [(name, value) for name, value in headers if value]
        handling = self._handle(server, method, parsed, body, sent)
        if asyncio.get_running_loop() is self._loop:
            return await handling
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(handling, self._loop))

    async def _handle(
        self, server: web.Server, method: str, url: URL, body: bytes | None, headers: list[tuple[str, str]]
    ) -> ServedResponse:
        task = asyncio.ensure_future(serve(server, method, url, body, headers))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        return await asyncio.shield(task)


@dataclass
class InstalledTransport:
    """The replacements put into the SDK's modules; :meth:`uninstall` puts the originals back."""

    transport: InProcessClientTransport
    patched: list[tuple[ModuleType, str, Any]]

    def uninstall(self) -> None:
        """Restore the SDK's functions where they were replaced (clients built since keep theirs)."""
        for module, name, original in self.patched:
            if getattr(module, name, None) is self.transport.replacements[name]:
                setattr(module, name, original)
        self.patched.clear()
        log.info(
            "Durable client calls to this app: %d served in process, %d over HTTP",
            self.transport.served_in_process,
            self.transport.sent_over_http,
        )


def sdk_importers() -> Iterable[ModuleType]:
    """The loaded SDK modules (but ``http_utils`` itself) holding one of the request functions.

    ``DurableOrchestrationClient`` is the only one in azure-functions-durable 1.x; the scan keeps a
    later SDK that imports the functions elsewhere on the same path.
    """
    originals = {id(getattr(importlib.import_module(SDK_HTTP_MODULE), n)) for n in REQUEST_FUNCTIONS}
    importlib.import_module(SDK_CLIENT_MODULE)
    for name, module in list(sys.modules.items()):
        if module is None or name == SDK_HTTP_MODULE or not name.startswith(SDK_PACKAGE):
            continue
        if any(id(getattr(module, n, None)) in originals for n in REQUEST_FUNCTIONS):
            yield module


def install(transport: InProcessClientTransport) -> InstalledTransport:
    """Replace the SDK's request functions in every SDK module that imported them.

    Only clients built afterwards use the replacements (a client copies them when built). Raises
    RuntimeError when no SDK module holds them (an SDK whose client no longer uses these names).
    """
    replacements = transport.replacements
    patched: list[tuple[ModuleType, str, Any]] = []
    for module in sdk_importers():
        for name, replacement in replacements.items():
            original = getattr(module, name, None)
            if original is transport.originals[name]:
                setattr(module, name, replacement)
                patched.append((module, name, original))
    if not patched:
        raise RuntimeError(
            f"{SDK_CLIENT_MODULE} does not import {', '.join(REQUEST_FUNCTIONS)}; set app setting "
            f"{SETTING}=http for this azure-functions-durable version"
        )
    return InstalledTransport(transport, patched)
