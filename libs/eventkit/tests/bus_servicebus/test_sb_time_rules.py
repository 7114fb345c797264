"""Scheduled messages, time to live and duplicate detection, on a manual clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from eventkit.bus.servicebus import EmbeddedServiceBus, InvalidMessage, MessageState, OutgoingMessage
from eventkit.bus.servicebus.testing import ManualClock

Names = Callable[[str], str]


def test_a_scheduled_message_becomes_receivable_at_its_enqueue_time(
    bus: EmbeddedServiceBus, new_name: Names, clock: ManualClock
) -> None:
    queue = bus.create_queue(new_name("q")).name
    at = clock() + timedelta(minutes=5)
    [seq] = bus.schedule_messages(queue, OutgoingMessage(b"later"), at)
    bus.send(queue, OutgoingMessage(b"also later", scheduled_enqueue_time_utc=at))
    assert bus.receive(queue) == []
    counts = bus.runtime_properties(queue)
    assert (counts.active_message_count, counts.scheduled_message_count) == (0, 2)
    assert bus.peek(queue)[0].state is MessageState.SCHEDULED
    clock.advance(timedelta(minutes=5))
    received = bus.receive(queue, 10)
    assert [m.body for m in received] == [b"later", b"also later"]
    assert received[0].sequence_number == seq
    assert received[0].enqueued_time_utc == at == received[0].scheduled_enqueue_time_utc


def test_a_cancelled_scheduled_message_is_never_delivered(
    bus: EmbeddedServiceBus, new_name: Names, clock: ManualClock
) -> None:
    topic = bus.create_topic(new_name("t")).name
    bus.create_subscription(topic, "a")
    bus.create_subscription(topic, "b")
    seqs = bus.schedule_messages(
        topic, [OutgoingMessage(b"1"), OutgoingMessage(b"2")], clock() + timedelta(hours=1)
    )
    assert bus.cancel_scheduled_messages(topic, seqs[0]) == 2
    clock.advance(timedelta(hours=1))
    assert [m.body for m in bus.receive(f"{topic}/subscriptions/a", 10)] == [b"2"]
    assert [m.body for m in bus.receive(f"{topic}/subscriptions/b", 10)] == [b"2"]


def test_a_naive_schedule_time_is_refused(
    bus: EmbeddedServiceBus, new_name: Names, clock: ManualClock
) -> None:
    queue = bus.create_queue(new_name("q")).name
    with pytest.raises(InvalidMessage, match="timezone-aware"):
        bus.schedule_messages(queue, OutgoingMessage(b"x"), clock().replace(tzinfo=None))


def test_an_expired_message_is_removed(bus: EmbeddedServiceBus, new_name: Names, clock: ManualClock) -> None:
    queue = bus.create_queue(new_name("q"), default_message_time_to_live=timedelta(minutes=10)).name
    bus.send(
        queue, [OutgoingMessage(b"short", time_to_live=timedelta(seconds=30)), OutgoingMessage(b"default")]
    )
    clock.advance(31)
    assert [m.body for m in bus.receive(queue, 10)] == [b"default"]
    assert bus.runtime_properties(queue).dead_letter_message_count == 0


def test_an_expired_message_is_dead_lettered_when_the_entity_says_so(
    bus: EmbeddedServiceBus, new_name: Names, clock: ManualClock
) -> None:
    queue = bus.create_queue(new_name("q"), dead_lettering_on_message_expiration=True).name
    bus.send(queue, OutgoingMessage(b"x", time_to_live=timedelta(seconds=30)))
    clock.advance(30)
    assert bus.receive(queue) == []
    [dead] = bus.receive(f"{queue}/$deadletterqueue")
    assert dead.dead_letter_reason == "TTLExpiredException"
    assert dead.dead_letter_error_description == "The message expired and was dead lettered."


def test_a_duplicate_within_the_window_is_dropped_and_accepted_after_it(
    bus: EmbeddedServiceBus, new_name: Names, clock: ManualClock
) -> None:
    queue = bus.create_queue(new_name("q"), requires_duplicate_detection=True).name
    bus.send(
        queue, [OutgoingMessage(b"first", message_id="m"), OutgoingMessage(b"same batch", message_id="m")]
    )
    clock.advance(timedelta(minutes=9))
    bus.send(queue, OutgoingMessage(b"retry", message_id="m"))
    assert [m.body for m in bus.peek(queue, 10)] == [b"first"]
    clock.advance(timedelta(minutes=1))
    bus.send(queue, OutgoingMessage(b"after the window", message_id="m"))
    assert [m.body for m in bus.peek(queue, 10)] == [b"first", b"after the window"]


def test_duplicate_detection_on_a_topic_drops_repeats_for_every_subscription(
    bus: EmbeddedServiceBus, new_name: Names
) -> None:
    topic = bus.create_topic(new_name("t"), requires_duplicate_detection=True).name
    bus.create_subscription(topic, "s")
    for _ in range(3):
        bus.send(topic, OutgoingMessage(b"event", message_id="evt-1"))
    assert len(bus.peek(f"{topic}/subscriptions/s", 10)) == 1


def test_without_duplicate_detection_repeats_are_kept(bus: EmbeddedServiceBus, new_name: Names) -> None:
    queue = bus.create_queue(new_name("q")).name
    bus.send(queue, [OutgoingMessage(b"1", message_id="m"), OutgoingMessage(b"2", message_id="m")])
    assert len(bus.peek(queue, 10)) == 2


def test_a_batch_with_an_unsupported_property_is_refused_whole(
    bus: EmbeddedServiceBus, new_name: Names
) -> None:
    queue = bus.create_queue(new_name("q")).name
    bad = OutgoingMessage(b"2", application_properties={"when": [1, 2]})  # type: ignore[dict-item]
    with pytest.raises(InvalidMessage, match="'when'"):
        bus.send(queue, [OutgoingMessage(b"1"), bad])
    assert bus.peek(queue) == []
