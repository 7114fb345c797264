"""Azure Cosmos DB EventStore (`azure-cosmos`, sync client). See docs/adr/0002-event-store.md.

Layout of the container (partition key path `/streamId`):

- **One document per committed append**, in the stream's logical partition, with
  `id = f"{first_version:020d}"` and every event of the append in `events`. One append is one
  document create, which Cosmos makes atomic; a second writer that expected the same version
  creates the same id and gets 409 Conflict, raised as `ConcurrencyError`. Before creating, the
  adapter checks that the stream is at the expected version (a query): a stream version that was
  ever observed is the end of an append, so the next append after it must start at
  `expected_version + 1` and the create collides with it. This stays correct at every consistency
  level: a stale read can only cause a spurious `ConcurrencyError`, never a gap or a duplicate.
- **Tracking** is a document in the same partition, created with the append document in one
  transactional batch (tracking first), which real Cosmos commits atomically. A (consumer, key)
  is unique per logical partition only: the adapter queries across partitions before the batch,
  so a repeat is caught unless two appends to *different* streams race with the same key.
  Standalone `record_processed` writes to the reserved partition `$tracking/<consumer>`.
- **Positions.** Cosmos has no global commit order: its change feed is ordered per partition key
  range (physical partition) only. `read_all` reads the change feed from the beginning and numbers
  the events 1, 2, 3... in feed order; on a container with one physical partition (≤ 50 GB and
  ≤ 10,000 RU/s) the feed is commit order, so these positions are stable and a relay can resume
  after one. On a container with several ranges no single number is a safe cursor, and `read_all`
  raises `FeedOrderUnavailable`: relay with the Functions Cosmos DB trigger (leases keep a
  continuation per range), as production does. `read_all` costs a scan of the feed up to
  `after_position + limit`: it is for replays, tools and devhost-sized data, not a hot path.
  Events from `read_stream` carry `position=0` (unknown outside the feed).
- **Multi-stream appends are not atomic.** Cosmos DB has no transaction across logical
  partitions, and every stream is its own partition. `append_many` first checks every stream's
  version (nothing is written if one differs), then creates one append document per stream, in
  the order given. If another writer takes one of the streams *between that check and its
  create*, the streams before it stay written: `BatchConcurrencyError.written` names them. A
  caller must therefore make each stream's decision idempotent on its own (as a retried
  `append` would need to be), never rely on the batch being all-or-nothing.
- Items are never updated or deleted; do not set a TTL on the container (positions would shift).
- An append is one document, so all its events together must stay under Cosmos' 2 MB item limit.

Missing items are found by queries, never by point reads (the test emulator answers 500 for a
missing item instead of 404); the queries filter on `streamId`, which real Cosmos needs anyway to
route them to one partition.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from azure.core.credentials import TokenCredential
from azure.cosmos import ContainerProxy, CosmosClient, PartitionKey
from azure.cosmos.exceptions import (
    CosmosBatchOperationError,
    CosmosHttpResponseError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)

from eventkit.store.documents import append_document, events_of_document
from eventkit.store.errors import (
    AlreadyProcessed,
    BatchConcurrencyError,
    ConcurrencyError,
    EventStoreError,
    StoreBusy,
)
from eventkit.store.events import NewEvent, StoredEvent, StreamAppend, Tracking
from eventkit.store.port import (
    RESERVED_PREFIX,
    EventStore,
    check_append,
    check_append_many,
    check_feed_args,
    check_stream_id,
    check_tracking,
    dump_json,
)

PARTITION_KEY_PATH = "/streamId"
_CONFLICT = 409
_VERSION_QUERY = "SELECT VALUE MAX(c.lastVersion) FROM c WHERE c.streamId = @stream AND c.kind = 'append'"
_STREAM_QUERY = "SELECT * FROM c WHERE c.streamId = @stream AND c.kind = 'append' AND c.lastVersion >= @from"
_TRACKING_QUERY = (
    "SELECT TOP 1 c.id FROM c WHERE c.kind = 'tracking' AND c.consumer = @consumer AND c.key = @key"
)


BUSY_STATUSES = frozenset({408, 429, 503})
"""Cosmos DB answers that mean "not now" (timeout, throttled, unavailable), raised as StoreBusy."""
_F = TypeVar("_F", bound=Callable[..., Any])


def busy_as_store_busy(method: _F) -> _F:
    """Raise `StoreBusy` (with the service's `x-ms-retry-after-ms` advice) for a Cosmos DB answer in
    `BUSY_STATUSES` that outlived the SDK's own retries; other errors pass through."""

    @functools.wraps(method)
    def translated(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except CosmosHttpResponseError as error:
            if error.status_code not in BUSY_STATUSES:
                raise
            advice = (error.headers or {}).get("x-ms-retry-after-ms")
            try:
                retry_after = float(advice) / 1000 if advice is not None else None
            except ValueError:
                retry_after = None
            raise StoreBusy(
                f"Cosmos DB answered {error.status_code} to {method.__name__}: "
                f"{error.http_error_message or 'busy'}; retry later",
                retry_after,
            ) from error

    return cast(_F, translated)


class FeedOrderUnavailable(EventStoreError):
    """The container has several partition key ranges, so the change feed has no single order."""


class EventStoreNotFound(EventStoreError):
    """The database or container does not exist and `create_if_missing` was not set."""


class CosmosEventStore(EventStore):
    """Event store in one Cosmos DB container partitioned on `/streamId`."""

    def __init__(self, container: ContainerProxy, *, client: CosmosClient | None = None) -> None:
        """Use an existing container. If `client` is given, `close()` closes it."""
        self._container = container
        self._client = client

    @classmethod
    def connect(
        cls,
        endpoint: str,
        credential: str | TokenCredential,
        database: str,
        container: str,
        *,
        create_if_missing: bool = False,
        connection_verify: bool = True,
    ) -> CosmosEventStore:
        """Open the store at `endpoint`/`database`/`container`.

        `credential` is an account key or an azure-identity credential. `connection_verify=False`
        skips TLS verification: only for a local emulator with a self-signed certificate.
        Raises `EventStoreNotFound` if the container is missing and `create_if_missing` is False.
        """
        client = CosmosClient(endpoint, credential=credential, connection_verify=connection_verify)
        try:
            if create_if_missing:
                db = client.create_database_if_not_exists(database)
                proxy = db.create_container_if_not_exists(
                    container, partition_key=PartitionKey(path=PARTITION_KEY_PATH)
                )
            else:
                proxy = client.get_database_client(database).get_container_client(container)
                proxy.read()
        except CosmosResourceNotFoundError:
            client.close()
            raise EventStoreNotFound(
                f"Cosmos container {database}/{container} does not exist at {endpoint}: "
                "create it (partition key /streamId) or pass create_if_missing=True"
            ) from None
        except BaseException:
            client.close()
            raise
        return cls(proxy, client=client)

    @property
    def container(self) -> ContainerProxy:
        """The container this store writes to."""
        return self._container

    @busy_as_store_busy
    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        tracking: Tracking | None = None,
    ) -> int:
        check_append(stream_id, expected_version, events)
        for event in events:
            dump_json(event.data, "data", event)
            dump_json(event.metadata, "metadata", event)
        if tracking is not None:
            check_tracking(tracking.consumer, tracking.key)
            if self.has_processed(tracking.consumer, tracking.key):
                raise AlreadyProcessed(tracking.consumer, tracking.key)
        actual = self.stream_version(stream_id)
        if actual != expected_version:
            raise ConcurrencyError(stream_id, expected_version, actual)
        document = append_document(stream_id, expected_version, events, datetime.now(UTC))
        if tracking is None:
            try:
                self._container.create_item(document)
            except CosmosResourceExistsError:
                raise ConcurrencyError(stream_id, expected_version, self.stream_version(stream_id)) from None
        else:
            tracking_document = _tracking_document(stream_id, tracking.consumer, tracking.key)
            try:
                self._container.execute_item_batch(
                    [("create", (tracking_document,)), ("create", (document,))], partition_key=stream_id
                )
            except CosmosBatchOperationError as error:
                failed = error.operation_responses[error.error_index]
                if failed.get("statusCode") != _CONFLICT:
                    raise
                if error.error_index == 0:
                    raise AlreadyProcessed(tracking.consumer, tracking.key) from None
                raise ConcurrencyError(stream_id, expected_version, self.stream_version(stream_id)) from None
        return expected_version + len(events)

    @busy_as_store_busy
    def append_many(self, appends: Sequence[StreamAppend]) -> list[int]:
        """NOT atomic across streams (see the module docstring): every version is checked first
        (a clash found then writes nothing), then each stream's events are created as one
        document, in order. Raises `BatchConcurrencyError` whose `written` names the streams
        already committed when a concurrent writer won a stream during the batch."""
        check_append_many(appends)
        for part in appends:
            for event in part.events:
                dump_json(event.data, "data", event)
                dump_json(event.metadata, "metadata", event)
        conflicts = []
        for part in appends:
            actual = self.stream_version(part.stream_id)
            if actual != part.expected_version:
                conflicts.append(ConcurrencyError(part.stream_id, part.expected_version, actual))
        if conflicts:
            raise BatchConcurrencyError(conflicts)
        written: list[str] = []
        for part in appends:
            document = append_document(part.stream_id, part.expected_version, part.events, datetime.now(UTC))
            try:
                self._container.create_item(document)
            except CosmosResourceExistsError:
                actual = self.stream_version(part.stream_id)
                clash = ConcurrencyError(part.stream_id, part.expected_version, actual)
                raise BatchConcurrencyError([clash], written) from None
            written.append(part.stream_id)
        return [part.expected_version + len(part.events) for part in appends]

    @busy_as_store_busy
    def read_stream(self, stream_id: str, from_version: int = 1) -> list[StoredEvent]:
        check_stream_id(stream_id)
        documents = self._container.query_items(
            _STREAM_QUERY,
            parameters=[{"name": "@stream", "value": stream_id}, {"name": "@from", "value": from_version}],
            partition_key=stream_id,
        )
        ordered = sorted(documents, key=lambda document: int(document["firstVersion"]))
        return [
            event
            for document in ordered
            for event in events_of_document(document)
            if event.version >= from_version
        ]

    @busy_as_store_busy
    def stream_version(self, stream_id: str) -> int:
        check_stream_id(stream_id)
        result: list[Any] = list(
            self._container.query_items(
                _VERSION_QUERY, parameters=[{"name": "@stream", "value": stream_id}], partition_key=stream_id
            )
        )
        return int(result[0]) if result and result[0] is not None else 0

    @busy_as_store_busy
    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Events after `after_position` in change-feed order (see the module docstring).

        Raises `FeedOrderUnavailable` if the container has more than one partition key range.
        """
        check_feed_args(after_position, limit)
        ranges = list(self._container.read_feed_ranges())
        if len(ranges) > 1:
            raise FeedOrderUnavailable(
                f"container {self._container.id} has {len(ranges)} partition key ranges, so its change "
                "feed has no single order; relay with the Cosmos DB trigger (leases) instead of read_all"
            )
        selected: list[StoredEvent] = []
        seen = 0
        for document in self._feed():
            count = len(document["events"])
            if seen + count > after_position:
                for event in events_of_document(document, seen + 1):
                    if event.position > after_position:
                        selected.append(event)
                        if len(selected) == limit:
                            return selected
            seen += count
        return selected

    @busy_as_store_busy
    def has_processed(self, consumer: str, key: str) -> bool:
        found = self._container.query_items(
            _TRACKING_QUERY,
            parameters=[{"name": "@consumer", "value": consumer}, {"name": "@key", "value": key}],
            enable_cross_partition_query=True,
        )
        return any(True for _ in found)

    @busy_as_store_busy
    def record_processed(self, consumer: str, key: str) -> None:
        check_tracking(consumer, key)
        if self.has_processed(consumer, key):
            raise AlreadyProcessed(consumer, key)
        partition = f"{RESERVED_PREFIX}tracking/{consumer}"
        try:
            self._container.create_item(_tracking_document(partition, consumer, key))
        except CosmosResourceExistsError:
            raise AlreadyProcessed(consumer, key) from None

    def close(self) -> None:
        """Close the client if this store created it (via `connect` or `client=`)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _feed(self) -> Iterator[dict[str, Any]]:
        for document in self._container.query_items_change_feed(start_time="Beginning"):
            if document.get("kind") == "append":
                yield document


def _tracking_document(partition: str, consumer: str, key: str) -> dict[str, Any]:
    digest = hashlib.sha256(f"{consumer}\x00{key}".encode()).hexdigest()
    return {
        "id": f"tracking-{digest}",
        "streamId": partition,
        "kind": "tracking",
        "consumer": consumer,
        "key": key,
        "recordedAt": datetime.now(UTC).isoformat(),
    }
