"""Fixture: an HTTP starter, an order saga chaining activities and waiting for an approval."""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orders/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_order(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["name"], req.params.get("id"), json.loads(body) if body else None
    )
    if req.params.get("wait"):
        return await client.wait_for_completion_or_create_check_status_response(req, instance_id, 8000, 100)
    return client.create_check_status_response(req, instance_id)


@app.route(route="client/{op}/{id}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def client_operation(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    op, instance_id = req.route_params["op"], req.route_params["id"]
    if op == "status":
        status = await client.get_status(instance_id, show_history=True)
        return func.HttpResponse(json.dumps(status.to_json()), mimetype="application/json")
    if op == "raise":
        await client.raise_event(instance_id, "Approved", req.get_json())
    elif op == "terminate":
        await client.terminate(instance_id, "stopped by test")
    elif op == "purge":
        result = await client.purge_instance_history(instance_id)
        return func.HttpResponse(json.dumps({"deleted": result.instances_deleted}))
    return func.HttpResponse(status_code=204)


@app.orchestration_trigger(context_name="context")
def order_saga(context: df.DurableOrchestrationContext) -> Any:
    order = context.get_input()
    reserved = yield context.call_activity("reserve_stock", order)
    context.set_custom_status("awaiting approval")
    approval = yield context.wait_for_external_event("Approved")
    paid = yield context.call_activity("capture_payment", reserved)
    return {"paid": paid, "approved_by": approval}


@app.orchestration_trigger(context_name="context")
def quick_order(context: df.DurableOrchestrationContext) -> Any:
    reserved = yield context.call_activity("reserve_stock", context.get_input())
    paid = yield context.call_activity("capture_payment", reserved)
    return paid


@app.activity_trigger(input_name="order")
def reserve_stock(order: Any) -> str:
    return f"reserved({order})"


@app.activity_trigger(input_name="reservation")
def capture_payment(reservation: str) -> str:
    return f"paid({reservation})"


@app.activity_trigger(input_name="order")
def check_fraud(order: Any) -> Any:
    return order
