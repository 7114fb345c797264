"""Fixture: change feed relays. Every invocation is recorded as one JSON line in $COSMOSTRIG_RESULTS.

- relay_from_start reads `nightshift/orders` from the beginning, two documents per invocation;
- relay_from_now reads the same container from "now" (its own lease, prefix `now-`);
- flaky_relay (`nightshift/payments`, @app.retry) fails the first attempt of every batch;
- fragile_relay (`nightshift/refunds`, no retry policy) fails every batch holding a "poison" event.
"""

import json
import os
import threading

import azure.functions as func

app = func.FunctionApp()
_lock = threading.Lock()
_attempts: dict[str, int] = {}


def _record(function: str, docs: func.DocumentList, **extra: object) -> None:
    entry = {
        "function": function,
        "docs": [
            {
                "id": doc["id"],
                "streamId": doc["streamId"],
                "kind": doc["kind"],
                "firstVersion": doc["firstVersion"],
                "lastVersion": doc["lastVersion"],
                "eventIds": [event["eventId"] for event in doc["events"]],
                "types": [event["type"] for event in doc["events"]],
            }
            for doc in docs
        ],
        **extra,
    }
    with _lock, open(os.environ["COSMOSTRIG_RESULTS"], "a", encoding="utf-8") as results:
        results.write(json.dumps(entry) + "\n")


@app.cosmos_db_trigger(
    arg_name="docs",
    connection="CosmosConnection",
    database_name="nightshift",
    container_name="orders",
    start_from_beginning=True,
    max_items_per_invocation=2,
    feed_poll_delay=200,
)
def relay_from_start(docs: func.DocumentList) -> None:
    _record("relay_from_start", docs)


@app.cosmos_db_trigger(
    arg_name="docs",
    connection="CosmosConnection",
    database_name="nightshift",
    container_name="orders",
    lease_container_prefix="now-",
    feed_poll_delay=200,
)
def relay_from_now(docs: func.DocumentList) -> None:
    _record("relay_from_now", docs)


@app.retry(strategy="fixed_delay", max_retry_count="3", delay_interval="00:00:00.2")
@app.cosmos_db_trigger(
    arg_name="docs",
    connection="CosmosConnection",
    database_name="nightshift",
    container_name="payments",
    start_from_beginning=True,
    feed_poll_delay=200,
)
def flaky_relay(docs: func.DocumentList, context: func.Context) -> None:
    key = ",".join(doc["id"] + doc["streamId"] for doc in docs)
    with _lock:
        _attempts[key] = _attempts.get(key, 0) + 1
        attempt = _attempts[key]
    _record("flaky_relay", docs, attempt=attempt, retry_count=context.retry_context.retry_count)
    if attempt == 1:
        raise RuntimeError("payment gateway unavailable")


@app.cosmos_db_trigger(
    arg_name="docs",
    connection="CosmosConnection",
    database_name="nightshift",
    container_name="refunds",
    start_from_beginning=True,
    feed_poll_delay=200,
)
def fragile_relay(docs: func.DocumentList) -> None:
    _record("fragile_relay", docs)
    if any(event["type"] == "poison" for doc in docs for event in doc["events"]):
        raise RuntimeError("cannot relay a poison event")
