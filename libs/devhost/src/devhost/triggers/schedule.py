"""Timer schedules as Azure reads them: six-field NCRONTAB or a TimeSpan interval.

NCRONTAB is ``{second} {minute} {hour} {day} {month} {day-of-week}``; five fields are read
without seconds, as the Functions host does. croniter is driven with ``second_at_beginning=True``
(otherwise ``0 0 6 * * *`` would be read with the seconds field last) and ``day_or=False``
(NCrontab requires both day-of-month and day-of-week to match, unlike Vixie cron).

Occurrences are computed in the schedule's time zone: UTC, or the IANA zone named by
``WEBSITE_TIME_ZONE``. Windows zone names ("Eastern Standard Time") are not supported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from devhost.errors import ScheduleError
from devhost.timespan import is_timespan, parse_timespan


def time_zone(name: str | None) -> ZoneInfo:
    """The zone named by WEBSITE_TIME_ZONE (IANA name), UTC when unset; raises ScheduleError."""
    if not name or name.strip().upper() in ("UTC", "COORDINATED UNIVERSAL TIME"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ScheduleError(
            f"WEBSITE_TIME_ZONE={name!r} is not an IANA time zone name (e.g. 'Europe/London'); "
            "devhost does not support Windows time zone names"
        ) from error


@dataclass(frozen=True)
class Schedule:
    """A parsed timer schedule. ``next_after`` gives the first occurrence strictly after an instant."""

    expression: str
    zone: ZoneInfo
    interval: timedelta | None = None
    """Set for TimeSpan schedules (a constant interval); None for NCRONTAB."""

    def next_after(self, instant: datetime) -> datetime:
        """The first occurrence strictly after ``instant`` (aware), as an aware UTC datetime."""
        if instant.tzinfo is None:
            raise ValueError("next_after needs a timezone-aware datetime")
        if self.interval is not None:
            return (instant + self.interval).astimezone(UTC)
        local = instant.astimezone(self.zone)
        iterator = croniter(self.expression, local, ret_type=datetime, day_or=False, second_at_beginning=True)
        occurrence: datetime = iterator.get_next(datetime)
        return occurrence.astimezone(UTC)

    def shortest_interval(self, instant: datetime) -> timedelta:
        """The gap between the next two occurrences after ``instant`` (decides the useMonitor default)."""
        first = self.next_after(instant)
        return self.next_after(first) - first

    def default_use_monitor(self, instant: datetime) -> bool:
        """Azure's default for ``useMonitor``: on for schedules whose interval is at least a minute."""
        return self.shortest_interval(instant) >= timedelta(minutes=1)


def parse_schedule(expression: str, zone_name: str | None = None) -> Schedule:
    """Parse a timer ``schedule`` setting; raises ScheduleError naming the expression."""
    text = expression.strip()
    zone = time_zone(zone_name)
    if is_timespan(text):
        try:
            interval = parse_timespan(text)
        except ValueError as error:
            raise ScheduleError(str(error)) from error
        if interval <= timedelta(0):
            raise ScheduleError(f"schedule {expression!r}: a TimeSpan schedule must be positive")
        return Schedule(text, zone, interval)
    fields = text.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise ScheduleError(
            f"schedule {expression!r}: expected six NCRONTAB fields "
            "'{second} {minute} {hour} {day} {month} {day-of-week}' (e.g. '0 0 6 * * *') or a "
            "TimeSpan 'hh:mm:ss'"
        )
    normalised = " ".join(fields)
    if not croniter.is_valid(normalised, second_at_beginning=True):
        raise ScheduleError(f"schedule {expression!r} is not a valid NCRONTAB expression")
    return Schedule(normalised, zone)
