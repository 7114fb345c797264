"""The in-memory adapter keeps the EventStore contract."""

from __future__ import annotations

import pytest

from eventkit.store import InMemoryEventStore
from eventkit.testing.store_contract import EventStoreContract


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, memory_store: InMemoryEventStore) -> InMemoryEventStore:
        return memory_store
