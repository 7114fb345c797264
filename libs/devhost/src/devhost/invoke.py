"""The invocation runtime: runs one function invocation as the Python worker and host do.

- ``async def`` functions run on the app process's event loop; plain functions in a thread pool
  whose size is ``PYTHON_THREADPOOL_THREAD_COUNT`` or, unset, Python's default
  ``min(32, cpu_count + 4)`` (the worker's default on Python 3.9+).
- ``functionTimeout`` (host.json) bounds every invocation. An async function is cancelled; a
  thread cannot be stopped in Python, so a timed-out sync function's thread runs on in the
  background while the invocation is reported as failed (Azure restarts the host instead).
- ``@app.retry`` re-runs a failed invocation with a fixed delay or exponential backoff, up to
  ``max_retry_count`` (-1: forever), only for triggers where Azure honours retry policies
  (timer, Event Hubs, Cosmos DB, Kafka) — the caller says so with ``use_retry``.
- Every invocation is logged with app, function, invocation id, trigger detail, duration and
  outcome; a failure carries its traceback.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import os
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from devhost.context import InvocationContext, OutputValue
from devhost.indexing import FunctionInfo, RetryPolicy
from devhost.logs import current_invocation
from devhost.timespan import parse_timespan

if TYPE_CHECKING:
    from devhost.language_pool import LanguageWorkerPool

log = logging.getLogger("devhost.invocation")
T = TypeVar("T")


class FunctionTimeoutError(Exception):
    """An invocation ran longer than host.json ``functionTimeout``."""


@dataclass
class InvocationResult:
    """What one invocation (including its retries) ended with."""

    invocation_id: str
    function: str
    outcome: str
    """``Succeeded`` or ``Failed``."""
    return_value: Any = None
    outputs: dict[str, Any] = field(default_factory=dict)
    """Values set on output binding parameters (``func.Out``), by binding name."""
    error: BaseException | None = None
    traceback_text: str | None = None
    duration_ms: float = 0.0
    attempts: int = 1

    @property
    def succeeded(self) -> bool:
        return self.outcome == "Succeeded"


@dataclass(frozen=True)
class Attempt:
    """One try of an invocation: what the function is called with, and where it is in its retries
    (`number` 0 is the first try; the retry context's `retry_count`)."""

    function: FunctionInfo
    trigger_args: dict[str, Any]
    extra_args: dict[str, Any]
    invocation_id: str
    number: int
    max_retries: int

    def failed(self, error: BaseException, traceback_text: str | None = None) -> InvocationResult:
        """This attempt's result for ``error`` (the current exception's traceback by default)."""
        text = traceback.format_exc() if traceback_text is None else traceback_text
        return InvocationResult(
            self.invocation_id, self.function.name, "Failed", error=error, traceback_text=text
        )

    def succeeded(self, value: Any, outputs: dict[str, Any]) -> InvocationResult:
        return InvocationResult(
            self.invocation_id, self.function.name, "Succeeded", return_value=value, outputs=outputs
        )


def _parameters(function: Callable[..., Any]) -> frozenset[str]:
    """The names a function takes, read once per function (`inspect.signature` is slow)."""
    try:
        return _cached_parameters(function)
    except TypeError:  # an unhashable callable object
        return frozenset(inspect.signature(function).parameters)


@functools.lru_cache(maxsize=1024)
def _cached_parameters(function: Callable[..., Any]) -> frozenset[str]:
    return frozenset(inspect.signature(function).parameters)


def default_thread_count(setting: str | None) -> int:
    """Thread pool size: PYTHON_THREADPOOL_THREAD_COUNT if set (1..32), else min(32, cpus + 4)."""
    if setting:
        try:
            count = int(setting)
        except ValueError as error:
            raise ValueError(f"PYTHON_THREADPOOL_THREAD_COUNT must be an integer, got {setting!r}") from error
        if count < 1:
            raise ValueError(f"PYTHON_THREADPOOL_THREAD_COUNT must be at least 1, got {count}")
        return count
    return min(32, (os.cpu_count() or 1) + 4)


def retry_delay(policy: RetryPolicy, attempt: int) -> timedelta:
    """The wait before retry number ``attempt`` (1-based) under ``policy``.

    Fixed delay: ``delay_interval``. Exponential backoff: ``minimum_interval * 2**(attempt-1)``
    capped at ``maximum_interval``. Raises ValueError when a needed interval is missing.
    """
    if policy.strategy == "fixed_delay":
        if not policy.delay_interval:
            raise ValueError("@app.retry fixed_delay needs delay_interval (hh:mm:ss)")
        return parse_timespan(policy.delay_interval)
    if not policy.minimum_interval or not policy.maximum_interval:
        raise ValueError("@app.retry exponential_backoff needs minimum_interval and maximum_interval")
    minimum = parse_timespan(policy.minimum_interval)
    maximum = parse_timespan(policy.maximum_interval)
    delay: timedelta = minimum * (2 ** (attempt - 1))
    return min(maximum, delay)


class Invoker:
    """Runs invocations of one app's functions and keeps track of those in flight."""

    def __init__(
        self,
        app_name: str,
        app_dir: str,
        function_timeout: timedelta | None,
        thread_count: int,
        deliver_outputs: Callable[[FunctionInfo, InvocationResult], Awaitable[None]] | None = None,
        language_workers: LanguageWorkerPool | None = None,
    ) -> None:
        self.app_name = app_name
        self._language_workers = language_workers
        self._app_dir = app_dir
        self._timeout = function_timeout
        self._deliver = deliver_outputs
        self._pool = ThreadPoolExecutor(max_workers=thread_count, thread_name_prefix=f"{app_name}-fn")
        self._in_flight: set[asyncio.Task[InvocationResult]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def invoke(
        self,
        function: FunctionInfo,
        trigger_args: dict[str, Any],
        reason: str,
        *,
        use_retry: bool = False,
        extra_args: dict[str, Any] | None = None,
    ) -> InvocationResult:
        """Invoke ``function`` with its trigger argument(s); never raises for a function's failure.

        The invocation is shielded: cancelling the caller does not cancel the user function, so a
        draining shutdown can still wait for it.
        """
        task = asyncio.ensure_future(self._run(function, trigger_args, reason, use_retry, extra_args or {}))
        self._in_flight.add(task)
        self._idle.clear()
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Task[InvocationResult]) -> None:
        self._in_flight.discard(task)
        if not self._in_flight:
            self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for in-flight invocations; True when none is left."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        """Release the thread pool without waiting for threads that outlived their timeout."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(
        self,
        function: FunctionInfo,
        trigger_args: dict[str, Any],
        reason: str,
        use_retry: bool,
        extra_args: dict[str, Any],
    ) -> InvocationResult:
        invocation_id = str(uuid.uuid4())
        policy = function.retry if use_retry else None
        max_retries = policy.max_retry_count if policy else 0
        attempt = 0
        started = time.monotonic()
        token = current_invocation.set((function.name, invocation_id))
        try:
            log.info(
                "Executing 'Functions.%s' (Reason='%s', Id=%s)",
                function.name,
                reason,
                invocation_id,
                extra={"function": function.name, "invocation_id": invocation_id, "trigger": reason},
            )
            while True:
                this = Attempt(function, trigger_args, extra_args, invocation_id, attempt, max_retries)
                result = await self._attempt_routed(this)
                if result.succeeded and self._deliver is not None:
                    try:
                        await self._deliver(function, result)
                    except Exception as error:
                        result = this.failed(error)
                if result.succeeded or policy is None or (0 <= max_retries <= attempt):
                    break
                attempt += 1
                delay = retry_delay(policy, attempt)
                log.warning(
                    "Retrying 'Functions.%s' in %.1fs (retry %d of %s, Id=%s) after %s: %s",
                    function.name,
                    delay.total_seconds(),
                    attempt,
                    "unlimited" if max_retries < 0 else max_retries,
                    invocation_id,
                    type(result.error).__name__,
                    result.error,
                )
                await asyncio.sleep(delay.total_seconds())
            result.attempts = attempt + 1
            result.duration_ms = round((time.monotonic() - started) * 1000, 1)
            self._log_result(function, reason, result)
            return result
        finally:
            current_invocation.reset(token)

    def _log_result(self, function: FunctionInfo, reason: str, result: InvocationResult) -> None:
        extra = {
            "function": function.name,
            "invocation_id": result.invocation_id,
            "trigger": reason,
            "duration_ms": result.duration_ms,
            "outcome": result.outcome,
        }
        if result.succeeded:
            log.info(
                "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%sms)",
                function.name,
                result.invocation_id,
                result.duration_ms,
                extra=extra,
            )
            return
        extra["error"] = f"{type(result.error).__name__}: {result.error}"
        extra["traceback"] = result.traceback_text
        log.error(
            "Executed 'Functions.%s' (Failed, Id=%s, Duration=%sms): %s",
            function.name,
            result.invocation_id,
            result.duration_ms,
            extra["error"],
            extra=extra,
        )

    def _arguments(self, attempt: Attempt) -> tuple[dict[str, Any], dict[str, OutputValue[Any]]]:
        function = attempt.function
        parameters = _parameters(function.user_function)
        outputs: dict[str, OutputValue[Any]] = {}
        arguments: dict[str, Any] = {}
        for binding in function.bindings:
            if binding.name == "$return" or binding.name not in parameters:
                continue
            if binding.direction == "out":
                outputs[binding.name] = OutputValue()
                arguments[binding.name] = outputs[binding.name]
            else:
                arguments[binding.name] = attempt.extra_args.get(binding.name)
        arguments.update({name: value for name, value in attempt.trigger_args.items() if name in parameters})
        if "context" in parameters and "context" not in arguments:
            arguments["context"] = InvocationContext(
                invocation_id=attempt.invocation_id,
                function_name=function.name,
                function_directory=self._app_dir,
                trace_parent=f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
                retry_count=attempt.number,
                max_retry_count=attempt.max_retries,
            )
        return arguments, outputs

    async def attempt_once(self, attempt: Attempt) -> InvocationResult:
        """One attempt in this process, without retries, logging or outputs delivery.

        What a language-worker child runs for its parent; never raises for a function's failure.
        """
        return await self._attempt(attempt)

    async def _attempt_routed(self, attempt: Attempt) -> InvocationResult:
        """One attempt: in a language-worker child when the app has a pool for it, else here."""
        pool = self._language_workers
        if pool is None or not pool.handles(attempt.function):
            return await self._attempt(attempt)
        try:
            outcome = await self._within_timeout(attempt.function, pool.invoke(attempt))
        except Exception as error:
            return attempt.failed(error)
        if outcome is None:  # an argument a child cannot rebuild: run it here
            return await self._attempt(attempt)
        if not outcome.succeeded:  # a child's failure always carries its error (`_outcome`)
            return attempt.failed(outcome.error or RuntimeError("no error"), outcome.traceback_text or "")
        return attempt.succeeded(outcome.return_value, outcome.outputs)

    async def _within_timeout(self, function: FunctionInfo, call: Awaitable[T]) -> T:
        """``call``'s value; raises FunctionTimeoutError after host.json ``functionTimeout``."""
        timeout = self._timeout.total_seconds() if self._timeout is not None else None
        try:
            return await asyncio.wait_for(call, timeout)
        except TimeoutError as error:
            raise FunctionTimeoutError(
                f"Timeout value of {self._timeout} was exceeded by function: Functions.{function.name}"
            ) from error

    async def _attempt(self, attempt: Attempt) -> InvocationResult:
        function = attempt.function
        try:
            arguments, outputs = self._arguments(attempt)
            if function.is_async:
                call = function.user_function(**arguments)
            else:
                context = contextvars.copy_context()
                loop = asyncio.get_running_loop()
                call = loop.run_in_executor(
                    self._pool, functools.partial(context.run, function.user_function, **arguments)
                )
            value = await self._within_timeout(function, call)
        except Exception as error:
            return attempt.failed(error)
        return attempt.succeeded(value, {name: out.get() for name, out in outputs.items() if out.was_set})
