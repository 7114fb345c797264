"""The Cosmos DB trigger's feed ranges (DEVHOST_COSMOS_FEED_RANGES): the setting, how streams are
split between ranges, ranged batches, and a real `devhost run` following one container as
several ranges at once, across a restart and in language-worker children."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, wait_for
from devhost.triggers.cosmos_feed import (
    FEED_RANGES_SETTING,
    CosmosTriggerError,
    FeedRange,
    feed_end,
    feed_range_count,
    read_document_bounds,
    read_documents,
    read_documents_between,
)
from devhost.triggers.cosmos_leases import LeaseKey, LeaseStore
from eventkit.store import SQLiteEventStore
from eventkit.store.events import NewEvent, StreamAppend

APP = Path(__file__).parent / "apps" / "cosmos_feed_ranges"
FUNCTION = "follow_stock"
CONTAINER = "fr-stock"
MAX_ITEMS = 2  # the fixture's max_items_per_invocation
WAIT = 30.0


def range_of(stream_id: str, count: int) -> int:
    """The feed range a stream belongs to, computed here the way the README states it."""
    return zlib.crc32(stream_id.encode()) % count


def new_stream() -> str:
    return f"stock-{uuid.uuid4().hex[:8]}"


def streams_in_every_range(count: int, per_range: int) -> list[list[str]]:
    """Random stream ids, `per_range` of them in each of `count` ranges."""
    ranges: list[list[str]] = [[] for _ in range(count)]
    while any(len(streams) < per_range for streams in ranges):
        stream = new_stream()
        if len(ranges[range_of(stream, count)]) < per_range:
            ranges[range_of(stream, count)].append(stream)
    return ranges


def an_event(stream: str, **data: Any) -> NewEvent:
    return NewEvent(type="inventory.StockAdjusted", data={"stream": stream, **data})


def append(store: SQLiteEventStore, stream: str, count: int = 1, **data: Any) -> list[str]:
    events = [an_event(stream, **data) for _ in range(count)]
    store.append(stream, store.stream_version(stream), events)
    return [event.event_id for event in events]


def write_feed(store: SQLiteEventStore, streams: list[str], seed: int, appends: int = 60) -> None:
    """Single-stream appends of 1..5 events and multi-stream appends (one commit time for streams
    of different ranges), in random order."""
    rng = random.Random(seed)
    for index in range(appends):
        if index % 5 == 4:
            store.append_many(
                [
                    StreamAppend(s, store.stream_version(s), [an_event(s) for _ in range(rng.randint(1, 3))])
                    for s in rng.sample(streams, 3)
                ]
            )
        else:
            append(store, rng.choice(streams), rng.randint(1, 5))


def read_range(
    store: SQLiteEventStore, feed_range: FeedRange, max_documents: int
) -> list[list[dict[str, Any]]]:
    """Every batch of `feed_range` from the beginning, as the trigger reads them; the last look
    at the feed must reach its end."""
    batches: list[list[dict[str, Any]]] = []
    position = 0
    while True:
        count, last = read_document_bounds(store, position, max_documents, feed_range)
        if not count:
            assert last == feed_end(store)
            return batches
        documents = read_documents_between(store, position, last, feed_range)
        assert len(documents) == count <= max_documents and documents[-1]["_lsn"] == last
        batches.append(documents)
        position = last


def as_append(document: dict[str, Any]) -> tuple[str, int, int, tuple[str, ...]]:
    return (
        document["streamId"],
        document["firstVersion"],
        document["_lsn"],
        tuple(event["eventId"] for event in document["events"]),
    )


# --- the setting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "count"), [(None, 1), ("", 1), ("  ", 1), ("1", 1), ("3", 3), ("64", 64)])
def test_the_feed_range_setting_is_one_when_unset_or_empty_and_takes_1_to_64(
    value: str | None, count: int
) -> None:
    assert feed_range_count(value) == count


@pytest.mark.parametrize("value", ["0", "65", "-2", "two", "1.5"])
def test_any_other_feed_range_setting_is_refused_naming_the_setting_and_the_value(value: str) -> None:
    with pytest.raises(CosmosTriggerError) as refused:
        feed_range_count(value)
    assert FEED_RANGES_SETTING == "DEVHOST_COSMOS_FEED_RANGES"
    assert FEED_RANGES_SETTING in str(refused.value) and repr(value) in str(refused.value)


# --- how streams are split -----------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 7, 64])
def test_every_stream_is_in_exactly_one_range_and_always_the_same(count: int) -> None:
    streams = [new_stream() for _ in range(2000)]
    for stream in streams:
        holders = [index for index in range(count) if FeedRange(index, count).holds(stream)]
        assert holders == [range_of(stream, count)]
        assert [FeedRange(index, count).holds(stream) for index in range(count)].count(True) == 1
    if count > 1:  # the streams are spread, not all in one range
        assert len({range_of(stream, count) for stream in streams}) == count


def test_another_process_puts_each_stream_in_the_same_range() -> None:
    """A language-worker child rebuilds the range from its index and count: the split must not
    depend on the process (as Python's salted `hash` would)."""
    streams = [new_stream() for _ in range(50)]
    script = (
        "import json, sys\n"
        "from devhost.triggers.cosmos_feed import FeedRange\n"
        "streams = json.loads(sys.argv[1])\n"
        "print(json.dumps([[i for i in range(5) if FeedRange(i, 5).holds(s)] for s in streams]))\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script, json.dumps(streams)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert json.loads(answer.stdout) == [[range_of(stream, 5)] for stream in streams]


# --- ranged batches ------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "max_documents"), [(2, 1), (3, 3), (3, 1000), (5, 2)])
def test_the_ranges_batches_together_hold_the_whole_feed_each_range_in_feed_order(
    tmp_path: Path, count: int, max_documents: int
) -> None:
    store = SQLiteEventStore(tmp_path / "feed.db")
    streams = [s for in_range in streams_in_every_range(count, 2) for s in in_range]
    write_feed(store, streams, seed=count * 100 + max_documents)
    whole, _ = read_documents(store, 0, 1_000_000)

    per_range = {index: read_range(store, FeedRange(index, count), max_documents) for index in range(count)}

    everything = [as_append(d) for batches in per_range.values() for batch in batches for d in batch]
    assert sorted(everything) == sorted(as_append(d) for d in whole)
    assert len(everything) == len(set(everything))
    for index, batches in per_range.items():
        documents = [d for batch in batches for d in batch]
        assert [as_append(d) for d in documents] == [
            as_append(d) for d in whole if range_of(d["streamId"], count) == index
        ]  # the range's documents in feed order
        for document in documents:  # no document holds an event of another range
            assert {event["data"]["stream"] for event in document["events"]} == {document["streamId"]}
            assert range_of(document["streamId"], count) == index
    store.close()


def test_a_range_with_nothing_new_answers_how_far_it_looked_so_others_changes_are_not_read_again(
    tmp_path: Path,
) -> None:
    store = SQLiteEventStore(tmp_path / "feed.db")
    first, second = streams_in_every_range(2, 1)
    append(store, first[0], 2)
    append(store, second[0])
    after = feed_end(store)
    for _ in range(3):
        append(store, first[0], 2)
    end = feed_end(store)

    assert read_document_bounds(store, after, 10, FeedRange(1, 2)) == (0, end)
    assert read_documents_between(store, after, end, FeedRange(1, 2)) == []
    assert read_document_bounds(store, after, 10, FeedRange(0, 2)) == (3, end)

    later = append(store, second[0])
    count, last = read_document_bounds(store, end, 10, FeedRange(1, 2))
    assert (count, last) == (1, end + 1)
    (document,) = read_documents_between(store, end, last, FeedRange(1, 2))
    assert [event["eventId"] for event in document["events"]] == later
    store.close()


def test_an_append_larger_than_a_page_is_one_document_of_its_range(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "feed.db")
    ours, theirs = (streams[0] for streams in streams_in_every_range(2, 1))
    append(store, theirs, 3)
    big = append(store, ours, 7000)
    append(store, theirs, 2)
    append(store, ours)

    batches = read_range(store, FeedRange(0, 2), 1)

    assert [[(d["streamId"], len(d["events"])) for d in batch] for batch in batches] == [
        [(ours, 7000)],
        [(ours, 1)],
    ]
    assert [event["eventId"] for event in batches[0][0]["events"]] == big
    store.close()


# --- through `devhost run` -----------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One event as an invocation received it."""

    event_id: str
    stream: str
    version: int
    position: int
    pid: int


class RangedHost:
    """A devhost running the feed-ranges fixture, its container, and what each run recorded."""

    def __init__(self, start: Callable[..., DevhostProcess], tmp_path: Path) -> None:
        self._start = start
        self._tmp = tmp_path
        self.state = tmp_path / "state"
        self.stock = StateLayout(self.state).open_cosmos_container("nightshift", CONTAINER)
        self.host: DevhostProcess | None = None
        self.results = tmp_path / "run-0"

    def run(self, **settings: str) -> DevhostProcess:
        """Start devhost on the same state folder; each run records into a folder of its own."""
        self.results = self._tmp / f"run-{len(list(self._tmp.glob('run-*'))) + 1}"
        self.results.mkdir()
        env = {"FEEDRANGES_RESULTS": str(self.results), **settings}
        self.host = self._start([APP], env=env, state=self.state)
        self.host.wait_running(0, APP.name)
        return self.host

    def invocations(self) -> list[dict[str, Any]]:
        """This run's invocations in the order they began."""
        entries = [json.loads(path.read_text()) for path in self.results.glob("*.json")]
        return sorted(entries, key=lambda entry: int(entry["started"]))

    def deliveries(self) -> list[Delivery]:
        """Every event this run delivered, in the order the invocations began."""
        return [
            Delivery(
                event_id,
                doc["streamId"],
                doc["firstVersion"] + offset,
                doc["lsn"] - (doc["lastVersion"] - doc["firstVersion"] - offset),
                invocation["pid"],
            )
            for invocation in self.invocations()
            for doc in invocation["docs"]
            for offset, event_id in enumerate(doc["eventIds"])
        ]

    def wait_delivered(self, event_ids: list[str]) -> list[Delivery]:
        wanted = set(event_ids)
        return list(
            wait_for(
                lambda: wanted <= {d.event_id for d in self.deliveries()} and self.deliveries(),
                WAIT,
                f"{len(wanted)} event(s) to be delivered",
            )
        )

    def is_holding(self) -> bool:
        return any(self.results.glob("holding-*.marker"))

    def release(self) -> None:
        (self.results / "release").write_text("")

    def lease(self) -> int | None:
        leases = LeaseStore(
            StateLayout(self.state)
            .cosmos_container_path("nightshift", "leases")
            .with_name("leases.leases.db")
        )
        try:
            return leases.position(LeaseKey("", APP.name, FUNCTION, "nightshift", CONTAINER))
        finally:
            leases.close()

    def feed(self) -> dict[str, tuple[str, int, int]]:
        """Every event of the container: event id -> (stream, version, position)."""
        return {e.event_id: (e.stream_id, e.version, e.position) for e in self.stock.read_all(0, 100_000)}


def append_rounds(store: SQLiteEventStore, streams: list[str], rounds: int, seed: int) -> list[str]:
    """`rounds` appends of 1..3 events on every stream, interleaved, and one multi-stream append
    per round; returns the event ids."""
    rng = random.Random(seed)
    ids: list[str] = []
    for _ in range(rounds):
        for stream in rng.sample(streams, len(streams)):
            ids += append(store, stream, rng.randint(1, 3))
        parts = [StreamAppend(s, store.stream_version(s), [an_event(s)]) for s in rng.sample(streams, 3)]
        store.append_many(parts)
        ids += [event.event_id for part in parts for event in part.events]
    return ids


def assert_delivered_as_in_the_feed(
    deliveries: list[Delivery], feed: dict[str, tuple[str, int, int]]
) -> None:
    """Each delivered event is the feed's (stream, version, position), and each stream's events
    arrive in version order."""
    for delivery in deliveries:
        assert (delivery.stream, delivery.version, delivery.position) == feed[delivery.event_id]
    versions: dict[str, list[int]] = {}
    for delivery in deliveries:
        versions.setdefault(delivery.stream, []).append(delivery.version)
    for stream, seen in versions.items():
        assert seen == sorted(set(seen)), f"{stream} delivered out of order: {seen}"


def assert_one_range_per_invocation(invocations: list[dict[str, Any]], count: int) -> set[int]:
    """Every invocation holds 1..MAX_ITEMS documents of one range; returns the ranges seen."""
    seen: set[int] = set()
    for invocation in invocations:
        ranges = {range_of(doc["streamId"], count) for doc in invocation["docs"]}
        assert len(ranges) == 1 and 1 <= len(invocation["docs"]) <= MAX_ITEMS, invocation
        seen |= ranges
    return seen


def assert_exactly_once(deliveries: list[Delivery], expected: list[str] | set[str]) -> None:
    counts = Counter(d.event_id for d in deliveries)
    assert set(counts) == set(expected)
    assert [event for event, times in counts.items() if times > 1] == []


def test_three_ranges_deliver_each_change_once_in_stream_order_and_a_restart_resumes_at_the_slowest_range(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    feed = RangedHost(start_devhost, tmp_path)
    ranges = streams_in_every_range(3, 3)
    streams = [s for in_range in ranges for s in in_range]
    written = append_rounds(feed.stock, streams, 2, seed=1)
    host = feed.run()  # local.settings.json: DEVHOST_COSMOS_FEED_RANGES=3
    written += append_rounds(feed.stock, streams, 2, seed=2)

    first = feed.wait_delivered(written)
    assert_exactly_once(first, written)
    assert_delivered_as_in_the_feed(first, feed.feed())
    assert assert_one_range_per_invocation(feed.invocations(), 3) == {0, 1, 2}

    held = append(feed.stock, ranges[0][0], hold=True)  # range 1 of 3 stops at this batch
    wait_for(feed.is_holding, WAIT, "the held batch to start")
    behind = append(feed.stock, ranges[0][0], 2) + append(feed.stock, ranges[0][1])
    elsewhere = append(feed.stock, ranges[1][0], 2) + append(feed.stock, ranges[2][2])
    feed.wait_delivered(elsewhere)  # the other ranges go on while one range's function runs
    delivered = {d.event_id for d in feed.deliveries()}
    assert not delivered & set(held + behind)

    host.process.send_signal(signal.SIGTERM)
    wait_for(lambda: f"Stopping {APP.name}: draining" in host.output, WAIT, "the host to start stopping")
    feed.release()
    host.stop()
    delivered = {d.event_id for d in feed.deliveries()}
    assert set(held) <= delivered and not delivered & set(behind)  # drained, then stopped
    positions = feed.feed()
    assert feed.lease() == positions[held[0]][2]  # the lowest position every range delivered to

    while_down = [event for in_range in ranges for event in append(feed.stock, in_range[1])]
    feed.run()
    positions = feed.feed()
    after_lease = [event for event, (_, _, position) in positions.items() if position > positions[held[0]][2]]
    second = feed.wait_delivered(after_lease)

    assert_exactly_once(second, after_lease)  # nothing at or before the lease comes again
    assert set(elsewhere) <= set(after_lease)  # the faster ranges see theirs again: at least once
    assert set(behind + while_down) <= set(after_lease)
    assert {d.event_id for d in first} | delivered | set(after_lease) == set(positions)  # none missed
    assert_delivered_as_in_the_feed(second, positions)
    assert_one_range_per_invocation(feed.invocations(), 3)


def test_the_range_count_may_change_between_runs_as_every_range_starts_at_the_one_lease(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    feed = RangedHost(start_devhost, tmp_path)
    # streams in each of the 3 ranges of the first run and of the 2 ranges of the second (random
    # ids alone left every stream in one of the 2 ranges in about 3% of runs)
    layouts = (streams_in_every_range(3, 2), streams_in_every_range(2, 1))
    streams = [s for layout in layouts for in_range in layout for s in in_range]
    written = append_rounds(feed.stock, streams, 2, seed=5)
    host = feed.run()  # 3 ranges
    feed.wait_delivered(written)
    host.stop()
    lease = feed.lease()
    assert lease is not None

    while_down = append_rounds(feed.stock, streams, 1, seed=6)
    feed.run(DEVHOST_COSMOS_FEED_RANGES="2")
    positions = feed.feed()
    after_lease = [event for event, (_, _, position) in positions.items() if position > lease]
    second = feed.wait_delivered(after_lease)

    assert_exactly_once(second, after_lease)
    assert set(while_down) <= set(after_lease)
    assert_delivered_as_in_the_feed(second, positions)
    assert assert_one_range_per_invocation(feed.invocations(), 2) == {0, 1}


def _parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_with_two_language_workers_the_ranges_run_in_the_children_with_the_same_guarantees(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    feed = RangedHost(start_devhost, tmp_path)
    ranges = streams_in_every_range(2, 3)
    streams = [s for in_range in ranges for s in in_range]
    written = append_rounds(feed.stock, streams, 2, seed=3)
    host = feed.run(FUNCTIONS_WORKER_PROCESS_COUNT="2", DEVHOST_COSMOS_FEED_RANGES="2")
    worker = host.worker_pid(APP.name)
    written += append_rounds(feed.stock, streams, 2, seed=4)

    deliveries = feed.wait_delivered(written)

    assert_exactly_once(deliveries, written)
    assert_delivered_as_in_the_feed(deliveries, feed.feed())
    assert assert_one_range_per_invocation(feed.invocations(), 2) == {0, 1}
    children = {d.pid for d in deliveries}
    assert worker is not None and worker not in children
    assert {_parent_pid(child) for child in children} == {worker}  # the worker's language workers
    assert f"Started 2 language worker processes for {APP.name}" in host.output


def test_a_feed_range_count_out_of_range_puts_the_function_in_error_naming_the_setting(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    feed = RangedHost(start_devhost, tmp_path)
    host = feed.run(DEVHOST_COSMOS_FEED_RANGES="0")  # the app runs; the function does not

    wait_for(lambda: "function is in error" in host.output, WAIT, "the function's error")
    assert (
        f"The '{FUNCTION}' function is in error: DEVHOST_COSMOS_FEED_RANGES must be a whole number "
        "from 1 to 64, got '0'"
    ) in host.output
