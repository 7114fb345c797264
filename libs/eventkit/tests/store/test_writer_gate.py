"""The writer gate: writers of one SQLite file take turns across threads and processes, the turn
is reentrant in a thread, and a killed holder's turn is released by the kernel."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from eventkit.store import SQLiteEventStore
from eventkit.store.events import NewEvent
from eventkit.writer_gate import LOCK_SUFFIX, WriterGate

WAIT = 20.0


HOLD = """
import sys, time
from pathlib import Path
from eventkit.writer_gate import WriterGate
with WriterGate(Path(sys.argv[1])).turn():
    print("held", flush=True)
    time.sleep(120)
"""
APPEND = """
import sys
from eventkit.store import SQLiteEventStore
from eventkit.store.events import NewEvent
store = SQLiteEventStore(sys.argv[1])
version = 0
for index in range(int(sys.argv[3])):
    version = store.append(sys.argv[2], version, [NewEvent("counted", {"index": index})])
store.close()
"""


def test_the_gate_is_a_side_file_next_to_the_database(tmp_path: Path) -> None:
    gate = WriterGate(tmp_path / "store.db")
    with gate.turn():
        pass
    assert gate.path == tmp_path / f"store.db{LOCK_SUFFIX}" and gate.path.exists()
    gate.close()


def test_a_thread_holding_the_turn_may_take_it_again(tmp_path: Path) -> None:
    gate = WriterGate(tmp_path / "store.db")
    with gate.turn(), gate.turn():
        pass
    with gate.turn():  # released after the outer block: taken again at once
        pass
    gate.close()


def test_another_thread_waits_for_the_turn_and_gets_it_when_released(tmp_path: Path) -> None:
    gate = WriterGate(tmp_path / "store.db")
    order: list[str] = []

    def other() -> None:
        with gate.turn():
            order.append("other")

    with gate.turn():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(0.2)  # it cannot get in while this thread holds the turn
        order.append("holder")
    thread.join(WAIT)
    assert order == ["holder", "other"]
    gate.close()


def test_a_process_killed_while_holding_the_turn_does_not_block_the_others(tmp_path: Path) -> None:
    database = str(tmp_path / "store.db")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, database], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        holder.send_signal(signal.SIGKILL)
        holder.wait(WAIT)
        store = SQLiteEventStore(database)
        assert store.append("after-kill", 0, [NewEvent("written", {})]) == 1
        store.close()
    finally:
        holder.kill()
        holder.wait(WAIT)


def test_processes_appending_through_the_gate_lose_no_event_and_keep_versions_whole(tmp_path: Path) -> None:
    database = str(tmp_path / "store.db")
    SQLiteEventStore(database).close()
    workers = [subprocess.Popen([sys.executable, "-c", APPEND, database, f"s-{n}", "150"]) for n in range(4)]
    assert [worker.wait(120) for worker in workers] == [0, 0, 0, 0]
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT stream_id, COUNT(*), MAX(version) FROM events GROUP BY stream_id")
        assert sorted(rows) == [(f"s-{n}", 150, 150) for n in range(4)]
