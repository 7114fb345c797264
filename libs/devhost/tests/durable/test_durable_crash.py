"""kill -9 at random moments loses no recorded step; every instance completes exactly once."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from devhost.durable import OrchestrationStatus, TaskHub

WORKER = Path(__file__).with_name("crash_worker.py")
FAN_OUT = 200


def _runs(ledger: Path) -> Counter[str]:
    if not ledger.exists():
        return Counter()
    conn = sqlite3.connect(ledger)
    try:
        return Counter(row[0] for row in conn.execute("SELECT key FROM runs"))
    except sqlite3.OperationalError:
        return Counter()
    finally:
        conn.close()


def _kill_after_progress(hub: Path, ledger: Path, target: int) -> bool:
    """Run the worker; SIGKILL it once the ledger holds ``target`` runs. True if it finished first."""
    proc = subprocess.Popen([sys.executable, str(WORKER), str(hub), str(ledger)])
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                assert proc.returncode == 0, f"worker failed with exit code {proc.returncode}"
                return True
            if sum(_runs(ledger).values()) >= target:
                proc.kill()
                proc.wait()
                return False
            time.sleep(0.005)
        raise AssertionError("worker made no progress within 60 s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_random_kills_lose_no_recorded_step_and_complete_each_instance_once(tmp_path: Path) -> None:
    hub_path, ledger = tmp_path / "hub.sqlite", tmp_path / "ledger.sqlite"
    rng = random.Random()
    kills = 0
    total = 5 + FAN_OUT
    for _ in range(12):
        already = sum(_runs(ledger).values())
        if _kill_after_progress(hub_path, ledger, already + rng.randint(5, 40)):
            break
        kills += 1
    else:
        assert _kill_after_progress(hub_path, ledger, 10**9)
    assert kills >= 3, "the run finished before the workload was killed several times"

    hub = TaskHub(hub_path)
    try:
        chain = hub.get_instance("chain")
        fan = hub.get_instance("fan_out")
        assert chain is not None and chain.status is OrchestrationStatus.COMPLETED
        assert fan is not None and fan.status is OrchestrationStatus.COMPLETED
        assert json.loads(chain.output or "null") == sum(range(5))
        assert json.loads(fan.output or "null") == sum(range(FAN_OUT))
        for row in (chain, fan):
            history = hub.history(row.instance_id, row.execution_id)
            completions = Counter(e["TaskScheduledId"] for e in history if e["EventType"] == 5)
            scheduled = [e["EventId"] for e in history if e["EventType"] == 4]
            assert sorted(completions) == sorted(scheduled), "every scheduled step completed"
            assert set(completions.values()) == {1}, "each completion is recorded once"
            assert [e["EventType"] for e in history].count(1) == 1, "the instance completed once"
    finally:
        hub.close()
    runs = _runs(ledger)
    expected = {f"chain-{n}" for n in range(5)} | {f"fan-{n}" for n in range(FAN_OUT)}
    assert set(runs) == expected, "every activity ran at least once and nothing else ran"
    assert sum(runs.values()) - total <= kills * 20, "reruns are bounded by the work in flight at each kill"
