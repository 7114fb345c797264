"""The one contract suite every EventStore adapter runs (ARCHITECTURE.md §8).

Subclass `EventStoreContract` in a test module named `Test...` and give it a `store` fixture that
yields an empty store. An adapter that cannot honour a promise *in a given test setup* (the Cosmos
emulator's non-atomic batches) lists it in `limitations` with the reason; those tests are then
skipped with that reason, never faked.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from typing import ClassVar

import pytest

from eventkit.store import (
    AlreadyProcessed,
    BatchConcurrencyError,
    ConcurrencyError,
    EventStore,
    InvalidAppend,
    NewEvent,
    StoredEvent,
    StreamAppend,
    Tracking,
)
from eventkit.testing.store_workers import Acknowledged, append_with_retries

ATOMIC_BATCH = "atomic_batch"
"""Capability: a failed append that carried tracking leaves no tracking record behind."""

ATOMIC_MULTI_STREAM = "atomic_multi_stream"
"""Capability: `append_many` is all-or-nothing even when another writer races it."""


def new_stream_id() -> str:
    return f"order-{uuid.uuid4()}"


def an_event(**data: object) -> NewEvent:
    return NewEvent(type="com.nightshift.test.thing.happened.v1", data=dict(data) or {"n": 1})


def events_of(count: int) -> list[NewEvent]:
    return [an_event(n=n) for n in range(count)]


class EventStoreContract:
    """Promises of `eventkit.store.port.EventStore`; subclasses provide the `store` fixture."""

    limitations: ClassVar[dict[str, str]] = {}
    writers = 8
    appends_per_writer = 200
    stream_count = 4

    def requires(self, capability: str) -> None:
        if capability in self.limitations:
            pytest.skip(self.limitations[capability])

    def run_writers(self, store: EventStore, stream_ids: list[str]) -> list[Acknowledged]:
        """Run `writers` concurrent `append_with_retries`; threads here, processes where overridden."""
        with ThreadPoolExecutor(self.writers) as pool:
            results = pool.map(
                lambda writer: append_with_retries(store, stream_ids, writer, self.appends_per_writer),
                range(self.writers),
            )
            return [ack for result in results for ack in result]

    def test_an_appended_event_reads_back_as_it_was_written(self, store: EventStore) -> None:
        stream_id = new_stream_id()
        event = NewEvent(
            type="com.nightshift.orders.order.placed.v1",
            data={"orderId": stream_id, "lines": [{"sku": "A-1", "qty": 2}], "total": 12.5, "gift": None},
            metadata={"correlationid": "c-1", "traceparent": "00-abc-def-01"},
        )

        assert store.append(stream_id, 0, [event]) == 1

        [stored] = store.read_stream(stream_id)
        assert (stored.stream_id, stored.version, stored.type) == (stream_id, 1, event.type)
        assert (stored.data, stored.metadata, stored.event_id) == (event.data, event.metadata, event.event_id)
        assert stored.recorded_at.utcoffset() == UTC.utcoffset(None)
        assert store.stream_version(stream_id) == 1

    def test_a_stream_never_written_is_at_version_zero_and_empty(self, store: EventStore) -> None:
        stream_id = new_stream_id()

        assert store.stream_version(stream_id) == 0
        assert store.read_stream(stream_id) == []

    def test_changing_the_appended_data_afterwards_does_not_change_the_stored_event(
        self, store: EventStore
    ) -> None:
        stream_id = new_stream_id()
        data: dict[str, object] = {"lines": ["a"]}
        store.append(stream_id, 0, [NewEvent(type="t.v1", data=data)])

        data["lines"] = ["changed"]

        assert store.read_stream(stream_id)[0].data == {"lines": ["a"]}

    def test_events_read_back_share_no_mutable_data_with_each_other(self, store: EventStore) -> None:
        stream_id = new_stream_id()
        metadata = {"schema_version": 1, "correlationid": "c-1"}
        store.append(
            stream_id, 0, [NewEvent(type="t.v1", data={"n": n}, metadata=metadata) for n in range(3)]
        )

        first, second, _ = store.read_stream(stream_id)
        first.metadata["correlationid"] = "changed"
        first.data["n"] = 99

        assert second.metadata == metadata and second.data == {"n": 1}
        assert store.read_stream(stream_id)[0].metadata == metadata
        assert [e.metadata for e in store.read_all(0, 100_000) if e.stream_id == stream_id] == [metadata] * 3

    def test_versions_are_contiguous_across_appends_of_several_events(self, store: EventStore) -> None:
        stream_id = new_stream_id()

        assert store.append(stream_id, 0, events_of(1)) == 1
        assert store.append(stream_id, 1, events_of(3)) == 4
        assert store.append(stream_id, 4, events_of(2)) == 6

        assert [e.version for e in store.read_stream(stream_id)] == [1, 2, 3, 4, 5, 6]
        assert [e.version for e in store.read_stream(stream_id, from_version=3)] == [3, 4, 5, 6]
        assert [e.data["n"] for e in store.read_stream(stream_id, from_version=2)] == [0, 1, 2, 0, 1]

    def test_appending_with_a_stale_version_raises_and_writes_nothing(self, store: EventStore) -> None:
        stream_id = new_stream_id()
        store.append(stream_id, 0, events_of(2))
        before = store.read_all(0, 10_000)

        with pytest.raises(ConcurrencyError) as raised:
            store.append(stream_id, 1, events_of(3))

        assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == (stream_id, 1, 2)
        assert store.stream_version(stream_id) == 2
        assert store.read_all(0, 10_000) == before

    def test_creating_a_stream_that_exists_raises(self, store: EventStore) -> None:
        stream_id = new_stream_id()
        store.append(stream_id, 0, events_of(1))

        with pytest.raises(ConcurrencyError):
            store.append(stream_id, 0, events_of(1))

    def test_appending_at_a_version_the_stream_has_not_reached_raises(self, store: EventStore) -> None:
        stream_id = new_stream_id()
        store.append(stream_id, 0, events_of(3))

        with pytest.raises(ConcurrencyError) as raised:
            store.append(stream_id, 5, events_of(1))
        with pytest.raises(ConcurrencyError):
            store.append(stream_id, 2, events_of(1))  # inside the last append

        assert raised.value.actual == 3
        assert [e.version for e in store.read_stream(stream_id)] == [1, 2, 3]

    def test_a_multi_event_append_with_one_bad_event_writes_none_of_them(self, store: EventStore) -> None:
        stream_id = new_stream_id()
        bad = NewEvent(type="t.v1", data={"when": object()})

        with pytest.raises(InvalidAppend, match="not JSON"):
            store.append(stream_id, 0, [an_event(n=1), bad, an_event(n=3)])

        assert store.read_stream(stream_id) == []
        assert store.stream_version(stream_id) == 0

    def test_arguments_that_cannot_be_stored_are_refused(self, store: EventStore) -> None:
        with pytest.raises(InvalidAppend):
            store.append(new_stream_id(), 0, [])
        with pytest.raises(InvalidAppend):
            store.append(new_stream_id(), -1, events_of(1))
        with pytest.raises(InvalidAppend):
            store.append("", 0, events_of(1))
        with pytest.raises(InvalidAppend):
            store.append("$reserved", 0, events_of(1))
        with pytest.raises(ValueError):
            store.read_all(0, limit=0)

    def test_read_all_gives_every_event_after_a_position_in_commit_order(self, store: EventStore) -> None:
        first, second = new_stream_id(), new_stream_id()
        store.append(first, 0, [an_event(step=1)])
        store.append(second, 0, [an_event(step=2), an_event(step=3)])
        store.append(first, 1, [an_event(step=4)])

        feed = store.read_all(0, 100)

        assert [e.data["step"] for e in feed] == [1, 2, 3, 4]
        assert [(e.stream_id, e.version) for e in feed] == [(first, 1), (second, 1), (second, 2), (first, 2)]
        positions = [e.position for e in feed]
        assert positions == sorted(positions) and len(set(positions)) == 4 and positions[0] > 0
        assert _steps(store.read_all(positions[0], 2)) == [2, 3]
        assert _steps(store.read_all(positions[2], 100)) == [4]
        assert store.read_all(positions[3], 100) == []

    def test_a_relay_that_resumes_after_its_last_position_sees_each_event_once(
        self, store: EventStore
    ) -> None:
        stream_id = new_stream_id()
        relayed: list[StoredEvent] = []
        last = 0
        for round_ in range(3):
            store.append(
                stream_id, store.stream_version(stream_id), [an_event(step=round_), an_event(step=-1)]
            )
            while batch := store.read_all(last, 1):
                relayed.extend(batch)
                last = batch[-1].position

        assert [(e.version, e.data["step"]) for e in relayed] == [
            (1, 0),
            (2, -1),
            (3, 1),
            (4, -1),
            (5, 2),
            (6, -1),
        ]

    def test_a_repeated_tracking_raises_already_processed_and_appends_nothing(
        self, store: EventStore
    ) -> None:
        stream_id = new_stream_id()
        tracking = Tracking(consumer="inventory", key=f"event-{uuid.uuid4()}")
        store.append(stream_id, 0, events_of(1), tracking=tracking)

        with pytest.raises(AlreadyProcessed) as raised:
            store.append(stream_id, 1, events_of(2), tracking=tracking)

        assert (raised.value.consumer, raised.value.key) == (tracking.consumer, tracking.key)
        assert store.stream_version(stream_id) == 1
        assert store.has_processed(tracking.consumer, tracking.key)

    def test_tracking_is_kept_per_consumer(self, store: EventStore) -> None:
        key = f"event-{uuid.uuid4()}"
        store.append(new_stream_id(), 0, events_of(1), tracking=Tracking("inventory", key))

        assert store.has_processed("inventory", key)
        assert not store.has_processed("reporting", key)
        assert not store.has_processed("inventory", f"event-{uuid.uuid4()}")

    def test_a_key_recorded_on_its_own_is_processed_once(self, store: EventStore) -> None:
        key = f"event-{uuid.uuid4()}"
        store.record_processed("reporting", key)

        with pytest.raises(AlreadyProcessed):
            store.record_processed("reporting", key)
        with pytest.raises(AlreadyProcessed):
            store.append(new_stream_id(), 0, events_of(1), tracking=Tracking("reporting", key))
        assert store.has_processed("reporting", key)

    def test_an_append_refused_for_its_version_records_no_tracking(self, store: EventStore) -> None:
        self.requires(ATOMIC_BATCH)
        stream_id = new_stream_id()
        store.append(stream_id, 0, events_of(1))
        tracking = Tracking(consumer="inventory", key=f"event-{uuid.uuid4()}")

        with pytest.raises(ConcurrencyError):
            store.append(stream_id, 0, events_of(1), tracking=tracking)

        assert not store.has_processed(tracking.consumer, tracking.key)
        assert store.append(stream_id, 1, events_of(1), tracking=tracking) == 2

    def test_concurrent_writers_retrying_on_conflict_lose_and_duplicate_nothing(
        self, store: EventStore
    ) -> None:
        stream_ids = [new_stream_id() for _ in range(self.stream_count)]
        total = self.writers * self.appends_per_writer

        acknowledged = self.run_writers(store, stream_ids)

        assert len(acknowledged) == total
        assert len({(stream_id, version) for stream_id, version, _, _ in acknowledged}) == total
        streams = {stream_id: store.read_stream(stream_id) for stream_id in stream_ids}
        for events in streams.values():
            assert [e.version for e in events] == list(range(1, len(events) + 1))
        assert sum(len(events) for events in streams.values()) == total
        for stream_id, version, writer, number in acknowledged:
            assert streams[stream_id][version - 1].data == {"writer": writer, "number": number}
        feed = store.read_all(0, total + 1)
        assert len(feed) == total
        assert all(a.position < b.position for a, b in itertools.pairwise(feed))
        assert Counter(e.stream_id for e in feed) == {s: len(events) for s, events in streams.items()}

    def test_read_streams_gives_each_stream_from_its_own_version(self, store: EventStore) -> None:
        first, second, empty = new_stream_id(), new_stream_id(), new_stream_id()
        store.append(first, 0, events_of(3))
        store.append(second, 0, events_of(2))

        read = store.read_streams({first: 2, second: 1, empty: 1})

        assert set(read) == {first, second, empty}
        assert [(e.version, e.data["n"]) for e in read[first]] == [(2, 1), (3, 2)]
        assert [e.version for e in read[second]] == [1, 2] and read[empty] == []
        assert read[first] == store.read_stream(first, 2)

    def test_every_new_event_gets_its_own_id(self, store: EventStore) -> None:
        stream_id = new_stream_id()
        store.append(stream_id, 0, events_of(2_000))

        ids = [e.event_id for e in store.read_stream(stream_id)]
        assert len(set(ids)) == 2_000 and all(uuid.UUID(i).version == 4 for i in ids)

    # --- append_many ------------------------------------------------------------------------

    def test_append_many_writes_every_stream_and_returns_each_new_version(self, store: EventStore) -> None:
        first, second, third = new_stream_id(), new_stream_id(), new_stream_id()
        store.append(second, 0, events_of(2))

        versions = store.append_many(
            [
                StreamAppend(first, 0, events_of(3)),
                StreamAppend(second, 2, events_of(1)),
                StreamAppend(third, 0, events_of(1)),
            ]
        )

        assert versions == [3, 3, 1]
        assert [e.version for e in store.read_stream(first)] == [1, 2, 3]
        assert [e.data["n"] for e in store.read_stream(second)] == [0, 1, 0]
        assert (store.stream_version(first), store.stream_version(second), store.stream_version(third)) == (
            3,
            3,
            1,
        )

    def test_append_many_puts_its_events_on_the_feed_in_the_order_given(self, store: EventStore) -> None:
        first, second = new_stream_id(), new_stream_id()
        before = len(store.read_all(0, 100_000))

        store.append_many(
            [
                StreamAppend(second, 0, [an_event(step=1), an_event(step=2)]),
                StreamAppend(first, 0, [an_event(step=3)]),
            ]
        )

        feed = store.read_all(0, 100_000)[before:]
        assert [(e.stream_id, e.data["step"]) for e in feed] == [(second, 1), (second, 2), (first, 3)]
        assert all(a.position < b.position for a, b in itertools.pairwise(feed))

    def test_append_many_with_one_stale_stream_names_it_and_writes_nothing(self, store: EventStore) -> None:
        fresh, stale = new_stream_id(), new_stream_id()
        store.append(stale, 0, events_of(2))
        before = store.read_all(0, 100_000)

        with pytest.raises(BatchConcurrencyError) as raised:
            store.append_many([StreamAppend(fresh, 0, events_of(1)), StreamAppend(stale, 1, events_of(1))])

        assert [(c.stream_id, c.expected, c.actual) for c in raised.value.conflicts] == [(stale, 1, 2)]
        assert raised.value.written == ()
        assert isinstance(raised.value, ConcurrencyError) and raised.value.stream_id == stale
        assert store.stream_version(fresh) == 0 and store.stream_version(stale) == 2
        assert store.read_all(0, 100_000) == before

    def test_append_many_names_every_clashing_stream(self, store: EventStore) -> None:
        first, ok, second = new_stream_id(), new_stream_id(), new_stream_id()
        store.append(first, 0, events_of(1))
        store.append(second, 0, events_of(3))

        with pytest.raises(BatchConcurrencyError) as raised:
            store.append_many(
                [
                    StreamAppend(first, 0, events_of(1)),
                    StreamAppend(ok, 0, events_of(1)),
                    StreamAppend(second, 5, events_of(1)),
                ]
            )

        assert raised.value.stream_ids == (first, second)
        assert [c.actual for c in raised.value.conflicts] == [1, 3]
        assert first in str(raised.value) and second in str(raised.value)
        assert store.stream_version(ok) == 0

    def test_append_many_refuses_what_it_cannot_store_and_writes_nothing(self, store: EventStore) -> None:
        stream_id, other = new_stream_id(), new_stream_id()
        bad = NewEvent(type="t.v1", data={"when": object()})

        with pytest.raises(InvalidAppend):
            store.append_many([])
        with pytest.raises(InvalidAppend, match="twice"):
            store.append_many(
                [StreamAppend(stream_id, 0, events_of(1)), StreamAppend(stream_id, 1, events_of(1))]
            )
        with pytest.raises(InvalidAppend, match="not JSON"):
            store.append_many([StreamAppend(stream_id, 0, events_of(1)), StreamAppend(other, 0, [bad])])
        with pytest.raises(InvalidAppend):
            store.append_many([StreamAppend(stream_id, 0, []), StreamAppend(other, 0, events_of(1))])

        assert store.stream_version(stream_id) == 0 and store.stream_version(other) == 0

    def test_racing_multi_stream_appends_are_all_or_nothing(self, store: EventStore) -> None:
        self.requires(ATOMIC_MULTI_STREAM)
        shared, streams = new_stream_id(), [new_stream_id() for _ in range(3)]
        writers, batches = 4, 25

        def write(writer: int) -> int:
            clashes = 0
            for number in range(batches):
                own = streams[(writer + number) % len(streams)]
                for attempt in itertools.count():
                    data = {"writer": writer, "number": number, "attempt": attempt}
                    parts = [
                        StreamAppend(shared, store.stream_version(shared), [an_event(**data)]),
                        StreamAppend(own, store.stream_version(own), [an_event(**data)]),
                    ]
                    try:
                        store.append_many(parts)
                    except BatchConcurrencyError:
                        clashes += 1
                        continue
                    break
            return clashes

        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(write, range(writers)))

        on_shared = [tuple(e.data.values()) for e in store.read_stream(shared)]
        on_own = [tuple(e.data.values()) for s in streams for e in store.read_stream(s)]
        assert sorted(on_shared) == sorted(on_own)  # no batch was written to one stream only
        assert sorted((w, n) for w, n, _ in on_shared) == [
            (w, n) for w in range(writers) for n in range(batches)
        ]


def _steps(events: list[StoredEvent]) -> list[object]:
    return [e.data["step"] for e in events]
