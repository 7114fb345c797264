"""The topology answers what devhost and the deployment checks ask of it."""

from __future__ import annotations

import pytest

from contracts import UnknownEventType
from contracts import topology as topo

P = "com.nightshift."


def test_each_producing_service_owns_one_topic_named_after_it() -> None:
    assert {(t.name, t.producer) for t in topo.TOPICS} == {
        ("orders", "orders"),
        ("inventory", "inventory"),
        ("reporting", "reporting"),
        ("migration", "migration"),
    }
    assert all(t.duplicate_detection for t in topo.TOPICS)


def test_a_subscription_filters_with_one_correlation_rule_per_event_type_on_subject() -> None:
    sub = next(s for s in topo.SUBSCRIPTIONS if (s.topic, s.name) == ("orders", "inventory"))
    assert [(r.name, r.subject) for r in sub.rules] == [
        ("order.placed.v1", P + "orders.order.placed.v1"),
        ("order.cancelled.v1", P + "orders.order.cancelled.v1"),
    ]
    assert sub.sql_filter == (
        f"cloudEvents_type IN ('{P}orders.order.placed.v1', '{P}orders.order.cancelled.v1')"
    )


def test_topics_with_a_session_enabled_subscription_require_a_session_id() -> None:
    assert topo.requires_session_id("orders")
    assert not topo.requires_session_id("inventory")  # its one answer per order needs no order
    assert not topo.requires_session_id("reporting")
    assert not topo.requires_session_id("migration")


def test_receivers_and_destinations_follow_the_map() -> None:
    assert topo.receivers_of(P + "orders.order.cancelled.v1") == ("inventory", "reporting")
    assert topo.receivers_of(P + "inventory.stock.adjusted.v1") == ("analytics", "reporting")
    assert topo.receivers_of(P + "migration.order.migrated.v1") == ("orders",)
    assert topo.destination_of(P + "inventory.stock.adjusted.v1") == "inventory-stock"
    assert topo.destination_of(P + "orders.order.placed.v1") == "orders"
    with pytest.raises(UnknownEventType):
        topo.receivers_of(P + "orders.order.lost.v1")


def test_consumer_groups_receive_every_event_on_their_hub() -> None:
    (group,) = topo.consumer_groups_of("migration-records")
    assert group.event_types == (P + "migration.order.migrated.v1",)
    assert {g.name for g in topo.consumer_groups_of("inventory-stock")} == {"reporting", "analytics"}
    assert topo.hub("inventory-stock").partition_key_field == "sku"
