"""Fixture app: a daily 06:00 timer (schedule monitor, past due) and a run-on-startup timer."""

import json
import os
from pathlib import Path

import azure.functions as func

app = func.FunctionApp()


def _record(name: str, timer: func.TimerRequest) -> None:
    out = Path(os.environ["DEVHOST_TEST_OUT"]) / f"{name}.jsonl"
    with out.open("a") as handle:
        handle.write(json.dumps({"past_due": timer.past_due, "status": timer.schedule_status}) + "\n")


@app.timer_trigger(schedule="0 0 6 * * *", arg_name="timer")
def daily_report(timer: func.TimerRequest) -> None:
    _record("daily_report", timer)


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=True)
async def yearly_with_startup(timer: func.TimerRequest) -> None:
    _record("yearly_with_startup", timer)
