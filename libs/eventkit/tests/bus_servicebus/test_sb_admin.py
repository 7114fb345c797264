"""Entity management: Azure's defaults, idempotent creation, listing, deletion, paths."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from eventkit.bus.servicebus import (
    INFINITE_TTL,
    CorrelationFilter,
    EmbeddedServiceBus,
    EntityAlreadyExists,
    EntityNotFound,
    InvalidEntityName,
    OutgoingMessage,
    RuleProperties,
    SqlFilter,
    TrueFilter,
    parse_path,
)

Names = Callable[[str], str]


def test_a_new_queue_has_azures_defaults(bus: EmbeddedServiceBus, new_name: Names) -> None:
    props = bus.create_queue(new_name("q"))
    assert props.lock_duration == timedelta(minutes=1)
    assert props.max_delivery_count == 10
    assert props.requires_session is False
    assert props.default_message_time_to_live == INFINITE_TTL
    assert props.requires_duplicate_detection is False
    assert props.duplicate_detection_history_time_window == timedelta(minutes=10)
    assert props.dead_lettering_on_message_expiration is False
    assert bus.get_queue(props.name) == props


def test_a_new_subscription_has_azures_defaults_and_the_default_rule(
    bus: EmbeddedServiceBus, new_name: Names
) -> None:
    topic = bus.create_topic(new_name("t"), requires_duplicate_detection=True).name
    sub = bus.create_subscription(topic, "billing")
    assert (sub.lock_duration, sub.max_delivery_count, sub.requires_session) == (
        timedelta(minutes=1),
        10,
        False,
    )
    assert bus.get_topic(topic).requires_duplicate_detection is True
    assert bus.list_rules(topic, "billing") == [RuleProperties("$Default", TrueFilter())]


def test_creating_an_existing_entity_fails_but_create_if_missing_returns_it_unchanged(
    bus: EmbeddedServiceBus, new_name: Names
) -> None:
    name = new_name("q")
    original = bus.create_queue(name, max_delivery_count=3)
    with pytest.raises(EntityAlreadyExists, match=name):
        bus.create_queue(name)
    assert bus.create_queue_if_missing(name, max_delivery_count=7) == original
    topic = new_name("t")
    assert bus.create_topic_if_missing(topic) == bus.create_topic_if_missing(topic)
    first = bus.create_subscription_if_missing(topic, "s", rules=[RuleProperties("r", SqlFilter("a = 1"))])
    assert bus.create_subscription_if_missing(topic, "s") == first
    assert [r.name for r in bus.list_rules(topic, "s")] == ["r"]


def test_entities_are_listed_and_deleted_with_their_messages(
    bus: EmbeddedServiceBus, new_name: Names
) -> None:
    queue, topic = new_name("q"), new_name("t")
    bus.create_queue(queue)
    bus.create_topic(topic)
    bus.create_subscription(topic, "a")
    bus.create_subscription(topic, "b")
    assert queue in [q.name for q in bus.list_queues()]
    assert [s.name for s in bus.list_subscriptions(topic)] == ["a", "b"]
    bus.send(topic, OutgoingMessage(b"x"))
    bus.delete_subscription(topic, "a")
    assert [s.name for s in bus.list_subscriptions(topic)] == ["b"]
    bus.delete_topic(topic)
    bus.delete_queue(queue)
    with pytest.raises(EntityNotFound):
        bus.get_topic(topic)
    with pytest.raises(EntityNotFound):
        bus.receive(f"{topic}/subscriptions/b")
    with pytest.raises(EntityNotFound):
        bus.delete_queue(queue)


def test_rules_can_be_added_and_removed(bus: EmbeddedServiceBus, new_name: Names) -> None:
    topic = new_name("t")
    bus.create_topic(topic)
    bus.create_subscription(topic, "s")
    bus.delete_rule(topic, "s", "$Default")
    bus.create_rule(topic, "s", "orders", CorrelationFilter(subject="order.placed"))
    bus.send(topic, [OutgoingMessage(b"1", subject="order.placed"), OutgoingMessage(b"2", subject="other")])
    assert [m.body for m in bus.receive(f"{topic}/subscriptions/s", 10)] == [b"1"]
    with pytest.raises(EntityAlreadyExists):
        bus.create_rule(topic, "s", "orders", TrueFilter())
    with pytest.raises(EntityNotFound):
        bus.delete_rule(topic, "s", "missing")


def test_names_and_paths_follow_azures_grammar(bus: EmbeddedServiceBus) -> None:
    assert str(parse_path("t/Subscriptions/s/$DeadLetterQueue")) == "t/subscriptions/s/$deadletterqueue"
    assert parse_path("q/$deadletterqueue").dead_letter
    for bad in ("", "a/b", "t/subscriptions/", "-q", "q$"):
        with pytest.raises(InvalidEntityName):
            parse_path(bad)
    for bad_name in ("has space", "queue\n"):
        with pytest.raises(InvalidEntityName):
            bus.create_queue(bad_name)


def test_sending_to_a_missing_entity_or_a_subscription_is_refused(
    bus: EmbeddedServiceBus, new_name: Names
) -> None:
    topic = new_name("t")
    with pytest.raises(EntityNotFound, match=topic):
        bus.send(topic, OutgoingMessage(b"x"))
    bus.create_topic(topic)
    bus.create_subscription(topic, "s")
    with pytest.raises(EntityNotFound, match="only queues and topics"):
        bus.send(f"{topic}/subscriptions/s", OutgoingMessage(b"x"))
    with pytest.raises(EntityNotFound, match="cannot receive from topic"):
        bus.receive(topic)
