"""The EventStore port and its adapters (ARCHITECTURE.md §5).

`CosmosEventStore` is imported lazily, so services and tests that use the in-memory or SQLite
store do not load the Azure SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventkit.store.errors import (
    AlreadyProcessed,
    BatchConcurrencyError,
    ConcurrencyError,
    EventStoreError,
    InvalidAppend,
    StoreBusy,
)
from eventkit.store.events import JsonObject, NewEvent, StoredEvent, StreamAppend, Tracking
from eventkit.store.memory import InMemoryEventStore
from eventkit.store.port import EventStore
from eventkit.store.sqlite import SQLiteEventStore

if TYPE_CHECKING:
    from eventkit.store.cosmos import CosmosEventStore, EventStoreNotFound, FeedOrderUnavailable

__all__ = [
    "AlreadyProcessed",
    "BatchConcurrencyError",
    "ConcurrencyError",
    "CosmosEventStore",
    "EventStore",
    "EventStoreError",
    "EventStoreNotFound",
    "FeedOrderUnavailable",
    "InMemoryEventStore",
    "InvalidAppend",
    "JsonObject",
    "NewEvent",
    "SQLiteEventStore",
    "StoreBusy",
    "StoredEvent",
    "StreamAppend",
    "Tracking",
]

_COSMOS_NAMES = {"CosmosEventStore", "EventStoreNotFound", "FeedOrderUnavailable"}


def __getattr__(name: str) -> Any:
    if name in _COSMOS_NAMES:
        from eventkit.store import cosmos

        return getattr(cosmos, name)
    raise AttributeError(f"module 'eventkit.store' has no attribute {name!r}")
