"""A changed orchestrator replayed against its recorded history fails with the mismatch named."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from devhost.durable import Engine, OrchestrationStatus


def original(ctx: df.DurableOrchestrationContext) -> Any:
    reserved = yield ctx.call_activity("reserve_stock", "order-1")
    paid = yield ctx.call_activity("capture_payment", reserved)
    return paid


def changed(ctx: df.DurableOrchestrationContext) -> Any:
    checked = yield ctx.call_activity("check_fraud", "order-1")
    reserved = yield ctx.call_activity("reserve_stock", checked)
    paid = yield ctx.call_activity("capture_payment", reserved)
    return paid


def test_an_activity_inserted_before_a_recorded_one_fails_the_instance_naming_both(engine: Engine) -> None:
    engine.register_orchestrator("saga", df.Orchestrator.create(original))
    for name in ("reserve_stock", "capture_payment", "check_fraud"):
        engine.register_activity(name, lambda value, name=name: f"{name}({value})")
    instance_id = engine.start_new("saga")
    engine.run_once()  # episode 1 schedules reserve_stock
    engine.run_once()  # reserve_stock runs; its result waits for episode 2
    engine.register_orchestrator("saga", df.Orchestrator.create(changed))
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.runtime_status is OrchestrationStatus.FAILED
    assert "at task index 0" in status.output
    assert "'reserve_stock'" in status.output and "'check_fraud'" in status.output


def test_an_unchanged_orchestrator_replays_cleanly_after_reregistration(engine: Engine) -> None:
    engine.register_orchestrator("saga", df.Orchestrator.create(original))
    for name in ("reserve_stock", "capture_payment"):
        engine.register_activity(name, lambda value, name=name: f"{name}({value})")
    instance_id = engine.start_new("saga")
    engine.run_once()
    engine.register_orchestrator("saga", df.Orchestrator.create(original))
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.output == "capture_payment(reserve_stock(order-1))"
