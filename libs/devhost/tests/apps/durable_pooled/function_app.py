"""Fixture: Durable activities in language-worker processes (FUNCTIONS_WORKER_PROCESS_COUNT=2).

- start (HTTP POST /api/start/{name}?id=...): starts orchestrator {name} with the JSON body.
- fan_out: calls `square` for 0..count-1 at once; returns the sum and the pids/parent pids that
  ran the activities.
- catch_refusal / fail_on_refusal: call `refuse` (which raises, naming its pid); the first catches
  the failure and returns its message, the second lets the instance fail.
- start_from_feed (Cosmos DB `nightshift/dp-orders`, with a Durable client, as the orders
  service's relay): starts one `fan_out` per change-feed document, instance id = its stream id,
  with the pid of the process that started it in the input.
"""

from __future__ import annotations

import json
import os
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["name"], req.params.get("id"), json.loads(body) if body else None
    )
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext) -> Any:
    count = context.get_input()["count"]
    results = yield context.task_all([context.call_activity("square", n) for n in range(count)])
    return {
        "sum": sum(result["value"] for result in results),
        "pids": sorted({result["pid"] for result in results}),
        "parents": sorted({result["parent"] for result in results}),
    }


@app.activity_trigger(input_name="n")
def square(n: int) -> dict[str, int]:
    return {"value": n * n, "pid": os.getpid(), "parent": os.getppid()}


@app.orchestration_trigger(context_name="context")
def catch_refusal(context: df.DurableOrchestrationContext) -> Any:
    try:
        yield context.call_activity("refuse", context.get_input())
    except Exception as error:
        return f"caught: {error}"
    return "no error"


@app.orchestration_trigger(context_name="context")
def fail_on_refusal(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_activity("refuse", context.get_input())
    return "unreachable"


@app.activity_trigger(input_name="reason")
def refuse(reason: str) -> str:
    raise ValueError(f"refused {reason} in pid {os.getpid()}")


@app.cosmos_db_trigger(
    arg_name="docs",
    connection="CosmosConnection",
    database_name="nightshift",
    container_name="dp-orders",
    start_from_beginning=True,
    feed_poll_delay=200,
)
@app.durable_client_input(client_name="client")
async def start_from_feed(docs: func.DocumentList, client: df.DurableOrchestrationClient) -> None:
    for doc in docs:
        await client.start_new("fan_out", doc["streamId"], {"count": 3, "starter": os.getpid()})
