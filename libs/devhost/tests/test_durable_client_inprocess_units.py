"""The in-process Durable client transport, against real aiohttp servers in this test process.

Each request is sent both ways to the same server: over a socket by the SDK's own request
functions, and in process by the transport; the handler must see the same request and the
caller must get the same ``[status, body]``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from azure.durable_functions.models.utils import http_utils
from yarl import URL

from devhost.durable.client_transport import (
    SDK_CLIENT_MODULE,
    SETTING,
    ClientTransport,
    ClientTransportSettingError,
    InProcessClientTransport,
    OwnServer,
    client_transport,
    install,
    sdk_importers,
)
from devhost.testing import free_port_block

WEBHOOK = "/runtime/webhooks/durabletask/"
client_module = importlib.import_module(SDK_CLIENT_MODULE)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/x",
        "http://localhost:7071/runtime/webhooks/durabletask/orchestrators/f?code=k",
        "http://durabletask_extension:key@127.0.0.1:7071/runtime/webhooks/durabletask/instances",
        "http://LOCALHOST:7071/Runtime/Webhooks/DurableTask/instances/x",
    ],
)
def test_a_url_of_the_own_servers_management_api_is_served_in_process(url: str) -> None:
    assert OwnServer(7071).serves(URL(url))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:7072/runtime/webhooks/durabletask/instances/x",
        "http://10.0.0.5:7071/runtime/webhooks/durabletask/instances/x",
        "http://example.com:7071/runtime/webhooks/durabletask/instances/x",
        "https://127.0.0.1:7071/runtime/webhooks/durabletask/instances/x",
        "http://127.0.0.1:7071/api/orders",
        "http://127.0.0.1:7071/runtime/webhooks/durabletask",
        "http://127.0.0.1:7071/runtime/webhooks/eventgrid/x",
        "http://127.0.0.1:7071/admin/host/status",
        "http://127.0.0.1/runtime/webhooks/durabletask/instances/x",
    ],
)
def test_other_hosts_ports_schemes_and_paths_are_not_served_in_process(url: str) -> None:
    assert not OwnServer(7071).serves(URL(url))


def test_a_server_bound_to_another_address_is_reached_only_by_that_address() -> None:
    own = OwnServer.bound_to("10.1.2.3", 7071)
    assert own.serves(URL(f"http://10.1.2.3:7071{WEBHOOK}instances"))
    assert not own.serves(URL(f"http://127.0.0.1:7071{WEBHOOK}instances"))
    assert OwnServer.bound_to("0.0.0.0", 7071).serves(URL(f"http://localhost:7071{WEBHOOK}instances"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ClientTransport.INPROCESS),
        ("", ClientTransport.INPROCESS),
        ("inprocess", ClientTransport.INPROCESS),
        (" HTTP ", ClientTransport.HTTP),
    ],
)
def test_the_setting_chooses_the_transport_and_defaults_to_in_process(
    value: str | None, expected: ClientTransport
) -> None:
    assert client_transport(value) is expected


def test_a_bad_setting_value_is_refused_naming_the_setting_and_the_allowed_values() -> None:
    with pytest.raises(ClientTransportSettingError) as raised:
        client_transport("grpc")
    assert SETTING in str(raised.value) and "'inprocess' or 'http'" in str(raised.value)
    assert "'grpc'" in str(raised.value)


@dataclass
class Seen:
    """What a handler was given: the parsed message and what the request reads as."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    raw_headers: tuple[tuple[bytes, bytes], ...]
    url: str
    path: str
    query: list[tuple[str, str]]
    host: str
    scheme: str
    remote: str | None
    content_type: str
    can_read_body: bool
    body: bytes


@dataclass
class Recorder:
    """A management-API stand-in: records each request, answers as the test path asks."""

    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event | None = None
    waiting: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        message = request._message
        can_read = request.can_read_body
        self.seen.append(
            Seen(
                message.method,
                message.path,
                list(message.headers.items()),
                message.raw_headers,
                str(message.url),
                request.path,
                list(request.query.items()),
                request.host,
                request.scheme,
                request.remote,
                request.content_type,
                can_read,
                await request.read(),
            )
        )
        answer = request.path.rsplit("/", 1)[-1]
        if answer == "json":
            return web.json_response({"echo": request.query.get("v"), "url": str(request.url)}, status=202)
        if answer == "empty":
            return web.Response(status=404)
        if answer == "latin1":
            return web.Response(text='"caf\u00e9"', content_type="application/json", charset="latin-1")
        if answer == "refused":
            raise web.HTTPGone(text='{"gone": true}', content_type="application/json")
        if answer == "crash":
            raise ValueError("the handler failed")
        if answer == "slow" and self.release is not None:
            self.waiting.set()
            await self.release.wait()
            self.answered.set()
        return web.Response(status=200, text="null", content_type="application/json")


@dataclass
class Served:
    recorder: Recorder
    runner: web.AppRunner
    port: int


async def _start(recorder: Recorder) -> Served:
    app = web.Application(client_max_size=100 * 1024 * 1024)
    app.router.add_route("*", r"/{tail:[\s\S]*}", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port_block(1)
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return Served(recorder, runner, port)


def _run(scenario: Callable[[Served, InProcessClientTransport], Awaitable[None]]) -> None:
    async def main() -> None:
        served = await _start(Recorder())
        transport = InProcessClientTransport(
            lambda: served.runner, asyncio.get_running_loop(), OwnServer(served.port)
        )
        try:
            await scenario(served, transport)
        finally:
            await http_utils._close_session()
            await served.runner.cleanup()

    asyncio.run(main())


CALLS: list[tuple[str, str, tuple[Any, ...]]] = [
    (
        "post_async_request",
        "orchestrators/f/id%201\u00e9/json?v=b c&d=%41",
        ('{"a": "\u00e9"}', "00-tp-01", "ts", "inv"),
    ),
    ("post_async_request", "instances/x/terminate/empty?reason=why%20not", (None, None, None, "inv-2")),
    ("post_async_request", "instances/x/raiseEvent/e/refused", (json.dumps([1, 2]),)),
    ("post_async_request", "instances/x/latin1", ({"not": "a string"},)),
    ("get_async_request", "instances/x/json?v=1&showInput=true", ("inv-3",)),
    ("get_async_request", "instances/x/empty", ()),
    ("get_async_request", "instances/x/null", ()),
    ("delete_async_request", "instances/x/json?v=2", ("inv-4",)),
    ("delete_async_request", "instances/x/empty", ()),
]


@pytest.mark.parametrize(("function", "path", "arguments"), CALLS)
def test_the_handler_sees_the_same_request_and_the_caller_gets_the_same_answer_as_over_http(
    function: str, path: str, arguments: tuple[Any, ...]
) -> None:
    async def scenario(served: Served, transport: InProcessClientTransport) -> None:
        url = f"http://durabletask_extension:s3cret@127.0.0.1:{served.port}{WEBHOOK}{path}"
        over_http = await transport.originals[function](url, *arguments)
        in_process = await transport.replacements[function](url, *arguments)
        assert in_process == over_http
        assert transport.served_in_process == 1 and transport.sent_over_http == 0
        by_socket, by_call = served.recorder.seen
        assert by_call == by_socket

    _run(scenario)


def test_a_handler_error_is_a_500_that_the_caller_cannot_parse_either_way() -> None:
    async def scenario(served: Served, transport: InProcessClientTransport) -> None:
        url = f"http://127.0.0.1:{served.port}{WEBHOOK}instances/x/crash"
        with pytest.raises(json.JSONDecodeError) as over_http:
            await transport.originals["get_async_request"](url)
        with pytest.raises(json.JSONDecodeError) as in_process:
            await transport.get_async_request(url)
        assert (
            in_process.value.doc
            == over_http.value.doc
            == "500 Internal Server Error\n\nServer got itself in trouble"
        )

    _run(scenario)


def test_other_urls_go_over_http_through_the_sdks_own_function() -> None:
    async def scenario(served: Served, transport: InProcessClientTransport) -> None:
        other = OwnServer(served.port + 1)
        elsewhere = InProcessClientTransport(lambda: served.runner, asyncio.get_running_loop(), other)
        answer = await elsewhere.get_async_request(f"http://127.0.0.1:{served.port}{WEBHOOK}i/json?v=7")
        assert answer[0] == 202 and answer[1]["echo"] == "7"
        assert elsewhere.sent_over_http == 1 and elsewhere.served_in_process == 0
        assert http_utils._client_session is not None, "the SDK's own session carried it"

    _run(scenario)


def test_once_the_server_has_stopped_a_call_fails_as_it_does_over_http() -> None:
    async def main() -> None:
        served = await _start(Recorder())
        transport = InProcessClientTransport(
            lambda: served.runner, asyncio.get_running_loop(), OwnServer(served.port)
        )
        await served.runner.cleanup()
        try:
            with pytest.raises(aiohttp.ClientConnectionError):
                await transport.get_async_request(f"http://127.0.0.1:{served.port}{WEBHOOK}instances/x/json")
        finally:
            await http_utils._close_session()
        assert transport.sent_over_http == 1 and not served.recorder.seen

    asyncio.run(main())


def test_a_call_from_another_threads_event_loop_is_served_on_the_servers_loop() -> None:
    async def scenario(served: Served, transport: InProcessClientTransport) -> None:
        url = f"http://127.0.0.1:{served.port}{WEBHOOK}instances/x/json?v=from-thread"
        answer = await asyncio.to_thread(asyncio.run, transport.get_async_request(url))
        assert answer[0] == 202 and answer[1]["echo"] == "from-thread"
        assert transport.served_in_process == 1 and http_utils._client_session is None

    _run(scenario)


def test_a_cancelled_caller_does_not_cut_the_handler_short() -> None:
    async def scenario(served: Served, transport: InProcessClientTransport) -> None:
        served.recorder.release = asyncio.Event()
        url = f"http://127.0.0.1:{served.port}{WEBHOOK}instances/x/slow"
        call = asyncio.ensure_future(transport.get_async_request(url))
        await asyncio.wait_for(served.recorder.waiting.wait(), 10)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        served.recorder.release.set()
        await asyncio.wait_for(served.recorder.answered.wait(), 10)

    _run(scenario)


@pytest.fixture
def installed() -> Iterator[InProcessClientTransport]:
    loop = asyncio.new_event_loop()
    transport = InProcessClientTransport(lambda: None, loop, OwnServer(free_port_block(1)))
    patched = install(transport)
    yield transport
    patched.uninstall()
    loop.close()


def test_only_the_orchestration_client_module_imports_the_sdks_request_functions() -> None:
    import azure.durable_functions  # noqa: F401  (the whole public SDK, entity client included)

    assert [module.__name__ for module in sdk_importers()] == [client_module.__name__]


def test_a_client_built_after_install_uses_the_transport_and_uninstall_restores_the_sdk(
    installed: InProcessClientTransport,
) -> None:
    binding = json.dumps(
        {"taskHubName": "h", "creationUrls": {}, "managementUrls": {}, "baseUrl": "", "rpcBaseUrl": ""}
    )
    client = client_module.DurableOrchestrationClient(binding)
    assert client._post_async_request == installed.post_async_request
    assert client._get_async_request == installed.get_async_request
    assert client._delete_async_request == installed.delete_async_request
    assert client_module.post_async_request == installed.post_async_request
    assert http_utils.post_async_request is installed.originals["post_async_request"]


def test_uninstall_puts_the_sdks_functions_back() -> None:
    loop = asyncio.new_event_loop()
    try:
        patched = install(InProcessClientTransport(lambda: None, loop, OwnServer(1)))
        patched.uninstall()
    finally:
        loop.close()
    assert client_module.post_async_request is http_utils.post_async_request
    assert client_module.get_async_request is http_utils.get_async_request
    assert client_module.delete_async_request is http_utils.delete_async_request


def test_random_instance_ids_round_trip_through_the_in_process_path() -> None:
    async def scenario(served: Served, transport: InProcessClientTransport) -> None:
        instance = f"order {uuid.uuid4()}/\u00e9"
        url = f"http://127.0.0.1:{served.port}{WEBHOOK}instances/{instance}/json?v={instance}"
        answer = await transport.get_async_request(url)
        assert answer[1]["echo"] == instance
        assert served.recorder.seen[0].path == f"{WEBHOOK}instances/{instance}/json"

    _run(scenario)
