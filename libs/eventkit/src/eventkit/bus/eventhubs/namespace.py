"""The embedded Event Hubs namespace: hubs, consumer groups, partitions, send and receive.

One SQLite file is one namespace; every process that opens the same file sees the same hubs,
events, checkpoints and ownership. Semantics and defaults follow Azure Event Hubs; the
differences are listed in docs/adr/0005-embedded-event-hubs.md.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from eventkit.bus.eventhubs.errors import (
    ConsumerGroupNotFoundError,
    EventHubConflictError,
    EventHubNotFoundError,
    PartitionNotFoundError,
)
from eventkit.bus.eventhubs.model import (
    DEFAULT_CONSUMER_GROUP,
    DEFAULT_MESSAGE_RETENTION,
    DEFAULT_PARTITION_COUNT,
    EventData,
    EventHubProperties,
    PartitionProperties,
    ReceivedEvent,
    from_epoch_ms,
    to_epoch_ms,
    utc_now,
)
from eventkit.bus.eventhubs.partitioning import partition_for_key
from eventkit.bus.eventhubs.positions import EventPosition, PositionKind
from eventkit.bus.eventhubs.records import (
    INSERT_EVENT,
    SELECT_EVENTS,
    EventRow,
    HubInfo,
    SentEvent,
    check_entity_name,
    event_fields,
    received_event,
)
from eventkit.bus.eventhubs.store import NamespaceStore
from eventkit.publisher import TransportMessage

Clock = Callable[[], datetime]

_MAX_PARTITIONS = 1024
_POLL_FIRST_SLEEP = 0.001
_POLL_MAX_SLEEP = 0.05


class EmbeddedEventHubs:
    """An Event Hubs namespace stored in the SQLite file at `path` (e.g. `<state>/eventhubs.db`).

    `clock` stamps enqueued times and ownership expiry (inject one in tests); it must return
    timezone-aware UTC datetimes. Thread-safe; open one instance per process.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fully_qualified_namespace: str = "localhost",
        clock: Clock = utc_now,
    ) -> None:
        self.store = NamespaceStore(path)
        self.fully_qualified_namespace = fully_qualified_namespace
        self.clock = clock
        self._hubs: dict[str, HubInfo] = {}
        self._round_robin = itertools.count(random.randrange(_MAX_PARTITIONS))

    def now_ms(self) -> int:
        """The injected clock, in epoch milliseconds."""
        return to_epoch_ms(self.clock())

    def close(self) -> None:
        """Close the file. Idempotent."""
        self.store.close()

    def __enter__(self) -> EmbeddedEventHubs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ admin

    def create_event_hub(
        self,
        name: str,
        partition_count: int = DEFAULT_PARTITION_COUNT,
        message_retention: timedelta = DEFAULT_MESSAGE_RETENTION,
    ) -> EventHubProperties:
        """Create the hub with its `$Default` consumer group if missing; return its properties.

        Idempotent. An existing hub keeps its partitions (raises `EventHubConflictError` when
        `partition_count` differs, as Azure cannot shrink or re-hash a hub) and takes the new
        retention. Raises `EntityNameError` for a bad name, `ValueError` for a partition count
        outside 1..1024 or a retention under one second.
        """
        check_entity_name("event hub", name)
        if not 1 <= partition_count <= _MAX_PARTITIONS:
            raise ValueError(f"partition_count must be 1..{_MAX_PARTITIONS}, got {partition_count}")
        retention_seconds = int(message_retention.total_seconds())
        if retention_seconds < 1:
            raise ValueError(f"message_retention must be at least one second, got {message_retention}")
        with self.store.write() as db:
            row = db.execute("SELECT hub_id, partition_count FROM hubs WHERE name = ?", (name,)).fetchone()
            if row is not None:
                if row[1] != partition_count:
                    raise EventHubConflictError(
                        f"event hub {name!r} exists with {row[1]} partitions; {partition_count} requested"
                    )
                db.execute(
                    "UPDATE hubs SET retention_seconds = ? WHERE hub_id = ?", (retention_seconds, row[0])
                )
            else:
                now = self.now_ms()
                hub_id = db.execute(
                    "INSERT INTO hubs (name, partition_count, retention_seconds, created_ms)"
                    " VALUES (?, ?, ?, ?)",
                    (name, partition_count, retention_seconds, now),
                ).lastrowid
                db.executemany(
                    "INSERT INTO partitions VALUES (?, ?, 0, 0, -1, NULL)",
                    [(hub_id, index) for index in range(partition_count)],
                )
                db.execute(
                    "INSERT INTO consumer_groups VALUES (?, ?, ?)", (hub_id, DEFAULT_CONSUMER_GROUP, now)
                )
        return self.get_eventhub_properties(name)

    def list_event_hubs(self) -> list[str]:
        """Names of every hub in the namespace, sorted."""
        with self.store.read() as db:
            return [name for (name,) in db.execute("SELECT name FROM hubs ORDER BY name")]

    def get_eventhub_properties(self, name: str) -> EventHubProperties:
        """Name, creation time, partition ids ("0".."n-1") and retention. Raises `EventHubNotFoundError`."""
        with self.store.read() as db:
            row = db.execute(
                "SELECT name, created_ms, partition_count, retention_seconds FROM hubs WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None:
            raise EventHubNotFoundError(f"event hub {name!r} does not exist in {self.store.path}")
        return EventHubProperties(
            name=row[0],
            created_at=from_epoch_ms(row[1]),
            partition_ids=tuple(str(index) for index in range(row[2])),
            message_retention=timedelta(seconds=row[3]),
        )

    def get_partition_ids(self, hub: str) -> list[str]:
        return [str(index) for index in range(self.hub(hub).partition_count)]

    def create_consumer_group(self, hub: str, name: str) -> None:
        """Create the consumer group if missing (idempotent). Raises `EventHubNotFoundError`."""
        check_entity_name("consumer group", name)
        hub_id = self.hub(hub).hub_id
        with self.store.write() as db:
            db.execute(
                "INSERT OR IGNORE INTO consumer_groups VALUES (?, ?, ?)", (hub_id, name, self.now_ms())
            )

    def list_consumer_groups(self, hub: str) -> list[str]:
        """Consumer groups of the hub, `$Default` included, sorted."""
        hub_id = self.hub(hub).hub_id
        with self.store.read() as db:
            rows = db.execute("SELECT name FROM consumer_groups WHERE hub_id = ? ORDER BY name", (hub_id,))
            return [name for (name,) in rows]

    def partition_properties(self, hub: str, partition_id: str) -> PartitionProperties:
        """Bounds of one partition now. Raises `EventHubNotFoundError`, `PartitionNotFoundError`."""
        info = self.hub(hub)
        partition = self.partition_index(info, partition_id)
        with self.store.read() as db:
            next_sequence, last_offset, last_ms, first = db.execute(
                "SELECT next_sequence, last_offset, last_enqueued_ms,"
                " (SELECT MIN(sequence) FROM events e"
                "  WHERE e.hub_id = p.hub_id AND e.partition = p.partition)"
                " FROM partitions p WHERE hub_id = ? AND partition = ?",
                (info.hub_id, partition),
            ).fetchone()
        return PartitionProperties(
            eventhub_name=info.name,
            id=str(partition),
            beginning_sequence_number=next_sequence if first is None else first,
            last_enqueued_sequence_number=next_sequence - 1,
            last_enqueued_offset=str(last_offset),
            last_enqueued_time_utc=None if last_ms is None else from_epoch_ms(last_ms),
            is_empty=first is None,
        )

    def hub(self, name: str) -> HubInfo:
        """The hub's id and partition count (cached: hubs are never deleted or re-partitioned)."""
        cached = self._hubs.get(name.lower())
        if cached is not None:
            return cached
        with self.store.read() as db:
            row = db.execute(
                "SELECT hub_id, name, partition_count FROM hubs WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            raise EventHubNotFoundError(f"event hub {name!r} does not exist in {self.store.path}")
        info = HubInfo(hub_id=row[0], name=row[1], partition_count=row[2])
        self._hubs[name.lower()] = info
        return info

    def partition_index(self, hub: HubInfo, partition_id: str) -> int:
        """The partition number of `partition_id`, or `PartitionNotFoundError`."""
        if not (
            partition_id.isdigit()
            and int(partition_id) < hub.partition_count
            and str(int(partition_id)) == partition_id
        ):
            raise PartitionNotFoundError(
                f"partition {partition_id!r} does not exist in event hub {hub.name!r}"
                f" (ids are '0'..'{hub.partition_count - 1}')"
            )
        return int(partition_id)

    def require_consumer_group(self, hub: HubInfo, consumer_group: str) -> None:
        """Raise `ConsumerGroupNotFoundError` unless the hub has the consumer group."""
        with self.store.read() as db:
            row = db.execute(
                "SELECT 1 FROM consumer_groups WHERE hub_id = ? AND name = ?", (hub.hub_id, consumer_group)
            ).fetchone()
        if row is None:
            raise ConsumerGroupNotFoundError(
                f"consumer group {consumer_group!r} does not exist on event hub {hub.name!r}"
            )

    # ------------------------------------------------------------------ send

    def send(
        self,
        hub: str,
        events: Iterable[EventData | TransportMessage],
        *,
        partition_key: str | None = None,
        partition_id: str | None = None,
    ) -> list[SentEvent]:
        """Append `events` atomically (all or none) and return where each went, in input order.

        Routing per event: `partition_id` if given; else the batch `partition_key`; else the
        event's own partition key (a `TransportMessage.partition_key`), hashed as the gateway
        does; else one round-robin partition shared by every keyless event of the batch (as
        Azure sends a keyless batch to one partition). Sequence numbers are contiguous per
        partition from 0; enqueued times never go backwards within a partition.
        Raises `ValueError` when both `partition_key` and `partition_id` are given, or when
        `partition_id` is given for an event carrying its own partition key;
        `EventTooLargeError` for a body over 1 MB; `EventHubNotFoundError`; `PartitionNotFoundError`.
        """
        if partition_key is not None and partition_id is not None:
            raise ValueError("give partition_key or partition_id, not both")
        info = self.hub(hub)
        fixed = None if partition_id is None else self.partition_index(info, partition_id)
        keyless = next(self._round_robin) % info.partition_count
        by_partition: dict[int, list[EventRow]] = {}
        routed: list[int] = []
        for event in events:
            fields = event_fields(event)
            own_key = fields[5]
            if fixed is not None:
                if own_key is not None:
                    raise ValueError(
                        f"event {fields[3]!r} has partition key {own_key!r} and partition_id was given"
                    )
                partition = fixed
            else:
                key = partition_key if partition_key is not None else own_key
                partition = keyless if key is None else partition_for_key(key, info.partition_count)
                if partition_key is not None:
                    fields = (*fields[:5], partition_key)
            by_partition.setdefault(partition, []).append(fields)
            routed.append(partition)
        if not routed:
            return []
        first_sequence = self._append(info, by_partition)
        counters = dict(first_sequence)
        sent: list[SentEvent] = []
        for partition in routed:
            sent.append(SentEvent(str(partition), counters[partition]))
            counters[partition] += 1
        return sent

    def _append(
        self,
        info: HubInfo,
        by_partition: dict[int, list[EventRow]],
    ) -> dict[int, int]:
        first_sequence: dict[int, int] = {}
        with self.store.write() as db:
            now = self.now_ms()
            for partition, items in by_partition.items():
                next_sequence, next_offset, last_ms = db.execute(
                    "SELECT next_sequence, next_offset, last_enqueued_ms FROM partitions"
                    " WHERE hub_id = ? AND partition = ?",
                    (info.hub_id, partition),
                ).fetchone()
                enqueued = now if last_ms is None or now > last_ms else last_ms
                first_sequence[partition] = next_sequence
                rows = []
                offset = last_offset = next_offset
                sequence = next_sequence
                for body, properties, content_type, message_id, correlation_id, key in items:
                    rows.append(
                        (info.hub_id, partition, sequence, offset, enqueued, body, properties,
                         content_type, message_id, correlation_id, key)
                    )  # fmt: skip
                    last_offset = offset
                    offset += len(body) + (len(properties) if properties else 0) + 1
                    sequence += 1
                db.executemany(INSERT_EVENT, rows)
                db.execute(
                    "UPDATE partitions"
                    " SET next_sequence = ?, next_offset = ?, last_offset = ?, last_enqueued_ms = ?"
                    " WHERE hub_id = ? AND partition = ?",
                    (sequence, offset, last_offset, enqueued, info.hub_id, partition),
                )
        return first_sequence

    # ------------------------------------------------------------------ receive

    def resolve_position(self, hub: HubInfo, partition: int, position: EventPosition) -> int:
        """The first sequence number a reader starting at `position` may receive."""
        if position.kind is PositionKind.EARLIEST:
            return 0
        if position.kind is PositionKind.SEQUENCE_NUMBER:
            assert isinstance(position.value, int)
            return position.value if position.inclusive else position.value + 1
        with self.store.read() as db:
            if position.kind is PositionKind.LATEST:
                row = None
            elif position.kind is PositionKind.OFFSET:
                assert isinstance(position.value, int)
                row = db.execute(
                    "SELECT MIN(sequence) FROM events WHERE hub_id = ? AND partition = ? AND byte_offset"
                    + (" >= ?" if position.inclusive else " > ?"),
                    (hub.hub_id, partition, position.value),
                ).fetchone()
            else:
                assert isinstance(position.value, datetime)
                row = db.execute(
                    "SELECT MIN(sequence) FROM events WHERE hub_id = ? AND partition = ? AND enqueued_ms"
                    + (" >= ?" if position.inclusive else " > ?"),
                    (hub.hub_id, partition, to_epoch_ms(position.value)),
                ).fetchone()
            if row is not None and row[0] is not None:
                return int(row[0])
            (next_sequence,) = db.execute(
                "SELECT next_sequence FROM partitions WHERE hub_id = ? AND partition = ?",
                (hub.hub_id, partition),
            ).fetchone()
            return int(next_sequence)

    def read_from(
        self,
        hub: HubInfo,
        partition: int,
        first_sequence: int,
        max_batch_size: int,
        max_wait_time: float | None,
    ) -> list[ReceivedEvent]:
        """Up to `max_batch_size` events with sequence >= `first_sequence`, oldest first.

        Returns as soon as at least one is there; otherwise polls (1 ms doubling to 50 ms)
        until `max_wait_time` seconds pass (None or 0: do not wait) and returns [].
        """
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        deadline = time.monotonic() + (max_wait_time or 0.0)
        pause = _POLL_FIRST_SLEEP
        partition_id = str(partition)
        while True:
            with self.store.read() as db:
                rows = db.execute(
                    SELECT_EVENTS, (hub.hub_id, partition, first_sequence, max_batch_size)
                ).fetchall()
            if rows:
                return [received_event(partition_id, row) for row in rows]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, _POLL_MAX_SLEEP)

    def receive(
        self,
        hub: str,
        consumer_group: str,
        partition_id: str,
        from_position: EventPosition | str | int | datetime,
        *,
        max_batch_size: int = 300,
        max_wait_time: float | None = None,
    ) -> list[ReceivedEvent]:
        """One read of a partition from `from_position` (Azure's spellings, see `EventPosition.parse`).

        Reading removes nothing: the log is the same for every consumer group and every call.
        For a reader that keeps its place between calls (and `@latest` that means "after I
        started"), use `PartitionReader`. Raises the lookup errors of unknown hub / group / partition.
        """
        info = self.hub(hub)
        partition = self.partition_index(info, partition_id)
        self.require_consumer_group(info, consumer_group)
        first = self.resolve_position(info, partition, EventPosition.parse(from_position))
        return self.read_from(info, partition, first, max_batch_size, max_wait_time)

    # ------------------------------------------------------------------ retention

    def trim(self, hub: str | None = None) -> int:
        """Drop events older than their hub's retention (one hub, or all); return how many.

        Sequence numbers and offsets of the remaining and future events are unchanged.
        """
        now = self.now_ms()
        with self.store.write() as db:
            hubs = db.execute("SELECT hub_id, name, retention_seconds FROM hubs").fetchall()
            if hub is not None:
                hubs = [row for row in hubs if row[1].lower() == hub.lower()]
                if not hubs:
                    raise EventHubNotFoundError(f"event hub {hub!r} does not exist in {self.store.path}")
            dropped = 0
            for hub_id, _name, retention_seconds in hubs:
                cursor = db.execute(
                    "DELETE FROM events WHERE hub_id = ? AND enqueued_ms < ?",
                    (hub_id, now - retention_seconds * 1000),
                )
                dropped += cursor.rowcount
        return dropped
