"""One namespace file shared by several OS processes (multiprocessing, spawn), as devhost runs it."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from multiprocessing.context import SpawnContext
from multiprocessing.queues import Queue
from pathlib import Path
from queue import Empty

import pytest

from eventkit.bus.servicebus import EmbeddedServiceBus
from eventkit.bus.servicebus.testing import consume, hold_locks, produce

Names = Callable[[str], str]


@pytest.fixture
def spawn() -> SpawnContext:
    return multiprocessing.get_context("spawn")


@pytest.fixture
def shared(db_path: Path) -> Iterator[EmbeddedServiceBus]:
    """The test's own view of the namespace, on the real clock like the other processes."""
    with EmbeddedServiceBus(db_path) as bus:
        yield bus


def _collect(results: Queue[list[str]], expected: int, timeout: float = 30) -> list[str]:
    bodies: list[str] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < expected and time.monotonic() < deadline:
        bodies += results.get(timeout=max(0.1, deadline - time.monotonic()))
    return bodies


def test_a_consumer_process_receives_what_a_producer_process_sends(
    shared: EmbeddedServiceBus, db_path: Path, new_name: Names, spawn: SpawnContext
) -> None:
    queue = shared.create_queue(new_name("q")).name
    results: Queue[list[str]] = spawn.Queue()
    consumer = spawn.Process(target=consume, args=(db_path, queue, results, 10.0, 500))
    consumer.start()
    producer = spawn.Process(target=produce, args=(db_path, queue, 500, "p"))
    producer.start()
    bodies = _collect(results, 500)
    producer.join(30)
    consumer.join(30)
    assert (producer.exitcode, consumer.exitcode) == (0, 0)
    assert sorted(bodies) == sorted(f"p-{n}" for n in range(500))


def test_competing_consumer_processes_get_disjoint_messages_and_lose_none(
    shared: EmbeddedServiceBus, db_path: Path, new_name: Names, spawn: SpawnContext
) -> None:
    topic = shared.create_topic(new_name("t")).name
    shared.create_subscription(topic, "workers")
    path = f"{topic}/subscriptions/workers"
    produce(db_path, topic, 2000, "m")
    queues: list[Queue[list[str]]] = [spawn.Queue(), spawn.Queue()]
    start = spawn.Barrier(2)
    consumers = [spawn.Process(target=consume, args=(db_path, path, q, 1.0, None, start)) for q in queues]
    for process in consumers:
        process.start()
    per_consumer = [_drain_until_exit(q, p) for q, p in zip(queues, consumers, strict=True)]
    assert [p.exitcode for p in consumers] == [0, 0]
    first, second = (set(bodies) for bodies in per_consumer)
    assert sum(len(b) for b in per_consumer) == 2000
    assert first.isdisjoint(second)
    assert first | second == {f"m-{n}" for n in range(2000)}
    assert shared.runtime_properties(path).active_message_count == 0


def test_locks_of_a_killed_process_expire_and_another_process_completes_its_messages(
    shared: EmbeddedServiceBus, db_path: Path, new_name: Names, spawn: SpawnContext
) -> None:
    queue = shared.create_queue(new_name("q"), lock_duration=timedelta(seconds=1)).name
    produce(db_path, queue, 40, "k")
    locked = spawn.Event()
    holder = spawn.Process(target=hold_locks, args=(db_path, queue, 40, locked))
    holder.start()
    assert locked.wait(30), "the holder process never locked its messages"
    assert shared.receive(queue) == []
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    assert holder.exitcode == -signal.SIGKILL
    results: Queue[list[str]] = spawn.Queue()
    consumer = spawn.Process(target=consume, args=(db_path, queue, results, 10.0, 40))
    consumer.start()
    bodies = _collect(results, 40)
    consumer.join(30)
    assert sorted(bodies) == sorted(f"k-{n}" for n in range(40))
    assert shared.runtime_properties(queue).total_message_count == 0


def _drain_until_exit(results: Queue[list[str]], process: multiprocessing.process.BaseProcess) -> list[str]:
    bodies: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            bodies += results.get(timeout=0.2)
        except Empty:
            if not process.is_alive():
                break
    process.join(10)
    while not results.empty():
        bodies += results.get()
    return bodies
