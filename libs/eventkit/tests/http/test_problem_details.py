"""RFC 9457 problem details as the services answer errors."""

from __future__ import annotations

import json
import uuid

import pytest

from eventkit.http import PROBLEM_CONTENT_TYPE, ExtensionClash, ProblemDetails

BASE = "https://nightshift.example/problems/"


def an_instance() -> str:
    return f"http://127.0.0.1:7071/api/orders/ord-{uuid.uuid4().hex}"


def test_the_body_holds_the_five_standard_members_in_rfc_order() -> None:
    instance = an_instance()
    details = ProblemDetails(404, BASE + "unknown-order", "Unknown order", "no such order", instance)

    body = json.loads(details.to_json())

    assert list(body) == ["type", "title", "status", "detail", "instance"]
    assert body == {
        "type": BASE + "unknown-order",
        "title": "Unknown order",
        "status": 404,
        "detail": "no such order",
        "instance": instance,
    }


def test_the_content_type_is_application_problem_json() -> None:
    assert PROBLEM_CONTENT_TYPE == "application/problem+json"


def test_extension_members_follow_the_standard_members_in_their_given_order() -> None:
    errors = [{"field": "lines[0].sku", "message": "unknown SKU 'TEA-9'"}]
    details = ProblemDetails(
        422,
        BASE + "unknown-sku",
        "Unknown SKU",
        "1 unknown SKU",
        an_instance(),
        {"errors": errors, "retry": 2},
    )

    body = json.loads(details.to_json())

    assert list(body)[5:] == ["errors", "retry"]
    assert body["errors"] == errors
    assert body["retry"] == 2


def test_an_extension_member_that_is_none_is_left_out() -> None:
    details = ProblemDetails(
        409, BASE + "already-cancelled", "Already", "twice", an_instance(), {"errors": None}
    )

    assert "errors" not in details.body()


def test_the_text_is_what_json_dumps_writes_so_existing_bodies_stay_byte_for_byte() -> None:
    instance = an_instance()
    expected = json.dumps(
        {"type": BASE + "gone", "title": "Gone", "status": 410, "detail": "deleted", "instance": instance}
    )

    assert ProblemDetails(410, BASE + "gone", "Gone", "deleted", instance).to_json() == expected


@pytest.mark.parametrize("member", ["type", "status", "instance"])
def test_an_extension_named_like_a_standard_member_is_refused_naming_it(member: str) -> None:
    with pytest.raises(ExtensionClash, match=member):
        ProblemDetails(400, BASE + "bad", "Bad", "bad", an_instance(), {member: "x"})


@pytest.mark.parametrize("status", [0, 99, 600])
def test_a_status_outside_http_status_codes_is_refused(status: int) -> None:
    with pytest.raises(ValueError, match=str(status)):
        ProblemDetails(status, BASE + "bad", "Bad", "bad", an_instance())


def test_an_extension_that_is_not_json_is_a_type_error() -> None:
    details = ProblemDetails(400, BASE + "bad", "Bad", "bad", an_instance(), {"when": object()})

    with pytest.raises(TypeError):
        details.to_json()
