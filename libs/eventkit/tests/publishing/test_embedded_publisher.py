"""The embedded publisher puts CloudEvents on devhost's namespaces as Azure would carry them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

import contracts
from contracts import topology
from eventkit import envelope
from eventkit.bus.eventhubs import EmbeddedEventHubs, partition_for_key
from eventkit.bus.servicebus import CorrelationFilter, EmbeddedServiceBus, RuleProperties
from eventkit.publisher import PublishError
from eventkit.publishing.embedded import EmbeddedPublisher


def an_order_placed() -> envelope.CloudEvent:
    order_id = f"ord-{uuid.uuid4().hex[:8]}"
    model = contracts.OrderPlacedV1(
        order_id=order_id,
        customer_id="cus-1",
        lines=[contracts.OrderLine(sku="TEA-1", quantity=1, unit_price_minor=650, line_total_minor=650)],
        total_minor=650,
        currency="GBP",
        placed_at=datetime(2026, 11, 28, tzinfo=UTC),
    )
    return envelope.build(model, subject=order_id)


def a_stock_adjustment(sku: str) -> envelope.CloudEvent:
    model = contracts.StockAdjustedV1.model_validate(
        {
            "sku": sku,
            "warehouse": "WH-LON-1",
            "on_hand": 5,
            "delta": 5,
            "reason": "feed",
            "cause_id": "feed-1",
        }
    )
    return envelope.build(model, subject=sku)


def test_an_event_on_a_topic_reaches_the_subscription_with_the_service_bus_conventions(
    tmp_path: Path,
) -> None:
    bus = EmbeddedServiceBus(tmp_path / "sb.db")
    bus.create_topic("orders")
    rule = RuleProperties("placed", CorrelationFilter(subject="com.nightshift.orders.order.placed.v1"))
    bus.create_subscription("orders", "inventory", rules=[rule], requires_session=True)
    event = an_order_placed()

    EmbeddedPublisher(bus).publish("orders", [event])

    session = bus.accept_session("orders/subscriptions/inventory")
    (message,) = session.receive(max_messages=10)
    assert message.message_id == event.get_id()
    assert message.subject == event.get_type()
    assert message.session_id == event.get_attributes()["partitionkey"]
    assert message.application_properties["cloudEvents_type"] == event.get_type()
    assert envelope.decode(message.body).get_attributes() == event.get_attributes()
    assert topology.requires_session_id("orders")


def test_an_event_for_a_hub_lands_on_the_partition_of_its_key(tmp_path: Path) -> None:
    hubs = EmbeddedEventHubs(tmp_path / "eh.db")
    hubs.create_event_hub("inventory-stock", partition_count=4)
    event = a_stock_adjustment("SKU-42")

    EmbeddedPublisher(eventhubs=hubs).publish("inventory-stock", [event])

    partition = str(partition_for_key("SKU-42", 4))
    received = hubs.receive("inventory-stock", "$Default", partition, "-1", max_batch_size=10)
    assert [envelope.decode(bytes(e.body)).get_id() for e in received] == [event.get_id()]


def test_publishing_to_a_missing_topic_raises_publish_error_naming_it(tmp_path: Path) -> None:
    publisher = EmbeddedPublisher(EmbeddedServiceBus(tmp_path / "sb.db"), session_topics=())
    with pytest.raises(PublishError, match="nowhere"):
        publisher.publish("nowhere", [an_order_placed()])
