"""Serve one HTTP request in process through an aiohttp server's own handler.

The request is the one aiohttp's client would send for ``method url`` (with ``json=`` body) and
aiohttp's server would parse from the socket: the same request line, URL encoding, header list
(``Host``, the caller's headers, ``Accept``, ``Accept-Encoding``, ``User-Agent``, ``Authorization``
from the URL's credentials, ``Content-Length``, ``Content-Type``), body and client size limit. It
goes to the server's request factory and request handler (routing, middlewares, the app's key
checks), and an exception is turned into a response as aiohttp's server does (an HTTPException is
the response; any other error is logged and answered 500, a timeout 504). The response is read as
``ClientResponse.json(content_type=None)`` reads it.

What is skipped is what the socket adds: connection handling, ``Response.prepare`` (headers the
transport writes) and the access log.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

from aiohttp import ClientRequest, encode_basic_auth, hdrs, web
from aiohttp.base_protocol import BaseProtocol
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11, RawRequestMessage, StreamWriter
from aiohttp.payload import Payload
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

server_log = logging.getLogger("aiohttp.server")

_READ_LIMIT = 2**16
_NO_BODY_METHODS = frozenset({hdrs.METH_GET, hdrs.METH_HEAD, hdrs.METH_OPTIONS, hdrs.METH_TRACE})


class InProcessResponseError(TypeError):
    """The handler answered with a streamed response, which cannot be read without a socket."""


@dataclass(frozen=True)
class ServedResponse:
    """The status, body bytes and declared charset of a response served in process."""

    status: int
    body: bytes
    charset: str | None

    def json(self) -> Any:
        """The body as ``ClientResponse.json(content_type=None)`` decodes it: None when blank.

        Raises json.JSONDecodeError (or UnicodeDecodeError) exactly when the client would.
        """
        stripped = self.body.strip()
        if not stripped:
            return None
        encoding = "utf-8"
        if self.charset:
            with contextlib.suppress(LookupError):
                encoding = codecs.lookup(self.charset).name
        return json.loads(stripped.decode(encoding))


def client_headers(
    method: str, url: URL, body: bytes | None, extra: list[tuple[str, str]]
) -> CIMultiDict[str]:
    """The headers aiohttp's client sends for ``method url`` with a ``json=`` body (None: no body)."""
    headers: CIMultiDict[str] = CIMultiDict()
    headers[hdrs.HOST] = url.host_port_subcomponent or ""
    for name, value in extra:
        headers.add(name, value)
    for name, value in ClientRequest.DEFAULT_HEADERS.items():
        headers.setdefault(name, value)
    headers.setdefault(hdrs.USER_AGENT, SERVER_SOFTWARE)
    if url.raw_user or url.raw_password:
        # latin-1, as the client's BasicAuth from the URL's credentials
        headers[hdrs.AUTHORIZATION] = encode_basic_auth(url.user or "", url.password or "", "latin1")
    if method not in _NO_BODY_METHODS:
        headers[hdrs.CONTENT_LENGTH] = str(len(body or b""))
    if body is not None:
        headers[hdrs.CONTENT_TYPE] = "application/json"
    elif method in ClientRequest.POST_METHODS:
        headers[hdrs.CONTENT_TYPE] = "application/octet-stream"
    return headers


def request_message(method: str, url: URL, headers: CIMultiDict[str]) -> RawRequestMessage:
    """The message aiohttp's server parses from the request line and headers the client sends."""
    path, _, query = url.raw_path_qs.partition("?")
    raw = tuple((name.encode("utf-8"), value.encode("utf-8")) for name, value in headers.items())
    return RawRequestMessage(
        method,
        url.raw_path_qs,
        HttpVersion11,
        CIMultiDictProxy(headers),
        raw,
        False,
        None,
        False,
        False,
        URL.build(path=path, query_string=query, encoded=True),
    )


class _InProcessConnection(BaseProtocol):
    """What a request asks of its connection: addresses, TLS (none) and header limits."""

    ssl_context = None
    max_field_size = 8190
    max_headers = 128

    def __init__(self, loop: asyncio.AbstractEventLoop, port: int) -> None:
        super().__init__(loop)
        self.peername = ("127.0.0.1", 0)
        self.sockname = ("127.0.0.1", port)


async def serve(
    server: web.Server,
    method: str,
    url: URL,
    body: bytes | None,
    extra_headers: list[tuple[str, str]],
) -> ServedResponse:
    """Serve ``method url`` through ``server`` on the running loop (which must be the server's).

    Raises InProcessResponseError for a streamed (non-``web.Response``) answer; cancellation of
    the caller cancels the handler (run this in its own task to let it finish, as a server does).
    """
    loop = asyncio.get_running_loop()
    method = method.upper()
    headers = client_headers(method, url, body, extra_headers)
    connection = _InProcessConnection(loop, url.port or 0)
    payload: StreamReader = EMPTY_PAYLOAD
    if body:
        payload = StreamReader(connection, _READ_LIMIT, loop=loop)
        payload.feed_data(body)
        payload.feed_eof()
    request = server.request_factory(
        request_message(method, url, headers),
        payload,
        cast(Any, connection),
        StreamWriter(connection, loop),
        cast("asyncio.Task[None]", asyncio.current_task()),
    )
    response: web.StreamResponse
    try:
        response = await server.request_handler(request)
    except web.HTTPException as error:
        response = error
    except TimeoutError as error:
        server_log.debug("Request handler timed out.", exc_info=error)
        server_log.exception("Error handling request from %s", request.remote, exc_info=error)
        response = web.Response(status=504, content_type="text/plain")
    except Exception as error:  # aiohttp's server answers any handler error with a 500
        server_log.exception("Error handling request from %s", request.remote, exc_info=error)
        status = HTTPStatus.INTERNAL_SERVER_ERROR
        text = f"{status.value} {status.phrase}\n\n{status.description}"
        response = web.Response(status=500, text=text, content_type="text/plain")
    return await _read(response)


async def _read(response: web.StreamResponse) -> ServedResponse:
    if not isinstance(response, web.Response):
        raise InProcessResponseError(
            f"the handler answered with a streamed {type(response).__name__}; only web.Response "
            "bodies can be served in process"
        )
    body = response.body
    if body is None:
        data = b""
    elif isinstance(body, Payload):
        data = await body.as_bytes()
    else:
        data = bytes(body)
    return ServedResponse(response.status, data, response.charset)
