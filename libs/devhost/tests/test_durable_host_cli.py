"""`devhost durable list|show|history|replay-check` on a task hub filled through `devhost run`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devhost.testing import DevhostProcess, http, wait_for

APP = Path(__file__).parent / "apps" / "durable_saga"


def devhost(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devhost.cli", *map(str, args)], capture_output=True, text=True, timeout=60
    )


def run_orders(host: DevhostProcess) -> tuple[str, str]:
    """One completed quick order and one saga waiting for its approval; returns their ids."""
    quick, saga = f"quick-{uuid.uuid4().hex[:8]}", f"saga-{uuid.uuid4().hex[:8]}"
    urls: dict[str, Any] = {}
    for name, instance_id in (("quick_order", quick), ("order_saga", saga)):
        answer = http("POST", host.url(0, f"/api/orders/{name}?id={instance_id}"), b'"o-1"')
        urls[instance_id] = answer.json()["statusQueryGetUri"]
    wait_for(lambda: http("GET", urls[quick]).json()["runtimeStatus"] == "Completed", 20, "quick order")
    wait_for(
        lambda: http("GET", urls[saga]).json()["customStatus"] == "awaiting approval", 20, "saga to wait"
    )
    return quick, saga


def test_list_show_and_history_read_the_task_hub(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    host = start_devhost([APP])
    host.wait_running(0, "durable_saga")
    quick, saga = run_orders(host)
    state = host.state
    listed = devhost("durable", "list", "--state", state)
    assert listed.returncode == 0
    saga_line = next(line for line in listed.stdout.splitlines() if saga in line)
    assert "order_saga" in saga_line and "Running" in saga_line and '"awaiting approval"' in saga_line
    running = json.loads(devhost("durable", "list", "--state", state, "--status", "Running", "--json").stdout)
    assert [r["instanceId"] for r in running] == [saga]
    shown = devhost("durable", "show", quick, "--state", state)
    assert "runtimeStatus:    Completed" in shown.stdout and "paid(reserved(o-1))" in shown.stdout
    history = devhost("durable", "history", quick, "--state", state).stdout.splitlines()
    kinds = [line.split()[1] for line in history]
    assert kinds == [
        "ExecutionStarted",
        "TaskScheduled",
        "TaskCompleted",
        "TaskScheduled",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert "reserve_stock" in history[2] and 'Result="reserved(o-1)"' in history[2]
    assert devhost("durable", "show", "no-such-id", "--state", state).returncode == 2


def test_replay_check_reports_an_instance_an_inserted_activity_call_would_break(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    host = start_devhost([APP])
    host.wait_running(0, "durable_saga")
    quick, saga = run_orders(host)
    unchanged = devhost("durable", "replay-check", APP, "--state", host.state)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert "OK: 2 instance(s) replay" in unchanged.stdout

    changed = tmp_path / "release" / "durable_saga"
    shutil.copytree(APP, changed)
    code = (changed / "function_app.py").read_text()
    inserted = code.replace(
        "    order = context.get_input()\n",
        '    order = context.get_input()\n    order = yield context.call_activity("check_fraud", order)\n',
    )
    assert inserted != code
    (changed / "function_app.py").write_text(inserted)
    broken = devhost("durable", "replay-check", changed, "--state", host.state)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"NOT REPLAYABLE {saga} (order_saga, Running)" in broken.stdout
    assert "'check_fraud'" in broken.stdout and "'reserve_stock'" in broken.stdout
    assert quick not in broken.stdout
    assert "1 of 2 instance(s)" in broken.stdout
