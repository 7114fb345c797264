"""Fixture app for the tests of an entity whose requiresSession changed between versions: one
queue trigger without sessions, recording each message body in ``$BUS_OUT/answers.jsonl``."""

import json
import os
from pathlib import Path

import azure.functions as func

app = func.FunctionApp()


@app.service_bus_queue_trigger(arg_name="msg", queue_name="answers", connection="ServiceBusConnection")
def answers(msg: func.ServiceBusMessage) -> None:
    with (Path(os.environ["BUS_OUT"]) / "answers.jsonl").open("a") as out:
        out.write(json.dumps({"body": msg.get_body().decode()}) + "\n")
