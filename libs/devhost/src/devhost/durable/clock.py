"""Clocks for durable timers and history timestamps (injectable so tests control time)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""A clock returns the current time as an aware UTC datetime."""


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; thread-safe. Starts at ``start`` (default: now)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start if start is not None else system_clock()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        with self._lock:
            self._now = self._now + delta
            return self._now
