"""Fixture app for the Event Hubs trigger tests: records every batch it gets in $BUS_OUT."""

import json
import os
from pathlib import Path

import azure.functions as func

app = func.FunctionApp()


@app.event_hub_message_trigger(
    arg_name="events",
    event_hub_name="inventory-stock",
    consumer_group="reporting",
    connection="EventHubConnection",
    cardinality="many",
)
def stock_batches(events: list[func.EventHubEvent]) -> None:
    out = Path(os.environ["BUS_OUT"])
    out.mkdir(parents=True, exist_ok=True)
    batch = [
        {
            "body": e.get_body().decode(),
            "key": e.partition_key,
            "seq": e.sequence_number,
            "offset": e.offset,
            "partition": (e.metadata or {}).get("PartitionContext", {}).get("PartitionId"),
        }
        for e in events
    ]
    with (out / "batches.jsonl").open("a") as f:
        f.write(json.dumps(batch) + "\n")
