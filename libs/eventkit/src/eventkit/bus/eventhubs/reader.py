"""A reader that keeps its place in one partition, like Azure's partition receiver."""

from __future__ import annotations

from datetime import datetime

from eventkit.bus.eventhubs.model import ReceivedEvent
from eventkit.bus.eventhubs.namespace import EmbeddedEventHubs
from eventkit.bus.eventhubs.positions import EventPosition


class PartitionReader:
    """Reads one partition for one consumer group, from `start` onwards, batch after batch.

    The start position is resolved once, when the reader is created: `@latest` means events
    enqueued after this reader started. Each `receive` continues after the last event it
    returned. Raises the namespace's lookup errors for an unknown hub, group or partition.
    """

    def __init__(
        self,
        namespace: EmbeddedEventHubs,
        hub: str,
        consumer_group: str,
        partition_id: str,
        start: EventPosition | str | int | datetime = "@latest",
    ) -> None:
        self._namespace = namespace
        self._hub = namespace.hub(hub)
        self._partition = namespace.partition_index(self._hub, partition_id)
        namespace.require_consumer_group(self._hub, consumer_group)
        self.consumer_group = consumer_group
        self.partition_id = partition_id
        self._next_sequence = namespace.resolve_position(
            self._hub, self._partition, EventPosition.parse(start)
        )

    @property
    def next_sequence_number(self) -> int:
        """The sequence number the next event returned will have, at the earliest."""
        return self._next_sequence

    def receive(self, max_batch_size: int = 300, max_wait_time: float | None = None) -> list[ReceivedEvent]:
        """Up to `max_batch_size` events after the previous batch; [] once `max_wait_time` seconds pass."""
        events = self._namespace.read_from(
            self._hub, self._partition, self._next_sequence, max_batch_size, max_wait_time
        )
        if events:
            self._next_sequence = events[-1].sequence_number + 1
        return events
