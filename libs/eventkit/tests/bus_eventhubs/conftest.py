"""Fixtures for the embedded Event Hubs tests: a fresh namespace file, a hub, a settable clock,
a bounded poll, and consumer processes run from a script (tests import nothing from here)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eventkit.bus.eventhubs import EmbeddedEventHubs, EventData


class ManualClock:
    """A clock the test moves by hand: enqueued times and ownership expiry follow it."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "eventhubs.db"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def namespace(db_path: Path) -> Iterator[EmbeddedEventHubs]:
    with EmbeddedEventHubs(db_path) as opened:
        yield opened


@pytest.fixture
def clocked_namespace(db_path: Path, clock: ManualClock) -> Iterator[EmbeddedEventHubs]:
    with EmbeddedEventHubs(db_path, clock=clock) as opened:
        yield opened


@pytest.fixture
def hub(namespace: EmbeddedEventHubs) -> str:
    name = f"hub-{uuid.uuid4().hex[:8]}"
    namespace.create_event_hub(name, partition_count=4)
    return name


@pytest.fixture
def make_events() -> Callable[..., list[EventData]]:
    """`make_events(n, key=None)`: n events with unique message ids (and the key, if given)."""

    def make(count: int, key: str | None = None) -> list[EventData]:
        return [
            EventData(body=f"event {index}".encode(), message_id=uuid.uuid4().hex, partition_key=key)
            for index in range(count)
        ]

    return make


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """`wait_until(condition, timeout=10, what=...)`: poll every 20 ms; fail naming `what` on timeout."""

    def wait(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.02)

    return wait


_CONSUMER_SCRIPT = """
import os, signal, sys
from datetime import timedelta
from eventkit.bus.eventhubs import EmbeddedEventHubs, EventProcessor

db, hub, group, owner, out, kill_after, batch, interval, ttl = sys.argv[1:]
namespace = EmbeddedEventHubs(db)
log = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
batches = 0

def handle(context, events):
    global batches
    lines = "".join(f"{context.partition_id} {e.sequence_number} {e.message_id}\\n" for e in events)
    os.write(log, lines.encode())
    batches += 1
    if int(kill_after) and batches >= int(kill_after):
        os.kill(os.getpid(), signal.SIGKILL)  # handled, not yet checkpointed

processor = EventProcessor(
    namespace, hub, handle, consumer_group=group, owner_id=owner, max_batch_size=int(batch),
    load_balancing_interval=timedelta(seconds=float(interval)),
    ownership_expiration=timedelta(seconds=float(ttl)),
)
signal.signal(signal.SIGTERM, lambda *_: processor.stop(timeout=0))
processor.run()
"""


@pytest.fixture
def spawn_consumer(tmp_path: Path, db_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """`spawn_consumer(hub, owner, out, kill_after_batches=0, ...)`: an EventProcessor in its own process.

    It appends "partition sequence message_id" lines to `out` for every event it handles.
    """
    script = tmp_path / "consumer.py"
    script.write_text(_CONSUMER_SCRIPT)
    started: list[subprocess.Popen[bytes]] = []

    def spawn(
        hub: str,
        owner: str,
        out: Path,
        *,
        group: str = "$Default",
        kill_after_batches: int = 0,
        batch_size: int = 10,
        balance_interval: float = 0.2,
        ownership_ttl: float = 5.0,
    ) -> subprocess.Popen[bytes]:
        args = [
            db_path,
            hub,
            group,
            owner,
            out,
            kill_after_batches,
            batch_size,
            balance_interval,
            ownership_ttl,
        ]
        process = subprocess.Popen([sys.executable, str(script), *map(str, args)])
        started.append(process)
        return process

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
