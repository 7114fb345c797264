"""Fixture: a 5-step chain and a 1,000-task fan-out whose activities record every execution.

Each activity execution appends one line ``<instance id>/<step>`` to the file named by
``DURABLE_CRASH_LEDGER`` (O_APPEND, one write per line), before returning, so a crash test can
tell which activities ran and how often.
"""

from __future__ import annotations

import os
from typing import Any

import azure.durable_functions as df

FAN_OUT = 1000
CHAIN_STEPS = 5

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext) -> Any:
    value = 0
    for step in range(CHAIN_STEPS):
        value = yield context.call_activity("record_step", [f"{context.instance_id}/{step}", value + step])
    return value


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext) -> Any:
    tasks = [context.call_activity("record_step", [f"{context.instance_id}/{n}", n]) for n in range(FAN_OUT)]
    results = yield context.task_all(tasks)
    return sum(results)


@app.activity_trigger(input_name="step")
def record_step(step: list[Any]) -> int:
    key, value = step
    fd = os.open(os.environ["DURABLE_CRASH_LEDGER"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{key}\n".encode())
    finally:
        os.close(fd)
    return int(value)
