"""Durable activities with FUNCTIONS_WORKER_PROCESS_COUNT=2 on a real `devhost run`: activities run
in the language-worker children, their failures reach the orchestrator as TaskFailed, and a
Cosmos DB-triggered function with a Durable client stays in the worker process and starts
orchestrations."""

from __future__ import annotations

import ast
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, http, wait_for
from eventkit.store.events import NewEvent

APP = Path(__file__).parent / "apps" / "durable_pooled"
APP_NAME = "durable_pooled"
WAIT = 20.0


class PooledDurableApp:
    """A devhost running the fixture app with two language workers."""

    def __init__(self, host: DevhostProcess) -> None:
        self.host = host
        host.wait_running(0, APP_NAME)
        pid = host.worker_pid(APP_NAME)
        assert pid is not None
        self.worker_pid = pid
        started = re.search(
            rf"Started 2 language worker processes for {APP_NAME}: pids (\[[\d, ]+\])", host.output
        )
        assert started is not None, host.output
        self.child_pids: set[int] = set(ast.literal_eval(started.group(1)))

    def start(self, orchestrator: str, payload: Any) -> str:
        instance_id = f"{orchestrator}-{uuid.uuid4().hex[:8]}"
        answer = http(
            "POST",
            self.host.url(0, f"/api/start/{orchestrator}?id={instance_id}"),
            json.dumps(payload).encode(),
        )
        assert answer.status == 202, answer.text
        return instance_id

    def status(self, instance_id: str) -> dict[str, Any]:
        keys = json.loads((self.host.state / "apps" / APP_NAME / "durabletask.keys.json").read_text())
        url = f"/runtime/webhooks/durabletask/instances/{instance_id}?code={keys['durabletask_extension']}"
        answer = http("GET", self.host.url(0, url))
        body: dict[str, Any] = answer.json() if answer.status in (200, 202) else {"runtimeStatus": None}
        return body

    def wait_finished(self, instance_id: str) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            body = self.status(instance_id)
            return body if body["runtimeStatus"] in ("Completed", "Failed", "Terminated") else None

        result: dict[str, Any] = wait_for(finished, WAIT, f"{instance_id} to finish")
        return result


@pytest.fixture
def app(start_devhost: Callable[..., DevhostProcess], tmp_path: Path) -> PooledDurableApp:
    return PooledDurableApp(start_devhost([APP], state=tmp_path / "state"))


def test_a_fan_out_of_twenty_activities_runs_them_in_the_language_workers_and_completes_with_their_sum(
    app: PooledDurableApp,
) -> None:
    instance_id = app.start("fan_out", {"count": 20})

    done = app.wait_finished(instance_id)

    assert done["runtimeStatus"] == "Completed", done
    assert done["output"]["sum"] == sum(n * n for n in range(20))
    assert set(done["output"]["pids"]) <= app.child_pids
    assert app.worker_pid not in done["output"]["pids"]
    assert done["output"]["parents"] == [app.worker_pid]


def test_an_activity_that_raises_in_a_language_worker_reaches_the_orchestrator_as_a_task_failure(
    app: PooledDurableApp,
) -> None:
    caught_id = app.start("catch_refusal", "order-1")
    failed_id = app.start("fail_on_refusal", "order-2")

    caught = app.wait_finished(caught_id)
    failed = app.wait_finished(failed_id)

    assert caught["runtimeStatus"] == "Completed", caught
    match = re.search(r"ValueError: refused order-1 in pid (\d+)", caught["output"])
    assert match is not None, caught["output"]
    assert int(match.group(1)) in app.child_pids
    assert failed["runtimeStatus"] == "Failed", failed
    assert "ValueError: refused order-2 in pid" in failed["output"]


def test_a_cosmos_triggered_function_with_a_durable_client_runs_in_the_worker_and_starts_orchestrations(
    app: PooledDurableApp, tmp_path: Path
) -> None:
    store = StateLayout(tmp_path / "state").open_cosmos_container("nightshift", "dp-orders")
    streams = [f"order-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for stream in streams:
        store.append(stream, 0, [NewEvent(type="accepted", data={"total": 12.5})])

    for stream in streams:
        done = app.wait_finished(stream)
        assert done["runtimeStatus"] == "Completed", done
        assert done["input"] == {"count": 3, "starter": app.worker_pid}
        assert done["output"]["sum"] == 0 + 1 + 4
        assert set(done["output"]["pids"]) <= app.child_pids
    assert "the JSON object must be str" not in app.host.output
