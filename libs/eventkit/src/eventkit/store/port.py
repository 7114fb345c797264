"""The EventStore port: the state of every aggregate is its event stream (ARCHITECTURE.md §5).

Promises every adapter keeps (the contract suite in `eventkit.testing.store_contract` checks them):

- **Streams.** One stream per aggregate, named by `stream_id`. Versions are 1-based and
  contiguous: a stream at version n holds exactly the events 1..n.
- **Atomic append.** `append` writes all of its events, and the tracking record if given, or
  nothing. It succeeds only if the stream is at `expected_version` (0 = the stream does not exist
  yet); otherwise it raises `ConcurrencyError` and writes nothing. Two writers that expected the
  same version can never both succeed.
- **Multi-stream append.** `append_many` appends to several streams at once, each at its own
  expected version. On SQLite and in memory it is all-or-nothing like `append` (one transaction):
  if any stream is not at its expected version, `BatchConcurrencyError` names every clashing
  stream and nothing is written. On Cosmos DB (no cross-partition transaction) it is checked up
  front and then written stream by stream: see `CosmosEventStore.append_many` for what a race
  can leave written.
- **Acknowledged means durable.** Once `append` has returned, its events are readable by every
  later `read_stream`/`read_all` of any process using the same store, and survive a crash of the
  writing process. (Power-loss durability is adapter-specific: see each adapter.)
- **The store is the outbox.** `read_all(after_position, limit)` returns events committed after a
  position, in ascending position order; a relay that remembers the last position it handled
  and asks again sees every event exactly once, in commit order. How positions follow commit
  order is the one thing adapters differ in, and each documents it.
- **Idempotent consumers.** A `Tracking(consumer, key)` given to `append` is recorded in the same
  atomic write; if the pair was already recorded, `append` raises `AlreadyProcessed` and writes
  nothing. `record_processed` records a pair on its own, for consumers whose change lives
  elsewhere.

Stream ids are non-empty strings that do not start with "$" (reserved for the store's own use).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Self

from eventkit.store.errors import InvalidAppend
from eventkit.store.events import NewEvent, StoredEvent, StreamAppend, Tracking

RESERVED_PREFIX = "$"


class EventStore(ABC):
    """Append-only event streams with optimistic concurrency, a global feed and consumer tracking."""

    @abstractmethod
    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        tracking: Tracking | None = None,
    ) -> int:
        """Append `events` to the stream if it is at `expected_version`; return the new version.

        All events and the tracking record are written atomically, or none of them.
        Raises `ConcurrencyError` if the stream is at another version, `AlreadyProcessed` if
        `tracking` was recorded before, `InvalidAppend` for an empty `events`, a negative
        version, a bad stream id or data that is not JSON.
        """

    @abstractmethod
    def append_many(self, appends: Sequence[StreamAppend]) -> list[int]:
        """Append to every stream of `appends` (each stream at most once); return each new
        version, in the order given. Events reach the feed in the order given.

        Raises `BatchConcurrencyError` naming every stream that was not at its expected version
        (adapters document whether anything else was written: SQLite and in-memory write
        nothing), `InvalidAppend` for an empty batch, a stream named twice, or any part that
        `append` would refuse (nothing is written then).
        """

    @abstractmethod
    def read_stream(self, stream_id: str, from_version: int = 1) -> list[StoredEvent]:
        """The stream's events with version >= `from_version`, in version order ([] if none)."""

    def read_streams(self, from_versions: Mapping[str, int]) -> dict[str, list[StoredEvent]]:
        """For each stream id given, its events with version >= the given version, in version
        order ([] if none); one call instead of one `read_stream` per stream. Adapters may read
        the streams in one query (SQLite does); no consistency across streams is promised."""
        return {stream_id: self.read_stream(stream_id, start) for stream_id, start in from_versions.items()}

    @abstractmethod
    def stream_version(self, stream_id: str) -> int:
        """The stream's current version; 0 if it has no events."""

    @abstractmethod
    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """At most `limit` events with position > `after_position`, in ascending position order."""

    @abstractmethod
    def has_processed(self, consumer: str, key: str) -> bool:
        """Whether `consumer` has recorded `key` (with an append or with `record_processed`)."""

    @abstractmethod
    def record_processed(self, consumer: str, key: str) -> None:
        """Record `key` as processed by `consumer`; raises `AlreadyProcessed` if it already was."""

    @abstractmethod
    def close(self) -> None:
        """Release connections. The store must not be used afterwards; closing twice is allowed."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def check_stream_id(stream_id: str) -> None:
    """Raise `InvalidAppend` unless `stream_id` is a non-empty str without the reserved prefix."""
    if not isinstance(stream_id, str) or not stream_id:
        raise InvalidAppend(f"a stream id must be a non-empty string, got {stream_id!r}")
    if stream_id.startswith(RESERVED_PREFIX):
        raise InvalidAppend(f"stream id {stream_id!r} starts with the reserved prefix {RESERVED_PREFIX!r}")


def check_append(stream_id: str, expected_version: int, events: Sequence[NewEvent]) -> None:
    """Validate the arguments every adapter's `append` takes; raise `InvalidAppend` if wrong."""
    check_stream_id(stream_id)
    if isinstance(expected_version, bool) or not isinstance(expected_version, int) or expected_version < 0:
        raise InvalidAppend(f"expected_version must be an int >= 0, got {expected_version!r}")
    if not events:
        raise InvalidAppend(f"an append to {stream_id!r} needs at least one event")
    for event in events:
        if not isinstance(event, NewEvent):
            raise InvalidAppend(f"append takes NewEvent values, got {type(event).__name__}")
        if not event.type:
            raise InvalidAppend(f"event {event.event_id} has an empty type")


def check_append_many(appends: Sequence[StreamAppend]) -> None:
    """Validate an `append_many` batch as `check_append` does each part; raise `InvalidAppend`
    for an empty batch, a part that is not a `StreamAppend`, or a stream named twice."""
    if not appends:
        raise InvalidAppend("append_many needs at least one StreamAppend")
    seen: set[str] = set()
    for part in appends:
        if not isinstance(part, StreamAppend):
            raise InvalidAppend(f"append_many takes StreamAppend values, got {type(part).__name__}")
        check_append(part.stream_id, part.expected_version, part.events)
        if part.stream_id in seen:
            raise InvalidAppend(f"stream {part.stream_id!r} appears twice in one append_many")
        seen.add(part.stream_id)


def check_tracking(consumer: str, key: str) -> None:
    """Raise `InvalidAppend` unless consumer and key are non-empty strings."""
    if not isinstance(consumer, str) or not consumer or not isinstance(key, str) or not key:
        raise InvalidAppend(f"tracking needs a non-empty consumer and key, got {consumer!r}, {key!r}")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dump_json(value: object, what: str, event: NewEvent | None = None) -> str:
    """Compact JSON for storage; raises `InvalidAppend` naming `what` (of `event`) if `value` is
    not JSON."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as error:
        owner = f" of event {event.event_id} ({event.type})" if event is not None else ""
        raise InvalidAppend(f"{what}{owner} is not JSON-serialisable: {error}") from error


def check_feed_args(after_position: int, limit: int) -> None:
    """Raise `ValueError` unless `after_position` >= 0 and `limit` >= 1."""
    if after_position < 0:
        raise ValueError(f"after_position must be >= 0, got {after_position}")
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
