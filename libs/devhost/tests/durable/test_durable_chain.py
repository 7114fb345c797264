"""Chains, custom status, replay-safe uuids, sub-orchestrations and instance-id rules."""

from __future__ import annotations

import uuid
from typing import Any

import azure.durable_functions as df
import pytest

from devhost.durable import Engine, InstanceAlreadyExistsError, OrchestrationStatus


def chain(ctx: df.DurableOrchestrationContext) -> Any:
    value = ctx.get_input()
    for step in range(5):
        ctx.set_custom_status({"step": step})
        value = yield ctx.call_activity("append", [value, step])
    return value


def test_a_five_step_chain_returns_every_step_in_order(engine: Engine) -> None:
    engine.register_orchestrator("chain", df.Orchestrator.create(chain))
    engine.register_activity("append", lambda pair: f"{pair[0]}-{pair[1]}")
    instance_id = engine.start_new("chain", input="start")
    engine.run_until_idle()
    status = engine.get_status(instance_id, show_history=True)
    assert status is not None
    assert status.runtime_status is OrchestrationStatus.COMPLETED
    assert status.output == "start-0-1-2-3-4"
    assert status.custom_status == {"step": 4}
    assert status.history is not None
    scheduled = [e["EventId"] for e in status.history if e["EventType"] == 4]
    assert scheduled == [0, 1, 2, 3, 4]


def test_new_uuid_gives_the_same_values_on_every_replay(engine: Engine) -> None:
    def uuids(ctx: df.DurableOrchestrationContext) -> Any:
        first = ctx.new_uuid()
        echoed = yield ctx.call_activity("echo", first)
        second = ctx.new_uuid()
        echoed_again = yield ctx.call_activity("echo", second)
        return [first, echoed, second, echoed_again, ctx.new_uuid()]

    engine.register_orchestrator("uuids", df.Orchestrator.create(uuids))
    engine.register_activity("echo", lambda value: value)
    instance_id = engine.start_new("uuids")
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None
    first, echoed, second, echoed_again, third = status.output
    assert first == echoed and second == echoed_again
    assert len({first, second, third}) == 3


def test_a_sub_orchestration_returns_its_output_to_the_parent_under_a_derived_id(engine: Engine) -> None:
    def parent(ctx: df.DurableOrchestrationContext) -> Any:
        doubled = yield ctx.call_sub_orchestrator("child", 21)
        named = yield ctx.call_sub_orchestrator("child", 1, instance_id=f"{ctx.instance_id}-named")
        return [doubled, named]

    def child(ctx: df.DurableOrchestrationContext) -> Any:
        result = yield ctx.call_activity("double", ctx.get_input())
        return result

    engine.register_orchestrator("parent", df.Orchestrator.create(parent))
    engine.register_orchestrator("child", df.Orchestrator.create(child))
    engine.register_activity("double", lambda n: n * 2)
    instance_id = engine.start_new("parent", instance_id=f"parent-{uuid.uuid4().hex}")
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.output == [42, 2]
    derived = engine.get_status(f"{instance_id}:0")
    assert derived is not None and derived.parent_instance_id == instance_id and derived.output == 42
    named = engine.get_status(f"{instance_id}-named")
    assert named is not None and named.runtime_status is OrchestrationStatus.COMPLETED


def test_a_running_instance_id_cannot_be_started_again_but_a_finished_one_can(engine: Engine) -> None:
    engine.register_orchestrator("chain", df.Orchestrator.create(chain))
    engine.register_activity("append", lambda pair: f"{pair[0]}{pair[1]}")
    instance_id = f"order-{uuid.uuid4().hex}"
    engine.start_new("chain", instance_id=instance_id, input="a")
    with pytest.raises(InstanceAlreadyExistsError, match=instance_id):
        engine.start_new("chain", instance_id=instance_id, input="b")
    engine.run_until_idle()
    engine.start_new("chain", instance_id=instance_id, input="b")
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.output == "b01234"


def test_functions_registered_on_a_dfapp_run_through_the_engine(engine: Engine) -> None:
    app = df.DFApp()

    @app.orchestration_trigger(context_name="context")
    def greet_all(context: df.DurableOrchestrationContext) -> Any:
        names = context.get_input()
        greetings = yield context.task_all([context.call_activity("greet", n) for n in names])
        return greetings

    @app.activity_trigger(input_name="name")
    async def greet(name: str) -> str:
        return f"hello {name}"

    engine.register_app(app)
    instance_id = engine.start_new("greet_all", input=["ada", "bob"])
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.output == ["hello ada", "hello bob"]
