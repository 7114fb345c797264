"""Blueprint: the query API (contracts/openapi/inventory.yaml). Errors are RFC 9457 problem details.

Path parameters are checked against the rules the spec states before anything is looked up: a SKU
that no feed could have recorded, or a string that is not a feed id, is a 400 problem, not a 404.
A SKU may contain `/` (suppliers use it), so the stock route takes the rest of the path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import azure.functions as func

from contracts.api import INVALID_SKU, PROBLEM_BASE, is_sku
from eventkit.blobs import BlobNotFound
from eventkit.http.busy import answering_busy
from eventkit.http.problems import PROBLEM_CONTENT_TYPE, ProblemDetails

from .bootstrap import service
from .handlers import feed_status, rejected_rows, stock_of

bp = func.Blueprint()  # type: ignore[no-untyped-call]
FEED_ID_PATTERN = re.compile(r"^feed-[0-9a-f]{32}$")


def _json(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


def problem(status: int, kind: str, title: str, detail: str, instance: str) -> func.HttpResponse:
    """An `application/problem+json` response (RFC 9457) of type `PROBLEM_BASE + kind`."""
    details = ProblemDetails(status, PROBLEM_BASE + kind, title, detail, instance)
    return func.HttpResponse(details.to_json(), status_code=status, mimetype=PROBLEM_CONTENT_TYPE)


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


def _bad_feed_id(feed_id: str, instance: str) -> func.HttpResponse | None:
    if FEED_ID_PATTERN.fullmatch(feed_id):
        return None
    return problem(
        400,
        "invalid-feed-id",
        "Invalid feed id",
        "a feed id is 'feed-' and 32 lowercase hex digits, as in feed.processed events",
        instance,
    )


@bp.route(route="stock/{*sku}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@busy
def get_stock(req: func.HttpRequest) -> func.HttpResponse:
    sku = req.route_params.get("sku") or ""
    invalid = _bad_sku(sku, req.url)
    if invalid is not None:
        return invalid
    item = stock_of(service().inventory, sku)
    if not item.known:
        return problem(
            404, "unknown-sku", "Unknown SKU", f"no stock was ever recorded for SKU {sku!r}", req.url
        )
    warehouses = [
        {"warehouse": name, "on_hand": w.on_hand, "reserved": w.reserved, "available": w.available}
        for name, w in sorted(item.warehouses.items())
    ]
    return _json({"sku": sku, "available": item.available, "warehouses": warehouses, "version": item.version})


@bp.route(route="feeds/{feed_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@busy
def get_feed(req: func.HttpRequest) -> func.HttpResponse:
    feed_id = req.route_params["feed_id"]
    invalid = _bad_feed_id(feed_id, req.url)
    if invalid is not None:
        return invalid
    feed = feed_status(service().inventory, feed_id)
    if feed.status == "new":
        return problem(404, "unknown-feed", "Unknown feed", f"no feed has id {feed_id!r}", req.url)
    body: dict[str, Any] = {"feed_id": feed_id, "status": feed.status}
    if feed.received is not None:
        body.update(
            blob_name=feed.received.blob_name,
            supplier_id=feed.received.supplier_id,
            format=feed.received.format,
        )
    if feed.outcome is not None:
        body.update(feed.outcome.model_dump(exclude={"blob_name", "supplier_id", "format"}))
    return _json(body)


@bp.route(route="feeds/{feed_id}/rejected-rows", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@busy
def get_rejected_rows(req: func.HttpRequest) -> func.HttpResponse:
    feed_id = req.route_params["feed_id"]
    invalid = _bad_feed_id(feed_id, req.url)
    if invalid is not None:
        return invalid
    inventory = service().inventory
    feed = feed_status(inventory, feed_id)
    if feed.status == "new":
        return problem(404, "unknown-feed", "Unknown feed", f"no feed has id {feed_id!r}", req.url)
    try:
        rows = [{"line": r.line, "reason": r.reason, "row": r.row} for r in rejected_rows(inventory, feed)]
    except BlobNotFound:
        return problem(
            410, "quarantine-gone", "Rejected rows removed", "the quarantine file was deleted", req.url
        )
    return _json({"feed_id": feed_id, "rows": rows})
