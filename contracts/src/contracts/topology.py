"""The messaging topology: which topics, subscriptions, event hubs and consumer groups exist, who
produces to each and who consumes from each, and which event types each subscription takes.

This is the machine-readable map that devhost creates its embedded entities from and the Bicep
checks compare with `deploy/`; `asyncapi.yaml` is rendered from it. Rules it follows
(ARCHITECTURE.md section 4): one Service Bus topic per producing service, named after it; one
subscription per consumer, named after the consumer, filtered on the event type (the Service Bus
message `subject`); one consumer group per Event Hubs consumer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.errors import UnknownChannel, UnknownEventType
from contracts.registry import EVENT_TYPES, model_for

NIGHTSHIFT_SERVICES: frozenset[str] = frozenset({"inventory", "orders", "reporting", "migration"})
"""The services in this repository; any other consumer is a downstream system."""

_PREFIX = "com.nightshift."


@dataclass(frozen=True)
class Topic:
    """A Service Bus topic, owned by the one service that sends to it. Duplicate detection is on."""

    name: str
    producer: str
    duplicate_detection: bool = True

    @property
    def event_types(self) -> tuple[str, ...]:
        """Every event type sent to this topic, in registry order."""
        return _types_on("service-bus", self.name)


@dataclass(frozen=True)
class CorrelationRule:
    """A subscription rule: a correlation filter matching one event type on the message `subject`."""

    name: str
    subject: str


@dataclass(frozen=True)
class Subscription:
    """A topic subscription named after its consumer, taking only the listed event types.

    `requires_session`: the consumer needs per-aggregate order, so the subscription is
    session-enabled and every message on its topic carries `session_id` = the partition key.
    `downstream`: the consumer is a system outside Nightshift.
    """

    topic: str
    name: str
    event_types: tuple[str, ...]
    requires_session: bool = False

    @property
    def consumer(self) -> str:
        """The consuming service or system (the subscription is named after it)."""
        return self.name

    @property
    def downstream(self) -> bool:
        """True when the consumer is outside Nightshift."""
        return self.name not in NIGHTSHIFT_SERVICES

    @property
    def rules(self) -> tuple[CorrelationRule, ...]:
        """One correlation rule per event type, on `subject`; rule names fit Service Bus's 50 chars."""
        return tuple(CorrelationRule(name=_rule_name(t), subject=t) for t in self.event_types)

    @property
    def sql_filter(self) -> str:
        """The same filter as one SQL rule on the `cloudEvents_type` application property."""
        quoted = ", ".join(f"'{t}'" for t in self.event_types)
        return f"cloudEvents_type IN ({quoted})"


@dataclass(frozen=True)
class EventHub:
    """An event hub for a high-volume stream, owned by the one service that sends to it.

    `partition_key_field` names the data field whose value is the Event Hubs partition key.
    `partition_count` is the count devhost creates and the Bicep declares (fixed after creation).
    """

    name: str
    producer: str
    partition_key_field: str
    partition_count: int

    @property
    def event_types(self) -> tuple[str, ...]:
        """Every event type sent to this hub, in registry order."""
        return _types_on("event-hubs", self.name)


@dataclass(frozen=True)
class ConsumerGroup:
    """An Event Hubs consumer group named after its one consumer; it reads every event on the hub."""

    hub: str
    name: str

    @property
    def consumer(self) -> str:
        """The consuming service or system (the group is named after it)."""
        return self.name

    @property
    def downstream(self) -> bool:
        """True when the consumer is outside Nightshift."""
        return self.name not in NIGHTSHIFT_SERVICES

    @property
    def event_types(self) -> tuple[str, ...]:
        """Every event type on the hub (a consumer group cannot filter)."""
        return hub(self.hub).event_types


def _types_on(transport: str, channel: str) -> tuple[str, ...]:
    return tuple(t for t, m in EVENT_TYPES.items() if transport == m.TRANSPORT and channel == m.CHANNEL)


def _types(*names: str) -> tuple[str, ...]:
    full = tuple(_PREFIX + n for n in names)
    for t in full:
        model_for(t)
    return full


def _rule_name(event_type: str) -> str:
    short = event_type.removeprefix(_PREFIX).split(".", 1)[1]
    return re.sub(r"[^A-Za-z0-9._-]", "-", short)[:50]


TOPICS: tuple[Topic, ...] = (
    Topic(name="orders", producer="orders"),
    Topic(name="inventory", producer="inventory"),
    Topic(name="reporting", producer="reporting"),
    Topic(name="migration", producer="migration"),
)

SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription(
        topic="orders",
        name="inventory",
        event_types=_types("orders.order.placed.v1", "orders.order.cancelled.v1"),
        requires_session=True,
    ),
    Subscription(
        topic="orders",
        name="reporting",
        event_types=_types(
            "orders.order.placed.v1",
            "orders.order.payment-captured.v1",
            "orders.order.confirmed.v1",
            "orders.order.cancelled.v1",
            "orders.order.imported.v1",
        ),
        requires_session=True,
    ),
    Subscription(
        topic="orders",
        name="fulfillment",
        event_types=_types("orders.order.fulfillment-requested.v1"),
    ),
    Subscription(
        topic="inventory",
        name="orders",
        event_types=_types("inventory.stock.reserved.v1", "inventory.reservation.rejected.v1"),
    ),
    Subscription(
        topic="inventory",
        name="reporting",
        event_types=_types("inventory.feed.processed.v1", "inventory.feed.rejected.v1"),
    ),
    Subscription(
        topic="inventory",
        name="purchasing",
        event_types=_types("inventory.stock.low.v1"),
    ),
    Subscription(
        topic="reporting",
        name="stakeholders",
        event_types=_types("reporting.report.published.v1"),
    ),
    Subscription(
        topic="migration",
        name="operations",
        event_types=_types("migration.run.completed.v1"),
    ),
)

EVENT_HUBS: tuple[EventHub, ...] = (
    EventHub(name="inventory-stock", producer="inventory", partition_key_field="sku", partition_count=4),
    EventHub(
        name="migration-records", producer="migration", partition_key_field="legacy_id", partition_count=8
    ),
)

CONSUMER_GROUPS: tuple[ConsumerGroup, ...] = (
    ConsumerGroup(hub="inventory-stock", name="reporting"),
    ConsumerGroup(hub="inventory-stock", name="analytics"),
    ConsumerGroup(hub="migration-records", name="orders"),
)


def topic(name: str) -> Topic:
    """The topic called `name`. Raises `UnknownChannel`."""
    for t in TOPICS:
        if t.name == name:
            return t
    raise UnknownChannel("topic", name)


def hub(name: str) -> EventHub:
    """The event hub called `name`. Raises `UnknownChannel`."""
    for h in EVENT_HUBS:
        if h.name == name:
            return h
    raise UnknownChannel("event hub", name)


def subscriptions_of(topic_name: str) -> tuple[Subscription, ...]:
    """The subscriptions on `topic_name` (empty if it has none). Raises `UnknownChannel`."""
    topic(topic_name)
    return tuple(s for s in SUBSCRIPTIONS if s.topic == topic_name)


def consumer_groups_of(hub_name: str) -> tuple[ConsumerGroup, ...]:
    """The consumer groups declared on `hub_name`. Raises `UnknownChannel`."""
    hub(hub_name)
    return tuple(g for g in CONSUMER_GROUPS if g.hub == hub_name)


def requires_session_id(topic_name: str) -> bool:
    """Whether messages sent to `topic_name` must carry `session_id` (= the partition key): true
    when any of its subscriptions is session-enabled. Raises `UnknownChannel`.
    """
    return any(s.requires_session for s in subscriptions_of(topic_name))


def destination_of(event_type: str) -> str:
    """The topic or event hub `event_type` is sent to. Raises `UnknownEventType`."""
    return model_for(event_type).CHANNEL


def receivers_of(event_type: str) -> tuple[str, ...]:
    """Every consumer (service or downstream system) that receives `event_type`, sorted.

    Raises `UnknownEventType`.
    """
    if event_type not in EVENT_TYPES:
        raise UnknownEventType(event_type)
    names = {s.consumer for s in SUBSCRIPTIONS if event_type in s.event_types}
    names |= {g.consumer for g in CONSUMER_GROUPS if event_type in g.event_types}
    return tuple(sorted(names))
