"""The session cache: bounded, dropped when in doubt, rebuilt after a restart, set by host.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from devhost.durable import Engine, ManualClock, OrchestrationStatus
from devhost.durable.session import SessionSettings
from devhost.errors import HostJsonError


def gate(ctx: df.DurableOrchestrationContext) -> Any:
    first = yield ctx.call_activity("square", ctx.get_input())
    opened = yield ctx.wait_for_external_event("Open")
    second = yield ctx.call_activity("square", opened)
    return [first, second]


def steps(ctx: df.DurableOrchestrationContext) -> Any:
    total = 0
    for n in range(ctx.get_input()):
        total += yield ctx.call_activity("square", n)
    return total


def engine_with(path: Path, clock: ManualClock, settings: SessionSettings) -> Engine:
    engine = Engine(path, clock=clock, sessions=settings)
    engine.register_orchestrator("gate", df.Orchestrator.create(gate))
    engine.register_orchestrator("steps", df.Orchestrator.create(steps))
    engine.register_activity("square", lambda n: n * n)
    return engine


def output_of(engine: Engine, instance_id: str) -> Any:
    status = engine.get_status(instance_id)
    assert status is not None and status.runtime_status is OrchestrationStatus.COMPLETED, status
    return status.output


def test_an_engine_restarted_mid_orchestration_replays_once_then_resumes_its_session(
    tmp_path: Path, clock: ManualClock
) -> None:
    first = engine_with(tmp_path / "hub.sqlite", clock, SessionSettings())
    instance_id = first.start_new("gate", input=3)
    first.run_until_idle()
    assert len(first.sessions) == 1
    first.close()
    second = engine_with(tmp_path / "hub.sqlite", clock, SessionSettings())
    try:
        second.raise_event(instance_id, "Open", 4)
        second.run_until_idle()
        assert output_of(second, instance_id) == [9, 16]
        assert (second.sessions.misses, second.sessions.hits) == (1, 1)
        assert len(second.sessions) == 0, "a completed execution keeps no session"
    finally:
        second.close()


def test_the_cache_keeps_the_most_recently_used_executions_up_to_max_instances(
    tmp_path: Path, clock: ManualClock
) -> None:
    engine = engine_with(tmp_path / "hub.sqlite", clock, SessionSettings(max_instances=2))
    try:
        ids = [engine.start_new("gate", input=n) for n in range(3)]
        engine.run_until_idle()
        assert len(engine.sessions) == 2
        for n, instance_id in enumerate(ids):
            engine.raise_event(instance_id, "Open", 10 + n)
        engine.run_until_idle()
        assert [output_of(engine, i) for i in ids] == [[0, 100], [1, 121], [4, 144]]
        assert engine.sessions.misses >= 4, "3 first episodes and at least the evicted one"
    finally:
        engine.close()


def test_a_history_longer_than_max_events_is_replayed_in_full_every_episode(
    tmp_path: Path, clock: ManualClock
) -> None:
    engine = engine_with(tmp_path / "hub.sqlite", clock, SessionSettings(max_events=10))
    try:
        instance_id = engine.start_new("steps", input=6)
        engine.run_until_idle()
        assert output_of(engine, instance_id) == sum(n * n for n in range(6))
        # 4 history events per episode: kept after episodes 1 and 2 (4, 8 events), then too long
        assert (engine.sessions.hits, engine.sessions.misses) == (2, 5)
        assert len(engine.sessions) == 0
    finally:
        engine.close()


def test_with_a_zero_idle_timeout_no_session_outlives_its_episode(tmp_path: Path, clock: ManualClock) -> None:
    engine = engine_with(tmp_path / "hub.sqlite", clock, SessionSettings(idle_timeout=0))
    try:
        instance_id = engine.start_new("steps", input=4)
        engine.run_until_idle()
        assert output_of(engine, instance_id) == 14
        assert engine.sessions.hits == 0 and engine.sessions.misses == 5
    finally:
        engine.close()


def test_a_finished_instance_started_again_does_not_reuse_the_old_execution(
    tmp_path: Path, clock: ManualClock
) -> None:
    engine = engine_with(tmp_path / "hub.sqlite", clock, SessionSettings())
    try:
        instance_id = engine.start_new("gate", input=2)
        engine.run_until_idle()
        engine.terminate(instance_id, "enough")
        engine.run_until_idle()
        engine.start_new("gate", instance_id, 5)
        engine.run_until_idle()
        engine.raise_event(instance_id, "Open", 6)
        engine.run_until_idle()
        assert output_of(engine, instance_id) == [25, 36]
    finally:
        engine.close()


def test_host_json_switches_sessions_off_and_sets_the_idle_timeout() -> None:
    settings = SessionSettings.from_host_json(
        {
            "extensions": {
                "DurableTask": {"extendedSessionsEnabled": False, "extendedSessionIdleTimeoutInSeconds": 5}
            }
        }
    )
    assert (settings.enabled, settings.idle_timeout) == (False, 5.0)
    assert SessionSettings.from_host_json({}) == SessionSettings(), "devhost keeps sessions on by default"


@pytest.mark.parametrize(
    "durable_task",
    [{"extendedSessionsEnabled": "yes"}, {"extendedSessionIdleTimeoutInSeconds": -1}],
    ids=["enabled-not-a-bool", "negative-timeout"],
)
def test_a_malformed_session_setting_is_refused_naming_it(durable_task: dict[str, Any]) -> None:
    with pytest.raises(HostJsonError, match=next(iter(durable_task))):
        SessionSettings.from_host_json({"extensions": {"durableTask": durable_task}})
