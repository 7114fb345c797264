"""The timer trigger, as Azure's TimerListener: schedule, schedule monitor, past due, run on startup.

On start, with the monitor on (``useMonitor``; default: on for schedules of a minute or more),
a run that fell due while the host was down fires once at once with ``past_due`` true; otherwise
``runOnStartup`` fires one run at once. Then the function runs at each occurrence, one run at a
time (a slow run delays the next occurrence; overlapping occurrences are skipped, as in Azure).
After each run the status is written: Last = the occurrence, Next = the following one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from azure.functions.timer import TimerRequest

from devhost.indexing import FunctionInfo
from devhost.triggers.base import AppContext
from devhost.triggers.monitor import NEVER, ScheduleMonitor, ScheduleStatus, status_path
from devhost.triggers.schedule import Schedule, parse_schedule

log = logging.getLogger("devhost.timer")


def timer_request(past_due: bool, status: ScheduleStatus | None) -> TimerRequest:
    """The ``func.TimerRequest`` the Python worker builds from the host's TimerInfo."""
    schedule_status: dict[str, Any] = {}
    if status is not None:
        schedule_status = {
            "Last": status.last.isoformat() if status.last != NEVER else None,
            "Next": status.next.isoformat(),
            "LastUpdated": status.last_updated.isoformat(),
        }
    return TimerRequest(past_due=past_due, schedule_status=schedule_status, schedule={"AdjustForDST": True})


class TimerTrigger:
    """The ``timerTrigger`` plugin for one function."""

    retry_policies_apply = True

    def __init__(self, function: FunctionInfo) -> None:
        self.function = function
        self._ctx: AppContext | None = None
        self._schedule: Schedule | None = None
        self._monitor: ScheduleMonitor | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._sleep_task: asyncio.Future[None] | None = None
        self._stopping = False

    @property
    def schedule(self) -> Schedule:
        if self._schedule is None:
            raise RuntimeError("timer trigger not started")
        return self._schedule

    def prepare(self, ctx: AppContext) -> None:
        """Parse the schedule and set up the monitor; raises ScheduleError for a bad schedule."""
        self._ctx = ctx
        setting = str(self.function.trigger.get("schedule", ""))
        self._schedule = parse_schedule(setting, ctx.settings.get("WEBSITE_TIME_ZONE"))
        use_monitor = self.function.trigger.get("useMonitor")
        if use_monitor is None:
            use_monitor = self._schedule.default_use_monitor(ctx.clock.now())
        self._monitor = (
            ScheduleMonitor(status_path(ctx.state_dir, ctx.app_name, self.function.name))
            if use_monitor
            else None
        )

    async def start(self, ctx: AppContext) -> None:
        self.prepare(ctx)
        self._loop_task = asyncio.create_task(self._run(), name=f"timer:{self.function.name}")

    async def stop(self, drain: bool) -> None:
        self._stopping = True
        if self._sleep_task is not None:
            self._sleep_task.cancel()
        if self._loop_task is None:
            return
        if not drain:
            self._loop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._loop_task

    def admin_arguments(self, input_text: str) -> dict[str, Any]:
        status = self._monitor.read() if self._monitor is not None else None
        return {self.function.trigger.name: timer_request(False, status)}

    async def _sleep_until(self, deadline: datetime) -> bool:
        """Sleep until ``deadline``; False when the trigger is stopping."""
        assert self._ctx is not None
        if self._stopping:
            return False
        self._sleep_task = asyncio.ensure_future(self._ctx.clock.sleep_until(deadline))
        try:
            await self._sleep_task
        except asyncio.CancelledError:
            if self._stopping:
                return False
            raise
        finally:
            self._sleep_task = None
        return not self._stopping

    async def _fire(self, occurrence: datetime, past_due: bool, reason: str) -> None:
        assert self._ctx is not None
        status = self._monitor.read() if self._monitor is not None else None
        await self._ctx.invoker.invoke(
            self.function,
            {self.function.trigger.name: timer_request(past_due, status)},
            reason,
            use_retry=self.function.retry is not None,
        )
        now = self._ctx.clock.now()
        if self._monitor is not None:
            self._monitor.write(ScheduleStatus(occurrence, self.schedule.next_after(now), now))

    async def _run(self) -> None:
        assert self._ctx is not None
        clock = self._ctx.clock
        now = clock.now()
        upcoming = self.schedule.next_after(now)
        if self._monitor is not None:
            upcoming, past_due = self._monitor.check_past_due(now, self.schedule)
            if past_due:
                log.info(
                    "Function '%s' is past due (next run was due %s); running it now",
                    self.function.name,
                    upcoming.isoformat(),
                    extra={"function": self.function.name},
                )
                await self._fire(now, True, f"Timer fired at {now.isoformat()} (past due)")
                upcoming = self.schedule.next_after(clock.now())
            elif self.function.trigger.get("runOnStartup"):
                await self._fire(now, False, f"Timer fired at {now.isoformat()} (run on startup)")
        elif self.function.trigger.get("runOnStartup"):
            await self._fire(now, False, f"Timer fired at {now.isoformat()} (run on startup)")
        while True:
            if not await self._sleep_until(upcoming):
                return
            await self._fire(upcoming, False, f"Timer fired at {upcoming.isoformat()}")
            upcoming = self.schedule.next_after(max(clock.now(), upcoming))
