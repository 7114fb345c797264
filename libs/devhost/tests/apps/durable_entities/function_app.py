"""Fixture: a counter entity, orchestrators that signal and call it, a step that fails on demand,
and HTTP functions that drive the SDK's DurableOrchestrationClient (signal, read state, rewind).

``ENTITY_OPERATION_DELAY`` (seconds, default 0) slows every counter operation down, so a crash
test can kill the worker while a queue of signals is being applied.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext) -> None:
    delay = float(os.environ.get("ENTITY_OPERATION_DELAY", "0"))
    if delay:
        time.sleep(delay)
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
    elif operation == "reset":
        value = 0
    elif operation != "get":
        raise ValueError(f"counter has no operation {operation!r}")
    context.set_state(value)
    context.set_result(value)


@app.orchestration_trigger(context_name="context")
def count_with_entity(context: df.DurableOrchestrationContext) -> Any:
    request = context.get_input()
    counter = df.EntityId("Counter", request["key"])
    for _ in range(request["times"]):
        context.signal_entity(counter, "add", 1)
    total = yield context.call_entity(counter, "get")
    return total


@app.orchestration_trigger(context_name="context")
def call_unknown_operation(context: df.DurableOrchestrationContext) -> Any:
    try:
        yield context.call_entity(df.EntityId("Counter", context.get_input()), "explode")
    except Exception as error:
        return f"caught: {error}"
    return "no error"


@app.orchestration_trigger(context_name="context")
def flaky_chain(context: df.DurableOrchestrationContext) -> Any:
    first = yield context.call_activity("step", {"name": "first"})
    second = yield context.call_activity("step", {"name": "second", "unless_missing": context.get_input()})
    return [first, second]


@app.activity_trigger(input_name="request")
def step(request: dict[str, Any]) -> str:
    marker = request.get("unless_missing")
    if marker and not Path(marker).exists():
        raise RuntimeError(f"{marker} does not exist yet")
    return f"{request['name']} done"


@app.route(route="counter/{key}/{operation}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def signal_counter(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    value = json.loads(body) if body else None
    counter = df.EntityId("Counter", req.route_params["key"])
    await client.signal_entity(counter, req.route_params["operation"], value)
    return func.HttpResponse(status_code=202)


@app.route(route="counter/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def read_counter(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    state = await client.read_entity_state(df.EntityId("Counter", req.route_params["key"]))
    body = {"exists": state.entity_exists, "state": state.entity_state}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


@app.route(route="rewind/{instance_id}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def rewind(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    await client.rewind(req.route_params["instance_id"], "fixed by test")
    return func.HttpResponse(status_code=202)
