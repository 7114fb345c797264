"""Timer trigger: NCRONTAB as Azure reads it, schedule monitor, past due and run on startup."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devhost.apphost import AppHost
from devhost.clock import ManualClock
from devhost.errors import ScheduleError
from devhost.testing import DevhostProcess, wait_for
from devhost.triggers.monitor import ScheduleMonitor, ScheduleStatus, status_path
from devhost.triggers.schedule import parse_schedule

APPS = Path(__file__).parent / "apps"
T0 = datetime(2026, 3, 1, 5, 59, 0, tzinfo=UTC)  # a Sunday


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 0 6 * * *", "2026-03-01T05:59:00", "2026-03-01T06:00:00"),
        ("0 0 6 * * *", "2026-03-01T06:00:00", "2026-03-02T06:00:00"),
        ("0 */5 * * * *", "2026-03-01T05:59:00", "2026-03-01T06:00:00"),
        ("*/10 * * * * *", "2026-03-01T05:59:00", "2026-03-01T05:59:10"),
        ("0 30 9 * * 1-5", "2026-03-01T05:59:00", "2026-03-02T09:30:00"),
        ("0 30 9 * * Mon", "2026-03-01T05:59:00", "2026-03-02T09:30:00"),
        ("0 0 0 1 * 1", "2026-03-01T05:59:00", "2026-06-01T00:00:00"),
        ("5 4 * * *", "2026-03-01T05:59:00", "2026-03-02T04:05:00"),
        ("00:00:30", "2026-03-01T05:59:00", "2026-03-01T05:59:30"),
        ("1.00:00:00", "2026-03-01T05:59:00", "2026-03-02T05:59:00"),
    ],
)
def test_ncrontab_and_timespan_schedules_give_azures_next_occurrence(
    expression: str, after: str, expected: str
) -> None:
    schedule = parse_schedule(expression)
    instant = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert schedule.next_after(instant) == datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_six_am_daily_means_six_oclock_every_day_not_seconds_last() -> None:
    schedule = parse_schedule("0 0 6 * * *")
    first = schedule.next_after(T0)
    assert (first.hour, first.minute, first.second) == (6, 0, 0)
    assert schedule.next_after(first) - first == timedelta(days=1)


def test_website_time_zone_shifts_occurrences_to_that_zone() -> None:
    schedule = parse_schedule("0 0 6 * * *", "America/New_York")
    winter = schedule.next_after(datetime(2026, 1, 15, 0, 0, tzinfo=UTC))
    summer = schedule.next_after(datetime(2026, 7, 15, 0, 0, tzinfo=UTC))
    assert (winter.hour, summer.hour) == (11, 10)


def test_windows_time_zone_names_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ScheduleError, match="IANA"):
        parse_schedule("0 0 6 * * *", "Eastern Standard Time")


@pytest.mark.parametrize("expression", ["0 0 6 * *  * *", "not a schedule", "0 0 25 * * *", "00:00:00"])
def test_invalid_schedules_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(expression)


def test_use_monitor_defaults_on_only_for_intervals_of_a_minute_or_more() -> None:
    assert parse_schedule("0 */5 * * * *").default_use_monitor(T0)
    assert not parse_schedule("*/10 * * * * *").default_use_monitor(T0)


def test_the_monitor_records_a_first_status_and_reports_a_missed_run_as_past_due(tmp_path: Path) -> None:
    schedule = parse_schedule("0 0 6 * * *")
    monitor = ScheduleMonitor(tmp_path / "status.json")
    assert monitor.check_past_due(T0, schedule) == (datetime(2026, 3, 1, 6, tzinfo=UTC), False)
    later = datetime(2026, 3, 1, 7, tzinfo=UTC)
    next_due, past_due = monitor.check_past_due(later, schedule)
    assert (next_due, past_due) == (datetime(2026, 3, 1, 6, tzinfo=UTC), True)


def records(out: Path, name: str) -> list[dict[str, object]]:
    path = out / f"{name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


async def until(condition: object, what: str) -> None:
    for _ in range(2000):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_manual_clock_drives_each_occurrence_without_sleeping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("DEVHOST_TEST_OUT", str(out))
    state = tmp_path / "state"

    async def scenario() -> None:
        clock = ManualClock(T0)
        host = AppHost(APPS / "timers", state, 0, clock=clock)
        await host.start()
        try:
            await until(lambda: len(records(out, "yearly_with_startup")) == 1, "run on startup")
            assert records(out, "daily_report") == []
            await clock.set(datetime(2026, 3, 1, 6, 0, 0, tzinfo=UTC))
            await until(lambda: len(records(out, "daily_report")) == 1, "06:00 run")
            await clock.set(datetime(2026, 3, 1, 18, 0, 0, tzinfo=UTC))
            await asyncio.sleep(0.05)
            assert len(records(out, "daily_report")) == 1
            await clock.set(datetime(2026, 3, 2, 6, 0, 0, tzinfo=UTC))
            await until(lambda: len(records(out, "daily_report")) == 2, "second 06:00 run")
        finally:
            await host.stop(drain_timeout=5)
        assert [record["past_due"] for record in records(out, "daily_report")] == [False, False]
        status = ScheduleMonitor(status_path(state, "timers", "daily_report")).read()
        assert status is not None
        assert status.last == datetime(2026, 3, 2, 6, tzinfo=UTC)
        assert status.next == datetime(2026, 3, 3, 6, tzinfo=UTC)

    asyncio.run(scenario())


def write_past_status(state: Path) -> None:
    ScheduleMonitor(status_path(state, "timers", "daily_report")).write(
        ScheduleStatus(
            last=datetime(2020, 1, 1, 6, tzinfo=UTC),
            next=datetime(2020, 1, 2, 6, tzinfo=UTC),
            last_updated=datetime(2020, 1, 1, 6, tzinfo=UTC),
        )
    )


def test_a_run_missed_while_devhost_was_down_fires_once_on_start_with_past_due(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    state = tmp_path / "state"
    write_past_status(state)
    host = start_devhost([APPS / "timers"], env={"DEVHOST_TEST_OUT": str(out)}, state=state)
    host.wait_running(0, "timers")
    wait_for(lambda: records(out, "daily_report"), what="the past-due run")
    wait_for(lambda: records(out, "yearly_with_startup"), what="the run-on-startup run")
    assert host.stop() == 0
    daily = records(out, "daily_report")
    assert [record["past_due"] for record in daily] == [True]
    assert [record["past_due"] for record in records(out, "yearly_with_startup")] == [False]
    status = ScheduleMonitor(status_path(state, "timers", "daily_report")).read()
    assert status is not None and status.next > datetime.now(UTC)
