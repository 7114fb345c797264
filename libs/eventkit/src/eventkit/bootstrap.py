"""Settings to ports: what every service's `bootstrap.py` builds the same way.

A connection setting holds either one of the official emulators' development strings, meaning
the embedded adapters in the folder named by `DEVHOST_STATE_DIR` (set by devhost), or is absent
and its identity-based twin `<Name>__accountEndpoint` / `<Name>__fullyQualifiedNamespace` names
the Azure resource, reached with `DefaultAzureCredential`. Services pass the setting names that
are theirs (`StoreSettings`); the bus settings are shared:
`ServiceBusConnection` and `EventHubsConnection`.

Embedded layout under the state folder: `cosmos/<database>/<container>.db`, `servicebus.db`,
`eventhubs.db`. The decisions (`locate_event_store`, `publisher_transports`) are separate from
the opening so they can be checked without an Azure account.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from contracts.topology import requires_session_id
from eventkit.bus.eventhubs import EmbeddedEventHubs
from eventkit.bus.servicebus import EmbeddedServiceBus
from eventkit.publisher import Publisher
from eventkit.publishing.embedded import EmbeddedPublisher
from eventkit.store import EventStore, SQLiteEventStore

STATE_DIR_VARIABLE = "DEVHOST_STATE_DIR"
DEFAULT_DATABASE = "nightshift"

Transport = Literal["servicebus", "eventhubs"]
TRANSPORT_SETTINGS: Mapping[Transport, str] = {
    "servicebus": "ServiceBusConnection",
    "eventhubs": "EventHubsConnection",
}


class SettingMissing(LookupError):
    """A connection setting is absent: the message names the app setting to add."""


def is_emulator(value: str) -> bool:
    """Whether a connection string is one of the official emulators' development strings."""
    lowered = value.replace(" ", "").lower()
    return (
        "usedevelopmentstorage=true" in lowered
        or "usedevelopmentemulator=true" in lowered
        or "accountendpoint=https://localhost:8081" in lowered
        or "accountendpoint=https://127.0.0.1:8081" in lowered
    )


def is_embedded(env: Mapping[str, str], name: str) -> bool:
    """Whether setting `name` holds an emulator string (so the embedded adapter serves it)."""
    value = env.get(name)
    return bool(value) and is_emulator(str(value))


def state_dir(env: Mapping[str, str]) -> Path:
    """The embedded state folder; raises `SettingMissing` when `DEVHOST_STATE_DIR` is unset."""
    folder = env.get(STATE_DIR_VARIABLE)
    if not folder:
        raise SettingMissing(
            f"an emulator connection string needs {STATE_DIR_VARIABLE} (set by devhost) "
            "to find the embedded state folder"
        )
    return Path(folder)


Credential = Callable[[str | None], Any]
"""Makes the credential of one connection from its user-assigned identity's client id (None: the
app's default identity)."""


def azure_credential(client_id: str | None = None) -> Any:
    """`DefaultAzureCredential` for a managed identity: the user-assigned one `client_id` names,
    else `AZURE_CLIENT_ID`, else the system-assigned one.

    Imported on use: azure-identity is installed in Azure, not needed under devhost."""
    from azure.identity import DefaultAzureCredential  # type: ignore[import-untyped,import-not-found,unused-ignore]

    return DefaultAzureCredential(managed_identity_client_id=client_id or os.environ.get("AZURE_CLIENT_ID"))


def connection_client_id(env: Mapping[str, str], connection: str) -> str | None:
    """The user-assigned identity a connection names the way the Functions host reads it:
    `<connection>__clientId` when `<connection>__credential` is `managedidentity`; else None.

    The host's bindings (triggers) and this code then authenticate as the same identity."""
    if env.get(f"{connection}__credential", "").lower() != "managedidentity":
        return None
    return env.get(f"{connection}__clientId") or None


# --- event store ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreSettings:
    """The names of a service's event store settings (the part that differs between services).

    `connection` holds the emulator string, or `<connection>__accountEndpoint` the Cosmos DB
    endpoint; `database_setting` / `container_setting` name the database and container, else
    `default_database` / `default_container`."""

    connection: str
    database_setting: str
    container_setting: str
    default_container: str
    default_database: str = DEFAULT_DATABASE


@dataclass(frozen=True)
class EmbeddedStoreFile:
    """The embedded SQLite event store file."""

    path: Path


@dataclass(frozen=True)
class CosmosContainer:
    """A Cosmos DB container reached by identity."""

    endpoint: str
    database: str
    container: str
    client_id: str | None = None
    """The user-assigned identity the connection names (`connection_client_id`), if any."""


StoreLocation = EmbeddedStoreFile | CosmosContainer


def locate_event_store(env: Mapping[str, str], names: StoreSettings) -> StoreLocation:
    """Where the event store is: the SQLite file for an emulator string in `names.connection`,
    else the Cosmos container at `<connection>__accountEndpoint`. Opens nothing.

    Raises `SettingMissing` naming the connection settings when neither is there, or naming
    `DEVHOST_STATE_DIR` when an emulator string has no state folder."""
    database = env.get(names.database_setting, names.default_database)
    container = env.get(names.container_setting, names.default_container)
    if is_embedded(env, names.connection):
        return EmbeddedStoreFile(state_dir(env) / "cosmos" / database / f"{container}.db")
    endpoint = env.get(f"{names.connection}__accountEndpoint")
    if endpoint:
        return CosmosContainer(endpoint, database, container, connection_client_id(env, names.connection))
    raise SettingMissing(f"set {names.connection} (emulator string) or {names.connection}__accountEndpoint")


def open_event_store(location: StoreLocation, credential: Credential = azure_credential) -> EventStore:
    """Open the store at `location` (creating the SQLite file and its folder if missing).

    `credential` is called (with the location's client id) only for Cosmos DB; errors of the SDK
    or SQLite pass through."""
    if isinstance(location, EmbeddedStoreFile):
        location.path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEventStore(location.path)
    from eventkit.store.cosmos import CosmosEventStore

    return CosmosEventStore.connect(
        location.endpoint, credential(location.client_id), location.database, location.container
    )


def build_event_store(env: Mapping[str, str], names: StoreSettings) -> EventStore:
    """`open_event_store(locate_event_store(env, names))`; raises as those do."""
    return open_event_store(locate_event_store(env, names))


# --- publishers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddedTransports:
    """Every transport is an emulator string: the embedded namespaces under `state`."""

    state: Path


@dataclass(frozen=True)
class AzureNamespaces:
    """Every transport names its Azure namespace (fully qualified host name)."""

    namespaces: Mapping[Transport, str]


PublisherTransports = EmbeddedTransports | AzureNamespaces


def _listed(names: list[str]) -> str:
    return " and ".join(names)


def publisher_transports(env: Mapping[str, str], transports: frozenset[Transport]) -> PublisherTransports:
    """Where the publishers send: embedded when every transport's setting is an emulator string,
    else Azure when every `<setting>__fullyQualifiedNamespace` is set. Opens nothing.

    Raises `ValueError` for no transports, `SettingMissing` naming the settings to add."""
    if not transports:
        raise ValueError("name at least one transport ('servicebus', 'eventhubs')")
    settings = [TRANSPORT_SETTINGS[t] for t in sorted(transports, key=list(TRANSPORT_SETTINGS).index)]
    if all(is_embedded(env, name) for name in settings):
        return EmbeddedTransports(state_dir(env))
    namespaces = {t: env.get(f"{TRANSPORT_SETTINGS[t]}__fullyQualifiedNamespace") for t in transports}
    if all(namespaces.values()):
        return AzureNamespaces({t: str(ns) for t, ns in namespaces.items()})
    if len(settings) == 1:
        raise SettingMissing(f"set {settings[0]} (emulator string) or {settings[0]}__fullyQualifiedNamespace")
    raise SettingMissing(
        f"set {_listed(settings)} (emulator strings) or their __fullyQualifiedNamespace settings"
    )


def build_publishers(
    env: Mapping[str, str],
    destinations: Mapping[str, Transport],
    credential: Credential = azure_credential,
) -> dict[str, Publisher]:
    """A publisher for each destination (topic or event hub name), by its transport.

    Embedded: one `EmbeddedPublisher` over the namespaces the destinations need. Azure: one
    `ServiceBusPublisher` / `EventHubsPublisher` per transport, each with the credential of its
    connection's identity (`connection_client_id`); topics with
    a session-enabled subscription (`contracts.topology.requires_session_id`) get `session_id` =
    `partitionkey`, as the embedded publisher does. Raises as `publisher_transports` does."""
    transports = frozenset(destinations.values())
    target = publisher_transports(env, transports)
    if isinstance(target, EmbeddedTransports):
        embedded = EmbeddedPublisher(
            EmbeddedServiceBus(target.state / "servicebus.db") if "servicebus" in transports else None,
            EmbeddedEventHubs(target.state / "eventhubs.db") if "eventhubs" in transports else None,
        )
        return {destination: embedded for destination in destinations}
    from eventkit.publishing import EventHubsPublisher, ServiceBusPublisher

    by_transport: dict[Transport, Publisher] = {}
    for transport, namespace in target.namespaces.items():
        identity = credential(connection_client_id(env, TRANSPORT_SETTINGS[transport]))
        if transport == "servicebus":  # a topic with a session-enabled subscription needs session ids
            sessions = [d for d, t in destinations.items() if t == "servicebus" and requires_session_id(d)]
            by_transport[transport] = ServiceBusPublisher(
                fully_qualified_namespace=namespace, credential=identity, session_topics=sessions
            )
        else:
            by_transport[transport] = EventHubsPublisher(
                fully_qualified_namespace=namespace, credential=identity
            )
    return {destination: by_transport[transport] for destination, transport in destinations.items()}
