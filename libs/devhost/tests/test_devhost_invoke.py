"""The invocation runtime: retries where Azure applies them, timeouts, outputs, context, outcomes."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import azure.functions as func

from devhost.indexing import BindingInfo, FunctionInfo, RetryPolicy
from devhost.invoke import InvocationResult, Invoker, retry_delay


def function_info(
    user_function: Any, retry: RetryPolicy | None = None, outputs: tuple[str, ...] = ()
) -> FunctionInfo:
    return FunctionInfo(
        name=user_function.__name__,
        trigger=BindingInfo("timerTrigger", "in", "timer", {"schedule": "0 0 6 * * *"}),
        bindings=tuple(BindingInfo("serviceBus", "out", name, {}) for name in outputs),
        user_function=user_function,
        is_async=asyncio.iscoroutinefunction(user_function),
        retry=retry,
    )


def run(function: FunctionInfo, use_retry: bool = True, timeout: timedelta | None = None) -> InvocationResult:
    async def scenario() -> InvocationResult:
        invoker = Invoker("app", "/tmp", timeout, 2)
        try:
            return await invoker.invoke(function, {"timer": None}, "test", use_retry=use_retry)
        finally:
            invoker.close()

    return asyncio.run(scenario())


def test_a_fixed_delay_retry_reruns_until_success_with_the_retry_context() -> None:
    seen: list[int] = []

    def flaky(timer: Any, context: func.Context) -> None:
        seen.append(context.retry_context.retry_count)
        if len(seen) < 3:
            raise RuntimeError("not yet")

    result = run(function_info(flaky, RetryPolicy("fixed_delay", 5, delay_interval="00:00:00")))
    assert result.succeeded and result.attempts == 3
    assert seen == [0, 1, 2]


def test_retries_stop_at_max_retry_count_and_the_failure_carries_its_traceback() -> None:
    calls: list[int] = []

    def always_fails(timer: Any) -> None:
        calls.append(1)
        raise ValueError("still broken")

    result = run(function_info(always_fails, RetryPolicy("fixed_delay", 2, delay_interval="00:00:00")))
    assert result.outcome == "Failed" and len(calls) == 3
    assert result.traceback_text is not None and "ValueError: still broken" in result.traceback_text


def test_retry_policies_are_ignored_where_azure_does_not_apply_them() -> None:
    calls: list[int] = []

    def fails(timer: Any) -> None:
        calls.append(1)
        raise ValueError("once")

    assert not run(function_info(fails, RetryPolicy("fixed_delay", 3, "00:00:00")), use_retry=False).succeeded
    assert len(calls) == 1


def test_exponential_backoff_doubles_up_to_the_maximum() -> None:
    policy = RetryPolicy("exponential_backoff", 5, minimum_interval="00:00:01", maximum_interval="00:00:05")
    assert [retry_delay(policy, n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 5]


def test_an_async_function_past_function_timeout_fails_with_a_timeout() -> None:
    async def hangs(timer: Any) -> None:
        await asyncio.sleep(60)

    started = time.monotonic()
    result = run(function_info(hangs), timeout=timedelta(milliseconds=50))
    assert result.outcome == "Failed" and "Timeout value of" in str(result.error)
    assert time.monotonic() - started < 30


def test_values_set_on_output_bindings_are_collected() -> None:
    def produces(timer: Any, out: func.Out[str]) -> str:
        out.set("message")
        return "returned"

    result = run(function_info(produces, outputs=("out",)))
    assert result.outputs == {"out": "message"} and result.return_value == "returned"


def test_sync_functions_run_off_the_event_loop_thread() -> None:
    import threading

    threads: list[str] = []

    def sync(timer: Any) -> None:
        threads.append(threading.current_thread().name)

    run(function_info(sync))
    assert threads and threads[0].startswith("app-fn")
