"""The append document the Cosmos adapter writes is read back into the same events, also after the
Functions host re-serialised its time without an offset; tracking documents are not events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from eventkit.store import NewEvent
from eventkit.store.documents import append_document, events_of_change_feed, events_of_document, recorded_time

WHEN = datetime(2026, 11, 29, 6, 0, 0, 123456, tzinfo=UTC)


def an_append(stream: str, after: int, count: int) -> dict[str, object]:
    events = [NewEvent("shop.thing.happened.v1", {"n": n}, {"correlation_id": "c"}) for n in range(count)]
    return append_document(stream, after, events, WHEN)


def test_an_append_document_reads_back_as_its_events_with_versions_and_time() -> None:
    stream = f"thing-{uuid.uuid4().hex}"
    document = an_append(stream, 4, 3)

    events = events_of_document(document)

    assert (document["id"], document["firstVersion"], document["lastVersion"]) == (f"{5:020d}", 5, 7)
    assert [(e.stream_id, e.version, e.data["n"], e.recorded_at) for e in events] == [
        (stream, 5, 0, WHEN),
        (stream, 6, 1, WHEN),
        (stream, 7, 2, WHEN),
    ]
    assert all(e.metadata == {"correlation_id": "c"} and e.position == 0 for e in events)


def test_positions_are_given_from_the_first_when_known() -> None:
    assert [e.position for e in events_of_document(an_append("s", 0, 2), 41)] == [41, 42]


@pytest.mark.parametrize(
    "text", ["2026-11-29T06:00:00.123456+00:00", "2026-11-29T06:00:00.123456Z", "2026-11-29T06:00:00.123456"]
)
def test_a_recorded_time_without_an_offset_is_utc(text: str) -> None:
    assert recorded_time(text) == WHEN


@pytest.mark.parametrize("value", [None, "", "yesterday", 1764396000])
def test_a_missing_or_odd_recorded_time_is_now_rather_than_an_error(value: object) -> None:
    before = datetime.now(UTC)
    assert before <= recorded_time(value) <= datetime.now(UTC)


def test_a_change_feed_batch_yields_the_events_of_its_appends_in_order_and_skips_tracking() -> None:
    first, second = an_append("a", 0, 2), an_append("b", 0, 1)
    tracking = {"id": "tracking-1", "streamId": "a", "kind": "tracking", "consumer": "x", "key": "k"}

    events = events_of_change_feed([first, tracking, second])

    assert [(e.stream_id, e.version) for e in events] == [("a", 1), ("a", 2), ("b", 1)]
