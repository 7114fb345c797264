"""Subscription filters: SQL subset and correlation filters, evaluated at send time (fan-out)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eventkit.bus.servicebus import (
    CorrelationFilter,
    EmbeddedServiceBus,
    FalseFilter,
    Filter,
    FilterSyntaxError,
    OutgoingMessage,
    RuleProperties,
    SqlFilter,
)

Names = Callable[[str], str]

MESSAGE = OutgoingMessage(
    b"{}",
    message_id="m-1",
    subject="com.nightshift.orders.order.placed.v1",
    correlation_id="corr-1",
    content_type="application/cloudevents+json",
    session_id="order-7",
    reply_to="replies",
    to="fulfilment",
    application_properties={
        "cloudEvents_type": "com.nightshift.orders.order.placed.v1",
        "priority": 5,
        "amount": 12.5,
        "express": True,
        "region": "eu-west",
        "nothing": None,
        "my-prop": "dash",
    },
)

SQL_CASES = [
    ("sys.Label = 'com.nightshift.orders.order.placed.v1'", True),
    ("sys.Subject = 'com.nightshift.orders.order.placed.v1'", True),
    ("sys.MessageId = 'm-1' AND sys.CorrelationId = 'corr-1'", True),
    ("sys.ContentType = 'application/cloudevents+json'", True),
    ("sys.SessionId = 'order-7' AND sys.To = 'fulfilment' AND sys.ReplyTo = 'replies'", True),
    ("cloudEvents_type = 'com.nightshift.orders.order.placed.v1'", True),
    ("user.priority = 5", True),
    ("priority <> 5", False),
    ("priority != 4", True),
    ("priority > 4 AND priority >= 5 AND priority < 6 AND priority <= 5", True),
    ("amount > 12", True),
    ("amount = 12.5", True),
    ("priority = -5", False),
    ("express = TRUE", True),
    ("express = false", False),
    ("region IN ('eu-west', 'us-east')", True),
    ("region NOT IN ('eu-west')", False),
    ("priority IN (1, 2, 5)", True),
    ("region LIKE 'eu-%'", True),
    ("region LIKE 'eu-w_st'", True),
    ("region LIKE 'us%'", False),
    ("region NOT LIKE 'us%'", True),
    ("[my-prop] LIKE 'd!%' ESCAPE '!'", False),
    ("user.[my-prop] = 'dash'", True),
    ("missing IS NULL", True),
    ("nothing IS NULL", True),
    ("region IS NOT NULL", True),
    ("EXISTS(nothing)", True),
    ("EXISTS(missing)", False),
    ("NOT EXISTS(missing)", True),
    ("missing = 1", False),
    ("NOT (missing = 1)", False),
    ("missing = 1 OR priority = 5", True),
    ("(priority = 1 OR priority = 5) AND NOT region = 'us-east'", True),
    ("priority = 1 OR priority = 2 AND region = 'eu-west'", False),
    ("priority = '5'", False),
    ("region = 'EU-WEST'", False),
    ("1 = 1", True),
    ("and_property = 1 or express = true", True),
]


@pytest.mark.parametrize(("expression", "matches"), SQL_CASES)
def test_a_sql_filter_matches_as_service_bus_sql_does(
    bus: EmbeddedServiceBus, new_name: Names, expression: str, matches: bool
) -> None:
    assert _delivered(bus, new_name("t"), SqlFilter(expression)) is matches


CORRELATION_CASES: list[tuple[CorrelationFilter, bool]] = [
    (CorrelationFilter(subject="com.nightshift.orders.order.placed.v1"), True),
    (CorrelationFilter(subject="com.nightshift.orders.order.cancelled.v1"), False),
    (CorrelationFilter(correlation_id="corr-1", message_id="m-1"), True),
    (CorrelationFilter(content_type="application/cloudevents+json", session_id="order-7"), True),
    (CorrelationFilter(to="fulfilment", reply_to="replies"), True),
    (CorrelationFilter(to="fulfilment", reply_to="elsewhere"), False),
    (CorrelationFilter(properties={"region": "eu-west", "priority": 5}), True),
    (CorrelationFilter(properties={"express": True}), True),
    (CorrelationFilter(properties={"priority": True}), False),
    (CorrelationFilter(properties={"missing": None}), False),
    (CorrelationFilter(subject="com.nightshift.orders.order.placed.v1", properties={"region": "us"}), False),
]


@pytest.mark.parametrize(("flt", "matches"), CORRELATION_CASES)
def test_a_correlation_filter_matches_when_every_field_is_equal(
    bus: EmbeddedServiceBus, new_name: Names, flt: CorrelationFilter, matches: bool
) -> None:
    assert _delivered(bus, new_name("t"), flt) is matches


def test_a_message_is_copied_to_every_matching_subscription_and_dropped_elsewhere(
    bus: EmbeddedServiceBus, new_name: Names
) -> None:
    topic = bus.create_topic(new_name("t")).name
    bus.create_subscription(topic, "all")
    bus.create_subscription(
        topic, "placed", rules=[RuleProperties("placed", CorrelationFilter(subject="placed"))]
    )
    bus.create_subscription(
        topic,
        "either",
        rules=[
            RuleProperties("a", SqlFilter("sys.Label = 'placed'")),
            RuleProperties("b", SqlFilter("big = 1")),
        ],
    )
    bus.create_subscription(topic, "none", rules=[RuleProperties("never", FalseFilter())])
    bus.send(topic, [OutgoingMessage(b"1", subject="placed"), OutgoingMessage(b"2", subject="other")])
    bodies = {
        s: [m.body for m in bus.peek(f"{topic}/subscriptions/{s}", 10)]
        for s in ("all", "placed", "either", "none")
    }
    assert bodies == {"all": [b"1", b"2"], "placed": [b"1"], "either": [b"1"], "none": []}
    [copy_all] = bus.peek(f"{topic}/subscriptions/all")
    [copy_placed] = bus.peek(f"{topic}/subscriptions/placed")
    assert copy_all.sequence_number == copy_placed.sequence_number


@pytest.mark.parametrize(
    ("expression", "position", "reason"),
    [
        ("region = ", 9, "expected a literal"),
        ("region = 'eu' AND", 17, "expected a literal"),
        ("(priority = 1", 13, "expected ')'"),
        ("priority = 1)", 12, "unexpected ')'"),
        ("region LIKE 5", 12, "quoted pattern"),
        ("priority IN ()", 13, "expected a literal"),
        ("sys.Nope = 1", 0, "unknown system property"),
        ("region = 'unterminated", 9, "unexpected character"),
        ("priority # 1", 9, "unexpected character"),
        ("", 0, "empty"),
    ],
)
def test_a_malformed_sql_filter_is_refused_naming_the_rule_and_position(
    bus: EmbeddedServiceBus, new_name: Names, expression: str, position: int, reason: str
) -> None:
    topic = bus.create_topic(new_name("t")).name
    with pytest.raises(FilterSyntaxError) as error:
        bus.create_subscription(topic, "s", rules=[RuleProperties("by-region", SqlFilter(expression))])
    assert (error.value.rule_name, error.value.position) == ("by-region", position)
    assert reason in str(error.value) and "'by-region'" in str(error.value)
    assert bus.list_subscriptions(topic) == []


def _delivered(bus: EmbeddedServiceBus, topic: str, flt: Filter) -> bool:
    bus.create_topic(topic)
    bus.create_subscription(topic, "s", rules=[RuleProperties("rule", flt)])
    bus.send(topic, MESSAGE)
    return len(bus.peek(f"{topic}/subscriptions/s")) == 1
