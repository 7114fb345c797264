"""Peek-lock receive, settlement, lock expiry and renewal, delivery counts, the dead-letter queue."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from eventkit.bus.servicebus import (
    EmbeddedServiceBus,
    MessageLockLost,
    MessageState,
    OutgoingMessage,
    ServiceBusError,
)
from eventkit.bus.servicebus.testing import ManualClock
from eventkit.publisher import TransportMessage

Names = Callable[[str], str]


@pytest.fixture
def queue(bus: EmbeddedServiceBus, new_name: Names) -> str:
    return bus.create_queue(new_name("q")).name


def test_a_received_message_carries_every_property_sent(bus: EmbeddedServiceBus, queue: str) -> None:
    bus.send(
        queue,
        OutgoingMessage(
            b"payload",
            message_id="m-1",
            content_type="application/json",
            subject="order.placed",
            correlation_id="c-1",
            partition_key="p-1",
            reply_to="replies",
            to="someone",
            time_to_live=timedelta(hours=1),
            application_properties={"s": "x", "i": 3, "f": 1.5, "b": True, "n": None},
        ),
    )
    [message] = bus.receive(queue)
    assert message.body == b"payload"
    assert (message.message_id, message.content_type, message.subject, message.label) == (
        "m-1", "application/json", "order.placed", "order.placed",
    )  # fmt: skip
    assert (message.correlation_id, message.partition_key, message.reply_to, message.to) == (
        "c-1", "p-1", "replies", "someone",
    )  # fmt: skip
    assert message.application_properties == {"s": "x", "i": 3, "f": 1.5, "b": True, "n": None}
    assert message.delivery_count == 1
    assert message.time_to_live == timedelta(hours=1)
    assert message.expires_at_utc == message.enqueued_time_utc + timedelta(hours=1)
    assert message.lock_token is not None
    assert message.locked_until_utc == message.enqueued_time_utc + timedelta(minutes=1)
    assert message.entity_path == queue
    assert message.state is MessageState.ACTIVE


def test_a_transport_message_is_accepted_as_sent_by_the_publisher(
    bus: EmbeddedServiceBus, queue: str
) -> None:
    bus.send(
        queue,
        TransportMessage(b"{}", "evt-1", subject="t.v1", application_properties={"cloudEvents_id": "e"}),
    )
    [message] = bus.receive(queue)
    assert (message.message_id, message.subject) == ("evt-1", "t.v1")
    assert message.content_type == "application/cloudevents+json; charset=utf-8"
    assert message.application_properties == {"cloudEvents_id": "e"}


def test_a_message_without_id_gets_a_generated_one(bus: EmbeddedServiceBus, queue: str) -> None:
    bus.send(queue, [OutgoingMessage(b"a"), OutgoingMessage(b"b")])
    ids = [m.message_id for m in bus.receive(queue, 10)]
    assert len(set(ids)) == 2 and all(len(i) == 36 for i in ids)


def test_sequence_numbers_grow_and_a_batch_receive_returns_messages_in_order(
    bus: EmbeddedServiceBus, queue: str
) -> None:
    bus.send(queue, [OutgoingMessage(str(n).encode()) for n in range(5)])
    bus.send(queue, OutgoingMessage(b"5"))
    received = bus.receive(queue, max_messages=10)
    assert [m.body for m in received] == [str(n).encode() for n in range(6)]
    numbers = [m.sequence_number for m in received]
    assert numbers == sorted(numbers) and len(set(numbers)) == 6


def test_a_locked_message_is_not_received_again_and_a_completed_one_is_gone(
    bus: EmbeddedServiceBus, queue: str
) -> None:
    bus.send(queue, OutgoingMessage(b"x"))
    [message] = bus.receive(queue)
    assert bus.receive(queue) == []
    assert message.lock_token is not None
    bus.complete(message.lock_token)
    assert bus.peek(queue) == []
    with pytest.raises(MessageLockLost):
        bus.complete(message.lock_token)


def test_an_expired_lock_makes_the_message_available_with_a_higher_delivery_count(
    bus: EmbeddedServiceBus, queue: str, clock: ManualClock
) -> None:
    bus.send(queue, OutgoingMessage(b"x"))
    [first] = bus.receive(queue)
    clock.advance(timedelta(minutes=1))
    [second] = bus.receive(queue)
    assert (first.delivery_count, second.delivery_count) == (1, 2)
    assert first.lock_token is not None and second.lock_token is not None
    with pytest.raises(MessageLockLost) as lost:
        bus.complete(first.lock_token)
    assert lost.value.lock_tokens == (first.lock_token,)
    bus.complete(second.lock_token)


def test_renewing_a_lock_extends_it_by_the_lock_duration(
    bus: EmbeddedServiceBus, queue: str, clock: ManualClock
) -> None:
    bus.send(queue, OutgoingMessage(b"x"))
    [message] = bus.receive(queue)
    assert message.lock_token is not None
    clock.advance(50)
    renewed = bus.renew_lock(message.lock_token)
    assert renewed == clock() + timedelta(minutes=1)
    clock.advance(50)
    assert bus.receive(queue) == []
    bus.complete(message.lock_token)


def test_settling_with_an_expired_or_unknown_lock_raises_message_lock_lost(
    bus: EmbeddedServiceBus, queue: str, clock: ManualClock
) -> None:
    bus.send(queue, OutgoingMessage(b"x"))
    [message] = bus.receive(queue)
    assert message.lock_token is not None
    clock.advance(61)
    for settle in (bus.complete, bus.abandon, bus.dead_letter, bus.defer, bus.renew_lock):
        with pytest.raises(MessageLockLost):
            settle(message.lock_token)
    with pytest.raises(MessageLockLost):
        bus.complete("not-a-token")


def test_an_abandoned_message_comes_back_with_modified_properties(
    bus: EmbeddedServiceBus, queue: str
) -> None:
    bus.send(queue, OutgoingMessage(b"x", application_properties={"a": 1}))
    [message] = bus.receive(queue)
    assert message.lock_token is not None
    bus.abandon(message.lock_token, properties_to_modify={"attempt": "failed"})
    [again] = bus.receive(queue)
    assert again.delivery_count == 2
    assert again.application_properties == {"a": 1, "attempt": "failed"}


def test_a_message_abandoned_max_delivery_count_times_is_dead_lettered(
    bus: EmbeddedServiceBus, queue: str
) -> None:
    bus.send(queue, OutgoingMessage(b"poison", message_id="poison-1"))
    for attempt in range(1, 11):
        [message] = bus.receive(queue)
        assert message.delivery_count == attempt and message.lock_token is not None
        bus.abandon(message.lock_token)
    assert bus.receive(queue) == []
    counts = bus.runtime_properties(queue)
    assert (counts.active_message_count, counts.dead_letter_message_count) == (0, 1)
    [dead] = bus.receive(f"{queue}/$deadletterqueue")
    assert dead.message_id == "poison-1"
    assert dead.delivery_count == 10
    assert dead.dead_letter_reason == "MaxDeliveryCountExceeded"
    assert dead.dead_letter_error_description == "Message could not be consumed after 10 delivery attempts."


def test_expired_locks_past_max_delivery_count_dead_letter_on_the_next_receive(
    bus: EmbeddedServiceBus, new_name: Names, clock: ManualClock
) -> None:
    queue = bus.create_queue(new_name("q"), max_delivery_count=2).name
    bus.send(queue, OutgoingMessage(b"x"))
    for _ in range(2):
        assert len(bus.receive(queue)) == 1
        clock.advance(61)
    assert bus.receive(queue) == []
    [dead] = bus.peek(f"{queue}/$deadletterqueue")
    assert (dead.dead_letter_reason, dead.delivery_count) == ("MaxDeliveryCountExceeded", 2)
    assert dead.dead_letter_error_description == "Message could not be consumed after 2 delivery attempts."


def test_dead_lettering_keeps_reason_and_description_and_resubmit_sends_copies_back(
    bus: EmbeddedServiceBus, queue: str
) -> None:
    bus.send(queue, [OutgoingMessage(b"a", message_id="a"), OutgoingMessage(b"b", message_id="b")])
    for message in bus.receive(queue, 2):
        assert message.lock_token is not None
        bus.dead_letter(message.lock_token, reason="InvalidPayload", error_description="field x missing")
    dead = bus.peek(f"{queue}/$deadletterqueue", 10)
    assert [(m.message_id, m.dead_letter_reason, m.dead_letter_description) for m in dead] == [
        ("a", "InvalidPayload", "field x missing"),
        ("b", "InvalidPayload", "field x missing"),
    ]
    assert bus.resubmit_dead_letters(queue, sequence_numbers=[dead[0].sequence_number]) == 1
    [back] = bus.receive(queue)
    assert (back.message_id, back.body, back.delivery_count, back.dead_letter_reason) == ("a", b"a", 1, None)
    assert back.sequence_number > dead[1].sequence_number
    assert bus.resubmit_dead_letters(f"{queue}/$deadletterqueue") == 1
    assert bus.runtime_properties(queue).dead_letter_message_count == 0


def test_a_dead_letter_queue_is_receivable_and_its_messages_cannot_be_dead_lettered_again(
    bus: EmbeddedServiceBus, queue: str
) -> None:
    bus.send(queue, OutgoingMessage(b"x"))
    [message] = bus.receive(queue)
    assert message.lock_token is not None
    bus.dead_letter(message.lock_token, reason="r")
    [dead] = bus.receive(f"{queue}/$DeadLetterQueue")
    assert dead.lock_token is not None and dead.entity_path == f"{queue}/$deadletterqueue"
    with pytest.raises(ServiceBusError, match="already dead-lettered"):
        bus.dead_letter(dead.lock_token)
    bus.complete(dead.lock_token)
    assert bus.runtime_properties(queue).dead_letter_message_count == 0


def test_complete_many_settles_every_held_lock_and_names_the_lost_ones(
    bus: EmbeddedServiceBus, queue: str
) -> None:
    bus.send(queue, [OutgoingMessage(str(n).encode()) for n in range(3)])
    tokens = [m.lock_token for m in bus.receive(queue, 3) if m.lock_token is not None]
    bus.complete(tokens[0])
    with pytest.raises(MessageLockLost) as lost:
        bus.complete_many(tokens)
    assert lost.value.lock_tokens == (tokens[0],)
    assert bus.runtime_properties(queue).active_message_count == 0


def test_a_deferred_message_is_only_received_by_sequence_number(bus: EmbeddedServiceBus, queue: str) -> None:
    bus.send(queue, OutgoingMessage(b"later"))
    [message] = bus.receive(queue)
    assert message.lock_token is not None
    bus.defer(message.lock_token)
    assert bus.receive(queue) == []
    assert bus.peek(queue)[0].state is MessageState.DEFERRED
    [again] = bus.receive_deferred_messages(queue, [message.sequence_number])
    assert again.body == b"later" and again.lock_token is not None
    bus.complete(again.lock_token)


def test_peek_does_not_lock_and_counts_show_the_backlog(bus: EmbeddedServiceBus, queue: str) -> None:
    bus.send(queue, [OutgoingMessage(str(n).encode()) for n in range(4)])
    peeked = bus.peek(queue, 10)
    assert [m.body for m in peeked] == [b"0", b"1", b"2", b"3"]
    assert all(m.lock_token is None and m.delivery_count == 0 for m in peeked)
    assert [m.body for m in bus.peek(queue, 2, from_sequence_number=peeked[2].sequence_number)] == [
        b"2",
        b"3",
    ]
    assert len(bus.receive(queue, 10)) == 4
    counts = bus.runtime_properties(queue)
    assert (counts.active_message_count, counts.scheduled_message_count, counts.total_message_count) == (
        4,
        0,
        4,
    )


def test_a_waiting_receive_returns_when_a_message_arrives(bus: EmbeddedServiceBus, queue: str) -> None:
    assert bus.receive(queue, max_wait_time=0.05) == []
    sender = threading.Timer(0.1, lambda: bus.send(queue, OutgoingMessage(b"late")))
    sender.start()
    received = bus.receive(queue, max_wait_time=10)
    sender.join()
    assert [m.body for m in received] == [b"late"]


def test_an_abandoned_message_is_redelivered_before_later_ones(bus: EmbeddedServiceBus, queue: str) -> None:
    bus.send(queue, [OutgoingMessage(b"first"), OutgoingMessage(b"second")])
    [first] = bus.receive(queue)
    assert first.lock_token is not None
    bus.abandon(first.lock_token)
    assert [m.body for m in bus.receive(queue, 2)] == [b"first", b"second"]


def test_a_subscriptions_dead_letters_are_resubmitted_to_that_subscription_only(
    bus: EmbeddedServiceBus, new_name: Names
) -> None:
    topic = bus.create_topic(new_name("t")).name
    bus.create_subscription(topic, "a")
    bus.create_subscription(topic, "b")
    bus.send(topic, OutgoingMessage(b"x", message_id="evt-1"))
    [message] = bus.receive(f"{topic}/subscriptions/a")
    assert message.lock_token is not None
    bus.dead_letter(message.lock_token, reason="HandlerFailed")
    assert bus.runtime_properties(topic).dead_letter_message_count == 1
    assert bus.resubmit_dead_letters(f"{topic}/subscriptions/a/$deadletterqueue") == 1
    assert [m.message_id for m in bus.peek(f"{topic}/subscriptions/a", 10)] == ["evt-1"]
    assert len(bus.peek(f"{topic}/subscriptions/b", 10)) == 1
