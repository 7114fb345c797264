"""The Cosmos DB adapter keeps the EventStore contract, on the emulator and on real Azure."""

from __future__ import annotations

import pytest

from eventkit.store import CosmosEventStore, EventStoreNotFound
from eventkit.testing.cosmos import COSMOS_EMULATOR_KEY
from eventkit.testing.store_contract import (
    ATOMIC_BATCH,
    ATOMIC_MULTI_STREAM,
    EventStoreContract,
    an_event,
    new_stream_id,
)

NOT_ATOMIC_ACROSS_STREAMS = (
    "Cosmos DB has no transaction across logical partitions: append_many checks every version "
    "first, then writes stream by stream, so a writer racing it can leave earlier streams written "
    "(BatchConcurrencyError.written names them)"
)

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


class TestCosmosEventStoreOnEmulator(EventStoreContract):
    limitations = {
        ATOMIC_BATCH: (
            "@vercel/cosmosdb-server runs transactional batches one operation at a time and keeps "
            "the operations before a failed one; real Cosmos DB commits a batch atomically "
            "(TestCosmosEventStoreLive runs this test)"
        ),
        ATOMIC_MULTI_STREAM: NOT_ATOMIC_ACROSS_STREAMS,
    }

    @pytest.fixture
    def store(self, emulator_store: CosmosEventStore) -> CosmosEventStore:
        return emulator_store


@pytest.mark.azure_live
class TestCosmosEventStoreLive(EventStoreContract):
    limitations = {ATOMIC_MULTI_STREAM: NOT_ATOMIC_ACROSS_STREAMS}

    @pytest.fixture
    def store(self, live_store: CosmosEventStore) -> CosmosEventStore:
        return live_store


def test_opening_a_missing_container_without_create_if_missing_says_how_to_fix_it(
    cosmos_endpoint: str,
) -> None:
    with pytest.raises(EventStoreNotFound, match="create_if_missing"):
        CosmosEventStore.connect(
            cosmos_endpoint,
            COSMOS_EMULATOR_KEY,
            "eventkit-tests",
            "no-such-container",
            connection_verify=False,
        )


def test_events_read_from_a_stream_carry_no_feed_position_but_the_feed_does(
    emulator_store: CosmosEventStore,
) -> None:
    stream_id = new_stream_id()
    emulator_store.append(stream_id, 0, [an_event(n=1), an_event(n=2)])

    assert [e.position for e in emulator_store.read_stream(stream_id)] == [0, 0]
    assert [e.position for e in emulator_store.read_all(0, 10)] == [1, 2]
