"""Fixture app for the kill -9 test: the first delivery of each message marks it started and
then holds its lock (sleeps); later deliveries record it as processed."""

import asyncio
import os
from pathlib import Path

import azure.functions as func

app = func.FunctionApp()


@app.service_bus_queue_trigger(arg_name="msg", queue_name="crashy", connection="ServiceBusConnection")
async def crashy(msg: func.ServiceBusMessage) -> None:
    out = Path(os.environ["BUS_OUT"])
    if msg.delivery_count == 1:
        (out / "started").mkdir(parents=True, exist_ok=True)
        (out / "started" / msg.message_id).touch()
        await asyncio.sleep(3600)
    (out / "processed").mkdir(parents=True, exist_ok=True)
    (out / "processed" / msg.message_id).touch()
