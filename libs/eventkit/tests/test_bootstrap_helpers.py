"""Settings to ports: the event store and publishers a service's bootstrap builds."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import contracts
from eventkit import envelope
from eventkit.bootstrap import (
    AzureNamespaces,
    CosmosContainer,
    EmbeddedStoreFile,
    EmbeddedTransports,
    SettingMissing,
    StoreSettings,
    build_event_store,
    build_publishers,
    connection_client_id,
    is_emulator,
    locate_event_store,
    publisher_transports,
)
from eventkit.bus.eventhubs import EmbeddedEventHubs, partition_for_key
from eventkit.bus.servicebus import EmbeddedServiceBus
from eventkit.publishing import ServiceBusPublisher
from eventkit.publishing.embedded import EmbeddedPublisher
from eventkit.store import NewEvent, SQLiteEventStore

COSMOS_EMULATOR = "AccountEndpoint=https://localhost:8081/;AccountKey=abc=="
BUS_EMULATOR = "Endpoint=sb://localhost;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true;"
STORE_NAMES = StoreSettings(
    connection="ShopStore",
    database_setting="SHOP_DATABASE",
    container_setting="SHOP_CONTAINER",
    default_container="shop",
)


def a_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def a_stock_adjustment(sku: str) -> envelope.CloudEvent:
    model = contracts.StockAdjustedV1.model_validate(
        {"sku": sku, "warehouse": "WH-1", "on_hand": 5, "delta": 5, "reason": "feed", "cause_id": "feed-1"}
    )
    return envelope.build(model, subject=sku)


@pytest.mark.parametrize(
    "value",
    [
        "UseDevelopmentStorage=true",
        BUS_EMULATOR,
        COSMOS_EMULATOR,
        "AccountEndpoint = https://127.0.0.1:8081/;AccountKey=x",
    ],
)
def test_the_official_emulator_strings_are_recognised(value: str) -> None:
    assert is_emulator(value)


def test_a_real_account_string_is_not_an_emulator() -> None:
    assert not is_emulator("AccountEndpoint=https://shop.documents.azure.com:443/;AccountKey=x")


def test_an_emulator_store_string_opens_a_working_sqlite_store_under_the_state_folder(tmp_path: Path) -> None:
    container = a_name("shop")
    env = {"ShopStore": COSMOS_EMULATOR, "DEVHOST_STATE_DIR": str(tmp_path), "SHOP_CONTAINER": container}
    stream = a_name("order")

    store = build_event_store(env, STORE_NAMES)
    try:
        store.append(stream, 0, [NewEvent("shop.thing.happened.v1", {"n": 1})])
    finally:
        store.close()

    path = tmp_path / "cosmos" / "nightshift" / f"{container}.db"
    assert path.is_file()
    reopened = SQLiteEventStore(path)
    try:
        assert [e.data for e in reopened.read_stream(stream)] == [{"n": 1}]
    finally:
        reopened.close()


def test_the_database_and_container_default_when_their_settings_are_absent(tmp_path: Path) -> None:
    env = {"ShopStore": COSMOS_EMULATOR, "DEVHOST_STATE_DIR": str(tmp_path)}

    assert locate_event_store(env, STORE_NAMES) == EmbeddedStoreFile(
        tmp_path / "cosmos" / "nightshift" / "shop.db"
    )


def test_an_account_endpoint_setting_means_cosmos_with_the_configured_names() -> None:
    endpoint = f"https://{a_name('acct')}.documents.azure.com:443/"
    env = {"ShopStore__accountEndpoint": endpoint, "SHOP_DATABASE": "db1", "SHOP_CONTAINER": "c1"}

    assert locate_event_store(env, STORE_NAMES) == CosmosContainer(endpoint, "db1", "c1")


def test_an_emulator_string_wins_over_an_account_endpoint(tmp_path: Path) -> None:
    env = {
        "ShopStore": COSMOS_EMULATOR,
        "ShopStore__accountEndpoint": "https://x.documents.azure.com/",
        "DEVHOST_STATE_DIR": str(tmp_path),
    }

    assert isinstance(locate_event_store(env, STORE_NAMES), EmbeddedStoreFile)


def test_a_missing_store_setting_is_refused_naming_both_settings() -> None:
    with pytest.raises(SettingMissing) as refused:
        locate_event_store({}, STORE_NAMES)

    assert str(refused.value) == "set ShopStore (emulator string) or ShopStore__accountEndpoint"


def test_an_emulator_string_without_a_state_folder_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingMissing, match="DEVHOST_STATE_DIR"):
        locate_event_store({"ShopStore": COSMOS_EMULATOR}, STORE_NAMES)


def test_embedded_publishers_deliver_to_the_state_folders_topic_and_hub(tmp_path: Path) -> None:
    env = {
        "ServiceBusConnection": BUS_EMULATOR,
        "EventHubsConnection": BUS_EMULATOR,
        "DEVHOST_STATE_DIR": str(tmp_path),
    }
    bus = EmbeddedServiceBus(tmp_path / "servicebus.db")
    bus.create_topic("inventory")
    bus.create_subscription("inventory", "audit")
    hubs = EmbeddedEventHubs(tmp_path / "eventhubs.db")
    hubs.create_event_hub("inventory-stock", partition_count=2)
    on_topic, on_hub = a_stock_adjustment("SKU-6"), a_stock_adjustment("SKU-7")

    publishers = build_publishers(env, {"inventory": "servicebus", "inventory-stock": "eventhubs"})
    publishers["inventory"].publish("inventory", [on_topic])
    publishers["inventory-stock"].publish("inventory-stock", [on_hub])

    received = bus.receive("inventory/subscriptions/audit", max_messages=10)
    assert [m.message_id for m in received] == [on_topic.get_id()]
    partition = str(partition_for_key("SKU-7", 2))
    events = hubs.receive("inventory-stock", "$Default", partition, "-1", max_batch_size=10)
    assert [envelope.decode(bytes(e.body)).get_id() for e in events] == [on_hub.get_id()]


def test_a_service_bus_only_service_gets_no_event_hubs_namespace(tmp_path: Path) -> None:
    env = {"ServiceBusConnection": BUS_EMULATOR, "DEVHOST_STATE_DIR": str(tmp_path)}

    (publisher,) = build_publishers(env, {"orders": "servicebus"}).values()

    assert isinstance(publisher, EmbeddedPublisher)
    assert not (tmp_path / "eventhubs.db").exists()


def test_namespace_settings_mean_azure_for_every_transport() -> None:
    env = {
        "ServiceBusConnection__fullyQualifiedNamespace": "shop.servicebus.windows.net",
        "EventHubsConnection__fullyQualifiedNamespace": "shop-hubs.servicebus.windows.net",
    }

    target = publisher_transports(env, frozenset({"servicebus", "eventhubs"}))

    assert target == AzureNamespaces(
        {"servicebus": "shop.servicebus.windows.net", "eventhubs": "shop-hubs.servicebus.windows.net"}
    )


@pytest.mark.parametrize(
    ("settings", "client_id"),
    [
        ({"ShopStore__credential": "managedidentity", "ShopStore__clientId": "id-1"}, "id-1"),
        ({"ShopStore__credential": "ManagedIdentity", "ShopStore__clientId": "id-1"}, "id-1"),
        ({"ShopStore__credential": "managedidentity"}, None),  # the system-assigned identity
        ({"ShopStore__clientId": "id-1"}, None),  # the host needs credential=managedidentity too
        ({}, None),
    ],
)
def test_a_connections_user_assigned_identity_is_read_as_the_functions_host_reads_it(
    settings: dict[str, str], client_id: str | None
) -> None:
    assert connection_client_id(settings, "ShopStore") == client_id


def test_the_cosmos_store_and_the_publishers_use_their_connections_identity() -> None:
    env = {
        "ShopStore__accountEndpoint": "https://shop.documents.azure.com:443/",
        "ShopStore__credential": "managedidentity",
        "ShopStore__clientId": "store-identity",
        "ServiceBusConnection__fullyQualifiedNamespace": "shop.servicebus.windows.net",
        "ServiceBusConnection__credential": "managedidentity",
        "ServiceBusConnection__clientId": "bus-identity",
    }
    asked: list[str | None] = []

    location = locate_event_store(env, STORE_NAMES)
    publishers = build_publishers(
        env, {"orders": "servicebus"}, lambda client_id: asked.append(client_id) or "token"
    )

    assert location == CosmosContainer(
        "https://shop.documents.azure.com:443/", "nightshift", "shop", "store-identity"
    )
    assert asked == ["bus-identity"]
    publishers["orders"].close()


def test_azure_publishers_give_session_ids_on_topics_with_a_session_enabled_subscription() -> None:
    env = {"ServiceBusConnection__fullyQualifiedNamespace": "shop.servicebus.windows.net"}

    publishers = build_publishers(env, {"orders": "servicebus", "inventory": "servicebus"}, lambda _: "token")

    publisher = publishers["orders"]
    assert isinstance(publisher, ServiceBusPublisher) and publisher is publishers["inventory"]
    assert publisher.session_topics == frozenset({"orders"})  # orders/inventory needs per-order order
    publisher.close()


def test_embedded_is_chosen_only_when_every_transport_is_an_emulator_string(tmp_path: Path) -> None:
    env = {
        "ServiceBusConnection": BUS_EMULATOR,
        "EventHubsConnection__fullyQualifiedNamespace": "shop-hubs.servicebus.windows.net",
        "DEVHOST_STATE_DIR": str(tmp_path),
    }

    assert publisher_transports(env, frozenset({"servicebus"})) == EmbeddedTransports(tmp_path)
    with pytest.raises(SettingMissing) as refused:
        publisher_transports(env, frozenset({"servicebus", "eventhubs"}))
    assert str(refused.value) == (
        "set ServiceBusConnection and EventHubsConnection (emulator strings) or their "
        "__fullyQualifiedNamespace settings"
    )


def test_a_missing_bus_setting_is_refused_naming_it() -> None:
    with pytest.raises(SettingMissing) as refused:
        publisher_transports({}, frozenset({"servicebus"}))

    assert str(refused.value) == (
        "set ServiceBusConnection (emulator string) or ServiceBusConnection__fullyQualifiedNamespace"
    )


def test_no_transport_at_all_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="at least one transport"):
        publisher_transports({}, frozenset())
