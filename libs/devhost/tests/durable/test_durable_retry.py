"""call_activity_with_retry: the engine retries with durable timers, as the extension does."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from devhost.durable import Engine, ManualClock, OrchestrationStatus


class Flaky:
    """Fails ``failures`` times per key, then succeeds; counts calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, value: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"supplier down (call {self.calls})")
        return f"reserved {value}"


def with_retry(ctx: df.DurableOrchestrationContext) -> Any:
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=3)
    result = yield ctx.call_activity_with_retry("reserve", retry, ctx.get_input())
    return result


def test_an_activity_failing_twice_succeeds_on_the_third_attempt_after_durable_delays(
    engine: Engine, clock: ManualClock
) -> None:
    flaky = Flaky(failures=2)
    engine.register_orchestrator("with_retry", df.Orchestrator.create(with_retry))
    engine.register_activity("reserve", flaky)
    instance_id = engine.start_new("with_retry", input="sku-1")
    engine.run_until_idle()
    assert flaky.calls == 1
    clock.advance(timedelta(milliseconds=4999))
    engine.run_until_idle()
    assert flaky.calls == 1, "the retry must wait for its timer"
    clock.advance(timedelta(milliseconds=1))
    engine.run_until_idle()
    assert flaky.calls == 2
    clock.advance(timedelta(seconds=5))
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.runtime_status is OrchestrationStatus.COMPLETED
    assert status.output == "reserved sku-1" and flaky.calls == 3


def test_an_activity_that_always_fails_raises_in_the_orchestrator_after_the_last_attempt(
    engine: Engine, clock: ManualClock
) -> None:
    def compensating(ctx: df.DurableOrchestrationContext) -> Any:
        retry = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
        try:
            yield ctx.call_activity_with_retry("reserve", retry, "sku-2")
        except Exception as error:
            released = yield ctx.call_activity("release", "sku-2")
            return {"error": str(error), "released": released}
        return "unreachable"

    flaky = Flaky(failures=1000)
    engine.register_orchestrator("compensating", df.Orchestrator.create(compensating))
    engine.register_activity("reserve", flaky)
    engine.register_activity("release", lambda sku: f"released {sku}")
    instance_id = engine.start_new("compensating")
    for _ in range(6):
        engine.run_until_idle()
        clock.advance(timedelta(seconds=1))
    status = engine.get_status(instance_id)
    assert status is not None and status.runtime_status is OrchestrationStatus.COMPLETED
    assert flaky.calls == 3
    assert (
        "Activity function 'reserve' failed: ConnectionError: supplier down (call 3)"
        in status.output["error"]
    )
    assert status.output["released"] == "released sku-2"


def test_an_unhandled_activity_error_fails_the_instance_with_the_message(engine: Engine) -> None:
    def careless(ctx: df.DurableOrchestrationContext) -> Any:
        result = yield ctx.call_activity("explode", None)
        return result

    def explode(_: Any) -> None:
        raise ValueError("payment gateway rejected the card")

    engine.register_orchestrator("careless", df.Orchestrator.create(careless))
    engine.register_activity("explode", explode)
    instance_id = engine.start_new("careless", instance_id=f"careless-{uuid.uuid4().hex}")
    engine.run_until_idle()
    status = engine.get_status(instance_id)
    assert status is not None and status.runtime_status is OrchestrationStatus.FAILED
    assert "Orchestrator function 'careless' failed" in status.output
    assert "ValueError: payment gateway rejected the card" in status.output


def test_a_fan_out_of_retried_activities_completes_when_some_fail_once(
    engine: Engine, clock: ManualClock
) -> None:
    failed_once: set[int] = set()

    def sometimes(n: int) -> int:
        if n % 3 == 0 and n not in failed_once:
            failed_once.add(n)
            raise TimeoutError(f"batch {n} timed out")
        return n

    def batches(ctx: df.DurableOrchestrationContext) -> Any:
        retry = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2)
        done = yield ctx.task_all([ctx.call_activity_with_retry("batch", retry, n) for n in range(30)])
        tail = yield ctx.call_activity("batch", 100)
        return sum(done) + tail

    engine.register_orchestrator("batches", df.Orchestrator.create(batches))
    engine.register_activity("batch", sometimes)
    instance_id = engine.start_new("batches")
    for _ in range(4):
        engine.run_until_idle()
        clock.advance(timedelta(seconds=1))
    status = engine.get_status(instance_id)
    assert status is not None and status.runtime_status is OrchestrationStatus.COMPLETED, status
    assert status.output == sum(range(30)) + 100
