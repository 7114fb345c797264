"""The durable engine: runs orchestration episodes and activities against a :class:`TaskHub`.

Promises:

- Orchestrators run unchanged: the engine calls the SDK's own handle with the history JSON.
- Every episode commits in one transaction (see :mod:`devhost.durable.taskhub`), so killing the
  process at any point loses no recorded step; on reopening, leased activities are released and
  run again if their completion was not recorded (at-least-once, as on Azure).
- One episode consumes all pending messages of an instance (fan-in results are batched).
- Activities of a fan-out run in parallel on a thread pool; ``async`` activities are awaited.
- Timers use the injected clock: a timer fires once ``clock()`` reaches its FireAt.
- One engine per task hub file at a time (it is the hub's only dispatcher).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devhost.durable.clock import Clock, system_clock
from devhost.durable.entities_dispatch import EntityDispatcher, IndexedApp, entity_functions_of
from devhost.durable.episode import EpisodeInput, build_episode, started_event
from devhost.durable.errors import (
    InstanceAlreadyExistsError,
    InstanceNotFoundError,
    InstanceNotRunningError,
    UnknownFunctionError,
)
from devhost.durable.history import Event, EventType, event
from devhost.durable.sdk import ActivityFunction, OrchestratorHandle, dumps, functions_of, loads
from devhost.durable.session import SessionCache, SessionSettings
from devhost.durable.status import InstanceStatus
from devhost.durable.taskhub import ActivityWork, Message, NewInstance, TaskHub


class Engine:
    """Runs registered orchestrators and activities; see the module docstring for promises."""

    def __init__(
        self,
        hub: TaskHub | str | Path,
        *,
        clock: Clock = system_clock,
        activity_workers: int = 4,
        activity_batch: int = 1000,
        activity_lease_seconds: float = 300.0,
        poll_interval: float = 0.05,
        sessions: SessionSettings | None = None,
    ) -> None:
        self.hub = hub if isinstance(hub, TaskHub) else TaskHub(hub)
        self.sessions = SessionCache(sessions)
        """Running executions kept in memory between episodes (extended sessions, see session.py)."""
        self.hub.release_all_leases()
        self.entities = EntityDispatcher(self.hub, clock)
        """The entity functions and their operation queue (see entities_dispatch)."""
        self._clock = clock
        self._orchestrators: dict[str, OrchestratorHandle] = {}
        self._activities: dict[str, ActivityFunction] = {}
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, activity_workers), thread_name_prefix="durable-activity"
        )
        self._batch = activity_batch
        self._lease = activity_lease_seconds
        self._poll = poll_interval
        self._token = uuid.uuid4().hex
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_lock = threading.Lock()
        self.episode_count = 0
        """Episodes run by this engine (for tests and metrics)."""
        self.activity_count = 0

    # -- registration --------------------------------------------------------------------
    def register_orchestrator(self, name: str, handle: OrchestratorHandle) -> None:
        """Register an SDK orchestrator handle (``df.Orchestrator.create(fn)``) under ``name``."""
        self._orchestrators[name] = handle

    def register_activity(self, name: str, fn: ActivityFunction) -> None:
        """Register an activity; it is called with the decoded input, sync or ``async``."""
        self._activities[name] = fn

    def register_app(self, app: Any) -> None:
        """Register every orchestrator and activity of a ``df.DFApp`` / functions app."""
        app = IndexedApp(list(app.get_functions()))
        orchestrators, activities = functions_of(app)
        self._orchestrators.update(orchestrators)
        self._activities.update(activities)
        for name, handle in entity_functions_of(app).items():
            self.entities.register(name, handle)

    # -- client operations ---------------------------------------------------------------
    def start_new(self, name: str, instance_id: str | None = None, input: Any = None) -> str:
        """Start an orchestration; returns its id.

        Raises UnknownFunctionError for an unregistered name and InstanceAlreadyExistsError when
        the id is Pending, Running or Suspended (a finished id is restarted, as on Azure).
        """
        if name not in self._orchestrators:
            raise UnknownFunctionError("orchestrator", name, list(self._orchestrators))
        instance_id = instance_id or uuid.uuid4().hex
        execution_id = uuid.uuid4().hex
        now = self._clock()
        input_json = None if input is None else dumps(input)
        started = started_event(name, instance_id, execution_id, input_json, now)
        blocked = self.hub.create_instance(
            NewInstance(instance_id, name, execution_id, input_json, started, now.timestamp())
        )
        if blocked is not None:
            raise InstanceAlreadyExistsError(instance_id, blocked.value)
        self._wake.set()
        return instance_id

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Deliver an external event (buffered until the orchestrator waits for it).

        Raises InstanceNotFoundError or InstanceNotRunningError.
        """
        self._send(
            instance_id,
            event(
                EventType.EVENT_RAISED, self._clock(), Name=name, Input=None if data is None else dumps(data)
            ),
        )

    def terminate(self, instance_id: str, reason: str | None = None) -> None:
        """Terminate a running or suspended instance; its output becomes ``reason``."""
        self._send(instance_id, event(EventType.EXECUTION_TERMINATED, self._clock(), Input=reason))

    def suspend(self, instance_id: str, reason: str | None = None) -> None:
        """Suspend an instance: it keeps its messages but runs no episode until resumed."""
        self._send(instance_id, event(EventType.EXECUTION_SUSPENDED, self._clock(), Reason=reason))

    def resume(self, instance_id: str, reason: str | None = None) -> None:
        """Resume a suspended instance."""
        self._send(instance_id, event(EventType.EXECUTION_RESUMED, self._clock(), Reason=reason))

    def _send(self, instance_id: str, message: Event) -> None:
        row = self.hub.get_instance(instance_id)
        if row is None:
            raise InstanceNotFoundError(instance_id)
        if row.status.is_terminal:
            raise InstanceNotRunningError(instance_id, row.status.value)
        self.hub.enqueue([Message(instance_id, None, message, self._clock().timestamp())])
        self._wake.set()

    def get_status(
        self, instance_id: str, show_history: bool = False, show_input: bool = True
    ) -> InstanceStatus | None:
        """A snapshot of the instance, or None when the id is unknown."""
        row = self.hub.get_instance(instance_id)
        if row is None:
            return None
        return InstanceStatus(
            instance_id=row.instance_id,
            name=row.name,
            runtime_status=row.status,
            execution_id=row.execution_id,
            created_time=datetime.fromtimestamp(row.created_at, UTC),
            last_updated_time=datetime.fromtimestamp(row.updated_at, UTC),
            input=_decode(row.input) if show_input else None,
            output=_decode(row.output),
            custom_status=_decode(row.custom_status),
            parent_instance_id=row.parent_instance_id,
            history=self.hub.history(row.instance_id, row.execution_id) if show_history else None,
        )

    # -- processing ----------------------------------------------------------------------
    def run_once(self) -> int:
        """Run every ready episode, then one batch of activities; returns how much work was done."""
        with self._run_lock:
            done = 0
            now = self._clock()
            for instance_id in self.hub.ready_instances(now.timestamp(), limit=1000):
                done += self._run_episode(instance_id)
            done += self.entities.run_once()
            done += self._run_activities()
            return done

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Process until no episode or activity is ready (future timers do not count).

        Raises TimeoutError when work is still ready after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while self.run_once():
            if time.monotonic() > deadline:
                raise TimeoutError(f"durable engine still busy after {timeout} s")

    def wait_for_completion(self, instance_id: str, timeout: float = 30.0) -> InstanceStatus:
        """Poll (bounded) until the instance is Completed, Failed or Terminated."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.get_status(instance_id)
            if status is None:
                raise InstanceNotFoundError(instance_id)
            if status.runtime_status.is_terminal:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"instance {instance_id!r} is still {status.runtime_status} after {timeout} s"
                )
            if self._thread is None:
                self.run_once()
            else:
                time.sleep(0.01)

    def wake(self) -> None:
        """Ask the background worker to look for work now (after a change made to the hub)."""
        self._wake.set()

    def start(self) -> None:
        """Start the background worker thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="durable-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker thread after its current step and shut the activity pool down."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        """Stop and release the task hub."""
        self.stop()
        self._pool.shutdown(wait=True)
        self.hub.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.run_once():
                continue
            nxt = self.hub.next_visible_at()
            wait = self._poll
            if nxt is not None:
                wait = min(wait, max(0.0, nxt - self._clock().timestamp()))
            self._wake.wait(wait)
            self._wake.clear()

    def _run_episode(self, instance_id: str) -> int:
        row = self.hub.get_instance(instance_id)
        now = self._clock()
        messages = self.hub.visible_messages(instance_id, now.timestamp())
        if row is None or row.status.is_terminal:
            self.sessions.forget(instance_id)
            self.hub.drop_messages([m.id for m in messages])
            return 1 if messages else 0
        stale = [m for m in messages if m.execution_id not in (None, row.execution_id)]
        if stale:
            self.hub.drop_messages([m.id for m in stale])
            messages = [m for m in messages if m not in stale]
        if not messages:
            return len(stale)
        handle = self._orchestrators.get(row.name)
        runner, history = self.sessions.begin(row, handle)
        if history is None:
            history = self.hub.history(instance_id, row.execution_id)
        write = build_episode(EpisodeInput(row, history, messages, now), handle, runner)
        if write is None:
            self.hub.drop_messages([m.id for m in messages])
            self.sessions.end(runner, None)
            return 1
        self.hub.commit_episode(write, len(history))
        self.sessions.end(runner, write)
        self.episode_count += 1
        return 1

    def _run_activities(self) -> int:
        claimed = self.hub.claim_activities(self._batch, self._lease, self._token)
        if not claimed:
            return 0
        outcomes = list(self._pool.map(self._invoke_activity, claimed))
        self.hub.complete_activities(list(zip(claimed, outcomes, strict=True)), self._clock().timestamp())
        self.activity_count += len(claimed)
        return len(claimed)

    def _invoke_activity(self, work: ActivityWork) -> Event:
        now = self._clock()
        fn = self._activities.get(work.name)
        try:
            if fn is None:
                raise UnknownFunctionError("activity", work.name, list(self._activities))
            result = _call(fn, None if work.input is None else loads(work.input))
            return event(
                EventType.TASK_COMPLETED, self._clock(), TaskScheduledId=work.task_id, Result=dumps(result)
            )
        except Exception as exc:
            reason = f"Activity function '{work.name}' failed: {type(exc).__name__}: {exc}"
            details = "".join(traceback.format_exception(exc)[-3:])
            return event(
                EventType.TASK_FAILED, now, TaskScheduledId=work.task_id, Reason=reason, Details=details
            )


def _call(fn: Callable[..., Any], value: Any) -> Any:
    result = fn(value)
    if inspect.isawaitable(result):
        return asyncio.run(_await(result))
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _decode(text: str | None) -> Any:
    return None if text is None else json.loads(text)
