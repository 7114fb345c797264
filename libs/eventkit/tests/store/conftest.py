"""Fixtures for the EventStore adapter tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.cosmos import CosmosClient, PartitionKey

from eventkit.store import CosmosEventStore, InMemoryEventStore
from eventkit.store.cosmos import PARTITION_KEY_PATH
from eventkit.testing.cosmos import COSMOS_EMULATOR_KEY, cosmos_server

LIVE_ENDPOINT = "NIGHTSHIFT_COSMOS_ENDPOINT"
LIVE_KEY = "NIGHTSHIFT_COSMOS_KEY"


def pytest_configure(config: pytest.Config) -> None:
    # The emulator's certificate is self-signed; the SDK's background requests to it can warn
    # during any later test. Only loopback is silenced: a real endpoint still warns.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Unverified HTTPS request is being made to host '127.0.0.1'"
        ":urllib3.exceptions.InsecureRequestWarning",
    )


@pytest.fixture
def memory_store() -> Iterator[InMemoryEventStore]:
    store = InMemoryEventStore()
    yield store
    store.close()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "events.sqlite"


@pytest.fixture(scope="session")
def cosmos_endpoint() -> Iterator[str]:
    """The `@vercel/cosmosdb-server` emulator for the whole session. Fails (never skips) if
    node_modules is missing: `make test` installs it with `npm ci`."""
    with cosmos_server() as endpoint:
        yield endpoint


@pytest.fixture
def emulator_store(cosmos_endpoint: str) -> Iterator[CosmosEventStore]:
    """A fresh container per test, so `read_all` sees only the test's own events."""
    store = CosmosEventStore.connect(
        cosmos_endpoint,
        COSMOS_EMULATOR_KEY,
        "eventkit-tests",
        f"events-{uuid.uuid4().hex}",
        create_if_missing=True,
        connection_verify=False,
    )
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def live_store() -> Iterator[CosmosEventStore]:
    """A fresh container on real Azure Cosmos DB, deleted afterwards."""
    endpoint, key = os.environ.get(LIVE_ENDPOINT), os.environ.get(LIVE_KEY)
    if not endpoint or not key:
        pytest.skip(f"real Cosmos DB not configured: set {LIVE_ENDPOINT} and {LIVE_KEY}")
    with CosmosClient(endpoint, credential=key) as client:
        database = client.create_database_if_not_exists("nightshift-eventkit-tests")
        container = database.create_container_if_not_exists(
            f"events-{uuid.uuid4().hex}", partition_key=PartitionKey(path=PARTITION_KEY_PATH)
        )
        try:
            yield CosmosEventStore(container)
        finally:
            database.delete_container(container)
