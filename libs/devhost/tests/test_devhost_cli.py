"""The CLI and the supervisor: listing, failing apps, restarts, graceful stop, invoke, JSON logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from devhost.testing import DevhostProcess, Response, http, wait_for

APPS = Path(__file__).parent / "apps"


def devhost_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devhost.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_functions_prints_every_function_with_its_trigger_and_url() -> None:
    result = devhost_cli("functions", str(APPS / "webapp"))
    assert result.returncode == 0, result.stderr
    assert "item_by_number: [GET] http://localhost:7071/api/items/{id:int}" in result.stdout
    assert "record_invocation: timerTrigger (0 0 0 1 1 *)" in result.stdout


def test_functions_reports_unsupported_triggers_and_unresolved_settings(tmp_path: Path) -> None:
    result = devhost_cli("functions", str(APPS / "counting"), env={"QUEUE": ""})
    assert result.returncode == 0, result.stderr
    assert "storage_listener: queueTrigger  WARNING: not supported by devhost yet" in result.stdout
    assert "queue_listener: serviceBusTrigger\n" in result.stdout
    assert "tick: timerTrigger (0 */5 * * * *)" in result.stdout


def test_functions_shows_the_traceback_of_an_app_that_fails_to_import() -> None:
    result = devhost_cli("functions", str(APPS / "broken"))
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "missing_module_for_devhost_test" in result.stderr


def test_a_failing_app_is_reported_with_its_traceback_while_the_other_runs(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    host = start_devhost([APPS / "broken", APPS / "webapp"], env={"DEVHOST_TEST_OUT": str(tmp_path)})
    host.wait_running(1, "webapp")
    assert http("GET", host.url(1, "/api/items/7")).status == 200
    output = wait_for(lambda: "failed to load: broken" in host.output and host.output, what="the ready line")
    assert "app broken" in output and "failed to load; it is not started" in output
    assert "ModuleNotFoundError: No module named 'missing_module_for_devhost_test'" in output
    assert output.count("app broken (") == 1, "a failing app must not be restarted in a loop"
    assert "item_by_number: [GET] http://localhost:" in output


def test_a_killed_worker_is_restarted_and_answers_again(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    host = start_devhost([APPS / "webapp"], env={"DEVHOST_TEST_OUT": str(tmp_path)})
    host.wait_running(0, "webapp")
    first_pid = host.worker_pid("webapp")
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)
    wait_for(lambda: host.worker_pid("webapp") not in (None, first_pid), what="a new worker")
    host.wait_running(0, "webapp")
    assert http("GET", host.url(0, "/api/items/7")).status == 200
    assert "exited unexpectedly" in host.output


def test_sigterm_lets_an_in_flight_slow_request_finish(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    host = start_devhost([APPS / "webapp"], env={"DEVHOST_TEST_OUT": str(tmp_path)})
    host.wait_running(0, "webapp")
    answers: list[Response] = []
    request = threading.Thread(
        target=lambda: answers.append(http("GET", host.url(0, "/api/slow?seconds=2"))), daemon=True
    )
    request.start()
    wait_for(lambda: (tmp_path / "slow-started").exists(), what="the slow request to start")
    host.process.send_signal(signal.SIGTERM)
    request.join(timeout=60)
    assert answers and answers[0].status == 200 and answers[0].text == "slept"
    assert (tmp_path / "slow-finished").exists()
    assert host.process.wait(timeout=60) == 0


def test_invoke_runs_a_function_in_process_when_no_host_runs(tmp_path: Path) -> None:
    result = devhost_cli(
        "invoke",
        str(APPS / "webapp"),
        "record_invocation",
        "--state",
        str(tmp_path / "state"),
        env={"DEVHOST_TEST_OUT": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "Executed 'Functions.record_invocation' (Succeeded" in result.stderr
    assert (tmp_path / "record_invocation.jsonl").read_text().strip() == json.dumps({"past_due": False})


def test_invoke_goes_through_a_running_host(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    host = start_devhost([APPS / "webapp"], "--log-format", "json", env={"DEVHOST_TEST_OUT": str(tmp_path)})
    host.wait_running(0, "webapp")
    result = devhost_cli("invoke", str(APPS / "webapp"), "record_invocation", "--state", str(host.state))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "accepted by the running host (202)" in result.stdout
    wait_for(lambda: (tmp_path / "record_invocation.jsonl").exists(), what="the invocation")

    def executed() -> dict[str, object] | None:
        for line in host.output.splitlines():
            if line.startswith("{") and '"outcome"' in line and "record_invocation" in line:
                return dict(json.loads(line))
        return None

    record = wait_for(executed, what="the JSON log line of the invocation")
    assert record["app"] == "webapp" and record["function"] == "record_invocation"
    assert record["outcome"] == "Succeeded" and "invocation_id" in record and "duration_ms" in record
