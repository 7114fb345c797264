"""The Durable management API and keys: `devhost run --no-auth` answers without any key (as Core
Tools does), while a default `devhost run` answers 401 to a request without the system key."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devhost.testing import DevhostProcess, http, wait_for

APP = Path(__file__).parent / "apps" / "durable_entities"
APP_NAME = "durable_entities"
WEBHOOK = "/runtime/webhooks/durabletask"


def test_with_no_auth_the_management_api_and_the_sdk_client_work_without_keys(
    start_devhost: Callable[..., DevhostProcess],
) -> None:
    host = start_devhost([APP], "--no-auth")
    host.wait_running(0, APP_NAME)
    key = f"open-{uuid.uuid4().hex[:8]}"
    started = http(
        "POST",
        host.url(0, f"{WEBHOOK}/orchestrators/count_with_entity"),
        json.dumps({"key": key, "times": 3}).encode(),
    )
    assert started.status == 202, started.text
    status_url = started.json()["statusQueryGetUri"]
    assert "code=" not in status_url, "no key is handed out when none is checked"

    def completed() -> dict[str, Any] | None:
        body: dict[str, Any] = http("GET", status_url).json()
        return body if body["runtimeStatus"] == "Completed" else None

    assert wait_for(completed, 20, "the orchestration to complete")["output"] == 3
    assert http("GET", host.url(0, f"{WEBHOOK}/instances")).status == 200
    assert http("GET", host.url(0, f"{WEBHOOK}/entities/counter/{key}")).json() == 3
    assert http("POST", host.url(0, f"/api/counter/{key}/add"), b"2").status == 202  # the SDK client's RPC

    def counter() -> Any:
        return http("GET", host.url(0, f"/api/counter/{key}")).json()["state"] == 5

    wait_for(counter, 20, "the client's signal to be applied")


def test_without_no_auth_the_management_api_answers_401_without_a_key(
    start_devhost: Callable[..., DevhostProcess],
) -> None:
    host = start_devhost([APP])
    host.wait_running(0, APP_NAME)
    for method, path in [
        ("GET", "instances"),
        ("GET", "instances/some-id"),
        ("POST", "orchestrators/count_with_entity"),
        ("GET", "entities/counter/k"),
        ("POST", "entities/counter/k?op=add"),
    ]:
        assert http(method, host.url(0, f"{WEBHOOK}/{path}")).status == 401, f"{method} {path}"
    wrong = http("GET", host.url(0, f"{WEBHOOK}/instances?code=not-the-key"))
    assert wrong.status == 401
    keys = json.loads((host.state / "apps" / APP_NAME / "durabletask.keys.json").read_text())
    assert http("GET", host.url(0, f"{WEBHOOK}/instances?code={keys['durabletask_extension']}")).status == 200
