"""Checkpoints, partition ownership, and the event processor that uses both."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest

from eventkit.bus.eventhubs import (
    CheckpointStore,
    EmbeddedEventHubs,
    EventData,
    EventPosition,
    EventProcessor,
    PartitionContext,
    ReceivedEvent,
)

EventFactory = Callable[..., list[EventData]]
TTL = timedelta(seconds=30)


class Recorder:
    """A batch handler that remembers every batch it was given."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[str]]] = []

    def __call__(self, context: PartitionContext, events: Sequence[ReceivedEvent]) -> None:
        self.batches.append((context.partition_id, [str(event.message_id) for event in events]))

    @property
    def handled(self) -> list[str]:
        return [message_id for _, batch in self.batches for message_id in batch]


def processor_for(namespace: EmbeddedEventHubs, hub: str, handler: Any, **options: Any) -> EventProcessor:
    options.setdefault("load_balancing_interval", timedelta(seconds=10))
    return EventProcessor(namespace, hub, handler, **options)


def drain(processor: EventProcessor) -> None:
    """Run cycles until one finds nothing to hand to the handler."""
    while processor.run_once():
        pass


def test_checkpoints_are_kept_per_consumer_group_and_the_last_write_wins(
    namespace: EmbeddedEventHubs, hub: str
) -> None:
    namespace.create_consumer_group(hub, "reporting")
    store = CheckpointStore(namespace)
    store.update_checkpoint(hub, "$Default", "1", 4, "400")
    store.update_checkpoint(hub, "$Default", "1", 9, "900")
    store.update_checkpoint(hub, "reporting", "2", 1, "100")
    (default,) = store.list_checkpoints(hub, "$Default")
    assert (default.partition_id, default.sequence_number, default.offset) == ("1", 9, "900")
    assert (default.eventhub_name, default.consumer_group) == (hub, "$Default")
    assert [(c.partition_id, c.sequence_number) for c in store.list_checkpoints(hub, "reporting")] == [
        ("2", 1)
    ]
    assert store.get_checkpoint(hub, "reporting", "1") is None


def test_a_processor_resumes_after_the_checkpoint_and_delivers_nothing_twice_after_a_clean_stop(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    before, after = make_events(30, key="a"), make_events(20, key="a")
    namespace.send(hub, before)
    first = Recorder()
    processor = processor_for(namespace, hub, first, owner_id="first")
    drain(processor)
    processor.close()
    namespace.send(hub, after)
    second = Recorder()
    drain(processor_for(namespace, hub, second, owner_id="second"))
    assert first.handled == [event.message_id for event in before]
    assert second.handled == [event.message_id for event in after]


def test_without_a_checkpoint_a_processor_starts_at_its_initial_position(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    namespace.send(hub, make_events(5, key="k"))
    recorder = Recorder()
    processor = processor_for(namespace, hub, recorder, initial_position=EventPosition.latest())
    drain(processor)
    assert recorder.handled == []
    later = make_events(2, key="k")
    namespace.send(hub, later)
    drain(processor)
    assert recorder.handled == [event.message_id for event in later]


def test_batches_never_exceed_max_batch_size(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    namespace.send(hub, make_events(250), partition_id="0")
    recorder = Recorder()
    drain(processor_for(namespace, hub, recorder))
    assert [len(batch) for _, batch in recorder.batches] == [100, 100, 50]


def test_checkpoints_follow_batch_checkpoint_frequency(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    namespace.send(hub, make_events(30), partition_id="3")
    processor = processor_for(namespace, hub, Recorder(), max_batch_size=10, batch_checkpoint_frequency=2)
    store = CheckpointStore(namespace)
    positions = []
    while processor.run_once():
        checkpoint = store.get_checkpoint(hub, "$Default", "3")
        positions.append(None if checkpoint is None else checkpoint.sequence_number)
    assert positions == [None, 19, 19]
    processor.close()
    checkpoint = store.get_checkpoint(hub, "$Default", "3")
    assert checkpoint is not None and checkpoint.sequence_number == 29


def test_a_failing_handler_is_reported_and_its_batch_still_checkpointed_as_functions_does(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    namespace.send(hub, make_events(3), partition_id="2")
    errors: list[tuple[str, str]] = []

    def fail(context: PartitionContext, events: Sequence[ReceivedEvent]) -> None:
        raise RuntimeError("boom")

    processor = processor_for(
        namespace, hub, fail, on_error=lambda ctx, error: errors.append((ctx.partition_id, str(error)))
    )
    drain(processor)
    assert errors == [("2", "boom")]
    checkpoint = CheckpointStore(namespace).get_checkpoint(hub, "$Default", "2")
    assert checkpoint is not None and checkpoint.sequence_number == 2


def test_owners_split_partitions_fairly(clocked_namespace: EmbeddedEventHubs) -> None:
    hub = f"hub-{uuid.uuid4().hex[:8]}"
    clocked_namespace.create_event_hub(hub, partition_count=5)
    store = CheckpointStore(clocked_namespace)
    assert store.claim_partitions(hub, "$Default", "a", TTL) == ["0", "1", "2", "3", "4"]
    assert len(store.claim_partitions(hub, "$Default", "b", TTL)) == 2
    assert len(store.claim_partitions(hub, "$Default", "a", TTL)) == 3
    assert len(store.claim_partitions(hub, "$Default", "c", TTL)) == 1
    shares = {owner: store.claim_partitions(hub, "$Default", owner, TTL) for owner in ("a", "b", "c")}
    assert sorted(len(share) for share in shares.values()) == [1, 2, 2]
    assert sorted(pid for share in shares.values() for pid in share) == ["0", "1", "2", "3", "4"]


def test_an_expired_owner_loses_its_partitions_and_a_released_one_frees_them_at_once(
    clocked_namespace: EmbeddedEventHubs, clock: Any
) -> None:
    hub = f"hub-{uuid.uuid4().hex[:8]}"
    clocked_namespace.create_event_hub(hub, partition_count=4)
    store = CheckpointStore(clocked_namespace)
    store.claim_partitions(hub, "$Default", "a", TTL)
    store.claim_partitions(hub, "$Default", "b", TTL)
    clock.advance(TTL - timedelta(seconds=1))
    assert len(store.claim_partitions(hub, "$Default", "b", TTL)) == 2
    clock.advance(timedelta(seconds=2))  # a never renewed: its records expired
    assert store.claim_partitions(hub, "$Default", "b", TTL) == ["0", "1", "2", "3"]
    store.claim_partitions(hub, "$Default", "a", TTL)
    store.release_partitions(hub, "$Default", "b")
    assert store.claim_partitions(hub, "$Default", "a", TTL) == ["0", "1", "2", "3"]
    assert {record.owner_id for record in store.list_ownership(hub, "$Default")} == {"a"}


def test_a_processor_stops_reading_a_partition_taken_from_it(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    recorder = Recorder()
    processor = processor_for(namespace, hub, recorder, owner_id="a", load_balancing_interval=timedelta(0))
    processor.run_once()
    assert processor.owned_partitions == ("0", "1", "2", "3")
    taken = CheckpointStore(namespace).claim_partitions(hub, "$Default", "b", TTL)
    namespace.send(hub, make_events(4), partition_id=taken[0])
    processor.run_once()
    assert set(processor.owned_partitions).isdisjoint(taken)
    assert recorder.handled == []


def test_processor_settings_that_cannot_work_are_refused(namespace: EmbeddedEventHubs, hub: str) -> None:
    with pytest.raises(ValueError, match="ownership_expiration"):
        EventProcessor(namespace, hub, Recorder(), ownership_expiration=timedelta(seconds=5))
    with pytest.raises(ValueError, match="max_batch_size"):
        EventProcessor(namespace, hub, Recorder(), max_batch_size=0)
