"""A language-worker child that exits: restarted while Azure's host would restart it, never in a loop.

A real `devhost run` of an app with FUNCTIONS_WORKER_PROCESS_COUNT=2; children are killed by pid.
"""

from __future__ import annotations

import json
import os
import re
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

from devhost.language_pool import ERRORS_PER_PROCESS, EXCEEDED_MESSAGE
from devhost.state import StateLayout
from devhost.testing import DevhostProcess, wait_for

APP = Path(__file__).parent / "apps" / "language_worker_restarts"
NAME = APP.name
PROCESSES = 2
WAIT = 30.0


def language_workers(worker_pid: int) -> set[int]:
    """The live `devhost.language_worker` children of a worker process (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if int(parent) == worker_pid and state != "Z" and b"devhost.language_worker" in command:
            found.add(int(entry.name))
    return found


class PooledApp:
    """The fixture app under `devhost run`, the blobs it recorded, and its language workers."""

    def __init__(self, start: Callable[..., DevhostProcess], tmp_path: Path) -> None:
        self.results = tmp_path / f"uploads-{uuid.uuid4().hex[:8]}.jsonl"
        self.broken_flag = Path(f"{self.results}.broken")
        self.layout = StateLayout(tmp_path / "state")
        self.host = start([APP], env={"LWR_RESULTS": str(self.results)}, state=tmp_path / "state")
        self.host.wait_running(0, NAME)
        self.worker_pid = self.current_worker()

    def current_worker(self) -> int:
        pid = wait_for(lambda: self.host.worker_pid(NAME), WAIT, "the worker's run file")
        return int(pid)

    def children(self, count: int = PROCESSES) -> set[int]:
        """Wait until the worker has ``count`` live children; return them."""
        found: set[int] = wait_for(
            lambda: len(pids := language_workers(self.worker_pid)) == count and pids,
            WAIT,
            f"{count} language worker(s) of worker {self.worker_pid}",
        )
        return found

    def loaded_children(self) -> set[int]:
        """The live children once each has run an invocation (so each has imported the app)."""
        children = self.children()
        ran_in: set[int] = set()
        for _ in range(4 * PROCESSES):
            ran_in.add(self.recorded_pid(self.upload()))
            if ran_in >= children:
                return children
        raise AssertionError(f"invocations ran in {ran_in}, not in every child of {children}")

    def kill_and_wait(self, pid: int, outcome: Callable[[int], str]) -> None:
        """SIGKILL a child, then wait until the log shows what the pool did about it."""
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: outcome(pid) in self.host.output, WAIT, f"'{outcome(pid)}' in the log")

    def upload(self) -> str:
        name = f"upload-{uuid.uuid4().hex[:8]}.csv"
        self.layout.open_blobs().put("lwr-uploads", name, b"sku,quantity\n")
        return name

    def recorded_pid(self, blob: str) -> int:
        def record() -> int | None:
            if not self.results.exists():
                return None
            for line in self.results.read_text().splitlines():
                entry = json.loads(line)
                if entry["name"] == f"lwr-uploads/{blob}":
                    return int(entry["pid"])
            return None

        return int(wait_for(record, WAIT, f"the invocation for {blob}"))


def replaced(pid: int) -> str:
    return f"of {NAME} replaces {pid}"


def not_restarted(pid: int) -> str:
    return f"Language worker process {pid} of {NAME} exited with code -9; not restarting it"


def test_a_child_that_cannot_load_the_app_is_not_restarted_and_the_app_is_reported_failed(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    app = PooledApp(start_devhost, tmp_path)
    killed = sorted(app.loaded_children())[0]
    app.broken_flag.touch()

    os.kill(killed, signal.SIGKILL)

    wait_for(lambda: app.host.process.poll() is not None, WAIT, "devhost to exit")
    assert app.host.process.returncode == 1  # its only app failed
    output = app.host.output
    failed = re.findall(
        rf"Language worker process (\d+) of {NAME} exited with code 3: it could not load", output
    )
    assert len(set(failed)) == 1 and int(failed[0]) != killed  # the log's line and the supervisor's
    assert f"Language worker for {NAME} failed to load the app" in output
    assert "RuntimeError: function_app.py is broken: the language worker cannot import it" in output
    assert f"devhost: app {NAME} ({APP}) failed to load; it is not started." in output
    assert "exited unexpectedly" not in output and "running again" not in output
    assert output.count(f"Language worker for {NAME} failed to load the app") == 1  # none tried after it


def test_a_killed_child_is_replaced_and_pooled_functions_run_in_the_new_pool(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    app = PooledApp(start_devhost, tmp_path)
    killed = sorted(app.children())[0]

    app.kill_and_wait(killed, replaced)

    children = app.children()
    assert killed not in children
    limit = ERRORS_PER_PROCESS * PROCESSES
    restarted = f"Language worker process {killed} of {NAME} exited with code -9; restarting it"
    assert f"{restarted} (errors: 1, limit: {limit})" in app.host.output
    ran_in = {app.recorded_pid(blob) for blob in [app.upload() for _ in range(6)]}
    assert ran_in == children
    assert app.host.worker_pid(NAME) == app.worker_pid


def test_children_that_keep_dying_recycle_the_app_which_then_serves_again(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    app = PooledApp(start_devhost, tmp_path)
    threshold = ERRORS_PER_PROCESS * PROCESSES

    for _ in range(threshold - 1):
        app.kill_and_wait(sorted(app.children())[0], replaced)
    last_two = sorted(app.children())
    app.kill_and_wait(last_two[0], not_restarted)
    assert language_workers(app.worker_pid) == {last_two[1]}
    assert app.recorded_pid(app.upload()) == last_two[1]  # the other child still serves
    assert EXCEEDED_MESSAGE not in app.host.output
    app.kill_and_wait(last_two[1], not_restarted)

    old_worker = app.worker_pid
    new_worker = wait_for(
        lambda: (pid := app.host.worker_pid(NAME)) not in (None, old_worker) and pid, WAIT, "a new worker"
    )
    app.host.wait_running(0, NAME)
    output = app.host.output
    assert f"{EXCEEDED_MESSAGE} (app {NAME}: {threshold + 1} language worker process errors" in output
    assert f"devhost: app {NAME} exited unexpectedly (code 5)" in output
    assert f"devhost: app {NAME} is running again" in output
    app.worker_pid = new_worker
    children = app.children()
    assert app.recorded_pid(app.upload()) in children
