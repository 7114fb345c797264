"""Repository: load an aggregate from its stream, save its new events, retry on a version clash.

This is the one place the load → decide → append loop lives, so no use case does a
read-modify-write outside a stream (ARCHITECTURE.md section 5).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .aggregate import Aggregate, DomainEvent
from .mapper import EventMapper
from .store import ConcurrencyError, EventStore, Tracking

A = TypeVar("A", bound=Aggregate[Any])
R = TypeVar("R")
CLASH_BACKOFF = 0.001
"""Seconds: the longest wait after a first clash; each further clash doubles it."""
CLASH_BACKOFF_MAX = 0.05
"""Seconds: the longest wait after any clash."""


class ConcurrencyRetriesExhausted(RuntimeError):
    """Every retry of a use case met a concurrent writer; the caller's trigger should retry later."""


class Repository(Generic[A]):
    """Loads and saves one aggregate class through an `EventStore`."""

    def __init__(self, store: EventStore, mapper: EventMapper, aggregate_cls: type[A]) -> None:
        self._store = store
        self._mapper = mapper
        self._cls = aggregate_cls

    def load(self, aggregate_id: str) -> A:
        """The aggregate as stored; a new one at version 0 if its stream is empty."""
        stored = self._store.read_stream(self._cls.stream_id(aggregate_id))
        events: list[DomainEvent] = [self._mapper.to_domain(e) for e in stored]
        return self._cls.rehydrate(aggregate_id, events)

    def save(
        self, aggregate: A, *, metadata: dict[str, Any] | None = None, tracking: Tracking | None = None
    ) -> int:
        """Append the pending events at the loaded version; raises `ConcurrencyError` on a clash
        and `AlreadyProcessed` when `tracking` was recorded before (nothing is written then)."""
        pending = aggregate.pending_events
        if not pending:
            if tracking is not None:  # a decision that changed nothing is still processed
                self._store.record_processed(tracking.consumer, tracking.key)
            return aggregate.version
        new_events = [self._mapper.to_new_event(e, metadata) for e in pending]
        new_version = self._store.append(
            self._cls.stream_id(aggregate.id), aggregate.loaded_version, new_events, tracking=tracking
        )
        aggregate._mark_saved(new_version)
        return new_version

    def execute(
        self,
        aggregate_id: str,
        command: Callable[[A], R],
        *,
        metadata: dict[str, Any] | None = None,
        tracking: Tracking | None = None,
        attempts: int = 20,
    ) -> R:
        """Load, run `command`, save; on `ConcurrencyError` wait a random moment (full jitter,
        growing from `CLASH_BACKOFF` up to `CLASH_BACKOFF_MAX`), reload and run it again.

        Without the wait, writers of one hot stream retrying in lockstep can keep losing to each
        other until one runs out of attempts. `command` must be a pure decision on the aggregate
        (it may run several times). Raises `ConcurrencyRetriesExhausted` after `attempts`
        clashes, `AlreadyProcessed` if `tracking` shows the work was done before, and whatever
        the command raises.
        """
        for clash in range(attempts):
            aggregate = self.load(aggregate_id)
            result = command(aggregate)
            try:
                self.save(aggregate, metadata=metadata, tracking=tracking)
            except ConcurrencyError:
                if clash + 1 < attempts:
                    time.sleep(random.uniform(0, min(CLASH_BACKOFF_MAX, CLASH_BACKOFF * 2**clash)))
                continue
            return result
        raise ConcurrencyRetriesExhausted(
            f"{self._cls.__name__} '{aggregate_id}': {attempts} attempts met concurrent writers"
        )
