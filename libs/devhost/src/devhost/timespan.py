"""Parsing of .NET TimeSpan strings as Azure uses them in host.json and retry policies."""

from __future__ import annotations

import re
from datetime import timedelta

_TIMESPAN = re.compile(r"^\s*(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?\s*$")


def parse_timespan(text: str) -> timedelta:
    """Parse ``[d.]hh:mm[:ss[.fffffff]]`` (the .NET TimeSpan "c" format) into a timedelta.

    Raises ValueError naming the text when it is not a TimeSpan.
    """
    match = _TIMESPAN.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a TimeSpan; expected [d.]hh:mm:ss, e.g. '00:05:00'")
    sign, days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds or 0) > 59:
        raise ValueError(f"{text!r} is not a TimeSpan: hours must be < 24, minutes and seconds < 60")
    value = timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds or 0),
        microseconds=int((fraction or "0").ljust(7, "0")[:7]) // 10,
    )
    return -value if sign else value


def is_timespan(text: str) -> bool:
    """Whether ``text`` has the shape of a TimeSpan (rather than, say, a cron expression)."""
    return _TIMESPAN.match(text) is not None
