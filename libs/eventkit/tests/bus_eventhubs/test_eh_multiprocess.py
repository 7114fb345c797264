"""Consumer processes sharing one consumer group: they split the partitions, and survive kill -9."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from eventkit.bus.eventhubs import CheckpointStore, EmbeddedEventHubs, EventData, EventProcessor

EventFactory = Callable[..., list[EventData]]
Spawn = Callable[..., subprocess.Popen[bytes]]


def handled_lines(out: Path) -> list[tuple[str, int, str]]:
    """(partition, sequence, message id) of every event the consumer writing `out` handled."""
    if not out.exists():
        return []
    rows = [line.split() for line in out.read_text().splitlines()]
    return [(partition, int(sequence), message_id) for partition, sequence, message_id in rows]


def live_shares(namespace: EmbeddedEventHubs, hub: str) -> dict[str, list[str]]:
    shares: dict[str, list[str]] = {}
    for record in CheckpointStore(namespace).list_ownership(hub, "$Default"):
        if record.expires_at > namespace.clock():
            shares.setdefault(record.owner_id, []).append(record.partition_id)
    return shares


def keyed_events(count: int) -> list[EventData]:
    return [
        EventData(body=b"{}", message_id=uuid.uuid4().hex, partition_key=uuid.uuid4().hex)
        for _ in range(count)
    ]


def test_two_consumer_processes_split_the_partitions_and_read_every_event_once(
    namespace: EmbeddedEventHubs, hub: str, tmp_path: Path, spawn_consumer: Spawn, wait_until: Any
) -> None:
    outs = {owner: tmp_path / f"{owner}.log" for owner in ("left", "right")}
    consumers = [spawn_consumer(hub, owner, out) for owner, out in outs.items()]
    wait_until(
        lambda: sorted(len(share) for share in live_shares(namespace, hub).values()) == [2, 2],
        what="both consumers to own two partitions",
    )
    split_at = max(
        record.last_modified_time for record in CheckpointStore(namespace).list_ownership(hub, "$Default")
    )
    wait_until(
        lambda: all(
            r.last_modified_time > split_at
            for r in CheckpointStore(namespace).list_ownership(hub, "$Default")
        ),
        what="both consumers to renew after the split (so each knows its share)",
    )
    sent = keyed_events(400)
    for start in range(0, len(sent), 50):
        namespace.send(hub, sent[start : start + 50])
    wait_until(
        lambda: sum(len(handled_lines(out)) for out in outs.values()) >= len(sent), what="every event handled"
    )
    for consumer in consumers:
        consumer.send_signal(signal.SIGTERM)
    assert [consumer.wait(timeout=20) for consumer in consumers] == [0, 0]

    by_owner = {owner: handled_lines(out) for owner, out in outs.items()}
    handled = Counter(message_id for lines in by_owner.values() for _, _, message_id in lines)
    assert handled == Counter(event.message_id for event in sent)
    left_partitions = {partition for partition, _, _ in by_owner["left"]}
    right_partitions = {partition for partition, _, _ in by_owner["right"]}
    assert left_partitions and right_partitions
    assert left_partitions.isdisjoint(right_partitions)


def test_a_consumer_killed_before_checkpointing_is_replayed_from_the_checkpoint_by_the_next_owner(
    namespace: EmbeddedEventHubs, hub: str, tmp_path: Path, spawn_consumer: Spawn, wait_until: Any
) -> None:
    sent = keyed_events(200)
    namespace.send(hub, sent)
    killed_out = tmp_path / "killed.log"
    killed = spawn_consumer(hub, "doomed", killed_out, kill_after_batches=5, batch_size=10, ownership_ttl=1.0)
    assert killed.wait(timeout=20) == -signal.SIGKILL
    before_crash = handled_lines(killed_out)
    assert len(before_crash) == 50
    last_batch = before_crash[-10:]  # handled, never checkpointed

    successor_lines: list[tuple[str, int, str]] = []
    successor = EventProcessor(
        namespace,
        hub,
        lambda context, events: successor_lines.extend(
            (context.partition_id, event.sequence_number, str(event.message_id)) for event in events
        ),
        owner_id="successor",
        max_batch_size=10,
        load_balancing_interval=timedelta(seconds=0.1),
        ownership_expiration=timedelta(seconds=1),
    )
    successor.start()
    everything = {event.message_id for event in sent}
    try:
        wait_until(
            lambda: {line[2] for line in [*before_crash, *successor_lines]} == everything,
            timeout=20,
            what="the successor to handle every event the killed consumer left",
        )
    finally:
        successor.stop()

    handled = Counter(message_id for _, _, message_id in before_crash + successor_lines)
    assert set(handled) == {event.message_id for event in sent}, "an event was lost"
    twice = {message_id for message_id, count in handled.items() if count > 1}
    assert twice == {message_id for _, _, message_id in last_batch}
    assert all(count <= 2 for count in handled.values())


def test_processes_sending_at_once_to_one_partition_get_one_contiguous_sequence(
    namespace: EmbeddedEventHubs, hub: str, db_path: Path
) -> None:
    sender = (
        "import sys, uuid\n"
        "from eventkit.bus.eventhubs import EmbeddedEventHubs, EventData\n"
        "namespace = EmbeddedEventHubs(sys.argv[1])\n"
        "for batch in range(20):\n"
        "    events = [EventData(b'x', message_id=f'{sys.argv[3]}-{batch}-{i}') for i in range(25)]\n"
        "    namespace.send(sys.argv[2], events, partition_id='0')\n"
    )
    senders = [
        subprocess.Popen([sys.executable, "-c", sender, str(db_path), hub, name])
        for name in ("north", "south")
    ]
    assert [process.wait(timeout=30) for process in senders] == [0, 0]
    events = namespace.receive(hub, "$Default", "0", "-1", max_batch_size=10_000)
    assert [event.sequence_number for event in events] == list(range(1000))
    assert len({event.message_id for event in events}) == 1000
    for name in ("north", "south"):  # each sender's batches stay whole and in its own order
        mine = [event.sequence_number for event in events if str(event.message_id).startswith(name)]
        assert all(mine[i] + 1 == mine[i + 1] for i in range(len(mine) - 1) if (i + 1) % 25)
        assert mine == sorted(mine)
