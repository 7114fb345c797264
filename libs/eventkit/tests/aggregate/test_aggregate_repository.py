"""Aggregates fold their events, save at the version they were loaded at, and retry on a clash;
old stored event versions are upcast in one mapper."""

from __future__ import annotations

import threading
import uuid
from typing import ClassVar

import pytest

from eventkit.aggregate import Aggregate, DomainEvent
from eventkit.mapper import EventMapper, StoredEventInvalid, UnknownDomainEvent
from eventkit.repository import ConcurrencyRetriesExhausted, Repository
from eventkit.store import AlreadyProcessed, ConcurrencyError, InMemoryEventStore, NewEvent, Tracking


class Counted(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "Counted"
    SCHEMA_VERSION: ClassVar[int] = 2
    amount: int
    reason: str


class NotEnough(Exception):
    pass


class Counter(Aggregate[Counted]):
    STREAM_PREFIX: ClassVar[str] = "counter"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.total = 0

    def _apply(self, event: Counted) -> None:
        self.total += event.amount

    def add(self, amount: int, reason: str = "test") -> None:
        if self.total + amount < 0:
            raise NotEnough(f"{self.id}: total {self.total} cannot take {amount}")
        self._record(Counted(amount=amount, reason=reason))


mapper = EventMapper([Counted])


@mapper.upcaster("Counted", from_version=1)
def _counted_v1_had_no_reason(data: dict[str, object]) -> dict[str, object]:
    return {**data, "reason": "unknown (v1)"}


def a_repository() -> tuple[InMemoryEventStore, Repository[Counter]]:
    store = InMemoryEventStore()
    return store, Repository(store, mapper, Counter)


def an_id() -> str:
    return uuid.uuid4().hex[:8]


def test_a_saved_aggregate_loads_with_its_state_and_version() -> None:
    _, repository = a_repository()
    counter = repository.load(an_id())
    counter.add(3)
    counter.add(4)
    assert repository.save(counter) == 2

    loaded = repository.load(counter.id)
    assert (loaded.total, loaded.version, loaded.pending_events) == (7, 2, ())


def test_a_save_from_a_stale_load_raises_a_concurrency_error_and_writes_nothing() -> None:
    store, repository = a_repository()
    counter_id = an_id()
    first, second = repository.load(counter_id), repository.load(counter_id)
    first.add(1)
    repository.save(first)
    second.add(10)

    with pytest.raises(ConcurrencyError):
        repository.save(second)
    assert store.stream_version(Counter.stream_id(counter_id)) == 1


def test_execute_retries_the_decision_against_concurrent_writers_and_loses_no_update() -> None:
    _, repository = a_repository()
    counter_id = an_id()

    def add_many() -> None:
        for _ in range(50):
            repository.execute(counter_id, lambda c: c.add(1))

    threads = [threading.Thread(target=add_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert repository.load(counter_id).total == 200


def test_a_rule_broken_by_a_command_appends_nothing() -> None:
    store, repository = a_repository()
    counter_id = an_id()
    with pytest.raises(NotEnough):
        repository.execute(counter_id, lambda c: c.add(-1))
    assert store.stream_version(Counter.stream_id(counter_id)) == 0


def test_execute_gives_up_after_its_attempts_naming_the_aggregate() -> None:
    store, repository = a_repository()
    counter_id = an_id()

    def add_while_someone_else_writes(counter: Counter) -> None:
        store.append(
            Counter.stream_id(counter_id),
            counter.version,
            [mapper.to_new_event(Counted(amount=1, reason="x"))],
        )
        counter.add(1)

    with pytest.raises(ConcurrencyRetriesExhausted, match=counter_id):
        repository.execute(counter_id, add_while_someone_else_writes, attempts=3)


def test_a_repeated_tracked_decision_is_refused_as_already_processed() -> None:
    store, repository = a_repository()
    counter_id = an_id()
    repository.execute(counter_id, lambda c: c.add(5), tracking=Tracking("projector", "evt-1"))

    with pytest.raises(AlreadyProcessed):
        repository.execute(counter_id, lambda c: c.add(5), tracking=Tracking("projector", "evt-1"))
    assert repository.load(counter_id).total == 5
    assert store.has_processed("projector", "evt-1")


def test_a_decision_that_records_nothing_still_marks_its_tracking_key() -> None:
    store, repository = a_repository()
    repository.execute(an_id(), lambda c: None, tracking=Tracking("projector", "evt-2"))
    assert store.has_processed("projector", "evt-2")


def test_an_old_stored_version_is_upcast_before_the_aggregate_sees_it() -> None:
    store, repository = a_repository()
    counter_id = an_id()
    old = NewEvent(type="Counted", data={"amount": 4}, metadata={"schema_version": 1})
    store.append(Counter.stream_id(counter_id), 0, [old])

    stored = store.read_stream(Counter.stream_id(counter_id))
    assert mapper.to_domain(stored[0]) == Counted(amount=4, reason="unknown (v1)")
    assert repository.load(counter_id).total == 4


def test_an_unregistered_or_broken_stored_event_is_reported_with_its_stream_and_version() -> None:
    store = InMemoryEventStore()
    store.append("counter-x", 0, [NewEvent(type="Vanished", data={})])
    store.append(
        "counter-x", 1, [NewEvent(type="Counted", data={"amount": "lots"}, metadata={"schema_version": 2})]
    )
    first, second = store.read_stream("counter-x")

    with pytest.raises(UnknownDomainEvent, match=r"counter-x.*v1.*Vanished"):
        mapper.to_domain(first)
    with pytest.raises(StoredEventInvalid, match=r"counter-x.*v2"):
        mapper.to_domain(second)
