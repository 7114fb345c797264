"""Aggregate base: state folded from its events; commands decide and record new events.

An aggregate never does I/O. A use case loads it from its stream (`Repository.load`), calls a
command (which validates and records events through `_record`), and saves: the pending events
are appended with the version the aggregate was loaded at as the expected version, so a
concurrent writer makes the append fail with `ConcurrencyError` instead of losing an update.
`Repository.execute` runs that load → decide → append loop and retries on a clash.
"""

from __future__ import annotations

import abc
from typing import ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict


class DomainEvent(BaseModel):
    """Something that happened to an aggregate, named in the past tense (`StockAdjusted`).

    `EVENT_TYPE` is the stable name stored in the stream and `SCHEMA_VERSION` its version;
    renaming the class never changes stored data. Older versions are upcast by `EventMapper`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    EVENT_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1


E = TypeVar("E", bound=DomainEvent)


class Aggregate(abc.ABC, Generic[E]):
    """Base of every aggregate. Subclasses implement `_apply` (a pure fold, never raises for a
    stored event) and commands that check rules and call `_record`."""

    STREAM_PREFIX: ClassVar[str]
    """Names the aggregate's streams (`stock-SKU1`); part of the stored data, never rename."""

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        self.version = 0
        self._pending: list[E] = []

    @classmethod
    def rehydrate(cls, aggregate_id: str, events: list[E]) -> Self:
        """The aggregate as its stored events left it."""
        aggregate = cls(aggregate_id)
        for event in events:
            aggregate._apply(event)
            aggregate.version += 1
        return aggregate

    @abc.abstractmethod
    def _apply(self, event: E) -> None:
        """Fold one event into the state."""

    def _record(self, event: E) -> None:
        """Apply a new event now and keep it for the next save."""
        self._apply(event)
        self._pending.append(event)
        self.version += 1

    @property
    def pending_events(self) -> tuple[E, ...]:
        """Events recorded since load, not yet saved (`version` already counts them)."""
        return tuple(self._pending)

    @property
    def loaded_version(self) -> int:
        """The stream version this aggregate was loaded at: the expected version on save."""
        return self.version - len(self._pending)

    def _mark_saved(self, new_version: int) -> None:
        self._pending.clear()
        self.version = new_version

    @classmethod
    def stream_id(cls, aggregate_id: str) -> str:
        """The stream that holds this aggregate's events: `<STREAM_PREFIX>-<id>`."""
        return f"{cls.STREAM_PREFIX}-{aggregate_id}"
