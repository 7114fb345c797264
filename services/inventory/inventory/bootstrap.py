"""Builds the inventory service's ports from settings, once per process.

Settings (app settings in Azure, `local.settings.json` locally; Azure connects by identity):

- `InventoryStore`: the Cosmos emulator string (`AccountEndpoint=https://localhost:8081/;...`),
  or in Azure `InventoryStore__accountEndpoint`;
- `InventoryStorage`: `UseDevelopmentStorage=true`, or `InventoryStorage__blobServiceUri`;
- `ServiceBusConnection`: `Endpoint=sb://localhost;...;UseDevelopmentEmulator=true;`, or
  `ServiceBusConnection__fullyQualifiedNamespace`;
- `EventHubsConnection`: the same emulator form, or `EventHubsConnection__fullyQualifiedNamespace`;

plus `INVENTORY_DATABASE` (`nightshift`), `INVENTORY_CONTAINER` (`inventory`),
`INVENTORY_REORDER_POINT` (default reorder point, 10) and `INVENTORY_CURRENCY` (`EUR`).
An emulator string means the embedded adapters in the folder named by `DEVHOST_STATE_DIR`
(`<state>/cosmos/<db>/<container>.db`, `<state>/blobs`, `<state>/servicebus.db`,
`<state>/eventhubs.db`), opened with eventkit only: the service never imports devhost.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventkit.blobs import BlobStore, FileSystemBlobStore
from eventkit.bus.eventhubs import EmbeddedEventHubs
from eventkit.bus.servicebus import EmbeddedServiceBus
from eventkit.publisher import Publisher
from eventkit.publishing.embedded import EmbeddedPublisher
from eventkit.store import EventStore, SQLiteEventStore

from .handlers import Inventory
from .integration import STOCK_HUB, TOPIC

STATE_DIR_VARIABLE = "DEVHOST_STATE_DIR"


class SettingMissing(LookupError):
    """A connection setting is absent: name it in the app settings (see this module's table)."""


@dataclass
class Service:
    """What the function app's triggers use: the use cases' ports and the relay's publishers."""

    inventory: Inventory
    publishers: Mapping[str, Publisher]


def is_emulator(value: str) -> bool:
    """Whether a connection string is one of the official emulators' development strings."""
    lowered = value.replace(" ", "").lower()
    return (
        "usedevelopmentstorage=true" in lowered
        or "usedevelopmentemulator=true" in lowered
        or "accountendpoint=https://localhost:8081" in lowered
        or "accountendpoint=https://127.0.0.1:8081" in lowered
    )


def _state_dir(env: Mapping[str, str]) -> Path:
    folder = env.get(STATE_DIR_VARIABLE)
    if not folder:
        raise SettingMissing(
            f"an emulator connection string needs {STATE_DIR_VARIABLE} (set by devhost) "
            "to find the embedded state folder"
        )
    return Path(folder)


def _setting(env: Mapping[str, str], name: str, suffix: str) -> tuple[str | None, str | None]:
    return env.get(name), env.get(f"{name}__{suffix}")


def _credential() -> Any:
    from azure.identity import DefaultAzureCredential  # type: ignore[import-untyped]

    return DefaultAzureCredential(managed_identity_client_id=os.environ.get("AZURE_CLIENT_ID"))


def build_store(env: Mapping[str, str]) -> EventStore:
    """The event store: embedded SQLite for the emulator string, else Cosmos DB by identity."""
    database = env.get("INVENTORY_DATABASE", "nightshift")
    container = env.get("INVENTORY_CONTAINER", "inventory")
    value, endpoint = _setting(env, "InventoryStore", "accountEndpoint")
    if value and is_emulator(value):
        path = _state_dir(env) / "cosmos" / database / f"{container}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEventStore(path)
    if endpoint:
        from eventkit.store.cosmos import CosmosEventStore

        return CosmosEventStore.connect(endpoint, _credential(), database, container)
    raise SettingMissing("set InventoryStore (emulator string) or InventoryStore__accountEndpoint")


def build_blobs(env: Mapping[str, str]) -> BlobStore:
    """The blob store: the embedded file system store for the emulator string, else Azure."""
    value, uri = _setting(env, "InventoryStorage", "blobServiceUri")
    if value and is_emulator(value):
        return FileSystemBlobStore(_state_dir(env) / "blobs")
    if uri:
        from eventkit.blobs.azure import AzureBlobStore

        return AzureBlobStore.from_account_url(uri, _credential())
    raise SettingMissing("set InventoryStorage (emulator string) or InventoryStorage__blobServiceUri")


def build_publishers(env: Mapping[str, str]) -> dict[str, Publisher]:
    """Publishers by destination: topic `inventory` and event hub `inventory-stock`."""
    bus, bus_ns = _setting(env, "ServiceBusConnection", "fullyQualifiedNamespace")
    hubs, hubs_ns = _setting(env, "EventHubsConnection", "fullyQualifiedNamespace")
    if bus and hubs and is_emulator(bus) and is_emulator(hubs):
        state = _state_dir(env)
        embedded = EmbeddedPublisher(
            EmbeddedServiceBus(state / "servicebus.db"), EmbeddedEventHubs(state / "eventhubs.db")
        )
        return {TOPIC: embedded, STOCK_HUB: embedded}
    if bus_ns and hubs_ns:
        from eventkit.publishing import EventHubsPublisher, ServiceBusPublisher

        credential = _credential()
        return {
            TOPIC: ServiceBusPublisher(fully_qualified_namespace=bus_ns, credential=credential),
            STOCK_HUB: EventHubsPublisher(fully_qualified_namespace=hubs_ns, credential=credential),
        }
    raise SettingMissing(
        "set ServiceBusConnection and EventHubsConnection (emulator strings) or their "
        "__fullyQualifiedNamespace settings"
    )


def bootstrap(
    env: Mapping[str, str] | None = None,
    *,
    store: EventStore | None = None,
    blobs: BlobStore | None = None,
    publishers: Mapping[str, Publisher] | None = None,
) -> Service:
    """The service's ports: those given (tests), else built from `env` (default: os.environ).
    Raises `SettingMissing` naming the setting to add."""
    env = os.environ if env is None else env
    inventory = Inventory(
        store=store if store is not None else build_store(env),
        blobs=blobs if blobs is not None else build_blobs(env),
        default_reorder_point=int(env.get("INVENTORY_REORDER_POINT", "10")),
        default_currency=env.get("INVENTORY_CURRENCY", "EUR"),
    )
    return Service(inventory, publishers if publishers is not None else build_publishers(env))


_service: Service | None = None
_lock = threading.Lock()


def service() -> Service:
    """The process's one `Service`, built on first use (not at import: indexing stays cheap)."""
    global _service
    with _lock:
        if _service is None:
            _service = bootstrap()
        return _service
