"""The SQLite adapter keeps the EventStore contract across OS processes, and survives kill -9."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventkit.store import EventStore, SQLiteEventStore
from eventkit.testing.store_contract import EventStoreContract, an_event
from eventkit.testing.store_workers import Acknowledged, sqlite_writer


class TestSQLiteEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, sqlite_path: Path) -> Iterator[SQLiteEventStore]:
        with SQLiteEventStore(sqlite_path) as store:
            yield store

    def run_writers(self, store: EventStore, stream_ids: list[str]) -> list[Acknowledged]:
        """The writers are separate OS processes, each with its own connection to the file."""
        assert isinstance(store, SQLiteEventStore)
        context = multiprocessing.get_context("spawn")
        with context.Pool(self.writers) as pool:
            results = pool.starmap(
                sqlite_writer,
                [
                    (str(store.path), stream_ids, writer, self.appends_per_writer)
                    for writer in range(self.writers)
                ],
            )
        return [ack for result in results for ack in result]


class TestSQLiteEventStoreWithFullSync(EventStoreContract):
    """synchronous=FULL changes durability on power loss only; the contract is the same."""

    appends_per_writer = 50

    @pytest.fixture
    def store(self, sqlite_path: Path) -> Iterator[SQLiteEventStore]:
        with SQLiteEventStore(sqlite_path, synchronous="FULL") as store:
            yield store


def test_every_append_acknowledged_before_a_kill_9_is_readable_and_whole(sqlite_path: Path) -> None:
    stream_id = f"order-{uuid.uuid4()}"
    events_per_append = 5
    SQLiteEventStore(sqlite_path).close()
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eventkit.testing.store_workers",
            str(sqlite_path),
            stream_id,
            str(events_per_append),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    acknowledged = [int(writer.stdout.readline()) for _ in range(200)]  # blocks until 200 appends returned

    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    acknowledged += [int(line) for line in writer.stdout.read().split()]
    writer.stdout.close()

    with SQLiteEventStore(sqlite_path) as store:
        versions = [e.version for e in store.read_stream(stream_id)]
    assert writer.returncode == -signal.SIGKILL
    assert versions == list(range(1, len(versions) + 1))
    assert len(versions) % events_per_append == 0, "an append was split by the crash"
    assert max(acknowledged) <= len(versions)
    assert acknowledged == list(range(events_per_append, max(acknowledged) + 1, events_per_append))


def test_two_stores_on_one_file_see_each_others_appends_and_tracking(sqlite_path: Path) -> None:
    stream_id = f"order-{uuid.uuid4()}"
    with SQLiteEventStore(sqlite_path) as writer, SQLiteEventStore(sqlite_path) as reader:
        writer.record_processed("reporting", "event-1")
        writer.append(stream_id, 0, [an_event()])

        assert reader.stream_version(stream_id) == 1
        assert reader.has_processed("reporting", "event-1")


def test_the_store_refuses_an_unknown_synchronous_mode(sqlite_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteEventStore(sqlite_path, synchronous="OFF")  # type: ignore[arg-type]


def test_a_closed_store_says_so(sqlite_path: Path) -> None:
    store = SQLiteEventStore(sqlite_path)
    store.close()

    with pytest.raises(RuntimeError, match="closed"):
        store.stream_version("order-1")
