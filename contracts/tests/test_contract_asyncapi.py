"""asyncapi.yaml is the committed rendering of the topology, and the topology is the one the brief
asks for: every subscription, consumer group, producer and consumer, each message pointing at its
committed schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts import EVENT_TYPES, model_for, schema_id
from contracts import topology as topo
from contracts.asyncapi import SCHEMA_FORMAT, render_asyncapi

P = "com.nightshift."
ORDERS_ALL = {P + f"orders.order.{n}.v1" for n in ("placed", "payment-captured", "confirmed", "cancelled")}

# The agreed map, written out independently of the code under test.
EXPECTED_SUBSCRIPTIONS: dict[tuple[str, str], set[str]] = {
    ("orders", "inventory"): {P + "orders.order.placed.v1", P + "orders.order.cancelled.v1"},
    ("orders", "reporting"): ORDERS_ALL | {P + "orders.order.imported.v1"},
    ("orders", "fulfillment"): {P + "orders.order.fulfillment-requested.v1"},
    ("inventory", "orders"): {P + "inventory.stock.reserved.v1", P + "inventory.reservation.rejected.v1"},
    ("inventory", "reporting"): {P + "inventory.feed.processed.v1", P + "inventory.feed.rejected.v1"},
    ("inventory", "purchasing"): {P + "inventory.stock.low.v1"},
    ("reporting", "stakeholders"): {P + "reporting.report.published.v1"},
    ("migration", "operations"): {P + "migration.run.completed.v1"},
}
EXPECTED_CONSUMER_GROUPS = {
    ("inventory-stock", "reporting"),
    ("inventory-stock", "analytics"),
    ("migration-records", "orders"),
}
EXPECTED_DOWNSTREAM = {"fulfillment", "purchasing", "stakeholders", "operations", "analytics"}
# Published for the record (audit, future consumers); the agreed map gives it no subscriber yet.
UNSUBSCRIBED = {P + "inventory.reservation.released.v1"}


@pytest.fixture(scope="module")
def document(contracts_root: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((contracts_root / "asyncapi.yaml").read_text())
    return loaded


def _channels_of_kind(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c for c in document["channels"].values() if c["x-nightshift"]["kind"] == kind]


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_committed_asyncapi_is_exactly_the_rendering_of_the_topology(contracts_root: Path) -> None:
    assert (contracts_root / "asyncapi.yaml").read_text(encoding="utf-8") == render_asyncapi(), (
        "asyncapi.yaml is stale; run `python -m contracts.asyncapi`"
    )


def test_it_is_an_asyncapi_3_document_with_both_namespaces(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert {s["protocol"] for s in document["servers"].values()} == {"amqp"}
    assert set(document["servers"]) == {"service-bus", "event-hubs"}


def test_the_topology_declares_exactly_the_agreed_subscriptions() -> None:
    declared = {(s.topic, s.name): set(s.event_types) for s in topo.SUBSCRIPTIONS}
    assert declared == EXPECTED_SUBSCRIPTIONS


def test_asyncapi_subscriptions_and_their_filters_equal_the_topology(document: dict[str, Any]) -> None:
    channels = _channels_of_kind(document, "subscription")
    found = {(c["x-nightshift"]["topic"], c["x-nightshift"]["name"]): set(c["messages"]) for c in channels}
    assert found == EXPECTED_SUBSCRIPTIONS
    for channel in channels:
        meta = channel["x-nightshift"]
        assert {r["correlationFilter"]["subject"] for r in meta["rules"]} == set(channel["messages"])
        assert all(len(r["name"]) <= 50 for r in meta["rules"]), "Service Bus rule names are at most 50 chars"
        assert channel["address"] == f"{meta['topic']}/Subscriptions/{meta['name']}"


def test_consumer_groups_in_topology_and_asyncapi_are_the_agreed_ones(document: dict[str, Any]) -> None:
    assert {(g.hub, g.name) for g in topo.CONSUMER_GROUPS} == EXPECTED_CONSUMER_GROUPS
    found = {
        (c["x-nightshift"]["hub"], c["x-nightshift"]["name"])
        for c in _channels_of_kind(document, "consumer-group")
    }
    assert found == EXPECTED_CONSUMER_GROUPS


def test_downstream_consumers_are_marked_as_such(document: dict[str, Any]) -> None:
    marked = {
        c["x-nightshift"]["consumer"]
        for kind in ("subscription", "consumer-group")
        for c in _channels_of_kind(document, kind)
        if c["x-nightshift"]["downstream"]
    }
    assert marked == EXPECTED_DOWNSTREAM


def test_every_event_type_is_sent_by_its_producer_and_received_unless_agreed_otherwise(
    document: dict[str, Any],
) -> None:
    sent: dict[str, str] = {}
    received: set[str] = set()
    for name, op in document["operations"].items():
        channel = _resolve(document, op["channel"]["$ref"])
        for ref in op["messages"]:
            assert ref["$ref"].startswith(op["channel"]["$ref"] + "/messages/"), name
            event_type = ref["$ref"].rsplit("/", 1)[1]
            assert event_type in channel["messages"]
            if op["action"] == "send":
                sent[event_type] = f"{op['x-nightshift-service']}->{channel['address']}"
            else:
                received.add(event_type)
    assert sent == {t: f"{m.PRODUCER}->{m.CHANNEL}" for t, m in EVENT_TYPES.items()}
    assert received == set(EVENT_TYPES) - UNSUBSCRIBED


def test_every_message_payload_points_at_its_committed_schema_file(
    document: dict[str, Any], contracts_root: Path
) -> None:
    for event_type, message in document["components"]["messages"].items():
        payload = message["payload"]
        assert payload["schemaFormat"] == SCHEMA_FORMAT
        props = payload["schema"]["properties"]
        ref = props["data"]["$ref"]
        assert ref == f"./schemas/{event_type}.json"
        assert (contracts_root / ref).is_file()
        assert props["type"]["const"] == event_type
        assert props["dataschema"]["const"] == schema_id(event_type)
        assert _resolve(document, payload["schema"]["allOf"][0]["$ref"])["type"] == "object"
        assert message["headers"]["schema"]["properties"]["cloudEvents_type"]["const"] == event_type


def test_messages_state_the_service_bus_and_event_hubs_mapping(document: dict[str, Any]) -> None:
    for event_type, message in document["components"]["messages"].items():
        transport = message["x-nightshift-transport"]
        model = model_for(event_type)
        assert transport["messageId"] == "$message.payload#/id"
        assert transport["partitionKey"] == "$message.payload#/partitionkey"
        if model.TRANSPORT == "service-bus":
            assert transport["subject"] == event_type
            assert ("sessionId" in transport) is topo.requires_session_id(model.CHANNEL)
        else:
            assert "subject" not in transport and "sessionId" not in transport


def test_every_internal_reference_resolves(document: dict[str, Any]) -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                _resolve(document, ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
