"""The registry, the committed files and the topology all name the same event types, and each
model's class attributes agree with its type string and its channel."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from contracts import EVENT_TYPES, UnknownChannel, UnknownEventType, model_for, parse_data, schema_id
from contracts import topology as topo

PREFIX = "com.nightshift."


def test_registry_schemas_examples_and_asyncapi_name_exactly_the_same_types(contracts_root: Path) -> None:
    registry = set(EVENT_TYPES)
    schemas = {p.stem for p in (contracts_root / "schemas").glob("*.json") if p.name != "released.json"}
    examples = {p.name for p in (contracts_root / "examples").iterdir() if p.is_dir()}
    document = yaml.safe_load((contracts_root / "asyncapi.yaml").read_text())
    messages = set(document["components"]["messages"])
    assert schemas == registry
    assert examples == registry
    assert messages == registry


def test_the_registry_holds_the_sixteen_v1_types_of_the_brief() -> None:
    assert set(EVENT_TYPES) == {
        PREFIX + name
        for name in (
            "inventory.feed.processed.v1",
            "inventory.feed.rejected.v1",
            "inventory.stock.adjusted.v1",
            "inventory.stock.reserved.v1",
            "inventory.reservation.rejected.v1",
            "inventory.reservation.released.v1",
            "inventory.stock.low.v1",
            "orders.order.placed.v1",
            "orders.order.payment-captured.v1",
            "orders.order.confirmed.v1",
            "orders.order.fulfillment-requested.v1",
            "orders.order.cancelled.v1",
            "orders.order.imported.v1",
            "reporting.report.published.v1",
            "migration.order.migrated.v1",
            "migration.run.completed.v1",
        )
    }


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_each_model_declares_its_type_producer_channel_and_partition_key(event_type: str) -> None:
    model = model_for(event_type)
    assert event_type == model.EVENT_TYPE
    assert event_type.startswith(f"{PREFIX}{model.PRODUCER}.")
    assert event_type.endswith(".v1") and model.__name__.endswith("V1")
    field = model.model_fields[model.PARTITION_KEY_FIELD]
    assert field.is_required() and field.annotation is str
    if model.TRANSPORT == "service-bus":
        assert topo.topic(model.CHANNEL).producer == model.PRODUCER
    else:
        hub = topo.hub(model.CHANNEL)
        assert hub.producer == model.PRODUCER
        assert hub.partition_key_field == model.PARTITION_KEY_FIELD


def test_event_hubs_types_are_keyed_as_the_brief_says() -> None:
    assert model_for(PREFIX + "inventory.stock.adjusted.v1").PARTITION_KEY_FIELD == "sku"
    assert model_for(PREFIX + "migration.order.migrated.v1").PARTITION_KEY_FIELD == "legacy_id"


def test_an_unknown_event_type_is_refused_naming_it() -> None:
    unknown = f"{PREFIX}orders.order.{uuid.uuid4().hex}.v1"
    for lookup in (model_for, schema_id):
        with pytest.raises(UnknownEventType) as caught:
            lookup(unknown)
        assert unknown in str(caught.value) and caught.value.event_type == unknown
    with pytest.raises(LookupError):
        parse_data(unknown, {})


def test_a_future_major_version_is_unknown_until_defined() -> None:
    with pytest.raises(UnknownEventType, match=r"order\.placed\.v2"):
        model_for(PREFIX + "orders.order.placed.v2")


def test_the_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        EVENT_TYPES["x"] = EVENT_TYPES[PREFIX + "orders.order.placed.v1"]  # type: ignore[index]


def test_an_unknown_topic_or_hub_is_refused_naming_it() -> None:
    with pytest.raises(UnknownChannel, match="'payments'"):
        topo.topic("payments")
    with pytest.raises(UnknownChannel, match="'clicks'"):
        topo.hub("clicks")
