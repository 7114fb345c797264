"""Blueprint: the order and catalog API (contracts/openapi/orders.yaml).

Errors are RFC 9457 problem details. Placing answers 202 once the order is recorded as pending
(readable at once); the change feed starts its saga (subscriptions.py); the same (customer,
Idempotency-Key) returns the same order. Blocking store work runs in a thread, so one slow
request does not stall the app's loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import azure.durable_functions as df
import azure.functions as func

from contracts.api import INVALID_SKU, PROBLEM_BASE, is_sku
from eventkit.http.busy import answering_busy
from eventkit.http.problems import PROBLEM_CONTENT_TYPE, ProblemDetails

from .blueprint import DurableBlueprint
from .bootstrap import service
from .domain import (
    CurrencyMismatch,
    IdempotencyKeyConflict,
    OrderAlreadyCancelled,
    OrderNotFound,
    UnknownSku,
)
from .handlers import (
    accept_order,
    get_order,
    list_catalog,
    list_orders,
    price_of,
    request_cancellation,
    set_price,
)
from .requests import (
    ORDER_STATUSES,
    RequestProblem,
    customer_id,
    decode_continuation,
    encode_continuation,
    idempotency_key,
    page_size,
    parse_place_order,
    parse_price,
)
from .saga import CANCEL_EVENT
from .views import order_view, price_view

bp = DurableBlueprint()
log = logging.getLogger("orders")
ORDER_ID_PATTERN = re.compile(r"^ord-[0-9a-f]{32}$")
REFUND_WORKFLOW = "order_refund"
T = TypeVar("T")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype="application/json", headers=headers
    )


def problem(
    status: int, kind: str, title: str, detail: str, instance: str, errors: list[dict[str, str]] | None = None
) -> func.HttpResponse:
    """An `application/problem+json` response (RFC 9457) of type `PROBLEM_BASE + kind`, with the
    extension member `errors` (field, message) when there are any."""
    details = ProblemDetails(status, PROBLEM_BASE + kind, title, detail, instance, {"errors": errors or None})
    return func.HttpResponse(details.to_json(), status_code=status, mimetype=PROBLEM_CONTENT_TYPE)


def _from(error: RequestProblem, instance: str) -> func.HttpResponse:
    return problem(error.status, error.kind, error.title, error.detail, instance, error.errors)


async def _run(call: Callable[[], T]) -> T:
    return await asyncio.to_thread(call)


def _base(req: func.HttpRequest) -> str:
    url = str(req.url)
    index = url.find("/api/")
    return url[:index] if index >= 0 else url.rstrip("/")


def _bad_order_id(order_id: str, instance: str) -> func.HttpResponse | None:
    if ORDER_ID_PATTERN.fullmatch(order_id):
        return None
    return problem(
        400,
        "invalid-order-id",
        "Invalid order id",
        "an order id is 'ord-' and 32 lowercase hex digits",
        instance,
    )


def _problem_response(details: ProblemDetails, headers: Mapping[str, str]) -> func.HttpResponse:
    return func.HttpResponse(
        details.to_json(), status_code=details.status, mimetype=PROBLEM_CONTENT_TYPE, headers=dict(headers)
    )


busy = answering_busy(_problem_response)
"""Route decorator: a busy store (throttled, unavailable, a hot stream) answers 503 with Retry-After."""


def _bad_sku(sku: str, instance: str) -> func.HttpResponse | None:
    if is_sku(sku):
        return None
    return problem(INVALID_SKU.status, INVALID_SKU.kind, INVALID_SKU.title, INVALID_SKU.detail, instance)


# --- orders -----------------------------------------------------------------------------------


@bp.route(route="orders", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@busy
async def place_order(req: func.HttpRequest) -> func.HttpResponse:
    """Accept the order (pending); its saga is started from the change feed (subscriptions.py)."""
    orders = service().orders
    try:
        key = idempotency_key(req.headers.get("Idempotency-Key"))
        request = parse_place_order(req.get_body(), orders.limits)
    except RequestProblem as error:
        return _from(error, req.url)
    lines = [(line.sku, line.quantity) for line in request.lines]
    ship_to = request.ship_to.model_dump(mode="json")
    try:
        accepted = await _run(
            lambda: accept_order(
                orders, customer_id=request.customer_id, idempotency_key=key, lines=lines, ship_to=ship_to
            )
        )
    except UnknownSku as error:
        errors = [
            {"field": f"lines[{i}].sku", "message": f"unknown SKU {s!r}"}
            for i, (s, _) in enumerate(lines)
            if s in error.skus
        ]
        return problem(422, "unknown-sku", "Unknown SKU", str(error), req.url, errors)
    except CurrencyMismatch as error:
        return problem(422, "currency-mismatch", "SKUs priced in several currencies", str(error), req.url)
    except IdempotencyKeyConflict as error:
        return problem(409, "idempotency-key-reused", "Idempotency-Key reused", str(error), req.url)
    order = accepted.order
    status_url = f"{_base(req)}/api/orders/{order.id}"
    return _json(
        {"order_id": order.id, "status": order.status, "status_url": status_url},
        202,
        {"Location": status_url, "Retry-After": "1"},
    )


@bp.route(route="orders/{order_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@busy
def get_order_by_id(req: func.HttpRequest) -> func.HttpResponse:
    order_id = req.route_params.get("order_id") or ""
    invalid = _bad_order_id(order_id, req.url)
    if invalid is not None:
        return invalid
    try:
        order = get_order(service().orders, order_id)
    except OrderNotFound as error:
        return problem(404, "unknown-order", "Unknown order", str(error), req.url)
    return _json(order_view(order))


@bp.route(route="orders", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@busy
def list_customer_orders(req: func.HttpRequest) -> func.HttpResponse:
    status = req.params.get("status") or None
    try:
        customer = customer_id(req.params.get("customer_id"))
        if status is not None and status not in ORDER_STATUSES:
            raise RequestProblem(
                400, "invalid-status", "Invalid status", f"status is one of {', '.join(ORDER_STATUSES)}"
            )
        size = page_size(req.params.get("page_size"))
        after = decode_continuation(req.params.get("continuation"), "o:")
        after_seq = int(after) if after is not None and after.isdigit() else 0
        if after is not None and not after.isdigit():
            raise RequestProblem(
                400,
                "invalid-continuation",
                "Invalid continuation",
                "pass back the continuation a page returned",
            )
    except RequestProblem as error:
        return _from(error, req.url)
    items, next_seq = list_orders(service().orders, customer, status, after_seq, size)
    continuation = None if next_seq is None else encode_continuation(f"o:{next_seq}")
    return _json({"items": [order_view(o) for o in items], "continuation": continuation})


@bp.route(route="orders/{order_id}/cancel", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@busy
async def cancel_order(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    order_id = req.route_params.get("order_id") or ""
    invalid = _bad_order_id(order_id, req.url)
    if invalid is not None:
        return invalid
    orders = service().orders
    try:
        mode = await _run(lambda: request_cancellation(orders, order_id))
    except OrderNotFound as error:
        return problem(404, "unknown-order", "Unknown order", str(error), req.url)
    except OrderAlreadyCancelled as error:
        return problem(409, "already-cancelled", "Order already cancelled", str(error), req.url)
    if mode == "in-saga":
        try:
            await client.raise_event(order_id, CANCEL_EVENT, {"reason": "customer"})
        except Exception as error:  # not waiting yet, or ended: the saga's steps see the request
            log.info("order %s: cancel event not delivered (%s)", order_id, error)
    else:
        try:
            await client.start_new(REFUND_WORKFLOW, f"{order_id}-refund", {"order_id": order_id})
        except Exception as error:  # a repeated cancel while the refund runs
            log.info("order %s: refund already started (%s)", order_id, error)
    status_url = f"{_base(req)}/api/orders/{order_id}"
    return _json(
        {"order_id": order_id, "status": "cancellation-requested", "status_url": status_url},
        202,
        {"Location": status_url},
    )


# --- catalog ----------------------------------------------------------------------------------


@bp.route(route="catalog/{*sku}", methods=["PUT"], auth_level=func.AuthLevel.ADMIN)
@busy
def put_catalog_item(req: func.HttpRequest) -> func.HttpResponse:
    sku = req.route_params.get("sku") or ""
    invalid = _bad_sku(sku, req.url)
    if invalid is not None:
        return invalid
    orders = service().orders
    try:
        request = parse_price(req.get_body(), orders.limits)
    except RequestProblem as error:
        return _from(error, req.url)
    price = set_price(orders, sku, request.unit_price_minor, request.currency)
    return _json(price_view(sku, price))


@bp.route(route="catalog/{*sku}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@busy
def get_catalog_item(req: func.HttpRequest) -> func.HttpResponse:
    sku = req.route_params.get("sku") or ""
    invalid = _bad_sku(sku, req.url)
    if invalid is not None:
        return invalid
    price = price_of(service().orders, sku)
    if price is None:
        return problem(
            404, "unknown-sku", "Unknown SKU", f"the catalog has no price for SKU {sku!r}", req.url
        )
    return _json(price_view(sku, price))


@bp.route(route="catalog", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@busy
def list_catalog_items(req: func.HttpRequest) -> func.HttpResponse:
    try:
        size = page_size(req.params.get("page_size"))
        after = decode_continuation(req.params.get("continuation"), "c:") or ""
    except RequestProblem as error:
        return _from(error, req.url)
    items = list_catalog(service().orders, after, size + 1)
    page = items[:size]
    continuation = encode_continuation(f"c:{page[-1][0]}") if len(items) > size else None
    return _json({"items": [price_view(sku, price) for sku, price in page], "continuation": continuation})
