"""What the order API refuses, on a real `devhost run`: a client that sends a price, a total, a
status or an id the server owns gets an RFC 9457 problem naming the field, and no order exists
afterwards; so do broken limits, unknown SKUs and bad Idempotency-Keys. Setting a price needs the
host's master (admin) key, as Azure's `admin` auth level does."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from devhost.testing import Response, http

PROBLEM_BASE = "https://nightshift.example/problems/"
SKU = "SKU-REFUSALS-1"
SHIP_TO = {
    "name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}
SERVER_OWNED = (
    "unit_price_minor",
    "line_total_minor",
    "total_minor",
    "currency",
    "status",
    "order_id",
    "placed_at",
    "payment_id",
    "reservation_id",
)
OWNED_VALUES: dict[str, Any] = {
    "unit_price_minor": 1,
    "line_total_minor": 1,
    "total_minor": 1,
    "currency": "EUR",
    "status": "confirmed",
    "order_id": f"ord-{'0' * 32}",
    "placed_at": "2024-01-01T00:00:00Z",
    "payment_id": "pay-1",
    "reservation_id": "res-1",
}


def order_body(customer_id: str, lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"customer_id": customer_id, "lines": lines or [{"sku": SKU, "quantity": 1}], "ship_to": SHIP_TO}


def with_top_level(field: str) -> Callable[[str], dict[str, Any]]:
    return lambda customer: {**order_body(customer), field: OWNED_VALUES[field]}


def with_in_line(field: str) -> Callable[[str], dict[str, Any]]:
    return lambda customer: order_body(customer, [{"sku": SKU, "quantity": 1, field: OWNED_VALUES[field]}])


@dataclass(frozen=True)
class Refusal:
    """A place-order request (body built for a fresh customer) and the problem it must get."""

    body: Callable[[str], Any]
    status: int
    kind: str
    field: str | None
    idempotency_key: str | None = "key-1"


REFUSALS: dict[str, Refusal] = {
    **{
        f"{field} at top level": Refusal(with_top_level(field), 422, "server-owned-field", field)
        for field in SERVER_OWNED
    },
    **{
        f"{field} in a line": Refusal(with_in_line(field), 422, "server-owned-field", f"lines[0].{field}")
        for field in SERVER_OWNED
    },
    "an unknown field": Refusal(
        lambda c: {**order_body(c), "discount": 5}, 422, "invalid-request", "discount"
    ),
    "101 lines (at most 100)": Refusal(
        lambda c: order_body(c, [{"sku": SKU, "quantity": 1}] * 101), 422, "limit-exceeded", "lines"
    ),
    "a quantity of 1001 (at most 1000)": Refusal(
        lambda c: order_body(c, [{"sku": SKU, "quantity": 1001}]), 422, "limit-exceeded", "lines[0].quantity"
    ),
    "a quantity of 0": Refusal(
        lambda c: order_body(c, [{"sku": SKU, "quantity": 0}]), 422, "limit-exceeded", "lines[0].quantity"
    ),
    "a fractional quantity": Refusal(
        lambda c: order_body(c, [{"sku": SKU, "quantity": 1.5}]), 422, "invalid-request", "lines[0].quantity"
    ),
    "a body over 64 KiB": Refusal(
        lambda c: {**order_body(c), "ship_to": {**SHIP_TO, "name": "x" * 70_000}}, 413, "body-too-large", None
    ),
    "a body that is not JSON": Refusal(lambda c: b"{not json", 400, "malformed-json", None),
    "an unknown SKU": Refusal(
        lambda c: order_body(c, [{"sku": SKU, "quantity": 1}, {"sku": "SKU-NOBODY-SELLS", "quantity": 1}]),
        422,
        "unknown-sku",
        "lines[1].sku",
    ),
    "no Idempotency-Key": Refusal(order_body, 400, "missing-idempotency-key", None, idempotency_key=None),
    "an empty Idempotency-Key": Refusal(order_body, 400, "missing-idempotency-key", None, idempotency_key=""),
    "a 201-character Idempotency-Key": Refusal(
        order_body, 400, "invalid-idempotency-key", None, idempotency_key="k" * 201
    ),
    "an Idempotency-Key with a space": Refusal(
        order_body, 400, "invalid-idempotency-key", None, idempotency_key="two words"
    ),
}


def header(answer: Response, name: str) -> str | None:
    return next((value for key, value in answer.headers.items() if key.lower() == name.lower()), None)


def assert_problem(answer: Response, status: int, kind: str, field: str | None) -> dict[str, Any]:
    """The answer is an RFC 9457 problem of this status and type; `field` is named in `errors`
    and in `detail`."""
    assert answer.status == status, answer.text
    assert (header(answer, "Content-Type") or "").startswith("application/problem+json"), answer.headers
    problem: dict[str, Any] = answer.json()
    assert problem["type"] == PROBLEM_BASE + kind, problem
    assert problem["status"] == status, problem
    assert problem["title"] and problem["detail"] and problem["instance"], problem
    if field is not None:
        assert field in [error["field"] for error in problem.get("errors", [])], problem
        if kind == "server-owned-field":
            assert field in problem["detail"], problem
    return problem


@pytest.fixture(scope="module")
def priced(system: Any) -> Any:
    """The catalog prices one SKU, so every refusal below is about the request alone."""
    system.set_price(SKU, 1999)
    return system


def customer_orders(host: Any, customer_id: str) -> list[Any]:
    answer = host.call("GET", f"/api/orders?customer_id={customer_id}")
    assert answer.status == 200, answer.text
    items: list[Any] = answer.json()["items"]
    return items


@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_order_gets_a_problem_naming_what_was_wrong_and_creates_nothing(
    priced: Any, refusal: Refusal
) -> None:
    customer = f"cust-{uuid.uuid4().hex}"
    body = refusal.body(customer)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {} if refusal.idempotency_key is None else {"Idempotency-Key": refusal.idempotency_key}

    answer = priced.call("POST", "/api/orders", data, headers)

    assert_problem(answer, refusal.status, refusal.kind, refusal.field)
    assert customer_orders(priced, customer) == []


def test_the_same_order_without_the_refused_field_is_accepted(priced: Any) -> None:
    customer = f"cust-{uuid.uuid4().hex}"

    answer = priced.call("POST", "/api/orders", order_body(customer), {"Idempotency-Key": uuid.uuid4().hex})

    assert answer.status == 202, answer.text
    assert [order["order_id"] for order in customer_orders(priced, customer)] == [answer.json()["order_id"]]


def test_a_whole_number_written_with_a_fraction_of_zero_is_a_valid_quantity(priced: Any) -> None:
    customer = f"cust-{uuid.uuid4().hex}"

    answer = priced.call(
        "POST", "/api/orders", order_body(customer, [{"sku": SKU, "quantity": 2.0}]), {"Idempotency-Key": "k"}
    )

    assert answer.status == 202, answer.text
    assert priced.order(answer.json()["order_id"])["lines"][0]["quantity"] == 2


def test_listing_refuses_a_customer_id_with_whitespace_the_way_placing_does(priced: Any) -> None:
    customer = f"cust-{uuid.uuid4().hex}\u0085"
    placed = priced.call("POST", "/api/orders", order_body(customer), {"Idempotency-Key": "k"})
    listed = priced.call("GET", f"/api/orders?customer_id=cust-{uuid.uuid4().hex}%C2%85")

    assert_problem(placed, 422, "invalid-request", "customer_id")
    assert_problem(listed, 400, "invalid-customer-id", None)


def test_an_id_or_sku_followed_by_a_line_break_is_malformed_not_unknown(priced: Any) -> None:
    order = priced.call("GET", f"/api/orders/ord-{uuid.uuid4().hex}%0A")
    price = priced.call("GET", f"/api/catalog/{SKU}%0A")

    assert_problem(order, 400, "invalid-order-id", None)
    assert_problem(price, 400, "invalid-sku", None)


PRICE = json.dumps({"unit_price_minor": 1, "currency": "EUR"}).encode()


@pytest.mark.parametrize(
    ("who", "key"),
    [
        ("no key", lambda host: {}),
        ("a wrong key", lambda host: {"x-functions-key": "not-a-key"}),
        ("a customer's function key", lambda host: host.key),
    ],
)
def test_setting_a_price_without_the_admin_key_is_refused_and_changes_nothing(
    priced: Any, who: str, key: Callable[[Any], dict[str, str]]
) -> None:
    answer = http("PUT", priced.url(f"/api/catalog/{SKU}"), PRICE, key(priced))

    assert answer.status in (401, 403), f"{who}: {answer.status} {answer.text}"
    assert answer.body == b"", who
    price = priced.call("GET", f"/api/catalog/{SKU}")
    assert price.status == 200 and price.json()["unit_price_minor"] == 1999, price.text


def test_listing_the_catalog_needs_the_admin_key_too(priced: Any) -> None:
    as_customer = priced.call("GET", "/api/catalog")
    as_admin = http("GET", priced.url("/api/catalog"), headers=priced.admin_key)

    assert as_customer.status in (401, 403), as_customer.text
    assert as_admin.status == 200, as_admin.text
    assert SKU in [item["sku"] for item in as_admin.json()["items"]]


@pytest.mark.parametrize("field", ["sku", "updated_at", "price"])
def test_a_price_request_with_a_field_the_server_does_not_take_is_refused(priced: Any, field: str) -> None:
    body = json.dumps({"unit_price_minor": 5, "currency": "EUR", field: "x"}).encode()

    answer = http("PUT", priced.url(f"/api/catalog/{SKU}"), body, priced.admin_key)

    assert answer.status == 422, answer.text
    assert_problem(answer, 422, answer.json()["type"].removeprefix(PROBLEM_BASE), field)
    assert priced.call("GET", f"/api/catalog/{SKU}").json()["unit_price_minor"] == 1999
