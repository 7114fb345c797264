"""SIGKILL of a durable app's worker while a counter entity works through 300 queued signals (200
from the management API, 100 from one orchestrator): after the restarts the counter is exactly 300.

Each batch of operations is one task hub transaction (requests consumed + new state), so a kill
loses no recorded signal and applies none twice.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devhost.testing import DevhostProcess, http, wait_for

APP = Path(__file__).parent / "apps" / "durable_entities"
APP_NAME = "durable_entities"
CLIENT_SIGNALS = 200
ORCHESTRATOR_SIGNALS = 100
KILLS = 3


def webhook(host: DevhostProcess, path: str) -> str:
    keys = json.loads((host.state / "apps" / APP_NAME / "durabletask.keys.json").read_text())
    separator = "&" if "?" in path else "?"
    return host.url(0, f"/runtime/webhooks/durabletask/{path}{separator}code={keys['durabletask_extension']}")


def progress(hub: Path, entity_id: str) -> tuple[int, int]:
    """(the counter's stored value, requests still queued), read from the task hub file."""
    conn = sqlite3.connect(f"file:{hub}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute("SELECT state FROM entities WHERE entity_id = ?", (entity_id,)).fetchone()
        queued = conn.execute("SELECT COUNT(*) FROM entity_messages").fetchone()[0]
    finally:
        conn.close()
    return (0 if row is None else int(json.loads(row[0]))), int(queued)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def worker_mid_queue(
    host: DevhostProcess, hub: Path, entity_id: str, killed: frozenset[int], seen: int
) -> int | None:
    """The pid of a live worker not killed yet, once it applied signals beyond ``seen`` and some
    remain queued (so a kill lands in the middle of the queue)."""
    pid = host.worker_pid(APP_NAME)
    if pid is None or pid in killed or not alive(pid):
        return None
    value, queued = progress(hub, entity_id)
    return pid if value > seen and queued > 0 else None


def test_killing_the_worker_while_signals_are_applied_neither_loses_nor_repeats_one(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    host = start_devhost([APP], env={"ENTITY_OPERATION_DELAY": "0.01"}, state=tmp_path / "state")
    host.wait_running(0, APP_NAME)
    hub = tmp_path / "state" / "apps" / APP_NAME / "taskhub.db"
    key = f"crash-{uuid.uuid4().hex[:8]}"
    entity_id = f"@counter@{key}"

    started = http(
        "POST",
        webhook(host, "orchestrators/count_with_entity"),
        json.dumps({"key": key, "times": ORCHESTRATOR_SIGNALS}).encode(),
    )
    assert started.status == 202, started.text
    for _ in range(CLIENT_SIGNALS):
        answer = http(
            "POST",
            webhook(host, f"entities/counter/{key}?op=add"),
            b"1",
            {"Content-Type": "application/json"},
        )
        assert answer.status == 202, answer.text

    killed: set[int] = set()
    seen = 0
    while len(killed) < KILLS:
        pid: int = wait_for(
            functools.partial(worker_mid_queue, host, hub, entity_id, frozenset(killed), seen),
            30,
            "the restarted worker to apply more signals",
        )
        os.kill(pid, signal.SIGKILL)
        killed.add(pid)
        seen, queued = progress(hub, entity_id)
        assert queued > 0, "the kill came after the queue was drained"

    def drained() -> tuple[int, int] | None:
        value, queued = progress(hub, entity_id)
        return (value, queued) if queued == 0 and value >= seen else None

    total = CLIENT_SIGNALS + ORCHESTRATOR_SIGNALS
    assert wait_for(drained, 60, "every queued signal to be applied") == (total, 0)

    def state() -> Any:
        answer = http("GET", webhook(host, f"entities/counter/{key}"))
        return answer.json() if answer.status == 200 else None

    assert wait_for(state, 30, "the management API to answer") == total

    def completed() -> dict[str, Any] | None:
        body: dict[str, Any] = http("GET", started.json()["statusQueryGetUri"]).json()
        return body if body["runtimeStatus"] == "Completed" else None

    done = wait_for(completed, 30, "the orchestrator's call_entity to return")
    assert ORCHESTRATOR_SIGNALS <= done["output"] <= total, "its get ran after its own signals"
