"""`set_requires_session_if_empty`: a local state folder's entity gets the other `requiresSession`
only while it holds nothing, in one transaction with that check, keeping its rules; a message sent
by another process right before the change is never lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from eventkit.bus.servicebus import (
    CorrelationFilter,
    EmbeddedServiceBus,
    EntityNotFound,
    OutgoingMessage,
    RuleProperties,
)

Names = Callable[[str], str]


def test_an_empty_subscription_changes_setting_in_place_and_keeps_its_rules(
    bus: EmbeddedServiceBus, new_name: Names
) -> None:
    topic, sub = new_name("t"), new_name("s")
    bus.create_topic(topic)
    rule = RuleProperties("answers", CorrelationFilter(subject="answer"))
    bus.create_subscription(topic, sub, rules=[rule], requires_session=True)

    held = bus.set_requires_session_if_empty(f"{topic}/subscriptions/{sub}", False)
    bus.send(topic, [OutgoingMessage(b"yes", subject="answer"), OutgoingMessage(b"no", subject="other")])

    assert held == 0
    assert bus.get_subscription(topic, sub).requires_session is False
    assert [r.name for r in bus.list_rules(topic, sub)] == ["answers"]
    assert [bytes(m.body) for m in bus.receive(f"{topic}/subscriptions/{sub}", 10, 0)] == [b"yes"]


def test_an_entity_that_holds_a_message_or_a_dead_letter_is_left_as_it_is(
    bus: EmbeddedServiceBus, new_name: Names
) -> None:
    queue = new_name("q")
    bus.create_queue(queue, requires_session=True, max_delivery_count=1)
    bus.send(queue, OutgoingMessage(b"waiting", session_id="order-1"))

    assert bus.set_requires_session_if_empty(queue, False) == 1
    assert bus.get_queue(queue).requires_session is True

    session = bus.accept_session(queue, "order-1")
    (message,) = session.receive(1, 0)
    bus.dead_letter(str(message.lock_token), reason="test")
    session.close()
    assert bus.set_requires_session_if_empty(queue, False) == 1  # the dead letter still counts


def test_a_message_sent_by_another_process_during_the_change_is_kept(
    bus: EmbeddedServiceBus, db_path: Path, new_name: Names
) -> None:
    queue = new_name("q")
    bus.create_queue(queue, requires_session=True)
    other = EmbeddedServiceBus(db_path)  # another app's process on the same namespace file
    started = threading.Event()

    def send() -> None:
        started.wait(5)
        other.send(queue, OutgoingMessage(b"answer", session_id="order-1"))

    sender = threading.Thread(target=send)
    sender.start()
    started.set()
    held = bus.set_requires_session_if_empty(queue, False)
    sender.join()
    other.close()

    if held:  # the send came first: nothing changed and the message waits in its session
        assert bus.get_queue(queue).requires_session is True
        assert bus.runtime_properties(queue).active_message_count == 1
    else:  # the change came first: the message arrived on the plain queue
        assert [bytes(m.body) for m in bus.receive(queue, 10, 0)] == [b"answer"]


def test_a_topic_has_no_session_setting_to_change(bus: EmbeddedServiceBus, new_name: Names) -> None:
    topic = new_name("t")
    bus.create_topic(topic)

    with pytest.raises(EntityNotFound, match="not a queue or subscription"):
        bus.set_requires_session_if_empty(topic, True)
