"""Durable entities on the engine: signals and calls from orchestrators and clients, in order,
with results, exceptions and deletion as the SDK expects them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df
import pytest

from devhost.durable import Engine, OrchestrationStatus
from devhost.durable.entities import EntityId
from devhost.durable.entities_dispatch import IndexedApp
from devhost.durable.replay import Replay
from devhost.durable.session import SessionSettings

app = df.DFApp()


@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
    elif operation == "reset":
        value = 0
    elif operation == "append_order":  # records the order operations arrive in
        value = [*value, context.get_input()] if isinstance(value, list) else [context.get_input()]
    elif operation == "fail":
        raise ValueError(f"counter {context.entity_key} refuses")
    elif operation == "delete":
        context.destruct_on_exit()
        return
    context.set_state(value)
    context.set_result(value)


@app.orchestration_trigger(context_name="context")
def count_to(context: df.DurableOrchestrationContext) -> Any:
    key, times = context.get_input()
    counter = df.EntityId("Counter", key)
    for _ in range(times):
        context.signal_entity(counter, "add", 1)
    total = yield context.call_entity(counter, "get")
    return total


@app.orchestration_trigger(context_name="context")
def call_failing(context: df.DurableOrchestrationContext) -> Any:
    counter = df.EntityId("Counter", context.get_input())
    before = yield context.call_entity(counter, "add", 2)
    try:
        yield context.call_entity(counter, "fail")
    except Exception as error:  # the SDK raises the operation's exception in the orchestrator
        after = yield context.call_entity(counter, "get")
        return {"before": before, "error": str(error), "after": after}
    return "the failing operation did not raise"


@app.orchestration_trigger(context_name="context")
def call_many(context: df.DurableOrchestrationContext) -> Any:
    keys = context.get_input()
    added = yield context.task_all([context.call_entity(df.EntityId("Counter", k), "add", 10) for k in keys])
    return added


@app.orchestration_trigger(context_name="context")
def signal_and_return(context: df.DurableOrchestrationContext) -> Any:
    context.signal_entity(df.EntityId("Counter", context.get_input()), "add", 7)
    return "sent"


INDEXED = IndexedApp(list(app.get_functions()))
"""The app's functions, listed once (``get_functions`` refuses a second call)."""


@pytest.fixture(params=["verified sessions", "full replays"])
def entity_engine(request: pytest.FixtureRequest, make_engine: Callable[..., Engine]) -> Engine:
    """An engine with the app; each test runs with extended sessions (every episode cross-checked
    against a full replay) and without them."""
    sessions = (
        SessionSettings(verify=True)
        if request.param == "verified sessions"
        else SessionSettings(enabled=False)
    )
    engine = make_engine(sessions=sessions)
    engine.register_app(INDEXED)
    return engine


def key() -> str:
    return uuid.uuid4().hex[:8]


def state_of(engine: Engine, name: str, entity_key: str) -> Any:
    row = engine.entities.read(EntityId(name, entity_key))
    return None if row is None or row.state is None else json.loads(row.state)


def test_an_orchestrator_signals_a_counter_and_reads_it_back_with_call_entity(entity_engine: Engine) -> None:
    k = key()
    instance_id = entity_engine.start_new("count_to", input=[k, 5])
    status = entity_engine.wait_for_completion(instance_id)
    assert status.runtime_status is OrchestrationStatus.COMPLETED, status.output
    assert status.output == 5
    assert state_of(entity_engine, "counter", k) == 5


def test_the_history_records_each_entity_operation_as_an_event_sent_to_the_entity(
    entity_engine: Engine,
) -> None:
    k = key()
    instance_id = entity_engine.start_new("count_to", input=[k, 2])
    entity_engine.wait_for_completion(instance_id)
    status = entity_engine.get_status(instance_id, show_history=True)
    assert status is not None and status.history is not None
    sent = [e for e in status.history if e["EventType"] == 14]
    assert [e["EventId"] for e in sent] == [0, 1, 2]
    assert {e["InstanceId"] for e in sent} == {f"@counter@{k}"}
    requests = [json.loads(e["Input"]) for e in sent]
    assert [(r["op"], r["signal"]) for r in requests] == [("add", True), ("add", True), ("get", False)]
    response = next(e for e in status.history if e["EventType"] == 15)
    assert response["Name"] == requests[2]["id"] and json.loads(response["Input"]) == {"result": "2"}


def test_a_failing_operation_raises_in_the_caller_and_leaves_the_earlier_state(entity_engine: Engine) -> None:
    k = key()
    instance_id = entity_engine.start_new("call_failing", input=k)
    status = entity_engine.wait_for_completion(instance_id)
    assert status.runtime_status is OrchestrationStatus.COMPLETED, status.output
    assert status.output == {"before": 2, "error": f"counter {k} refuses", "after": 2}


def test_calls_to_several_entities_fan_in_with_task_all(entity_engine: Engine) -> None:
    keys = [key() for _ in range(4)]
    entity_engine.entities.signal(EntityId("Counter", keys[0]), "add", "5")
    instance_id = entity_engine.start_new("call_many", input=keys)
    status = entity_engine.wait_for_completion(instance_id)
    assert status.output == [15, 10, 10, 10]


def test_a_signal_sent_just_before_the_orchestrator_returns_is_delivered(entity_engine: Engine) -> None:
    k = key()
    instance_id = entity_engine.start_new("signal_and_return", input=k)
    assert entity_engine.wait_for_completion(instance_id).output == "sent"
    entity_engine.run_until_idle()
    assert state_of(entity_engine, "Counter", k) == 7


def test_client_signals_apply_in_the_order_they_were_sent(entity_engine: Engine) -> None:
    counter = EntityId("Counter", key())
    for n in range(30):
        entity_engine.entities.signal(counter, "append_order", json.dumps(n))
    entity_engine.run_until_idle()
    assert state_of(entity_engine, "counter", counter.key) == list(range(30))


def test_batches_never_exceed_the_configured_batch_size(entity_engine: Engine) -> None:
    entity_engine.entities.batch_size = 4
    counter = EntityId("Counter", key())
    for _ in range(10):
        entity_engine.entities.signal(counter, "add", "1")
    entity_engine.run_until_idle()
    assert entity_engine.entities.batch_count == 3
    assert state_of(entity_engine, "counter", counter.key) == 10


def test_a_deleted_entity_no_longer_exists_and_starts_over(entity_engine: Engine) -> None:
    counter = EntityId("Counter", key())
    entity_engine.entities.signal(counter, "add", "3")
    entity_engine.run_until_idle()
    assert entity_engine.entities.read(counter) is not None
    entity_engine.entities.signal(counter, "delete", None)
    entity_engine.run_until_idle()
    assert entity_engine.entities.read(counter) is None
    entity_engine.entities.signal(counter, "add", "1")
    entity_engine.run_until_idle()
    assert state_of(entity_engine, "counter", counter.key) == 1


def test_an_unknown_entity_fails_the_call_with_a_message_naming_it(engine: Engine) -> None:

    def call_unknown(ctx: df.DurableOrchestrationContext) -> Any:
        try:
            yield ctx.call_entity(df.EntityId("Nobody", "k"), "get")
        except Exception as error:
            return str(error)
        return "no error"

    engine.register_orchestrator("call_unknown", df.Orchestrator.create(call_unknown))
    status = engine.wait_for_completion(engine.start_new("call_unknown"))
    assert "no entity function named 'nobody'" in status.output
    assert engine.entities.read(EntityId("nobody", "k")) is None


def test_entities_are_listed_by_name_page_by_page(entity_engine: Engine) -> None:
    keys = sorted(key() for _ in range(5))
    for k in keys:
        entity_engine.entities.signal(EntityId("Counter", k), "add", "1")
    entity_engine.run_until_idle()
    first, token = entity_engine.entities.list_entities("Counter", top=3)
    assert token is not None
    rest, last = entity_engine.entities.list_entities("Counter", top=3, continuation=token)
    assert last is None
    assert [r.entity.key for r in first + rest] == keys


def test_replacing_a_call_entity_by_an_activity_is_reported_as_non_determinism(entity_engine: Engine) -> None:
    k = key()
    instance_id = entity_engine.start_new("call_failing", input=k)
    entity_engine.wait_for_completion(instance_id)
    status = entity_engine.get_status(instance_id, show_history=True)
    assert status is not None and status.history is not None
    changed = [{"actionType": 0, "functionName": "add", "input": "2"}]
    with pytest.raises(Exception, match="non-deterministic"):
        Replay(instance_id, status.history, changed).run(is_done=False)
