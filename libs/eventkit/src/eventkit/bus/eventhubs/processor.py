"""An event processor: what the Functions host runs behind an Event Hubs trigger.

For one (hub, consumer group, owner) it claims a fair share of the partitions, reads batches
of up to `max_batch_size` events, hands each batch to the handler and checkpoints after every
`batch_checkpoint_frequency` batches (Functions: after each invocation). Another processor on
the same consumer group, in any process, splits the partitions with it; when one is killed,
the others take its partitions once its ownership expires and resume after the last
checkpoint, so events handled but not checkpointed are delivered again (at-least-once).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from eventkit.bus.eventhubs.checkpoints import CheckpointStore
from eventkit.bus.eventhubs.model import DEFAULT_CONSUMER_GROUP, ReceivedEvent
from eventkit.bus.eventhubs.namespace import EmbeddedEventHubs
from eventkit.bus.eventhubs.positions import EventPosition
from eventkit.bus.eventhubs.reader import PartitionReader

logger = logging.getLogger(__name__)

DEFAULT_MAX_BATCH_SIZE = 100
"""host.json `maxEventBatchSize` default (Event Hubs extension 6.x, Functions v4)."""

DEFAULT_LOAD_BALANCING_INTERVAL = timedelta(seconds=10)
"""How often ownership is renewed and rebalanced (.NET `LoadBalancingUpdateInterval`)."""

DEFAULT_OWNERSHIP_EXPIRATION = timedelta(seconds=30)
"""How long a silent owner keeps its partitions (.NET `PartitionOwnershipExpirationInterval`)."""

_IDLE_FIRST_SLEEP = 0.001
_IDLE_MAX_SLEEP = 0.05


@dataclass(frozen=True, slots=True)
class PartitionContext:
    """Which partition a batch came from, and for whom (Azure's `PartitionContext`)."""

    fully_qualified_namespace: str
    eventhub_name: str
    consumer_group: str
    partition_id: str
    owner_id: str


BatchHandler = Callable[[PartitionContext, Sequence[ReceivedEvent]], None]
ErrorHandler = Callable[[PartitionContext, Exception], None]


class _OwnedPartition:
    def __init__(self, reader: PartitionReader, context: PartitionContext) -> None:
        self.reader = reader
        self.context = context
        self.uncheckpointed: ReceivedEvent | None = None
        self.batches_since_checkpoint = 0


class EventProcessor:
    """Consumes one hub for one consumer group as owner `owner_id`, sharing partitions with peers.

    A partition without a checkpoint starts at `initial_position` (host.json
    `initialOffsetOptions`, default fromStart). A handler exception is logged and passed to
    `on_error`, and the batch is still checkpointed: the Functions host does the same, so a
    retry policy, if wanted, belongs around the handler. Blocking calls poll with a short
    sleep that backs off to 50 ms; nothing spins.
    """

    def __init__(
        self,
        namespace: EmbeddedEventHubs,
        hub: str,
        handler: BatchHandler,
        *,
        consumer_group: str = DEFAULT_CONSUMER_GROUP,
        owner_id: str | None = None,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
        initial_position: EventPosition | None = None,
        batch_checkpoint_frequency: int = 1,
        load_balancing_interval: timedelta = DEFAULT_LOAD_BALANCING_INTERVAL,
        ownership_expiration: timedelta = DEFAULT_OWNERSHIP_EXPIRATION,
        on_error: ErrorHandler | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        if batch_checkpoint_frequency < 1:
            raise ValueError(
                f"batch_checkpoint_frequency must be at least 1, got {batch_checkpoint_frequency}"
            )
        if ownership_expiration <= load_balancing_interval:
            raise ValueError(
                f"ownership_expiration ({ownership_expiration}) must exceed load_balancing_interval"
                f" ({load_balancing_interval}), or owners lose partitions between renewals"
            )
        self._namespace = namespace
        self._checkpoints = CheckpointStore(namespace)
        self.hub = namespace.hub(hub).name
        namespace.require_consumer_group(namespace.hub(hub), consumer_group)
        self.consumer_group = consumer_group
        self.owner_id = owner_id or str(uuid.uuid4())
        self._handler = handler
        self._on_error = on_error
        self._max_batch_size = max_batch_size
        self._initial_position = initial_position or EventPosition.earliest()
        self._checkpoint_frequency = batch_checkpoint_frequency
        self._balance_every = load_balancing_interval.total_seconds()
        self._ownership_expiration = ownership_expiration
        self._owned: dict[str, _OwnedPartition] = {}
        self._next_balance = 0.0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def owned_partitions(self) -> tuple[str, ...]:
        """Partition ids this processor reads now, as of its last load-balancing cycle."""
        return tuple(sorted(self._owned, key=int))

    def run_once(self) -> int:
        """Rebalance if due, then hand one batch per owned partition to the handler; return events handled."""
        if time.monotonic() >= self._next_balance:
            self._balance()
        handled = 0
        for owned in list(self._owned.values()):
            events = owned.reader.receive(self._max_batch_size)
            if not events:
                continue
            try:
                self._handler(owned.context, events)
            except Exception as error:  # the host logs and moves on, as Functions does
                logger.exception(
                    "handler failed on %s/%s partition %s (sequence %d..%d)",
                    self.hub, self.consumer_group, owned.context.partition_id,
                    events[0].sequence_number, events[-1].sequence_number,
                )  # fmt: skip
                if self._on_error is not None:
                    self._on_error(owned.context, error)
            handled += len(events)
            owned.uncheckpointed = events[-1]
            owned.batches_since_checkpoint += 1
            if owned.batches_since_checkpoint >= self._checkpoint_frequency:
                self._checkpoint(owned)
        return handled

    def run(self) -> None:
        """Process until `stop()`; then checkpoint what was handled and release the partitions."""
        pause = _IDLE_FIRST_SLEEP
        try:
            while not self._stopping.is_set():
                if self.run_once():
                    pause = _IDLE_FIRST_SLEEP
                    continue
                wait = min(pause, max(self._next_balance - time.monotonic(), 0.0))
                self._stopping.wait(wait)
                pause = min(pause * 2, _IDLE_MAX_SLEEP)
        finally:
            self.close()

    def start(self) -> None:
        """Run in a daemon thread. Raises `RuntimeError` if already started."""
        if self._thread is not None:
            raise RuntimeError(f"processor {self.owner_id} is already running")
        self._thread = threading.Thread(
            target=self.run, name=f"eventhubs-{self.hub}-{self.owner_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Ask `run` to finish after the current batch, and wait for the thread `start` began."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def close(self) -> None:
        """Checkpoint handled events and give up ownership, so peers take over at once. Idempotent."""
        for owned in self._owned.values():
            self._checkpoint(owned)
        self._owned.clear()
        self._checkpoints.release_partitions(self.hub, self.consumer_group, self.owner_id)

    def _checkpoint(self, owned: _OwnedPartition) -> None:
        event = owned.uncheckpointed
        if event is None:
            return
        self._checkpoints.update_checkpoint(
            self.hub, self.consumer_group, event.partition_id, event.sequence_number, event.offset
        )
        owned.uncheckpointed = None
        owned.batches_since_checkpoint = 0

    def _balance(self) -> None:
        claimed = set(
            self._checkpoints.claim_partitions(
                self.hub, self.consumer_group, self.owner_id, self._ownership_expiration
            )
        )
        for partition_id in list(self._owned):
            if partition_id not in claimed:
                logger.info("%s lost partition %s of %s", self.owner_id, partition_id, self.hub)
                del self._owned[partition_id]
        for partition_id in claimed - set(self._owned):
            checkpoint = self._checkpoints.get_checkpoint(self.hub, self.consumer_group, partition_id)
            start = (
                self._initial_position
                if checkpoint is None
                else EventPosition.from_sequence_number(checkpoint.sequence_number)
            )
            reader = PartitionReader(self._namespace, self.hub, self.consumer_group, partition_id, start)
            context = PartitionContext(
                self._namespace.fully_qualified_namespace,
                self.hub,
                self.consumer_group,
                partition_id,
                self.owner_id,
            )
            self._owned[partition_id] = _OwnedPartition(reader, context)
        self._next_balance = time.monotonic() + self._balance_every
