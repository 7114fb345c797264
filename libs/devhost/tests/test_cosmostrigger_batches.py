"""The change feed read in batches: whole appends, in feed order, never more than asked for."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import pytest

from devhost.triggers.cosmos import read_documents
from eventkit.store import SQLiteEventStore
from eventkit.store.events import NewEvent, StreamAppend

Append = tuple[str, int, list[str]]
"""(stream id, first version, event ids) of one append, as it was written."""


def an_event(index: int) -> NewEvent:
    return NewEvent(type="inventory.StockAdjusted", data={"line": index}, metadata={"schema_version": 1})


def write_feed(store: SQLiteEventStore, seed: int) -> list[Append]:
    """Single-stream appends of 1..7 events and multi-stream appends (one commit time for several
    streams), on a few streams; returns every append in feed order."""
    rng = random.Random(seed)
    streams = [f"stock-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    versions = dict.fromkeys(streams, 0)
    written: list[Append] = []
    for index in range(60):
        if index % 5 == 4:
            chosen = rng.sample(streams, 3)
            parts = [
                StreamAppend(s, versions[s], [an_event(i) for i in range(rng.randint(1, 3))]) for s in chosen
            ]
            store.append_many(parts)
        else:
            stream = rng.choice(streams)
            parts = [StreamAppend(stream, versions[stream], [an_event(i) for i in range(rng.randint(1, 7))])]
            store.append(stream, versions[stream], parts[0].events)
        for part in parts:
            written.append((part.stream_id, versions[part.stream_id] + 1, [e.event_id for e in part.events]))
            versions[part.stream_id] += len(part.events)
    return written


def read_in_batches(store: SQLiteEventStore, max_documents: int) -> list[list[dict[str, Any]]]:
    batches, position = [], 0
    while True:
        documents, last = read_documents(store, position, max_documents)
        if not documents:
            assert last == position
            return batches
        assert last == documents[-1]["_lsn"] > position
        batches.append(documents)
        position = last


def as_appends(documents: list[dict[str, Any]]) -> list[Append]:
    return [(d["streamId"], d["firstVersion"], [e["eventId"] for e in d["events"]]) for d in documents]


@pytest.mark.parametrize("max_documents", [1, 2, 7, 1000])
def test_batches_hold_whole_appends_in_feed_order_up_to_the_maximum(
    tmp_path: Path, max_documents: int
) -> None:
    store = SQLiteEventStore(tmp_path / "feed.db")
    written = write_feed(store, seed=max_documents)

    batches = read_in_batches(store, max_documents)

    assert all(len(batch) <= max_documents for batch in batches)
    assert all(len(batch) == max_documents for batch in batches[:-1])
    assert as_appends([d for batch in batches for d in batch]) == written
    for document in (d for batch in batches for d in batch):
        assert document["lastVersion"] == document["firstVersion"] + len(document["events"]) - 1
    store.close()


def test_an_append_larger_than_a_page_is_never_split(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "feed.db")
    big, small = f"stock-{uuid.uuid4().hex[:8]}", f"stock-{uuid.uuid4().hex[:8]}"
    store.append(small, 0, [an_event(0)])
    store.append(big, 0, [an_event(i) for i in range(7000)])
    store.append(small, 1, [an_event(1)])

    batches = read_in_batches(store, 2)

    assert [[(d["streamId"], len(d["events"])) for d in batch] for batch in batches] == [
        [(small, 1), (big, 7000)],
        [(small, 1)],
    ]
    store.close()
