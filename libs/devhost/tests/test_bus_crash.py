"""kill -9 of an app process holding 100 locked Service Bus messages loses none of them."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

from devhost.state import StateLayout
from devhost.testing import wait_for
from eventkit.bus.servicebus import OutgoingMessage

APP = Path(__file__).parent / "apps" / "bus_crash"


def test_killing_a_worker_holding_100_locks_loses_no_message(start_devhost, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    host = start_devhost([APP], env={"BUS_OUT": str(out)})
    host.wait_running(0, "bus_crash")
    bus = StateLayout(host.state).open_servicebus()
    ids = [str(uuid.uuid4()) for _ in range(100)]
    bus.send("crashy", [OutgoingMessage(b"work", message_id=i) for i in ids])

    def started() -> bool:
        return (out / "started").is_dir() and len(os.listdir(out / "started")) == 100

    wait_for(started, 30, "100 invocations holding their locks")
    assert bus.peek("crashy", 200)[0].delivery_count == 1
    assert not bus.receive("crashy", max_messages=1)  # every message is locked by the worker
    pid = host.worker_pid("bus_crash")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    def processed() -> set[str]:
        folder = out / "processed"
        return set(os.listdir(folder)) if folder.is_dir() else set()

    wait_for(lambda: processed() == set(ids), 40, "every message processed after the restart")
    wait_for(lambda: bus.runtime_properties("crashy").active_message_count == 0, 20, "an empty queue")
    assert host.worker_pid("bus_crash") != pid
    assert bus.runtime_properties("crashy").dead_letter_message_count == 0
    bus.close()
