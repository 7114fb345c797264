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

from eventkit.blobs import BlobStore, FileSystemBlobStore
from eventkit.bootstrap import STATE_DIR_VARIABLE as STATE_DIR_VARIABLE  # re-exported
from eventkit.bootstrap import (
    Credential,
    StoreSettings,
    azure_credential,
    build_event_store,
    connection_client_id,
    is_embedded,
    state_dir,
)
from eventkit.bootstrap import SettingMissing as SettingMissing  # re-exported
from eventkit.bootstrap import build_publishers as _build_publishers
from eventkit.bootstrap import is_emulator as is_emulator  # re-exported
from eventkit.publisher import Publisher
from eventkit.store import EventStore

from .handlers import Inventory
from .integration import STOCK_HUB, TOPIC

STORE_SETTINGS = StoreSettings(
    connection="InventoryStore",
    database_setting="INVENTORY_DATABASE",
    container_setting="INVENTORY_CONTAINER",
    default_container="inventory",
)


@dataclass
class Service:
    """What the function app's triggers use: the use cases' ports and the relay's publishers."""

    inventory: Inventory
    publishers: Mapping[str, Publisher]


def build_store(env: Mapping[str, str]) -> EventStore:
    """The event store: embedded SQLite for the emulator string, else Cosmos DB by identity."""
    return build_event_store(env, STORE_SETTINGS)


def build_blobs(env: Mapping[str, str], credential: Credential = azure_credential) -> BlobStore:
    """The blob store: the embedded file system store for the emulator string, else Azure at
    `InventoryStorage__blobServiceUri` or `InventoryStorage__serviceUri` (the host reads both
    spellings), as the connection's identity (`connection_client_id`)."""
    if is_embedded(env, "InventoryStorage"):
        return FileSystemBlobStore(state_dir(env) / "blobs")
    uri = env.get("InventoryStorage__blobServiceUri") or env.get("InventoryStorage__serviceUri")
    if uri:
        from eventkit.blobs.azure import AzureBlobStore

        return AzureBlobStore.from_account_url(uri, credential(connection_client_id(env, "InventoryStorage")))
    raise SettingMissing("set InventoryStorage (emulator string) or InventoryStorage__blobServiceUri")


def build_publishers(env: Mapping[str, str]) -> dict[str, Publisher]:
    """Publishers by destination: topic `inventory` and event hub `inventory-stock`."""
    return _build_publishers(env, {TOPIC: "servicebus", STOCK_HUB: "eventhubs"})


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
