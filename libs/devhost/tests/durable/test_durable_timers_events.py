"""External events raced against durable timers, continue_as_new, terminate, suspend/resume."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import pytest

from devhost.durable import Engine, InstanceNotRunningError, ManualClock, OrchestrationStatus


def approval(ctx: df.DurableOrchestrationContext) -> Any:
    deadline = ctx.current_utc_datetime + timedelta(hours=1)
    timeout = ctx.create_timer(deadline)
    approved = ctx.wait_for_external_event("Approved")
    winner = yield ctx.task_any([approved, timeout])
    if winner == approved:
        timeout.cancel()
        return {"approved_by": approved.result}
    return "timed out"


def test_an_event_raised_before_the_deadline_wins_the_race(engine: Engine, clock: ManualClock) -> None:
    engine.register_orchestrator("approval", df.Orchestrator.create(approval))
    instance_id = engine.start_new("approval")
    engine.run_until_idle()
    clock.advance(timedelta(minutes=59))
    engine.raise_event(instance_id, "Approved", "manager")
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.output == {"approved_by": "manager"}
    assert engine.hub.next_visible_at() is None, "the cancelled timer left no message behind"


def test_the_timer_wins_when_no_event_arrives_before_the_deadline(engine: Engine, clock: ManualClock) -> None:
    engine.register_orchestrator("approval", df.Orchestrator.create(approval))
    instance_id = engine.start_new("approval")
    engine.run_until_idle()
    clock.advance(timedelta(minutes=59, seconds=59))
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.runtime_status is OrchestrationStatus.RUNNING
    clock.advance(timedelta(seconds=1))
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.output == "timed out"
    with pytest.raises(InstanceNotRunningError):
        engine.raise_event(instance_id, "Approved", "too late")


def test_an_event_raised_before_the_orchestrator_waits_is_buffered(engine: Engine) -> None:
    def late_waiter(ctx: df.DurableOrchestrationContext) -> Any:
        first = yield ctx.call_activity("echo", "work")
        payload = yield ctx.wait_for_external_event("Go")
        return [first, payload]

    engine.register_orchestrator("late_waiter", df.Orchestrator.create(late_waiter))
    engine.register_activity("echo", lambda v: v)
    instance_id = engine.start_new("late_waiter")
    engine.raise_event(instance_id, "Go", {"n": 1})
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.output == ["work", {"n": 1}]


def test_continue_as_new_restarts_with_new_input_and_a_fresh_history(engine: Engine) -> None:
    def counter(ctx: df.DurableOrchestrationContext) -> Any:
        n = ctx.get_input()
        n = yield ctx.call_activity("increment", n)
        if n < 4:
            ctx.continue_as_new(n)
            return None
        return n

    engine.register_orchestrator("counter", df.Orchestrator.create(counter))
    engine.register_activity("increment", lambda n: n + 1)
    instance_id = engine.start_new("counter", input=0)
    engine.run_until_idle()
    status = engine.get_status(instance_id, show_history=True)
    assert status is not None and status.runtime_status is OrchestrationStatus.COMPLETED
    assert status.output == 4 and status.input == 3
    assert status.history is not None
    assert [e["EventType"] for e in status.history].count(4) == 1


def test_terminate_ends_a_waiting_instance_with_the_reason(engine: Engine) -> None:
    def waits(ctx: df.DurableOrchestrationContext) -> Any:
        value = yield ctx.wait_for_external_event("Never")
        return value

    engine.register_orchestrator("waits", df.Orchestrator.create(waits))
    instance_id = engine.start_new("waits")
    engine.run_until_idle()
    engine.terminate(instance_id, "operator cancelled")
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.runtime_status is OrchestrationStatus.TERMINATED
    assert status.output == "operator cancelled"


def test_a_suspended_instance_holds_its_events_until_resumed(engine: Engine) -> None:
    def waits(ctx: df.DurableOrchestrationContext) -> Any:
        value = yield ctx.wait_for_external_event("Go")
        return value

    engine.register_orchestrator("waits", df.Orchestrator.create(waits))
    instance_id = engine.start_new("waits")
    engine.run_until_idle()
    engine.suspend(instance_id, "maintenance")
    engine.run_until_idle()
    engine.raise_event(instance_id, "Go", "after maintenance")
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.runtime_status is OrchestrationStatus.SUSPENDED
    engine.resume(instance_id)
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.output == "after maintenance"
