"""devhost trigger throughput: Service Bus and Event Hubs triggered no-op functions, end to end.

Each figure starts a real ``devhost run`` on a temporary state folder with a generated app,
enqueues N messages/events from this process, and measures from the first send until the
namespace shows every message completed (queue empty) or every event checkpointed.
Called from bench/run.py; ``python bench/devhost_bench.py`` prints the figures.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, free_port_block, wait_for
from eventkit.bus.eventhubs import CheckpointStore, EventData
from eventkit.bus.servicebus import OutgoingMessage

_SETTINGS = {
    "IsEncrypted": False,
    "Values": {
        "Bus": "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;"
        "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"
    },
}

_SB_APP = """
import azure.functions as func
app = func.FunctionApp()

@app.service_bus_queue_trigger(arg_name="msg", queue_name="bench", connection="Bus"{extra})
async def noop(msg) -> None:
    pass
"""

_EH_APP = """
import azure.functions as func
app = func.FunctionApp()

@app.event_hub_message_trigger(
    arg_name="events", event_hub_name="bench", connection="Bus", cardinality="many"
)
async def noop(events) -> None:
    pass
"""


def _app(root: Path, source: str, host: dict[str, object]) -> Path:
    app = root / "benchapp"
    app.mkdir()
    (app / "function_app.py").write_text(source)
    (app / "local.settings.json").write_text(json.dumps(_SETTINGS))
    (app / "host.json").write_text(json.dumps({"version": "2.0", **host}))
    return app


def servicebus_triggered(messages: int = 20_000, cardinality: str = "one", body_size: int = 200) -> float:
    """Messages/s through a no-op Service Bus-triggered function (host.json defaults)."""
    extra = ', cardinality="many"' if cardinality == "many" else ""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        app = _app(root, _SB_APP.format(extra=extra), {"logging": {"logLevel": {"default": "Warning"}}})
        host = DevhostProcess([app], root / "state", free_port_block(1), ["--no-auth"], {})
        try:
            host.wait_running(0, "benchapp")
            bus = StateLayout(host.state).open_servicebus()
            body = b"x" * body_size
            started = time.perf_counter()
            for start in range(0, messages, 500):
                batch = [
                    OutgoingMessage(body, message_id=str(uuid.uuid4()))
                    for _ in range(min(500, messages - start))
                ]
                bus.send("bench", batch)
            wait_for(lambda: bus.runtime_properties("bench").active_message_count == 0, 600, "an empty queue")
            elapsed = time.perf_counter() - started
            bus.close()
        finally:
            host.stop()
    return messages / elapsed


def eventhubs_triggered(events: int = 200_000, max_batch_size: int = 100, body_size: int = 200) -> float:
    """Events/s through a no-op batch (cardinality many) Event Hubs-triggered function."""
    host_json = {
        "logging": {"logLevel": {"default": "Warning"}},
        "extensions": {"eventHubs": {"maxEventBatchSize": max_batch_size}},
    }
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        app = _app(root, _EH_APP, host_json)
        host = DevhostProcess([app], root / "state", free_port_block(1), ["--no-auth"], {})
        try:
            host.wait_running(0, "benchapp")
            hubs = StateLayout(host.state).open_eventhubs()
            checkpoints = CheckpointStore(hubs)
            body = b"x" * body_size
            started = time.perf_counter()
            for start in range(0, events, 1000):
                count = min(1000, events - start)
                hubs.send(
                    "bench",
                    [EventData(body, partition_key=f"key-{(start + i) % 2000}") for i in range(count)],
                )

            def checkpointed() -> bool:
                done = sum(c.sequence_number + 1 for c in checkpoints.list_checkpoints("bench", "$Default"))
                return done >= events

            wait_for(checkpointed, 600, "every event checkpointed")
            elapsed = time.perf_counter() - started
            hubs.close()
        finally:
            host.stop()
    return events / elapsed


if __name__ == "__main__":
    print(f"Service Bus trigger, cardinality one:  {servicebus_triggered():,.0f} msg/s")
    print(f"Service Bus trigger, cardinality many: {servicebus_triggered(cardinality='many'):,.0f} msg/s")
    print(f"Event Hubs batch trigger (batch 100):  {eventhubs_triggered():,.0f} events/s")
    print(f"Event Hubs batch trigger (batch 1000): {eventhubs_triggered(max_batch_size=1000):,.0f} events/s")


def ready_seconds(apps: int = 4) -> float:
    """Seconds from starting `devhost run` with `apps` copies of the example app until every one
    answers `/admin/host/status` as Running (each app imports in its own process)."""
    example = Path(__file__).resolve().parents[1] / "libs" / "devhost" / "examples" / "hello"
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        copies = []
        for index in range(apps):
            copy = root / f"hello{index}"
            shutil.copytree(example, copy)
            copies.append(copy)
        started = time.perf_counter()
        host = DevhostProcess(copies, root / "state", free_port_block(apps), ["--no-auth"], {})
        try:
            for index, copy in enumerate(copies):
                host.wait_running(index, copy.name)
            elapsed = time.perf_counter() - started
        finally:
            host.stop()
    return elapsed
