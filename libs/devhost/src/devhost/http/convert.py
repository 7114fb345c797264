"""Conversion between aiohttp and ``azure.functions`` HTTP types, as the worker and host convert."""

from __future__ import annotations

from typing import Any

import azure.functions as func
from aiohttp import web


class UnsupportedReturnError(TypeError):
    """An HTTP function returned something the Python worker cannot turn into a response."""


async def to_function_request(request: web.Request, route_params: dict[str, str]) -> func.HttpRequest:
    """Build the ``func.HttpRequest`` the worker passes: method, url, headers, params, route params, body."""
    body = await request.read()
    params: dict[str, str] = {}
    for key, value in request.query.items():
        params.setdefault(key, value)
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers={key.lower(): value for key, value in request.headers.items()},
        params=params,
        route_params=route_params,
        body=body,
    )


def to_web_response(value: Any, function: str) -> web.Response:
    """Turn a function's HTTP output into a response.

    ``func.HttpResponse`` keeps status, headers, mimetype/charset and body; a ``str`` is a 200
    ``text/plain`` body (as the worker's ``string`` datum); ``None`` is 204 No Content. Anything
    else raises UnsupportedReturnError (the worker rejects it too).
    """
    if isinstance(value, func.HttpResponse):
        headers = {key: val for key, val in value.headers.items()}
        if not any(key.lower() == "content-type" for key in headers):
            mimetype = value.mimetype or "text/plain"
            headers["Content-Type"] = (
                f"{mimetype}; charset={value.charset}" if mimetype.startswith("text/") else mimetype
            )
        body = value.get_body()
        return web.Response(status=value.status_code, headers=headers, body=body or b"")
    if isinstance(value, str):
        return web.Response(
            status=200, body=value.encode("utf-8"), content_type="text/plain", charset="utf-8"
        )
    if value is None:
        return web.Response(status=204)
    raise UnsupportedReturnError(
        f"HTTP function {function!r} returned {type(value).__name__}; return func.HttpResponse or str "
        "(the Python worker accepts nothing else for an HTTP output)"
    )
