"""Fixture app for the Service Bus trigger tests: each function records what it saw in
``$BUS_OUT/<function>/`` (one JSON line per invocation) so tests observe it from outside."""

import json
import os
from pathlib import Path

import azure.functions as func

app = func.FunctionApp()
CONN = "ServiceBusConnection"


def record(function: str, **fields: object) -> None:
    folder = Path(os.environ["BUS_OUT"]) / function
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "seen.jsonl").open("a") as out:
        out.write(json.dumps(fields) + "\n")


@app.service_bus_queue_trigger(arg_name="msg", queue_name="always-fails", connection=CONN)
def always_fails(msg: func.ServiceBusMessage) -> None:
    record("always_fails", id=msg.message_id, delivery_count=msg.delivery_count)
    raise RuntimeError("this function always fails")


@app.service_bus_queue_trigger(arg_name="msg", queue_name="work", connection=CONN)
@app.event_hub_output(arg_name="hub", event_hub_name="bus-copies", connection="EventHubConnection")
def work(msg: func.ServiceBusMessage, hub: func.Out[str]) -> None:
    record(
        "work",
        id=msg.message_id,
        body=msg.get_body().decode(),
        subject=msg.subject,
        label=msg.label,
        content_type=msg.content_type,
        correlation_id=msg.correlation_id,
        delivery_count=msg.delivery_count,
        sequence_number=msg.sequence_number,
        enqueued=msg.enqueued_time_utc.isoformat() if msg.enqueued_time_utc else None,
        lock_token=msg.lock_token,
        properties=msg.application_properties,
        user_properties=msg.user_properties,
        metadata_id=(msg.metadata or {}).get("MessageId"),
        is_func_message=isinstance(msg, func.ServiceBusMessage),
    )
    hub.set(msg.get_body().decode())


@app.service_bus_topic_trigger(
    arg_name="msg",
    topic_name="orders",
    subscription_name="inventory",
    connection=CONN,
    is_sessions_enabled=True,
)
def inventory_listener(msg: func.ServiceBusMessage) -> None:
    record("inventory_listener", id=msg.message_id, subject=msg.subject, session=msg.session_id)


@app.service_bus_queue_trigger(
    arg_name="msg", queue_name="ordered", connection=CONN, is_sessions_enabled=True
)
def ordered(msg: func.ServiceBusMessage) -> None:
    record("ordered", session=msg.session_id, body=msg.get_body().decode())


@app.service_bus_queue_trigger(arg_name="batch", queue_name="batched", connection=CONN, cardinality="many")
def batched(batch: list[func.ServiceBusMessage]) -> None:
    record("batched", ids=[m.message_id for m in batch])


@app.route(route="emit", auth_level=func.AuthLevel.ANONYMOUS)
@app.service_bus_queue_output(arg_name="out", queue_name="emitted", connection=CONN)
def emit(req: func.HttpRequest, out: func.Out[list[str]]) -> str:
    out.set([req.get_body().decode(), req.get_body().decode() + "-again"])
    return "sent"
