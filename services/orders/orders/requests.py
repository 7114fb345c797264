"""Decoding the API's request bodies and parameters into use-case arguments, or a problem.

Requests are strict: an unknown field is refused, not ignored, and a field the server owns
(prices, totals, status, ids, times) is refused with a problem naming it. A client never sets a
price or a total.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from contracts.common import Address

from .domain import SKU_PATTERN, OrderLimits

SERVER_OWNED = frozenset(
    {
        "order_id",
        "status",
        "stage",
        "price",
        "unit_price_minor",
        "line_total_minor",
        "total_minor",
        "currency",
        "placed_at",
        "updated_at",
        "reservation_id",
        "payment_id",
        "cancellation",
        "fulfillment_requested",
        "cancellation_requested",
    }
)
MAX_IDEMPOTENCY_KEY = 200
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
# Whitespace spelled out, so Python, pydantic (Rust) and JSON Schema (ECMA-262) regexes agree: `\s`
# means three different sets in those dialects. This is the union of Unicode White_Space and ECMA
# `\s`; contracts/openapi/orders.yaml's `Id` pattern lists the same characters.
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
CUSTOMER_ID_PATTERN = f"^[^{_WHITESPACE}]{{1,128}}$"
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)
ORDER_STATUSES = ("pending", "placed", "reserved", "paid", "confirmed", "cancelled")


@dataclass
class RequestProblem(Exception):
    """A request the API refuses: the problem type, its status and each field's error."""

    status: int
    kind: str
    title: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)


def _whole_number(value: Any) -> Any:
    """JSON (and JSON Schema's `integer`) does not tell 2 from 2.0: a number with no fraction is
    an integer, whatever its spelling. Anything else is left for the strict check to refuse."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class LineRequest(_Strict):
    sku: Annotated[str, StringConstraints(pattern=SKU_PATTERN.pattern)]
    quantity: WholeNumber


class ShipTo(Address):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PlaceOrderRequest(_Strict):
    customer_id: Annotated[str, StringConstraints(pattern=CUSTOMER_ID_PATTERN)]
    lines: list[LineRequest] = Field(min_length=1)
    ship_to: ShipTo


class PriceRequest(_Strict):
    unit_price_minor: Annotated[WholeNumber, Field(ge=0, le=10**12)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problem_from(error: ValidationError) -> RequestProblem:
    errors = [{"field": _location(e["loc"]), "message": e["msg"]} for e in error.errors()]
    owned = [
        _location(e["loc"])
        for e in error.errors()
        if e["type"] == "extra_forbidden" and e["loc"] and e["loc"][-1] in SERVER_OWNED
    ]
    if owned:
        return RequestProblem(
            422,
            "server-owned-field",
            "Server-owned field in request",
            f"the server sets {', '.join(owned)}; send only customer_id, lines (sku, quantity) and ship_to",
            errors,
        )
    fields = ", ".join(e["field"] for e in errors)
    return RequestProblem(422, "invalid-request", "Invalid request", f"invalid field(s): {fields}", errors)


def _json_object(body: bytes, limits: OrderLimits) -> dict[str, Any]:
    if len(body) > limits.max_body_bytes:
        raise RequestProblem(
            413,
            "body-too-large",
            "Request body too large",
            f"the body has {len(body)} bytes; at most {limits.max_body_bytes} are accepted",
        )
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise RequestProblem(
            400, "malformed-json", "Malformed JSON", f"the body is not JSON: {error}"
        ) from None
    if not isinstance(value, dict):
        raise RequestProblem(400, "malformed-json", "Malformed JSON", "the body must be a JSON object")
    return value


def parse_place_order(body: bytes, limits: OrderLimits) -> PlaceOrderRequest:
    """The place-order request, or raises `RequestProblem` (413 too large, 400 not a JSON
    object, 422 invalid/unknown/server-owned field or a limit broken)."""
    raw = _json_object(body, limits)
    lines = raw.get("lines")
    if isinstance(lines, list) and len(lines) > limits.max_lines:
        raise RequestProblem(
            422,
            "limit-exceeded",
            "Too many lines",
            f"the order has {len(lines)} lines; at most {limits.max_lines} are accepted",
            [{"field": "lines", "message": f"at most {limits.max_lines} lines"}],
        )
    try:
        request = PlaceOrderRequest.model_validate(raw)
    except ValidationError as error:
        raise _problem_from(error) from None
    for index, line in enumerate(request.lines):
        if not 1 <= line.quantity <= limits.max_quantity:
            raise RequestProblem(
                422,
                "limit-exceeded",
                "Quantity out of range",
                f"lines[{index}].quantity is {line.quantity}; a line orders 1 to {limits.max_quantity} units",
                [{"field": f"lines[{index}].quantity", "message": f"1 to {limits.max_quantity}"}],
            )
    return request


def parse_price(body: bytes, limits: OrderLimits) -> PriceRequest:
    """The catalog price request, or raises `RequestProblem`."""
    raw = _json_object(body, limits)
    try:
        return PriceRequest.model_validate(raw)
    except ValidationError as error:
        raise _problem_from(error) from None


def idempotency_key(header: str | None) -> str:
    """The Idempotency-Key header (1-200 visible ASCII characters), or raises `RequestProblem`."""
    if header is None or header == "":
        raise RequestProblem(
            400,
            "missing-idempotency-key",
            "Idempotency-Key required",
            "send an Idempotency-Key header (1-200 characters); the same key returns the same order",
        )
    if len(header) > MAX_IDEMPOTENCY_KEY or not all(33 <= ord(c) <= 126 for c in header):
        raise RequestProblem(
            400,
            "invalid-idempotency-key",
            "Invalid Idempotency-Key",
            f"an Idempotency-Key is 1-{MAX_IDEMPOTENCY_KEY} visible ASCII characters without spaces",
        )
    return header


def customer_id(raw: str | None) -> str:
    """The customer id query parameter (1-128 characters, no whitespace), or raises `RequestProblem`."""
    if raw is None or not _CUSTOMER_ID.fullmatch(raw):
        raise RequestProblem(
            400,
            "invalid-customer-id",
            "Invalid customer id",
            "customer_id is 1-128 characters without whitespace",
        )
    return raw


def page_size(raw: str | None) -> int:
    """The page size (default 50, 1..200), or raises `RequestProblem`."""
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise RequestProblem(
            400, "invalid-page-size", "Invalid page size", f"page_size is a whole number 1-{MAX_PAGE_SIZE}"
        )
    return int(raw)


def encode_continuation(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_continuation(raw: str | None, prefix: str) -> str | None:
    """The value inside a continuation token this API issued (None if absent), or raises
    `RequestProblem`."""
    if raw is None or raw == "":
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(prefix):
        raise RequestProblem(
            400, "invalid-continuation", "Invalid continuation", "pass back the continuation a page returned"
        )
    return text.removeprefix(prefix)
