"""Extended sessions record exactly what full replays record, for every orchestration shape.

Each scenario runs three times on fresh task hubs with the same manual clock and instance id:
sessions off (every episode replays the whole history), sessions on, and sessions on with
``verify=True`` (each episode also replays in full and any difference raises). The stored
results of every instance (status, output, custom status, history) must be equal.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from devhost.durable import Engine, ManualClock
from devhost.durable.entities_dispatch import IndexedApp
from devhost.durable.session import SessionSettings

Orchestrator = Callable[[df.DurableOrchestrationContext], Any]


@dataclass
class Run:
    """What one scenario run registers; ``notes`` collects what orchestrator code observed."""

    notes: list[Any] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    def note(self, ctx: df.DurableOrchestrationContext, label: str) -> None:
        self.notes.append((label, ctx.is_replaying))

    def counted(self, name: str) -> int:
        self.calls[name] = self.calls.get(name, 0) + 1
        return self.calls[name]


# -- orchestrators ---------------------------------------------------------------------------
def chain(run: Run) -> Orchestrator:
    def body(ctx: df.DurableOrchestrationContext) -> Any:
        value: list[Any] = [ctx.get_input()]
        for step in range(6):
            ctx.set_custom_status({"step": step, "at": ctx.current_utc_datetime.isoformat()})
            run.note(ctx, f"step {step}")
            value = yield ctx.call_activity("append", [value, step, ctx.new_uuid()])
        return [value, ctx.new_uuid()]

    return body


def fan_out(run: Run) -> Orchestrator:
    def body(ctx: df.DurableOrchestrationContext) -> Any:
        squares = yield ctx.task_all([ctx.call_activity("square", n) for n in range(25)])
        run.note(ctx, "fanned in")
        again = yield ctx.task_all([ctx.call_activity("square", s % 7) for s in squares[:5]])
        first = yield ctx.task_any([ctx.call_activity("square", 11), ctx.call_activity("square", 12)])
        return [sum(squares), again, first.result]

    return body


def retries(run: Run) -> Orchestrator:
    def body(ctx: df.DurableOrchestrationContext) -> Any:
        flaky = yield ctx.call_activity_with_retry("flaky", df.RetryOptions(1000, 4), "x")
        run.note(ctx, "flaky done")
        try:
            yield ctx.call_activity_with_retry("broken", df.RetryOptions(500, 2), "y")
        except Exception as error:
            return [flaky, str(error).splitlines()[0]]
        return [flaky, "broken did not fail"]

    return body


def timers_and_events(run: Run) -> Orchestrator:
    def body(ctx: df.DurableOrchestrationContext) -> Any:
        timeout = ctx.create_timer(ctx.current_utc_datetime + timedelta(hours=1))
        approved = ctx.wait_for_external_event("Approved")
        winner = yield ctx.task_any([approved, timeout])
        if winner == approved:
            timeout.cancel()
        run.note(ctx, "first race")
        late = ctx.create_timer(ctx.current_utc_datetime + timedelta(minutes=5))
        never = ctx.wait_for_external_event("Never")
        second = yield ctx.task_any([never, late])
        first_event = ctx.wait_for_external_event("A")
        second_event = ctx.wait_for_external_event("B")
        a = yield first_event
        run.note(ctx, "A arrived")
        b = yield second_event  # raised before A: completed in an earlier episode
        run.note(ctx, "B read")
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=30))
        return [approved.result if winner == approved else "timeout", second == late, a, b]

    return body


def parent(run: Run) -> Orchestrator:
    def body(ctx: df.DurableOrchestrationContext) -> Any:
        doubled = yield ctx.task_all([ctx.call_sub_orchestrator("child", n) for n in range(3)])
        named = yield ctx.call_sub_orchestrator("child", 10, instance_id=f"{ctx.instance_id}-named")
        try:
            yield ctx.call_sub_orchestrator("child", -1)
        except Exception as error:
            return [doubled, named, str(error)[:80]]
        return [doubled, named, "no error"]

    return body


def child(run: Run) -> Orchestrator:
    def body(ctx: df.DurableOrchestrationContext) -> Any:
        value = ctx.get_input()
        if value < 0:
            raise ValueError(f"child refuses {value}")
        doubled = yield ctx.call_activity("double", value)
        return doubled

    return body


def counter(run: Run) -> Orchestrator:
    def body(ctx: df.DurableOrchestrationContext) -> Any:
        n = ctx.get_input()
        echoed = yield ctx.call_activity("square", n)
        ctx.set_custom_status(f"round {n}")
        if n < 3:
            ctx.continue_as_new(n + 1)
            return None
        return echoed

    return body


def failing(run: Run) -> Orchestrator:
    def body(ctx: df.DurableOrchestrationContext) -> Any:
        yield ctx.call_activity("square", 2)
        yield ctx.call_activity("square", 3)
        raise RuntimeError("the orchestrator gave up")

    return body


def unhandled(run: Run) -> Orchestrator:
    def body(ctx: df.DurableOrchestrationContext) -> Any:
        yield ctx.call_activity("square", 6)
        yield ctx.call_activity("broken", "z")
        return "unreachable"

    return body


def held(run: Run) -> Orchestrator:
    def body(ctx: df.DurableOrchestrationContext) -> Any:
        first = yield ctx.call_activity("square", 4)
        go = yield ctx.wait_for_external_event("Go")
        run.note(ctx, "released")
        second = yield ctx.call_activity("square", 5)
        return [first, go, second]

    return body


# -- entities: an app of their own (the SDK lists a DFApp's functions once) ------------------
entity_app = df.DFApp()


@entity_app.entity_trigger(context_name="context")
def Tally(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0) + (context.get_input() or 0)
    context.set_state(value)
    context.set_result(value)


ENTITY_APP = IndexedApp(list(entity_app.get_functions()))


def entity_user(run: Run) -> Orchestrator:
    def body(ctx: df.DurableOrchestrationContext) -> Any:
        tally = df.EntityId("Tally", ctx.instance_id[:8])
        ctx.signal_entity(tally, "add", 5)
        first = yield ctx.call_entity(tally, "add", 1)
        both = yield ctx.task_all([ctx.call_entity(tally, "add", 2), ctx.call_activity("square", 3)])
        ctx.signal_entity(tally, "add", 100)
        return [first, both]

    return body


# -- scenarios -------------------------------------------------------------------------------
def activities(run: Run) -> dict[str, Callable[[Any], Any]]:
    def flaky(value: Any) -> Any:
        if run.counted("flaky") < 3:
            raise ConnectionError(f"attempt {run.calls['flaky']} failed")
        return f"flaky({value})"

    def broken(value: Any) -> Any:
        raise ValueError(f"broken({value}) always fails")

    return {
        "append": lambda args: [*args[0], args[1], args[2][:8]],
        "square": lambda n: n * n,
        "double": lambda n: 2 * n,
        "flaky": flaky,
        "broken": broken,
    }


def settle(engine: Engine, clock: ManualClock, instance_id: str) -> None:
    for _ in range(12):  # retry delays and timers are at most 5 minutes apart here
        engine.run_until_idle()
        clock.advance(timedelta(minutes=1))


def step_by_step(engine: Engine, clock: ManualClock, instance_id: str) -> None:
    for _ in range(100):  # every episode and activity batch one second after the previous one
        if not engine.run_once():
            return
        clock.advance(timedelta(seconds=1))


def race(engine: Engine, clock: ManualClock, instance_id: str) -> None:
    engine.run_until_idle()
    clock.advance(timedelta(minutes=10))
    engine.raise_event(instance_id, "Approved", "manager")
    engine.run_until_idle()
    clock.advance(timedelta(minutes=6))
    engine.run_until_idle()
    engine.raise_event(instance_id, "B", "bee")
    engine.run_until_idle()
    engine.raise_event(instance_id, "A", "ay")
    settle(engine, clock, instance_id)


def suspend_in_the_middle(engine: Engine, clock: ManualClock, instance_id: str) -> None:
    engine.run_until_idle()
    engine.suspend(instance_id, "hold on")
    engine.run_until_idle()
    engine.raise_event(instance_id, "Go", "green")
    engine.run_until_idle()
    clock.advance(timedelta(seconds=5))
    engine.resume(instance_id, "carry on")
    settle(engine, clock, instance_id)


@dataclass(frozen=True)
class Scenario:
    name: str
    orchestrators: dict[str, Callable[[Run], Orchestrator]]
    drive: Callable[[Engine, ManualClock, str], None] = settle
    input: Any = None
    options: dict[str, Any] = field(default_factory=dict)


SCENARIOS = [
    Scenario("chain", {"chain": chain}, drive=step_by_step, input="start"),
    Scenario("fan_out", {"fan_out": fan_out}, options={"activity_batch": 7}),
    Scenario("retries", {"retries": retries}),
    Scenario("timers_and_events", {"timers_and_events": timers_and_events}, drive=race),
    Scenario("parent", {"parent": parent, "child": child}),
    Scenario("counter", {"counter": counter}, input=0),
    Scenario("failing", {"failing": failing}),
    Scenario("unhandled", {"unhandled": unhandled}),
    Scenario("held", {"held": held}, drive=suspend_in_the_middle),
    Scenario("entity_user", {"entity_user": entity_user}),
]


@dataclass
class Outcome:
    instances: list[Any]
    notes: list[Any]
    hits: int


def run_scenario(folder: Path, scenario: Scenario, instance_id: str, settings: SessionSettings) -> Outcome:
    run = Run()
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    engine = Engine(folder / "hub.sqlite", clock=clock, sessions=settings, **scenario.options)
    try:
        engine.register_app(ENTITY_APP)
        for name, make in scenario.orchestrators.items():
            engine.register_orchestrator(name, df.Orchestrator.create(make(run)))
        for name, fn in activities(run).items():
            engine.register_activity(name, fn)
        engine.start_new(next(iter(scenario.orchestrators)), instance_id, scenario.input)
        scenario.drive(engine, clock, instance_id)
        instances = []
        for row in sorted(engine.hub.list_instances(), key=lambda r: r.instance_id):
            status = engine.get_status(row.instance_id, show_history=True)
            assert status is not None
            instances.append(
                [row.instance_id, status.runtime_status, status.output, status.custom_status, status.history]
            )
        first_sight = {label: replaying for label, replaying in reversed(run.notes)}
        return Outcome(_comparable(instances), sorted(first_sight.items()), engine.sessions.hits)
    finally:
        engine.close()


def _comparable(instances: list[Any]) -> Any:
    """The stored results with what is random by design (execution and request ids) numbered."""
    text = json.dumps(instances, sort_keys=True, default=str)
    seen: dict[str, str] = {}
    execution_ids = re.findall(r'"ExecutionId": "([0-9a-f]{32})"', text)
    request_ids = re.findall(r'\\"id\\": \\"([0-9a-f-]{36})\\"', text)
    for value in execution_ids + request_ids:
        seen.setdefault(value, f"random-{len(seen)}")
    for value, number in seen.items():
        text = text.replace(value, number)
    return json.loads(text)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_session_records_exactly_what_a_full_replay_records(tmp_path: Path, scenario: Scenario) -> None:
    instance_id = f"{scenario.name}-{uuid.uuid4().hex}"
    full = run_scenario(tmp_path / "full", scenario, instance_id, SessionSettings(enabled=False))
    live = run_scenario(tmp_path / "live", scenario, instance_id, SessionSettings())
    verified = run_scenario(tmp_path / "verified", scenario, instance_id, SessionSettings(verify=True))
    assert full.hits == 0 and live.hits > 0 and verified.hits > 0
    assert all(status != "Running" for _, status, *_ in full.instances), full.instances
    assert live.instances == full.instances
    assert verified.instances == full.instances
    assert live.notes == full.notes, "orchestrator code saw is_replaying differently"
