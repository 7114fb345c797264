"""Fixture: functions whose Durable client drives orchestrations and reports every answer it got.

``POST /api/scenario/{prefix}`` (on the host's event loop) and ``POST /api/scenario-thread/{prefix}``
(``asyncio.run`` on another thread: the client is used from a second event loop) run the same
script with instance ids ``{prefix}-...``:
the raw ``[status, body]`` of each management call as the SDK's request functions return them
(the URLs built by the client itself), the outcome of the same operations through the public
client API, and whether the SDK ever opened its aiohttp session (it does for every HTTP call).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.utils import http_utils

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

POLL_SECONDS = 15.0


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext) -> Any:
    decision = yield context.wait_for_external_event("approve")
    return {"order": context.get_input(), "decision": decision}


@app.orchestration_trigger(context_name="context")
def waiting(context: df.DurableOrchestrationContext) -> Any:
    yield context.wait_for_external_event("never")
    return "unreachable"


@app.entity_trigger(context_name="context")
def tally(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)


async def _until(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + POLL_SECONDS
    while loop.time() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.02)
    raise TimeoutError(f"gave up waiting for {what}")


async def _outcome(call: Awaitable[Any]) -> Any:
    try:
        result = await call
    except Exception as error:  # the SDK raises plain Exception for refused calls
        return {"raised": f"{type(error).__name__}: {error}"}
    return {"returned": result}


async def run_scenario(client: df.DurableOrchestrationClient, prefix: str) -> dict[str, Any]:
    rpc = client._orchestration_bindings.rpc_base_url
    post, get, delete = client._post_async_request, client._get_async_request, client._delete_async_request
    a, b, missing = f"{prefix}-a", f"{prefix}-b", f"{prefix}-missing"
    calls: list[tuple[str, Any]] = []

    async def status_of(instance_id: str, wanted: str) -> Any:
        async def reached() -> Any:
            answer = await get(f"{rpc}instances/{instance_id}")
            return answer if answer[1] and answer[1].get("runtimeStatus") == wanted else None

        return await _until(reached, f"{instance_id} to be {wanted}")

    calls.append(("start", await post(client._get_start_new_url(a, "approval"), json.dumps({"id": a}))))
    calls.append(("status running", await status_of(a, "Running")))
    calls.append(("start running id", await post(client._get_start_new_url(a, "approval"), json.dumps(1))))
    calls.append(
        ("raise unknown", await post(client._get_raise_event_url(missing, "approve", None, None), "{}"))
    )
    decision = json.dumps({"by": "ops", "note": "ok é"})
    calls.append(("raise", await post(client._get_raise_event_url(a, "approve", None, None), decision)))
    calls.append(("status completed", await status_of(a, "Completed")))
    calls.append(("raise completed", await post(client._get_raise_event_url(a, "approve", None, None), "{}")))
    calls.append(("status unknown", await get(f"{rpc}instances/{missing}")))
    calls.append(("start unknown orchestrator", await post(client._get_start_new_url(b, "nope"), None)))
    calls.append(("start b", await post(client._get_start_new_url(b, "waiting"), None)))
    reason = quote("stopped by the test")
    calls.append(("terminate", await post(f"{rpc}instances/{b}/terminate?reason={reason}", None)))
    calls.append(("status terminated", await status_of(b, "Terminated")))
    calls.append(("terminate ended", await post(f"{rpc}instances/{b}/terminate?reason={reason}", None)))
    calls.append(("terminate unknown", await post(f"{rpc}instances/{missing}/terminate?reason=x", None)))
    calls.append(("purge", await delete(f"{rpc}instances/{a}")))
    calls.append(("purge unknown", await delete(f"{rpc}instances/{missing}")))

    c = f"{prefix}-c"
    sdk: list[tuple[str, Any]] = [
        ("start_new", await _outcome(client.start_new("approval", c, {"id": c}))),
        ("status running", await status_of(c, "Running")),
        ("start_new running id", await _outcome(client.start_new("approval", c, None))),
        ("raise_event unknown", await _outcome(client.raise_event(missing, "approve", 1))),
        ("terminate unknown", await _outcome(client.terminate(missing, "why"))),
        ("get_status unknown", (await client.get_status(missing)).runtime_status),
    ]
    sdk.append(("raise_event", await _outcome(client.raise_event(c, "approve", {"by": "sdk"}))))
    done = await _until(lambda: _completed(client, c), f"{c} to complete through get_status")
    sdk.append(("get_status completed", done))
    sdk.append(("raise_event completed", await _outcome(client.raise_event(c, "approve", 2))))
    entity = df.EntityId("tally", prefix)
    sdk.append(("signal_entity", await _outcome(client.signal_entity(entity, "add", 5))))

    async def tallied() -> Any:
        state = await client.read_entity_state(entity)
        return state.entity_state if state.entity_exists else None

    sdk.append(("read_entity_state", await _until(tallied, "the entity's state")))
    return {
        "calls": [[step, answer] for step, answer in calls],
        "sdk": [[step, answer] for step, answer in sdk],
        "sdk_http_session_opened": http_utils._client_session is not None,
    }


async def _completed(client: df.DurableOrchestrationClient, instance_id: str) -> Any:
    status = await client.get_status(instance_id)
    if status.runtime_status != df.OrchestrationRuntimeStatus.Completed:
        return None
    return {"runtimeStatus": status.runtime_status.value, "output": status.output}


def _json_response(result: dict[str, Any]) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(result, default=str), mimetype="application/json")


@app.route(route="scenario/{prefix}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def scenario(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return _json_response(await run_scenario(client, req.route_params["prefix"]))


@app.route(route="scenario-thread/{prefix}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def scenario_thread(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    script = run_scenario(client, req.route_params["prefix"])
    return _json_response(await asyncio.to_thread(asyncio.run, script))
