"""The Event Hubs trigger through a real ``devhost run``: batches, checkpoints, no replay on restart."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from devhost.state import StateLayout
from devhost.testing import wait_for
from eventkit.bus.eventhubs import CheckpointStore, EventData

APP = Path(__file__).parent / "apps" / "bus_hubs"


def batches(out: Path) -> list[list[dict[str, Any]]]:
    path = out / "batches.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_keyed_events_arrive_in_batches_are_checkpointed_and_not_replayed_after_a_restart(
    start_devhost,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    out = tmp_path / "out"
    host = start_devhost([APP], env={"BUS_OUT": str(out)})
    host.wait_running(0, "bus_hubs")
    hubs = StateLayout(host.state).open_eventhubs()
    assert hubs.get_eventhub_properties("inventory-stock").partition_ids == ("0", "1", "2", "3")
    run = uuid.uuid4().hex
    skus = [f"sku-{i}" for i in range(20)]
    hubs.send(
        "inventory-stock",
        [EventData(f"{run}-{n}".encode(), partition_key=skus[n % 20]) for n in range(400)],
    )

    def delivered() -> list[dict[str, Any]]:
        return [e for batch in batches(out) for e in batch if e["body"].startswith(run)]

    wait_for(lambda: len(delivered()) >= 400, 30, "every event")
    events = delivered()
    assert len(events) == 400
    by_key: dict[str, set[str]] = {}
    for event in events:
        by_key.setdefault(event["key"], set()).add(event["partition"])
    assert all(len(partitions) == 1 for partitions in by_key.values())  # a key stays on its partition
    assert max(len(batch) for batch in batches(out)) > 1
    assert max(len(batch) for batch in batches(out)) <= 50  # host.json maxEventBatchSize
    checkpoints = CheckpointStore(hubs)

    def checkpointed() -> int:
        return sum(
            c.sequence_number + 1 for c in checkpoints.list_checkpoints("inventory-stock", "reporting")
        )

    wait_for(lambda: checkpointed() == 400, 20, "checkpoints at the last events")
    host.stop()

    again = start_devhost([APP], env={"BUS_OUT": str(out)}, state=host.state)
    again.wait_running(0, "bus_hubs")
    hubs.send("inventory-stock", [EventData(f"{run}-late".encode(), partition_key="sku-late")])
    wait_for(lambda: len(delivered()) >= 401, 30, "the event sent after the restart")
    assert len(delivered()) == 401  # nothing checkpointed came back
    hubs.close()
