"""Checkpoints and partition ownership, kept in the namespace's own SQLite file.

The counterpart of Azure's `BlobCheckpointStore`: one checkpoint per (namespace, hub, consumer
group, partition), and ownership records with an owner id and an expiry that event processors
claim, renew and steal to split a consumer group's partitions between processes. Claims run in
one write transaction, so two processes never both win a partition.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from eventkit.bus.eventhubs.model import Checkpoint, Ownership, from_epoch_ms
from eventkit.bus.eventhubs.namespace import EmbeddedEventHubs


class CheckpointStore:
    """Checkpoints and ownership of the namespace `namespace` (same file, same connection)."""

    def __init__(self, namespace: EmbeddedEventHubs) -> None:
        self._namespace = namespace
        self._store = namespace.store

    def update_checkpoint(
        self, hub: str, consumer_group: str, partition_id: str, sequence_number: int, offset: str | int
    ) -> None:
        """Record that the group is done with `sequence_number` (and all before it) on the partition.

        Last write wins, as in Azure. A consumer starting without ownership of the partition
        resumes after this event. Raises the namespace's lookup errors and `ValueError` for a
        negative sequence number or a non-numeric offset.
        """
        info = self._namespace.hub(hub)
        partition = self._namespace.partition_index(info, partition_id)
        self._namespace.require_consumer_group(info, consumer_group)
        if sequence_number < 0:
            raise ValueError(f"sequence_number must be >= 0, got {sequence_number}")
        byte_offset = int(offset)
        with self._store.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?, ?)",
                (
                    info.hub_id,
                    consumer_group,
                    partition,
                    sequence_number,
                    byte_offset,
                    self._namespace.now_ms(),
                ),
            )

    def list_checkpoints(self, hub: str, consumer_group: str) -> list[Checkpoint]:
        """The group's checkpoints on the hub, by partition; partitions never checkpointed are absent."""
        info = self._namespace.hub(hub)
        with self._store.read() as db:
            rows = db.execute(
                "SELECT partition, sequence, byte_offset FROM checkpoints"
                " WHERE hub_id = ? AND consumer_group = ? ORDER BY partition",
                (info.hub_id, consumer_group),
            ).fetchall()
        return [
            Checkpoint(
                fully_qualified_namespace=self._namespace.fully_qualified_namespace,
                eventhub_name=info.name,
                consumer_group=consumer_group,
                partition_id=str(partition),
                sequence_number=sequence,
                offset=str(byte_offset),
            )
            for partition, sequence, byte_offset in rows
        ]

    def get_checkpoint(self, hub: str, consumer_group: str, partition_id: str) -> Checkpoint | None:
        """The partition's checkpoint for the group, or None if it never checkpointed."""
        for checkpoint in self.list_checkpoints(hub, consumer_group):
            if checkpoint.partition_id == partition_id:
                return checkpoint
        return None

    def list_ownership(self, hub: str, consumer_group: str) -> list[Ownership]:
        """Every ownership record of the group, live or expired (check `expires_at`)."""
        info = self._namespace.hub(hub)
        with self._store.read() as db:
            rows = db.execute(
                "SELECT partition, owner_id, modified_ms, expires_ms FROM ownership"
                " WHERE hub_id = ? AND consumer_group = ? AND owner_id != '' ORDER BY partition",
                (info.hub_id, consumer_group),
            ).fetchall()
        return [
            Ownership(
                fully_qualified_namespace=self._namespace.fully_qualified_namespace,
                eventhub_name=info.name,
                consumer_group=consumer_group,
                partition_id=str(partition),
                owner_id=owner_id,
                last_modified_time=from_epoch_ms(modified_ms),
                expires_at=from_epoch_ms(expires_ms),
            )
            for partition, owner_id, modified_ms, expires_ms in rows
        ]

    def claim_partitions(self, hub: str, consumer_group: str, owner_id: str, ttl: timedelta) -> list[str]:
        """Renew `owner_id`'s partitions, claim its fair share, and return the ids it owns now.

        Live owners are those with an unexpired record. With n partitions and k live owners
        (this one included) each owner's share is n // k, and n % k owners may hold one more.
        The owner first takes unowned or expired partitions, then steals one at a time from
        the owner holding the most, while that owner holds at least two more than it. Records
        it keeps or takes expire `ttl` from now; a crashed owner's partitions are free once
        its records expire. Raises the namespace's lookup errors, `ValueError` for an empty
        owner id or a non-positive ttl.
        """
        if not owner_id:
            raise ValueError("owner_id must not be empty")
        ttl_ms = int(ttl.total_seconds() * 1000)
        if ttl_ms <= 0:
            raise ValueError(f"ttl must be positive, got {ttl}")
        info = self._namespace.hub(hub)
        self._namespace.require_consumer_group(info, consumer_group)
        with self._store.write() as db:
            now = self._namespace.now_ms()
            live: dict[int, str] = {
                partition: owner
                for partition, owner in db.execute(
                    "SELECT partition, owner_id FROM ownership"
                    " WHERE hub_id = ? AND consumer_group = ? AND owner_id != '' AND expires_ms > ?",
                    (info.hub_id, consumer_group, now),
                )
            }
            mine = sorted(partition for partition, owner in live.items() if owner == owner_id)
            counts = Counter(owner for owner in live.values() if owner != owner_id)
            base, extra = divmod(info.partition_count, len(counts) + 1)
            others_above_base = sum(1 for count in counts.values() if count > base)
            target = base + 1 if others_above_base < extra else base
            free = [partition for partition in range(info.partition_count) if partition not in live]
            while len(mine) < target and free:
                mine.append(free.pop(0))
            while len(mine) < target and counts:
                victim, victim_count = counts.most_common(1)[0]
                if victim_count < len(mine) + 2:
                    break
                stolen = min(partition for partition, owner in live.items() if owner == victim)
                live[stolen] = owner_id
                counts[victim] -= 1
                mine.append(stolen)
            db.executemany(
                "INSERT OR REPLACE INTO ownership VALUES (?, ?, ?, ?, ?, ?)",
                [(info.hub_id, consumer_group, partition, owner_id, now, now + ttl_ms) for partition in mine],
            )
        return [str(partition) for partition in sorted(mine)]

    def release_partitions(self, hub: str, consumer_group: str, owner_id: str) -> None:
        """Give up every partition `owner_id` holds, so other owners take them at once (clean stop)."""
        info = self._namespace.hub(hub)
        with self._store.write() as db:
            db.execute(
                "UPDATE ownership SET owner_id = '', modified_ms = ?"
                " WHERE hub_id = ? AND consumer_group = ? AND owner_id = ?",
                (self._namespace.now_ms(), info.hub_id, consumer_group, owner_id),
            )
