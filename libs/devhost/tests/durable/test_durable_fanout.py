"""Fan-out/fan-in: results are batched into few episodes."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from devhost.durable import Engine, OrchestrationStatus


def fan_out(ctx: df.DurableOrchestrationContext) -> Any:
    count = ctx.get_input()
    results = yield ctx.task_all([ctx.call_activity("square", n) for n in range(count)])
    return sum(results)


def test_a_fan_out_of_1000_activities_sums_correctly_in_a_handful_of_episodes(engine: Engine) -> None:
    engine.register_orchestrator("fan_out", df.Orchestrator.create(fan_out))
    engine.register_activity("square", lambda n: n * n)
    instance_id = engine.start_new("fan_out", input=1000)
    engine.run_until_idle(timeout=60)
    status = engine.get_status(instance_id)
    assert status is not None and status.runtime_status is OrchestrationStatus.COMPLETED
    assert status.output == sum(n * n for n in range(1000))
    assert engine.episode_count <= 10
    assert engine.activity_count == 1000


def test_small_activity_batches_still_fan_in_without_one_episode_per_result(make_engine: Any) -> None:
    engine: Engine = make_engine(activity_batch=250)
    engine.register_orchestrator("fan_out", df.Orchestrator.create(fan_out))
    engine.register_activity("square", lambda n: n * n)
    instance_id = engine.start_new("fan_out", input=1000)
    engine.run_until_idle(timeout=60)
    status = engine.get_status(instance_id)
    assert status is not None and status.output == sum(n * n for n in range(1000))
    assert engine.episode_count <= 10
