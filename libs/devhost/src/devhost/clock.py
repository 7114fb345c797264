"""Clocks: the real one, and a manual one so that scheduling tests never sleep."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What the timer trigger needs of time: the current UTC instant and a way to wait for one."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    async def sleep_until(self, deadline: datetime) -> None:
        """Return once ``now() >= deadline`` (may be cancelled)."""
        ...


class SystemClock:
    """Wall-clock time; waits in slices of at most a minute so that clock jumps are noticed."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, deadline: datetime) -> None:
        while True:
            remaining = (deadline - self.now()).total_seconds()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 60.0))


class ManualClock:
    """A clock that only moves when told to (``advance``/``set``); for tests."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start
        self._changed = asyncio.Condition()

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, deadline: datetime) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._now >= deadline)

    async def set(self, instant: datetime) -> None:
        """Move the clock to ``instant`` and wake every sleeper whose deadline passed."""
        async with self._changed:
            self._now = instant
            self._changed.notify_all()
