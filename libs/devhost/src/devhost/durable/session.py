"""Extended sessions: each running execution's replay state, kept in memory between episodes.

Without a session every episode re-reads the whole history, rebuilds the SDK context from it and
replays the orchestrator from its start, so an orchestration of N steps costs O(N^2). A session
(what Azure calls an *extended session*) keeps, per execution, the parsed history, the SDK's live
context/executor/generator (:mod:`devhost.durable.live`) and the engine's task-id bookkeeping
(:class:`devhost.durable.replay.Replay`); the next episode reads no history from SQLite and feeds
only the events recorded since. The answers equal a full replay's (see ``live.py``; the session
tests run every orchestration shape both ways, and ``verify=True`` cross-checks each episode).

Crash safety is untouched: a session only mirrors what was committed. It is taken out of the
cache when an episode starts and put back only after that episode's transaction committed; it is
dropped when the execution ends or continues as new, when the stored instance no longer matches
it (restarted, rewound, purged, changed by anyone but this engine), on any exception, on
eviction, and of course when the process dies. A miss replays in full, as before.

Settings (:class:`SessionSettings`): on by default in devhost (Azure's default is off for
out-of-process languages); host.json ``extensions.durableTask.extendedSessionsEnabled`` and
``extendedSessionIdleTimeoutInSeconds`` (default 30) are honoured; the cache is an LRU bounded by
``max_instances`` executions and ``max_events`` history events in total.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devhost.durable.history import Event, EventType
from devhost.durable.live import LiveOrchestration, start_live
from devhost.durable.replay import Replay, Scheduled
from devhost.durable.runner import EpisodeRunner, FullReplay, cancelled_fire_times, sdk_context, timers_at
from devhost.durable.sdk import OrchestratorHandle, OrchestratorState
from devhost.durable.status import OrchestrationStatus
from devhost.durable.taskhub import EpisodeWrite, InstanceRow
from devhost.errors import HostJsonError


class SessionMismatchError(RuntimeError):
    """``verify=True`` found a session answering differently from a full replay (a devhost bug)."""


@dataclass(frozen=True)
class SessionSettings:
    """How the engine keeps executions in memory between episodes.

    ``enabled``: keep sessions at all. ``idle_timeout``: seconds an execution stays cached
    without an episode. ``max_instances`` / ``max_events``: LRU bounds (executions; stored
    history events summed over them; a longer history is simply not kept). Measured: a small
    session costs ~25 KB, a history event ~1 KB, so the defaults cap the cache near 150 MB.
    ``verify``: also
    replay in full every episode and raise :class:`SessionMismatchError` on any difference
    (for tests; doubles the cost).
    """

    enabled: bool = True
    idle_timeout: float = 30.0
    max_instances: int = 2_000
    max_events: int = 100_000
    verify: bool = False

    @classmethod
    def from_host_json(cls, raw: dict[str, Any]) -> SessionSettings:
        """Read ``extensions.durableTask.extendedSessions*`` (keys case-insensitive, as Azure's).

        Raises HostJsonError naming the key when a value has the wrong type.
        """
        durable = _get(_get(raw, "extensions"), "durableTask")
        enabled = _get(durable, "extendedSessionsEnabled", True)
        idle = _get(durable, "extendedSessionIdleTimeoutInSeconds", 30)
        if not isinstance(enabled, bool):
            raise HostJsonError(
                "host.json extensions.durableTask.extendedSessionsEnabled must be true or false, "
                f"not {enabled!r}"
            )
        if isinstance(idle, bool) or not isinstance(idle, int | float) or idle < 0:
            raise HostJsonError(
                "host.json extensions.durableTask.extendedSessionIdleTimeoutInSeconds must be a "
                f"number of seconds >= 0, not {idle!r}"
            )
        return cls(enabled=enabled, idle_timeout=float(idle))


def _get(section: Any, key: str, default: Any = None) -> Any:
    if not isinstance(section, dict):
        return {} if default is None else default
    for name, value in section.items():
        if name.lower() == key.lower():
            return value
    return {} if default is None else default


@dataclass(eq=False)
class _Session:
    handle: OrchestratorHandle
    execution_id: str
    history: list[Event]
    live: LiveOrchestration
    replay: Replay
    timers: list[tuple[int, Any]]
    sdk_seen: int
    status: OrchestrationStatus = OrchestrationStatus.RUNNING
    updated_at: float = 0.0
    last_used: float = field(default_factory=time.monotonic)


class SessionRun:
    """One episode's runner on a session: warm (resumes it) or cold (replays, then keeps it)."""

    def __init__(self, handle: OrchestratorHandle, instance_id: str, session: _Session | None, verify: bool):
        self.instance_id = instance_id
        self.session = session
        self._handle = handle
        self._warm = session is not None
        self._verify = verify and self._warm
        self._ran = False
        self._fed = 0
        self._events: list[Event] = []
        self._replay: Replay | None = None
        self._full = FullReplay(handle)

    @property
    def history(self) -> list[Event] | None:
        """The stored history the session mirrors; None on a cold run (read it from the hub)."""
        return self.session.history if self.session is not None else None

    def orchestrate(self, row: InstanceRow, history: list[Event], new: list[Event]) -> OrchestratorState:
        self._ran = True
        self._fed = len(new)
        session = self.session
        if session is None:
            self._events = [dict(e, IsPlayed=True) for e in history] + new
            live, state = start_live(self._handle, sdk_context(row, self._events, bool(history)))
            self._replay = Replay(row.instance_id, self._events, state.actions)
            if live is not None and not state.is_done and state.error is None:
                timers = [(int(e["EventId"]), e.get("FireAt")) for e in self._events if _is_timer(e)]
                self.session = _Session(
                    self._handle, row.execution_id, list(history), live, self._replay, timers, 0
                )
            return state
        played = session.history[session.sdk_seen :]
        self._events = played + new
        state = session.live.resume(played, new)
        if self._verify:
            _check("the orchestrator's answer", state, self._full.orchestrate(row, history, new))
        return state

    def schedule(self, state: OrchestratorState, is_done: bool) -> list[Scheduled]:
        if not self._warm:
            assert self._replay is not None
            return self._replay.run(is_done)
        assert self.session is not None
        replay = self.session.replay
        if not self._verify:
            return replay.resume(self._events, is_done)
        try:
            mine = replay.resume(self._events, is_done)
        except Exception as exc:
            _check("the scheduled work", exc, _outcome(self._full.schedule, state, is_done))
            raise
        _check("the scheduled work", mine, _outcome(self._full.schedule, state, is_done))
        return mine

    def cancelled_timers(self, state: OrchestratorState) -> list[int]:
        session = self.session
        if not self._warm or session is None:
            return timers_at(self._events, cancelled_fire_times(state.actions))
        fire_times = cancelled_fire_times(session.live.timer_actions)
        mine = (
            [timer_id for timer_id, fire_at in session.timers if fire_at in fire_times] if fire_times else []
        )
        if self._verify:
            _check("the cancelled timers", mine, self._full.cancelled_timers(state))
        return mine

    def committed(self, write: EpisodeWrite | None) -> _Session | None:
        """The session to keep once ``write`` committed (None: nothing written), or None to drop."""
        session = self.session
        if write is None or session is None:
            return session if not self._ran else None
        if write.ended or write.continued_as is not None:
            return None
        if write.status not in (OrchestrationStatus.RUNNING, OrchestrationStatus.SUSPENDED):
            return None
        stored = len(session.history)
        session.history.extend(write.history)
        if self._ran:
            session.sdk_seen = stored + self._fed
        session.timers.extend((int(e["EventId"]), e.get("FireAt")) for e in write.history if _is_timer(e))
        session.status, session.updated_at = write.status, write.now
        return session


def _is_timer(e: Event) -> bool:
    return bool(e["EventType"] == EventType.TIMER_CREATED)


def _outcome(call: Callable[..., Any], *args: Any) -> Any:
    try:
        return call(*args)
    except Exception as exc:  # compared with the session's outcome
        return exc


def _check(what: str, mine: Any, full: Any) -> None:
    if repr(mine) != repr(full):
        raise SessionMismatchError(
            f"extended session and full replay disagree on {what}:\nsession: {mine!r}\nreplay:  {full!r}"
        )


class SessionCache:
    """The engine's sessions, by instance id; used by the engine's dispatcher thread only."""

    def __init__(
        self, settings: SessionSettings | None = None, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings or SessionSettings()
        self._now = now
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._events = 0
        self.hits = 0
        """Episodes that resumed a session (for tests and metrics)."""
        self.misses = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def begin(
        self, row: InstanceRow, handle: OrchestratorHandle | None
    ) -> tuple[EpisodeRunner | None, list[Event] | None]:
        """Take the instance's session out of the cache for one episode.

        Returns the runner for :func:`devhost.durable.episode.build_episode` (None: the default
        full replay) and the stored history when the session has it (None: read it from the hub).
        Call :meth:`end` after the episode committed; without that call the session is gone.
        """
        self._expire()
        session = self._take(row.instance_id)
        if not self.settings.enabled or handle is None:
            return None, None
        if session is not None and (
            session.handle is not handle  # re-registered: the code may have changed
            or session.execution_id != row.execution_id
            or session.status != row.status
            or session.updated_at != row.updated_at
        ):
            session = None
        if session is None:
            self.misses += 1
        else:
            self.hits += 1
        run = SessionRun(handle, row.instance_id, session, self.settings.verify)
        return run, run.history

    def end(self, runner: EpisodeRunner | None, write: EpisodeWrite | None) -> None:
        """After the episode committed ``write`` (None: it wrote nothing): keep or drop the session."""
        if not isinstance(runner, SessionRun):
            return
        session = runner.committed(write)
        if session is None:
            return
        session.last_used = self._now()
        self._sessions[runner.instance_id] = session
        self._events += len(session.history)
        self._shrink()

    def forget(self, instance_id: str) -> None:
        """Drop the instance's session (its execution ended or it is gone)."""
        self._take(instance_id)

    def _take(self, instance_id: str) -> _Session | None:
        session = self._sessions.pop(instance_id, None)
        if session is not None:
            self._events -= len(session.history)
        return session

    def _shrink(self) -> None:
        limits = self.settings
        while self._sessions and (
            len(self._sessions) > limits.max_instances or self._events > limits.max_events
        ):
            _, oldest = self._sessions.popitem(last=False)
            self._events -= len(oldest.history)

    def _expire(self) -> None:
        deadline = self._now() - self.settings.idle_timeout
        while self._sessions:
            instance_id, oldest = next(iter(self._sessions.items()))
            if oldest.last_used > deadline:
                return
            self._take(instance_id)
