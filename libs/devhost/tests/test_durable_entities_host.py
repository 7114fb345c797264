"""Durable entities through a real `devhost run`: orchestrators signal and call a counter, the SDK
client signals it and reads its state, and the management API's entity routes answer as Azure's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevhostProcess, http, wait_for

APP = Path(__file__).parent / "apps" / "durable_entities"
APP_NAME = "durable_entities"


@pytest.fixture
def host(start_devhost: Callable[..., DevhostProcess]) -> DevhostProcess:
    started = start_devhost([APP])
    started.wait_running(0, APP_NAME)
    return started


def webhook(host: DevhostProcess, path: str) -> str:
    keys = json.loads((host.state / "apps" / APP_NAME / "durabletask.keys.json").read_text())
    separator = "&" if "?" in path else "?"
    return host.url(0, f"/runtime/webhooks/durabletask/{path}{separator}code={keys['durabletask_extension']}")


def run_orchestration(host: DevhostProcess, name: str, value: Any) -> dict[str, Any]:
    started = http("POST", webhook(host, f"orchestrators/{name}"), json.dumps(value).encode())
    assert started.status == 202, started.text
    status_url = started.json()["statusQueryGetUri"]

    def ended() -> dict[str, Any] | None:
        body: dict[str, Any] = http("GET", status_url).json()
        return body if body["runtimeStatus"] in ("Completed", "Failed") else None

    result: dict[str, Any] = wait_for(ended, 20, f"{name} to end")
    return result


def counter_key() -> str:
    return f"k-{uuid.uuid4().hex[:8]}"


def test_the_listing_shows_the_entity_function_ready_instead_of_unsupported(host: DevhostProcess) -> None:
    listed = host.output
    assert "Counter: entityTrigger" in listed
    assert "not supported by devhost yet" not in listed


def test_an_orchestrator_signals_the_counter_and_call_entity_returns_its_total(host: DevhostProcess) -> None:
    key = counter_key()
    done = run_orchestration(host, "count_with_entity", {"key": key, "times": 7})
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == 7
    state = http("GET", webhook(host, f"entities/Counter/{key}"))
    assert state.status == 200 and state.json() == 7


def test_an_operation_that_raises_comes_back_to_the_orchestrator_as_an_exception(
    host: DevhostProcess,
) -> None:
    done = run_orchestration(host, "call_unknown_operation", counter_key())
    assert done["output"] == "caught: counter has no operation 'explode'"


def test_the_sdk_client_signals_the_counter_and_reads_its_state(host: DevhostProcess) -> None:
    key = counter_key()
    for amount in (5, 10, 20):
        assert http("POST", host.url(0, f"/api/counter/{key}/add"), json.dumps(amount).encode()).status == 202

    def total() -> dict[str, Any] | None:
        body: dict[str, Any] = http("GET", host.url(0, f"/api/counter/{key}")).json()
        return body if body["state"] == 35 else None

    assert wait_for(total, 20, "the counter to reach 35") == {"exists": True, "state": 35}
    missing = http("GET", host.url(0, f"/api/counter/{counter_key()}")).json()
    assert missing == {"exists": False, "state": None}


def test_the_entity_routes_signal_read_and_list_as_azure_does(host: DevhostProcess) -> None:
    key = counter_key()
    signal = webhook(host, f"entities/counter/{key}?op=add")
    assert http("POST", signal, b"4", {"Content-Type": "application/json"}).status == 202
    assert http("POST", signal, b"not json", {"Content-Type": "application/json"}).status == 400

    def state() -> Any:
        answer = http("GET", webhook(host, f"entities/counter/{key}"))
        return answer.json() if answer.status == 200 else None

    assert wait_for(state, 20, "the counter to exist") == 4
    assert http("GET", webhook(host, f"entities/counter/{counter_key()}")).status == 404
    listed = http("GET", webhook(host, "entities/counter?fetchState=true&top=1000"))
    assert listed.status == 200 and "x-ms-continuation-token" in {h.lower() for h in listed.headers}
    mine = [e for e in listed.json() if e["entityId"] == {"name": "counter", "key": key}]
    assert len(mine) == 1 and mine[0]["state"] == 4 and mine[0]["lastOperationTime"].endswith("Z")
    assert http("GET", webhook(host, f"entities/counter/{key}").split("?")[0]).status == 401
