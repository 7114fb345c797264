"""Sessions: exclusive session locks, order within a session, renewal, release and state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from eventkit.bus.servicebus import (
    EmbeddedServiceBus,
    MessageLockLost,
    NoSessionAvailable,
    OutgoingMessage,
    ServiceBusError,
    SessionCannotBeLocked,
    SessionIdRequired,
    SessionLockLost,
    SessionRequired,
)
from eventkit.bus.servicebus.testing import ManualClock

Names = Callable[[str], str]


@pytest.fixture
def queue(bus: EmbeddedServiceBus, new_name: Names) -> str:
    name = bus.create_queue(new_name("q"), requires_session=True).name
    bus.send(
        name,
        [
            OutgoingMessage(f"{s}-{n}".encode(), session_id=s)
            for n in range(3)
            for s in ("order-1", "order-2")
        ],
    )
    return name


def test_a_message_without_session_id_is_refused_by_a_session_entity(
    bus: EmbeddedServiceBus, queue: str, new_name: Names
) -> None:
    with pytest.raises(SessionIdRequired, match="requires sessions"):
        bus.send(queue, OutgoingMessage(b"x"))
    topic = bus.create_topic(new_name("t")).name
    bus.create_subscription(topic, "ordered", requires_session=True)
    with pytest.raises(SessionIdRequired, match="ordered"):
        bus.send(topic, OutgoingMessage(b"x"))


def test_a_plain_receive_on_a_session_entity_is_refused(bus: EmbeddedServiceBus, queue: str) -> None:
    with pytest.raises(SessionRequired, match="accept a session"):
        bus.receive(queue)


def test_two_receivers_get_different_sessions_each_in_order(bus: EmbeddedServiceBus, queue: str) -> None:
    first = bus.accept_session(queue)
    second = bus.accept_session(queue)
    assert {first.session_id, second.session_id} == {"order-1", "order-2"}
    for receiver in (first, second):
        bodies = []
        while batch := receiver.receive(max_messages=2):
            bodies += [m.body.decode() for m in batch]
            assert all(m.session_id == receiver.session_id for m in batch)
            bus.complete_many([m.lock_token for m in batch if m.lock_token])
        assert bodies == [f"{receiver.session_id}-{n}" for n in range(3)]
    with pytest.raises(NoSessionAvailable):
        bus.accept_session(queue, max_wait_time=0.05)


def test_a_locked_session_cannot_be_accepted_by_another_receiver(bus: EmbeddedServiceBus, queue: str) -> None:
    holder = bus.accept_session(queue, "order-1")
    with pytest.raises(SessionCannotBeLocked, match="order-1"):
        bus.accept_session(queue, "order-1")
    assert bus.accept_session(queue).session_id == "order-2"
    holder.close()
    assert bus.accept_session(queue, "order-1").session_id == "order-1"


def test_an_expired_session_lock_passes_the_session_and_its_messages_to_another_receiver(
    bus: EmbeddedServiceBus, queue: str, clock: ManualClock
) -> None:
    holder = bus.accept_session(queue, "order-1")
    [held] = holder.receive()
    clock.advance(timedelta(minutes=1))
    with pytest.raises(SessionLockLost):
        holder.receive()
    successor = bus.accept_session(queue, "order-1")
    [again] = successor.receive()
    assert (again.body, again.delivery_count) == (held.body, 2)
    assert held.lock_token is not None and again.lock_token is not None
    with pytest.raises(MessageLockLost):
        bus.complete(held.lock_token)
    bus.complete(again.lock_token)


def test_renewing_a_session_lock_keeps_the_session_and_its_messages(
    bus: EmbeddedServiceBus, queue: str, clock: ManualClock
) -> None:
    holder = bus.accept_session(queue, "order-1")
    [message] = holder.receive()
    clock.advance(50)
    assert holder.renew_lock() == clock() + timedelta(minutes=1)
    clock.advance(50)
    with pytest.raises(SessionCannotBeLocked):
        bus.accept_session(queue, "order-1")
    assert message.lock_token is not None
    bus.complete(message.lock_token)


def test_releasing_a_session_returns_its_unsettled_messages(bus: EmbeddedServiceBus, queue: str) -> None:
    with bus.accept_session(queue, "order-2") as holder:
        assert len(holder.receive(max_messages=3)) == 3
    with bus.accept_session(queue, "order-2") as successor:
        batch = successor.receive(max_messages=3)
    assert [(m.body, m.delivery_count) for m in batch] == [(f"order-2-{n}".encode(), 2) for n in range(3)]


def test_session_state_is_kept_across_receivers(bus: EmbeddedServiceBus, queue: str) -> None:
    with bus.accept_session(queue, "order-1") as holder:
        assert holder.get_state() is None
        holder.set_state(b"step-2")
    with bus.accept_session(queue, "order-1") as successor:
        assert successor.get_state() == b"step-2"
    with pytest.raises(SessionLockLost):
        successor.set_state(b"too late")


def test_a_session_can_be_accepted_before_its_messages_arrive(bus: EmbeddedServiceBus, queue: str) -> None:
    with bus.accept_session(queue, "order-9") as holder:
        assert holder.receive() == []
        bus.send(queue, OutgoingMessage(b"first", session_id="order-9"))
        assert [m.body for m in holder.receive(max_wait_time=5)] == [b"first"]


def test_accepting_a_session_on_an_entity_without_sessions_is_refused(
    bus: EmbeddedServiceBus, new_name: Names
) -> None:
    queue = bus.create_queue(new_name("q")).name
    with pytest.raises(ServiceBusError, match="does not require sessions"):
        bus.accept_session(queue)
