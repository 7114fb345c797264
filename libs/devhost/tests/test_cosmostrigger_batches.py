"""The change feed read in batches: whole appends, in feed order, never more than asked for."""

from __future__ import annotations

import pickle
import random
import uuid
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from devhost.language_marshal import FeedReference, marshal_value
from devhost.triggers.cosmos_feed import (
    WHOLE_FEED,
    FeedDocuments,
    FeedRange,
    read_document_bounds,
    read_documents,
    read_documents_between,
)
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


@pytest.mark.parametrize("max_documents", [1, 3, 1000])
def test_bounds_read_from_keys_alone_are_those_of_the_batches_read_with_contents(
    tmp_path: Path, max_documents: int
) -> None:
    store = SQLiteEventStore(tmp_path / "feed.db")
    write_feed(store, seed=10 + max_documents)
    store.append(f"stock-{uuid.uuid4().hex[:8]}", 0, [an_event(i) for i in range(7000)])  # > a page

    position = 0
    for batch in read_in_batches(store, max_documents):
        assert read_document_bounds(store, position, max_documents) == (len(batch), batch[-1]["_lsn"])
        assert read_documents_between(store, position, batch[-1]["_lsn"]) == batch
        position = batch[-1]["_lsn"]
    assert read_document_bounds(store, position, max_documents) == (0, position)
    store.close()


def test_a_feed_batch_reads_its_documents_when_first_used_and_only_then(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "feed.db")
    write_feed(store, seed=3)
    count, last = read_document_bounds(store, 0, 5)
    batch = FeedDocuments("db", "feed", store, 0, last)
    store.append(f"stock-{uuid.uuid4().hex[:8]}", 0, [an_event(0)])  # after the bounds: not in it

    expected, _ = read_documents(store, 0, 5)
    assert isinstance(batch, func.DocumentList) and len(batch) == count == 5
    assert [document.to_dict() for document in batch] == expected
    assert all(isinstance(document, func.Document) for document in batch)
    assert pickle.loads(pickle.dumps(batch)) == batch  # pickled as the plain list it holds
    batch.data = []  # a list the function assigns is the list from then on, even an empty one
    assert len(batch) == 0 and not batch
    store.close()


def test_a_feed_batch_crosses_to_a_language_worker_as_its_container_and_positions(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "feed.db")
    sent = marshal_value(FeedDocuments("nightshift", "orders", store, 12, 40))
    assert sent == (True, FeedReference("nightshift", "orders", 12, 40, WHOLE_FEED))
    ranged = marshal_value(FeedDocuments("nightshift", "orders", store, 12, 40, FeedRange(1, 3)))
    assert ranged == (True, FeedReference("nightshift", "orders", 12, 40, FeedRange(1, 3)))
    plain = func.DocumentList([func.Document.from_dict({"id": "1"})])
    ok, json_sent = marshal_value(plain)
    assert ok and not isinstance(json_sent, FeedReference)
    store.close()
