"""The timer schedule monitor: Azure's ScheduleStatus (Last, Next, LastUpdated) kept per function.

Azure keeps it as a blob ``timers/<host id>/<function>/status``; devhost keeps the same JSON in
``<state>/timers/<app>/<function>/status.json``, so it survives restarts and tests can write one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from devhost.triggers.schedule import Schedule

NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ScheduleStatus:
    """Last: last occurrence run. Next: the occurrence the scheduler waits for. LastUpdated: write time."""

    last: datetime
    next: datetime
    last_updated: datetime

    def to_json(self) -> dict[str, str]:
        return {
            "Last": self.last.isoformat(),
            "Next": self.next.isoformat(),
            "LastUpdated": self.last_updated.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> ScheduleStatus:
        """Read the Azure shape; raises ValueError/KeyError on a malformed document."""

        def parse(text: str) -> datetime:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=UTC)

        return cls(parse(data["Last"]), parse(data["Next"]), parse(data["LastUpdated"]))


def status_path(state_dir: Path, app: str, function: str) -> Path:
    """Where the status of ``app``/``function`` lives."""
    return state_dir / "timers" / app / function / "status.json"


class ScheduleMonitor:
    """Reads and writes one function's ScheduleStatus and decides whether a run is past due."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def read(self) -> ScheduleStatus | None:
        """The stored status, or None when there is none (or it is unreadable)."""
        try:
            return ScheduleStatus.from_json(json.loads(self._path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, status: ScheduleStatus) -> None:
        """Store ``status`` atomically (write then rename)."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps(status.to_json()), encoding="utf-8")
        os.replace(temporary, self._path)

    def check_past_due(self, now: datetime, schedule: Schedule) -> tuple[datetime, bool]:
        """(the occurrence to wait for, whether it is already past due), as Azure's ScheduleMonitor.

        No status yet: record one (Next = the next occurrence) and report not past due. Otherwise
        the expected next occurrence is recomputed from Last (or LastUpdated when it never ran),
        which also notices a changed schedule; a recorded Next earlier than now is past due.
        """
        status = self.read()
        if status is None:
            upcoming = schedule.next_after(now)
            self.write(ScheduleStatus(NEVER, upcoming, now))
            return upcoming, False
        base = status.last if status.last != NEVER else status.last_updated
        expected = schedule.next_after(base)
        recorded = status.next
        if recorded != expected:
            recorded = expected
            self.write(ScheduleStatus(status.last, recorded, now))
        return recorded, now > recorded
