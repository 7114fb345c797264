"""Child process for test_durable_crash: runs a chain and a fan-out until both complete.

Usage: python crash_worker.py HUB_PATH LEDGER_PATH. Every activity execution is counted in the
ledger (a separate SQLite file, committed before the activity returns).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from typing import Any

import azure.durable_functions as df

from devhost.durable import Engine

FAN_OUT = 200


def chain(ctx: df.DurableOrchestrationContext) -> Any:
    value = 0
    for step in range(5):
        value = yield ctx.call_activity("step", [f"chain-{step}", value + step])
    return value


def fan_out(ctx: df.DurableOrchestrationContext) -> Any:
    results = yield ctx.task_all([ctx.call_activity("step", [f"fan-{n}", n]) for n in range(FAN_OUT)])
    return sum(results)


def main(hub: str, ledger_path: str) -> None:
    ledger = sqlite3.connect(ledger_path, isolation_level=None, check_same_thread=False)
    ledger.execute("CREATE TABLE IF NOT EXISTS runs (key TEXT NOT NULL)")

    def step(args: list[Any]) -> int:
        key, value = args
        time.sleep(0.002)
        ledger.execute("INSERT INTO runs VALUES (?)", (key,))
        return int(value)

    engine = Engine(hub, activity_workers=1, activity_batch=20)
    engine.register_orchestrator("chain", df.Orchestrator.create(chain))
    engine.register_orchestrator("fan_out", df.Orchestrator.create(fan_out))
    engine.register_activity("step", step)
    for name in ("chain", "fan_out"):
        if engine.get_status(name) is None:
            engine.start_new(name, instance_id=name)
    engine.start()
    for name in ("chain", "fan_out"):
        engine.wait_for_completion(name, timeout=60)
    engine.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
