"""SIGKILL of a durable app's worker, ten times at random moments, loses no step of a chain or a
1,000-task fan-out running on a real ``devhost run``; every instance completes exactly once.

The supervisor restarts a killed worker with exponential backoff (0.5 s doubling, reset only after
60 s of healthy running), so ten kills under one supervisor would spend about 60 s waiting.
The test therefore kills the worker at most ``KILLS_PER_HOST`` times under one ``devhost run``;
after the last kill of a host it stops that supervisor (SIGTERM, while the worker is dead) and
starts a new ``devhost run`` on the same state folder, as a developer restarting devhost would.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devhost.durable import OrchestrationStatus, TaskHub
from devhost.testing import DevhostProcess, http, wait_for

APP = Path(__file__).parent / "apps" / "durable_crash"
APP_NAME = "durable_crash"
FAN_OUT = 1000
CHAIN_STEPS = 5
KILLS = 10
KILLS_PER_HOST = 4
KILL_DELAY = (0.02, 0.5)
"""Seconds between starting a chain + fan-out pair and the kill; the fan-out takes ~0.3 s here."""


def _management(host: DevhostProcess, path: str) -> str:
    keys = json.loads((host.state / "apps" / APP_NAME / "durabletask.keys.json").read_text())
    return host.url(0, f"/runtime/webhooks/durabletask/{path}?code={keys['durabletask_extension']}")


def _start(host: DevhostProcess, orchestrator: str) -> str:
    instance_id = f"{orchestrator}-{uuid.uuid4().hex[:8]}"
    answer = http("POST", _management(host, f"orchestrators/{orchestrator}/{instance_id}"))
    assert answer.status == 202, answer.text
    return instance_id


def _status(host: DevhostProcess, instance_id: str) -> dict[str, Any] | None:
    try:
        answer = http("GET", _management(host, f"instances/{instance_id}"))
    except OSError:
        return None  # the worker is down between a kill and its restart
    return answer.json() if answer.status in (200, 202) else None


def _ledger(path: Path) -> Counter[str]:
    return Counter(path.read_text().split()) if path.exists() else Counter()


def _unfinished(hub: Path) -> int:
    """Instances not yet Completed in the task hub file (read while no worker runs)."""
    conn = sqlite3.connect(hub)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM instances WHERE status != 'Completed'").fetchone()[0])
    finally:
        conn.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _fresh_worker(host: DevhostProcess, killed: set[int]) -> int:
    """Wait (bounded) for a running worker the test has not killed yet."""

    def fresh() -> int | None:
        pid = host.worker_pid(APP_NAME)
        return pid if pid is not None and pid not in killed and _alive(pid) else None

    pid: int = wait_for(fresh, 30, "the supervisor to restart the worker")
    return pid


def test_ten_random_worker_kills_lose_no_step_and_complete_each_instance_once(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    ledger, state = tmp_path / "ledger.txt", tmp_path / "state"
    env = {"DURABLE_CRASH_LEDGER": str(ledger)}
    host = start_devhost([APP], env=env, state=state)
    host.wait_running(0, APP_NAME)

    hub_path = state / "apps" / APP_NAME / "taskhub.db"
    rng, killed = random.Random(), set[int]()
    instances: dict[str, int] = {}
    hit_running_work = 0
    while len(killed) < KILLS:
        pid = _fresh_worker(host, killed)
        instances[_start(host, "chain")] = CHAIN_STEPS
        instances[_start(host, "fan_out")] = FAN_OUT
        time.sleep(rng.uniform(*KILL_DELAY))  # the random moment of the crash, not a wait for a state
        os.kill(pid, signal.SIGKILL)
        killed.add(pid)
        hit_running_work += _unfinished(hub_path) > 0
        if len(killed) % KILLS_PER_HOST == 0 and len(killed) < KILLS:
            host.stop()
            host = start_devhost([APP], env=env, state=state)
    assert hit_running_work >= KILLS // 2, f"only {hit_running_work} kills hit unfinished work"

    def completed(instance_id: str) -> dict[str, Any] | None:
        status = _status(host, instance_id)
        return status if status is not None and status["runtimeStatus"] == "Completed" else None

    for instance_id, steps in instances.items():
        done = wait_for(functools.partial(completed, instance_id), 60, f"{instance_id} to complete")
        assert done["output"] == sum(range(steps))
    host.stop()

    hub = TaskHub(hub_path)
    try:
        for instance_id, steps in instances.items():
            row = hub.get_instance(instance_id)
            assert row is not None and row.status is OrchestrationStatus.COMPLETED
            history = hub.history(instance_id, row.execution_id)
            scheduled = [e["EventId"] for e in history if e["EventType"] == 4]
            completions = Counter(e["TaskScheduledId"] for e in history if e["EventType"] == 5)
            assert len(scheduled) == steps and len(set(scheduled)) == steps, "each step scheduled once"
            assert set(completions) == set(scheduled), "no completed step was lost"
            assert set(completions.values()) == {1}, "each completion is recorded exactly once"
            assert [e["EventType"] for e in history].count(1) == 1, "the instance completed exactly once"
    finally:
        hub.close()
    expected = {f"{i}/{n}" for i, steps in instances.items() for n in range(steps)}
    assert set(_ledger(ledger)) == expected, "every activity ran at least once and nothing else ran"
