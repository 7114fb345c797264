"""HTTP as Azure: routes and parameters, methods (404 on a wrong method), auth levels and keys, admin API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devhost.errors import RouteTemplateError
from devhost.http.routing import parse_route, split_path
from devhost.testing import DevhostProcess, free_port_block, http, wait_for

APPS = Path(__file__).parent / "apps"


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("items/{id:int}", "items/42", {"id": "42"}),
        ("items/{id:int}", "items/abc", None),
        ("Items/{name}", "items/Widget", {"name": "Widget"}),
        ("files/{*rest}", "files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        ("files/{*rest}", "files", {}),
        ("greet/{name?}", "greet", {}),
        ("greet/{name?}", "greet/ann", {"name": "ann"}),
        (
            "orders/{id:guid}",
            "orders/6f1c1d1e-0b6a-4c77-9d61-1f0d1b0ad8a1",
            {"id": "6f1c1d1e-0b6a-4c77-9d61-1f0d1b0ad8a1"},
        ),
        ("orders/{id:guid}", "orders/123", None),
        ("page/{n:int:min(1)}", "page/0", None),
        ("page/{n:int:range(1,10)}", "page/10", {"n": "10"}),
        ("code/{c:regex(^[A-Z]{{3}}$)}", "code/ABC", None),
        ("code/{c:alpha:length(3)}", "code/abc", {"c": "abc"}),
        ("a/b", "a/b/c", None),
    ],
)
def test_route_templates_match_as_aspnet_routing(
    template: str, path: str, expected: dict[str, str] | None
) -> None:
    assert parse_route(template).match(split_path(path)) == expected


@pytest.mark.parametrize("template", ["items/{id:nosuch}", "files/{*rest}/more", "x/{a}/{A}", "x/{bad"])
def test_bad_route_templates_are_refused(template: str) -> None:
    with pytest.raises(RouteTemplateError):
        parse_route(template)


def test_literal_routes_win_over_parameters() -> None:
    literal, parameter = parse_route("items/special"), parse_route("items/{name}")
    assert literal.sort_key < parameter.sort_key
    assert parse_route("items/{id:int}").sort_key < parameter.sort_key


@pytest.fixture(scope="module")
def webapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevhostProcess]:
    root = tmp_path_factory.mktemp("webapp")
    out = root / "out"
    out.mkdir()
    host = DevhostProcess(
        [APPS / "webapp"],
        root / "state",
        free_port_block(1),
        [],
        {"DEVHOST_TEST_OUT": str(out), "OVERRIDDEN": "from-env"},
    )
    host.wait_running(0, "webapp")
    yield host
    host.stop()


def test_an_anonymous_route_with_an_int_parameter_and_query(webapp: DevhostProcess) -> None:
    answer = http("GET", webapp.url(0, "/api/items/42?q=blue"))
    assert answer.status == 200
    assert answer.json() == {"kind": "number", "id": "42", "q": "blue"}
    assert answer.headers["Content-Type"] == "application/json"


def test_a_non_numeric_id_falls_through_to_the_named_route(webapp: DevhostProcess) -> None:
    assert http("GET", webapp.url(0, "/api/items/widget")).json()["kind"] == "name"


def test_put_with_a_json_body_reaches_the_function_with_status_and_headers(webapp: DevhostProcess) -> None:
    answer = http(
        "PUT",
        webapp.url(0, "/api/items/widget"),
        body=json.dumps({"colour": "blue"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 201
    assert answer.headers["x-seen-method"] == "PUT"
    assert answer.json()["body"] == {"colour": "blue"}


def test_a_method_the_route_does_not_allow_is_404_as_in_azure(webapp: DevhostProcess) -> None:
    assert http("DELETE", webapp.url(0, "/api/items/widget")).status == 404
    assert http("POST", webapp.url(0, "/api/items/42")).status == 404


def test_catch_all_and_optional_parameters(webapp: DevhostProcess) -> None:
    assert http("GET", webapp.url(0, "/api/files/a/b/c.txt")).text == "path=a/b/c.txt"
    assert http("GET", webapp.url(0, "/api/greet")).text == "hello nobody"
    assert http("GET", webapp.url(0, "/api/greet/ann")).text == "hello ann"


def test_an_unknown_path_and_a_path_outside_the_prefix_are_404(webapp: DevhostProcess) -> None:
    assert http("GET", webapp.url(0, "/api/nothing-here")).status == 404
    assert http("GET", webapp.url(0, "/items/42")).status == 404


def test_a_function_level_route_needs_a_key(webapp: DevhostProcess) -> None:
    keys = webapp.keys("webapp")
    own_key = keys["functions"]["secure"]["default"]
    other_key = keys["functions"]["other"]["default"]
    host_key = keys["functionKeys"]["default"]
    assert http("GET", webapp.url(0, "/api/secure")).status == 401
    assert http("GET", webapp.url(0, "/api/secure?code=wrong")).status == 401
    assert http("GET", webapp.url(0, f"/api/secure?code={other_key}")).status == 401
    assert http("GET", webapp.url(0, f"/api/secure?code={own_key}")).text == "secure ok"
    assert http("GET", webapp.url(0, "/api/secure"), headers={"x-functions-key": own_key}).status == 200
    assert http("GET", webapp.url(0, f"/api/secure?code={host_key}")).status == 200
    assert http("GET", webapp.url(0, f"/api/secure?code={webapp.master_key('webapp')}")).status == 200


def test_an_admin_level_route_accepts_only_the_master_key(webapp: DevhostProcess) -> None:
    host_key = webapp.keys("webapp")["functionKeys"]["default"]
    assert http("GET", webapp.url(0, f"/api/adminonly?code={host_key}")).status == 401
    assert http("GET", webapp.url(0, f"/api/adminonly?code={webapp.master_key('webapp')}")).text == "admin ok"


def test_a_function_that_raises_answers_500(webapp: DevhostProcess) -> None:
    answer = http("GET", webapp.url(0, "/api/boom"))
    assert answer.status == 500
    assert "RuntimeError: boom on purpose" in wait_for(
        lambda: "boom on purpose" in webapp.output and webapp.output
    )


def test_environment_overrides_local_settings_inside_the_app(webapp: DevhostProcess) -> None:
    assert http("GET", webapp.url(0, "/api/whoami")).text == "whoami from-file from-env"


def test_admin_invoke_needs_the_master_key_and_runs_a_timer_function(webapp: DevhostProcess) -> None:
    url = webapp.url(0, "/admin/functions/record_invocation")
    body = json.dumps({"input": ""}).encode()
    host_key = webapp.keys("webapp")["functionKeys"]["default"]
    assert http("POST", url, body=body).status == 401
    assert http("POST", url, body=body, headers={"x-functions-key": host_key}).status == 401
    answer = http("POST", url, body=body, headers={"x-functions-key": webapp.master_key("webapp")})
    assert answer.status == 202
    out = webapp.state.parent / "out"
    path = out / "record_invocation.jsonl"
    lines = wait_for(  # the file may exist before its first line is written
        lambda: path.exists() and path.read_text().endswith("\n") and path.read_text().splitlines(),
        what="the invocation's record",
    )
    assert json.loads(lines[0]) == {"past_due": False}


def test_admin_invoke_of_an_unknown_function_is_404(webapp: DevhostProcess) -> None:
    answer = http(
        "POST",
        webapp.url(0, "/admin/functions/nope"),
        body=b"{}",
        headers={"x-functions-key": webapp.master_key("webapp")},
    )
    assert answer.status == 404


def test_admin_functions_lists_every_function(webapp: DevhostProcess) -> None:
    answer = http(
        "GET", webapp.url(0, "/admin/functions"), headers={"x-functions-key": webapp.master_key("webapp")}
    )
    listing = {entry["name"]: entry for entry in answer.json()}
    assert {"item_by_number", "secure", "record_invocation"} <= set(listing)
    assert listing["item_by_number"]["invoke_url_template"].endswith("/api/items/{id:int}")


def test_keys_are_kept_across_restarts(start_devhost: Callable[..., DevhostProcess], tmp_path: Path) -> None:
    first = start_devhost([APPS / "webapp"], "--no-auth", env={"DEVHOST_TEST_OUT": str(tmp_path)})
    first.wait_running(0, "webapp")
    keys = first.keys("webapp")
    assert http("GET", first.url(0, "/api/secure")).status == 200  # --no-auth relaxes keys
    assert first.stop() == 0
    second = start_devhost([APPS / "webapp"], env={"DEVHOST_TEST_OUT": str(tmp_path)})
    second.wait_running(0, "webapp")
    assert second.keys("webapp") == keys


def test_a_non_ascii_key_is_a_wrong_key_and_a_newline_in_a_path_is_a_devhost_404(
    start_devhost: Callable[..., DevhostProcess],
) -> None:
    host = start_devhost([APPS / "webapp"])
    host.wait_running(0, "webapp")
    assert http("GET", host.url(0, "/api/secure?code=%C3%A9t%C3%A9")).status == 401
    missing = http("GET", host.url(0, "/api/no%0Awhere"))
    plain_missing = http("GET", host.url(0, "/api/nowhere"))
    assert (missing.status, missing.headers.get("Content-Type")) == (
        plain_missing.status,
        plain_missing.headers.get("Content-Type"),
    )
    assert missing.status == 404
