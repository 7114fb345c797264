"""Where a reader starts in a partition: Azure's `EventPosition` and host.json `initialOffsetOptions`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from eventkit.bus.eventhubs.errors import InvalidPositionError


class PositionKind(Enum):
    EARLIEST = "earliest"
    LATEST = "latest"
    SEQUENCE_NUMBER = "sequence_number"
    OFFSET = "offset"
    ENQUEUED_TIME = "enqueued_time"


@dataclass(frozen=True, slots=True)
class EventPosition:
    """A start position. Build it with the class methods, or `parse` Azure's spellings.

    `inclusive` applies to sequence numbers, offsets and enqueued times and, as in the Azure
    Python SDK's `starting_position_inclusive`, defaults to False (start after the position).
    """

    kind: PositionKind
    value: int | datetime | None = None
    inclusive: bool = False

    @classmethod
    def earliest(cls) -> EventPosition:
        """The oldest retained event ("-1" / "@earliest")."""
        return cls(PositionKind.EARLIEST)

    @classmethod
    def latest(cls) -> EventPosition:
        """Only events enqueued after the reader starts ("@latest")."""
        return cls(PositionKind.LATEST)

    @classmethod
    def from_sequence_number(cls, sequence_number: int, inclusive: bool = False) -> EventPosition:
        return cls(PositionKind.SEQUENCE_NUMBER, sequence_number, inclusive)

    @classmethod
    def from_offset(cls, offset: str | int, inclusive: bool = False) -> EventPosition:
        try:
            return cls(PositionKind.OFFSET, int(offset), inclusive)
        except ValueError:
            raise InvalidPositionError(f"offset {offset!r} is not a number") from None

    @classmethod
    def from_enqueued_time(cls, enqueued_time: datetime, inclusive: bool = False) -> EventPosition:
        if enqueued_time.tzinfo is None:
            raise InvalidPositionError(f"enqueued time {enqueued_time!r} must be timezone-aware (UTC)")
        return cls(PositionKind.ENQUEUED_TIME, enqueued_time, inclusive)

    @classmethod
    def parse(cls, value: str | int | datetime | EventPosition, inclusive: bool = False) -> EventPosition:
        """Azure Python SDK `starting_position` spellings.

        "-1" / "@earliest" → earliest, "@latest" → latest, another string → offset, an int →
        sequence number, a datetime → enqueued time. Raises `InvalidPositionError` otherwise.
        """
        if isinstance(value, EventPosition):
            return value
        if isinstance(value, bool):
            raise InvalidPositionError(f"{value!r} is not an event position")
        if isinstance(value, int):
            return cls.from_sequence_number(value, inclusive)
        if isinstance(value, datetime):
            return cls.from_enqueued_time(value, inclusive)
        if value in ("-1", "@earliest"):
            return cls.earliest()
        if value == "@latest":
            return cls.latest()
        return cls.from_offset(value, inclusive)

    @classmethod
    def from_initial_offset_options(cls, options: Mapping[str, object] | None) -> EventPosition:
        """The position host.json `extensions.eventHubs.initialOffsetOptions` describes.

        `type` is "fromStart" (the Functions default, also when `options` is None or empty),
        "fromEnd", or "fromEnqueuedTime" with `enqueuedTimeUtc` (ISO 8601, UTC assumed when no
        offset is given). Matching is case-insensitive, as the host's. Raises
        `InvalidPositionError` naming the bad value.
        """
        if not options:
            return cls.earliest()
        kind = str(options.get("type", "fromStart")).lower()
        if kind == "fromstart":
            return cls.earliest()
        if kind == "fromend":
            return cls.latest()
        if kind == "fromenqueuedtime":
            raw = options.get("enqueuedTimeUtc")
            if not isinstance(raw, str):
                raise InvalidPositionError("initialOffsetOptions fromEnqueuedTime needs enqueuedTimeUtc")
            try:
                parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise InvalidPositionError(f"enqueuedTimeUtc {raw!r} is not an ISO 8601 time") from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return cls.from_enqueued_time(parsed, inclusive=True)  # .NET: "on or after"
        raise InvalidPositionError(
            f"initialOffsetOptions type {options.get('type')!r} is not fromStart, fromEnd or fromEnqueuedTime"
        )
