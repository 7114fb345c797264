"""Rewind through a real `devhost run`: a Failed instance is rewound by the management API and by
the SDK client's ``rewind``; the failed activity runs again and the instance completes, keeping
the steps that had already succeeded."""

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


def wait_status(host: DevhostProcess, instance_id: str, wanted: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        body: dict[str, Any] = http("GET", webhook(host, f"instances/{instance_id}?showHistory=true")).json()
        return body if body["runtimeStatus"] == wanted else None

    result: dict[str, Any] = wait_for(reached, 20, f"{instance_id} to be {wanted}")
    return result


def failed_chain(host: DevhostProcess, marker: Path) -> str:
    instance_id = f"flaky-{uuid.uuid4().hex[:8]}"
    started = http(
        "POST", webhook(host, f"orchestrators/flaky_chain/{instance_id}"), json.dumps(str(marker)).encode()
    )
    assert started.status == 202, started.text
    failed = wait_status(host, instance_id, "Failed")
    assert "does not exist yet" in failed["output"]
    return instance_id


def steps_run(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["EventType"], e.get("Name", "")) for e in history if e["EventType"].startswith("Task")]


def test_a_failed_instance_rewound_through_the_management_api_reruns_the_failed_step_and_completes(
    host: DevhostProcess, tmp_path: Path
) -> None:
    marker = tmp_path / "fixed"
    instance_id = failed_chain(host, marker)
    marker.touch()
    answer = http("POST", webhook(host, f"instances/{instance_id}/rewind?reason=fixed"))
    assert answer.status == 202, answer.text
    done = wait_status(host, instance_id, "Completed")
    assert done["output"] == ["first done", "second done"]
    assert steps_run(done["historyEvents"]) == [
        ("TaskScheduled", "step"),
        ("TaskCompleted", "step"),
        ("TaskScheduled", "step"),
        ("TaskCompleted", "step"),
    ], "the first step ran once and the failure was dropped from the history"


def test_a_failed_instance_rewound_through_the_sdk_client_completes(
    host: DevhostProcess, tmp_path: Path
) -> None:
    marker = tmp_path / "fixed"
    instance_id = failed_chain(host, marker)
    marker.touch()
    assert http("POST", host.url(0, f"/api/rewind/{instance_id}")).status == 202
    assert wait_status(host, instance_id, "Completed")["output"] == ["first done", "second done"]


def test_only_failed_instances_can_be_rewound(host: DevhostProcess, tmp_path: Path) -> None:
    marker = tmp_path / "present"
    marker.touch()
    instance_id = f"fine-{uuid.uuid4().hex[:8]}"
    http("POST", webhook(host, f"orchestrators/flaky_chain/{instance_id}"), json.dumps(str(marker)).encode())
    wait_status(host, instance_id, "Completed")
    refused = http("POST", webhook(host, f"instances/{instance_id}/rewind?reason=again"))
    assert refused.status == 412 and "Completed" in refused.json()
    assert http("POST", webhook(host, f"instances/missing-{instance_id}/rewind")).status == 404
