"""Fixture: one change-feed function followed as several feed ranges (DEVHOST_COSMOS_FEED_RANGES).

follow_stock reads `nightshift/fr-stock` from the beginning, two documents per invocation. Each
invocation is written as one JSON file in the folder $FEEDRANGES_RESULTS: its documents (stream,
versions, `_lsn`, event ids), the pid that ran it and when it started (`time.monotonic_ns`, one
clock for every process of the machine, so invocations can be put in the order they began). A
batch holding an event whose data has `"hold": true` first leaves a `holding-*.marker` file and
waits (bounded) until the file `release` exists in that folder.
"""

import json
import os
import time
import uuid
from pathlib import Path

import azure.functions as func

app = func.FunctionApp()


@app.cosmos_db_trigger(
    arg_name="docs",
    connection="CosmosConnection",
    database_name="nightshift",
    container_name="fr-stock",
    start_from_beginning=True,
    max_items_per_invocation=2,
    feed_poll_delay=100,
)
def follow_stock(docs: func.DocumentList) -> None:
    started = time.monotonic_ns()
    folder = Path(os.environ["FEEDRANGES_RESULTS"])
    name = f"{started}-{uuid.uuid4().hex}"
    if any(event["data"].get("hold") for doc in docs for event in doc["events"]):
        (folder / f"holding-{name}.marker").write_text(str(os.getpid()))
        deadline = time.monotonic() + 30
        while not (folder / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    entry = {
        "pid": os.getpid(),
        "started": started,
        "docs": [
            {
                "streamId": doc["streamId"],
                "firstVersion": doc["firstVersion"],
                "lastVersion": doc["lastVersion"],
                "lsn": doc["_lsn"],
                "eventIds": [event["eventId"] for event in doc["events"]],
            }
            for doc in docs
        ],
    }
    temporary = folder / f"{name}.tmp"
    temporary.write_text(json.dumps(entry))
    temporary.replace(folder / f"{name}.json")
