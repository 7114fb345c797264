"""Where readers start, how much they get, and that reading never consumes: Event Hubs is a log."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eventkit.bus.eventhubs import (
    EmbeddedEventHubs,
    EventData,
    EventPosition,
    InvalidPositionError,
    PartitionReader,
    PositionKind,
)

EventFactory = Callable[..., list[EventData]]


def ids(events: list[Any]) -> list[str]:
    return [event.message_id for event in events]


@pytest.fixture
def clocked_hub(clocked_namespace: EmbeddedEventHubs) -> str:
    name = f"hub-{uuid.uuid4().hex[:8]}"
    clocked_namespace.create_event_hub(name, partition_count=2, message_retention=timedelta(hours=1))
    return name


def test_earliest_reads_from_the_first_event(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    sent = make_events(5)
    namespace.send(hub, sent, partition_id="0")
    for spelling in ("-1", "@earliest", EventPosition.earliest()):
        assert ids(namespace.receive(hub, "$Default", "0", spelling)) == ids(sent)


def test_latest_gets_only_events_sent_after_the_reader_started(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    namespace.send(hub, make_events(3), partition_id="0")
    reader = PartitionReader(namespace, hub, "$Default", "0", "@latest")
    assert reader.receive() == []
    later = make_events(2)
    namespace.send(hub, later, partition_id="0")
    assert ids(reader.receive()) == ids(later)


def test_a_sequence_number_position_is_exclusive_unless_asked(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    sent = make_events(6)
    namespace.send(hub, sent, partition_id="3")
    assert ids(namespace.receive(hub, "$Default", "3", 2)) == ids(sent[3:])
    inclusive = EventPosition.from_sequence_number(2, inclusive=True)
    assert ids(namespace.receive(hub, "$Default", "3", inclusive)) == ids(sent[2:])


def test_an_offset_position_starts_after_that_event(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    namespace.send(hub, make_events(4), partition_id="1")
    events = namespace.receive(hub, "$Default", "1", "-1")
    assert ids(namespace.receive(hub, "$Default", "1", events[1].offset)) == ids(events[2:])
    from_offset = EventPosition.from_offset(events[1].offset, inclusive=True)
    assert ids(namespace.receive(hub, "$Default", "1", from_offset)) == ids(events[1:])


def test_an_enqueued_time_position_uses_the_namespace_clock(
    clocked_namespace: EmbeddedEventHubs, clocked_hub: str, clock: Any, make_events: EventFactory
) -> None:
    early, late = make_events(2), make_events(3)
    clocked_namespace.send(clocked_hub, early, partition_id="0")
    clock.advance(timedelta(minutes=5))
    clocked_namespace.send(clocked_hub, late, partition_id="0")
    boundary = clock.now - timedelta(minutes=1)
    got = clocked_namespace.receive(clocked_hub, "$Default", "0", boundary)
    assert ids(got) == ids(late)
    assert got[0].enqueued_time == clock.now


def test_two_consumer_groups_read_the_same_events_independently(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    namespace.create_consumer_group(hub, "reporting")
    sent = make_events(4)
    namespace.send(hub, sent, partition_id="2")
    default_reader = PartitionReader(namespace, hub, "$Default", "2", "-1")
    reporting_reader = PartitionReader(namespace, hub, "reporting", "2", "-1")
    assert ids(default_reader.receive()) == ids(sent)
    assert ids(reporting_reader.receive(max_batch_size=1)) == ids(sent[:1])
    assert ids(reporting_reader.receive()) == ids(sent[1:])
    assert ids(namespace.receive(hub, "$Default", "2", "-1")) == ids(sent)


def test_a_reader_never_returns_more_than_max_batch_size(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    namespace.send(hub, make_events(25), partition_id="0")
    reader = PartitionReader(namespace, hub, "$Default", "0", "-1")
    assert [len(reader.receive(max_batch_size=10)) for _ in range(4)] == [10, 10, 5, 0]


def test_a_waiting_reader_returns_as_soon_as_an_event_arrives(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    reader = PartitionReader(namespace, hub, "$Default", "1", "@latest")
    sent = make_events(1)
    sender = threading.Timer(0.05, lambda: namespace.send(hub, sent, partition_id="1"))
    sender.start()
    try:
        assert ids(reader.receive(max_wait_time=20)) == ids(sent)
    finally:
        sender.join()


def test_a_waiting_reader_gives_up_empty_after_max_wait_time(namespace: EmbeddedEventHubs, hub: str) -> None:
    assert namespace.receive(hub, "$Default", "0", "@latest", max_wait_time=0.05) == []


def test_trim_drops_only_events_older_than_the_retention(
    clocked_namespace: EmbeddedEventHubs, clocked_hub: str, clock: Any, make_events: EventFactory
) -> None:
    clocked_namespace.send(clocked_hub, make_events(3), partition_id="0")
    clock.advance(timedelta(minutes=50))
    recent = make_events(2)
    clocked_namespace.send(clocked_hub, recent, partition_id="0")
    clock.advance(timedelta(minutes=20))
    assert clocked_namespace.trim() == 3
    assert ids(clocked_namespace.receive(clocked_hub, "$Default", "0", "-1")) == ids(recent)
    properties = clocked_namespace.partition_properties(clocked_hub, "0")
    assert (properties.beginning_sequence_number, properties.last_enqueued_sequence_number) == (3, 4)


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        (None, PositionKind.EARLIEST),
        ({"type": "fromStart"}, PositionKind.EARLIEST),
        ({"type": "FromEnd"}, PositionKind.LATEST),
        ({"type": "fromEnqueuedTime", "enqueuedTimeUtc": "2030-01-01T05:00:00Z"}, PositionKind.ENQUEUED_TIME),
    ],
)
def test_host_json_initial_offset_options_map_to_positions(
    options: dict[str, str] | None, kind: PositionKind
) -> None:
    position = EventPosition.from_initial_offset_options(options)
    assert position.kind is kind
    if kind is PositionKind.ENQUEUED_TIME:
        assert position.value == datetime(2030, 1, 1, 5, tzinfo=UTC)
        assert position.inclusive


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "fromTheMiddle"},
        {"type": "fromEnqueuedTime"},
        {"type": "fromEnqueuedTime", "enqueuedTimeUtc": "noon"},
    ],
)
def test_bad_initial_offset_options_are_refused_with_the_value(bad: dict[str, str]) -> None:
    with pytest.raises(InvalidPositionError, match=r"initialOffsetOptions|enqueuedTimeUtc"):
        EventPosition.from_initial_offset_options(bad)


def test_a_naive_enqueued_time_is_refused() -> None:
    with pytest.raises(InvalidPositionError, match="timezone-aware"):
        EventPosition.parse(datetime(2030, 1, 1))
