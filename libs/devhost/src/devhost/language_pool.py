"""``FUNCTIONS_WORKER_PROCESS_COUNT``: a pool of language-worker processes for one app.

As the Functions host does, the app's worker process keeps the triggers (polling, receipts,
leases, settlement, retries, poison, logging, output bindings) and hands invocations to N child
processes (`devhost.language_worker`), each of which imported and indexed the app itself.
Blob- and Cosmos DB-triggered functions and Durable activities are handed over (their inputs
are rebuilt in the child, see `devhost.language_marshal`), except functions with a Durable
client binding; everything else runs in the worker process as with one worker. An invocation
goes to the child with the fewest invocations in flight (ties: round robin). A child that dies
fails its in-flight invocations with `LanguageWorkerExitedError` (the trigger's own retry rules
apply) and is restarted, as the Functions host restarts a crashed language worker, until the pool
gives up and reports a `LanguageWorkerPoolFailure` to its ``on_failure`` callback (the app's worker
process then stops):

- a child that exits with `CHILD_LOAD_FAILED` could not import the app: restarting cannot help, so
  it is not restarted and the failure is a load failure (the app is failed, as at load);
- otherwise, as in Azure's host, each exit is an error; while there are fewer than
  `ERRORS_PER_PROCESS` x the process count errors the child is restarted, after that it is not,
  and when no child is left the pool gives up so that the whole app is recycled. An error more
  than `ERROR_WINDOW` seconds after the previous one starts a new count.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.indexing import FunctionInfo
from devhost.invoke import Attempt
from devhost.language_marshal import HEADER_SIZE, encode_frame, frame_length, marshal_arguments
from devhost.logs import JsonFormatter

log = logging.getLogger("devhost.language_pool")

SETTING = "FUNCTIONS_WORKER_PROCESS_COUNT"
MAX_PROCESSES = 10
POOLED_TRIGGERS = frozenset({"blobTrigger", "cosmosDBTrigger", "activityTrigger"})
RESTART_DELAY = 1.0
CHILD_LOAD_FAILED = 3
"""A child's exit code when it cannot load the app (`devhost.language_worker.main`)."""
ERRORS_PER_PROCESS = 3
"""Azure's host restarts language workers while it has seen fewer than 3 errors per process
(``3 * FUNCTIONS_WORKER_PROCESS_COUNT``; RpcFunctionInvocationDispatcher.ErrorEventsThreshold)."""
ERROR_WINDOW = 30 * 60.0
"""Seconds: an error later than this after the previous one starts a new count (Azure's
``WorkerRestartErrorIntervalThresholdInMinutes`` = 30)."""
EXCEEDED_MESSAGE = (
    "Exceeded language worker restart retry count for runtime:python. "
    "Shutting down and proactively recycling the Functions Host to recover"
)


class LanguageWorkerError(Exception):
    """A function failed in a language worker with an exception that could not be sent back."""


class LanguageWorkerExitedError(Exception):
    """The language worker process running an invocation exited before answering."""


@dataclass(frozen=True)
class LanguageWorkerPoolFailure:
    """Why the pool stopped restarting its children: the app's worker process must stop.

    ``load_failed``: a child could not load the app (restarting will not heal it: the app is
    failed, not restarted); otherwise children kept exiting and the app must be recycled.
    """

    load_failed: bool
    message: str


def worker_process_count(setting: str | None) -> int:
    """The number of language workers: the setting (1..10), 1 when unset.

    Raises ValueError naming the setting when it is not an integer in 1..10 (Azure's range).
    """
    if setting is None or not setting.strip():
        return 1
    try:
        count = int(setting)
    except ValueError as error:
        raise ValueError(
            f"{SETTING} must be an integer from 1 to {MAX_PROCESSES}, got {setting!r}"
        ) from error
    if not 1 <= count <= MAX_PROCESSES:
        raise ValueError(f"{SETTING} must be from 1 to {MAX_PROCESSES}, got {count}")
    return count


@dataclass
class RemoteOutcome:
    """What a child answered for one attempt."""

    succeeded: bool
    return_value: Any = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None
    traceback_text: str | None = None


class _Child:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pending: dict[int, asyncio.Future[RemoteOutcome]] = {}
        self.reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid


def _outcome(message: tuple[Any, ...]) -> RemoteOutcome:
    _kind, _call_id, succeeded, payload, type_name, text, traceback_text = message
    if succeeded:
        return_value, outputs = pickle.loads(payload)
        return RemoteOutcome(True, return_value, outputs)
    error: BaseException | None = None
    if payload is not None:
        with contextlib.suppress(Exception):
            error = pickle.loads(payload)
    if not isinstance(error, BaseException):
        error = LanguageWorkerError(f"{type_name}: {text}")
    return RemoteOutcome(False, error=error, traceback_text=traceback_text)


class LanguageWorkerPool:
    """N language-worker children of one app; `invoke` runs one attempt in one of them.

    ``on_failure`` is called once, on the event loop, when the pool gives up (see the module
    docstring); the caller is expected to stop the app. `failure` then holds the same value.
    """

    def __init__(
        self,
        app_dir: Path,
        app_name: str,
        count: int,
        on_failure: Callable[[LanguageWorkerPoolFailure], None] | None = None,
    ) -> None:
        self.app_dir = app_dir
        self.app_name = app_name
        self.count = count
        self.failure: LanguageWorkerPoolFailure | None = None
        self._on_failure = on_failure
        self._errors: list[float] = []
        self._children: list[_Child] = []
        self._calls = itertools.count(1)
        self._turn = itertools.count()
        self._closing = False
        self._restarts: set[asyncio.Task[None]] = set()

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self._children]

    def handles(self, function: FunctionInfo) -> bool:
        """Whether invocations of ``function`` go to the pool: blob- and Cosmos DB-triggered
        functions and Durable activities, unless the function takes a Durable client (the
        worker process fills that binding in; a child has no management API of its own)."""
        if any(binding.type.lower() == "durableclient" for binding in function.bindings):
            return False
        return function.trigger.type in POOLED_TRIGGERS

    async def start(self) -> None:
        """Start every child. Raises OSError when a process cannot be started."""
        for _ in range(self.count):
            self._children.append(await self._spawn())
        log.info("Started %d language worker processes for %s: pids %s", self.count, self.app_name, self.pids)

    async def _spawn(self) -> _Child:
        log_format = (
            "json"
            if any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)
            else "text"
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "devhost.language_worker", "--app", str(self.app_dir),
            "--name", self.app_name, "--log-format", log_format,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**26,
        )  # fmt: skip
        child = _Child(process)
        child.reader = asyncio.create_task(self._read(child), name=f"language-worker:{process.pid}")
        return child

    async def _read(self, child: _Child) -> None:
        stream = child.process.stdout
        assert stream is not None
        try:
            while True:
                header = await stream.readexactly(HEADER_SIZE)
                message = pickle.loads(await stream.readexactly(frame_length(header)))
                if message[0] == "done":
                    future = child.pending.pop(message[1], None)
                    if future is not None and not future.done():
                        future.set_result(_outcome(message))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            log.exception("Reading from language worker %d failed", child.pid)
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
        code = await child.process.wait()
        for future in child.pending.values():
            if not future.done():
                future.set_exception(LanguageWorkerExitedError(
                    f"the language worker process {child.pid} of {self.app_name} exited with code {code} "
                    "while running this invocation"))  # fmt: skip
        child.pending.clear()
        if not self._closing and self.failure is None:
            self._exited(child, code)

    def _exited(self, child: _Child, code: int) -> None:
        """Restart ``child`` or give up, by Azure's rules (module docstring)."""
        if code == CHILD_LOAD_FAILED:
            message = (
                f"Language worker process {child.pid} of {self.app_name} exited with code {code}: it "
                f"could not load the app (its error is logged above); {self.app_name} is stopped, "
                "not restarted"
            )
            self._fail(LanguageWorkerPoolFailure(True, message))
            return
        now = time.monotonic()
        if self._errors and now - self._errors[-1] > ERROR_WINDOW:
            self._errors.clear()
        self._errors.append(now)
        threshold = ERRORS_PER_PROCESS * self.count
        if len(self._errors) < threshold:
            log.error(
                "Language worker process %d of %s exited with code %s; restarting it (errors: %d, limit: %d)",
                child.pid,
                self.app_name,
                code,
                len(self._errors),
                threshold,
            )
            task = asyncio.create_task(self._replace(child))
            self._restarts.add(task)
            task.add_done_callback(self._restarts.discard)
            return
        log.error(
            "Language worker process %d of %s exited with code %s; not restarting it (errors: %d, limit: %d)",
            child.pid,
            self.app_name,
            code,
            len(self._errors),
            threshold,
        )
        if self._restarts or any(other.process.returncode is None for other in self._children):
            return
        message = (
            f"{EXCEEDED_MESSAGE} (app {self.app_name}: {len(self._errors)} language worker process "
            f"errors, each within {ERROR_WINDOW / 60:.0f} minutes of the previous)"
        )
        self._fail(LanguageWorkerPoolFailure(False, message))

    def _fail(self, failure: LanguageWorkerPoolFailure) -> None:
        if self.failure is not None:
            return
        self.failure = failure
        log.error("%s", failure.message)
        for task in list(self._restarts):
            task.cancel()
        if self._on_failure is not None:
            self._on_failure(failure)

    async def _replace(self, dead: _Child) -> None:
        await asyncio.sleep(RESTART_DELAY)
        if self._closing or self.failure is not None or dead not in self._children:
            return
        try:
            fresh = await self._spawn()
        except OSError as error:
            message = (
                f"A language worker process of {self.app_name} could not be started ({error}); recycling it"
            )
            self._fail(LanguageWorkerPoolFailure(False, message))
            return
        self._children[self._children.index(dead)] = fresh
        log.info("Language worker process %d of %s replaces %d", fresh.pid, self.app_name, dead.pid)

    def _choose(self) -> _Child:
        live = [child for child in self._children if child.process.returncode is None]
        if not live:
            raise LanguageWorkerExitedError(f"no language worker process of {self.app_name} is running")
        start = next(self._turn) % len(live)
        ordered = live[start:] + live[:start]
        return min(ordered, key=lambda child: len(child.pending))

    async def invoke(self, attempt: Attempt) -> RemoteOutcome | None:
        """Run one attempt in a child; None when an argument cannot be sent (run it in-process).

        Raises LanguageWorkerExitedError when the child dies before answering.
        """
        sent_trigger, sent_extra = (
            marshal_arguments(attempt.trigger_args),
            marshal_arguments(attempt.extra_args),
        )
        if sent_trigger is None or sent_extra is None:
            return None
        child = self._choose()
        call_id = next(self._calls)
        frame = encode_frame(
            (
                "invoke",
                call_id,
                attempt.function.name,
                sent_trigger,
                sent_extra,
                attempt.invocation_id,
                attempt.number,
                attempt.max_retries,
            )
        )
        future: asyncio.Future[RemoteOutcome] = asyncio.get_running_loop().create_future()
        child.pending[call_id] = future
        stdin = child.process.stdin
        assert stdin is not None
        try:
            stdin.write(frame)
            await stdin.drain()
        except (ConnectionError, RuntimeError) as error:
            child.pending.pop(call_id, None)
            raise LanguageWorkerExitedError(
                f"the language worker process {child.pid} of {self.app_name} is gone: {error}"
            ) from error
        try:
            return await future
        finally:
            child.pending.pop(call_id, None)

    async def close(self, timeout: float = 5.0) -> None:
        """Stop every child: close its stdin (it exits), kill it after ``timeout`` seconds."""
        self._closing = True
        for task in list(self._restarts):
            task.cancel()
        for child in self._children:
            if child.process.stdin is not None:
                child.process.stdin.close()
        for child in self._children:
            try:
                await asyncio.wait_for(child.process.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()
                await child.process.wait()
            if child.reader is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await child.reader
        self._children.clear()
