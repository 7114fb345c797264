"""The README's example: `devhost run libs/devhost/examples/hello` answers as documented."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devhost.testing import DevhostProcess, http

EXAMPLE = Path(__file__).parent.parent / "examples" / "hello"


def test_the_hello_example_answers_its_routes_and_lists_its_timer(
    start_devhost: Callable[..., DevhostProcess],
) -> None:
    host = start_devhost([EXAMPLE])
    host.wait_running(0, "hello")
    assert http("GET", host.url(0, "/api/hello/ann")).text == "Hello, ann!"
    assert http("GET", host.url(0, "/api/secret")).status == 401
    host_key = host.keys("hello")["functionKeys"]["default"]
    assert http("GET", host.url(0, f"/api/secret?code={host_key}")).json() == {"secret": "kept"}
    assert "every_five_minutes: timerTrigger (0 */5 * * * *)" in host.output
    admin = http(
        "POST",
        host.url(0, "/admin/functions/hello"),
        body=b"{}",
        headers={"x-functions-key": host.master_key("hello")},
    )
    assert admin.status == 400
