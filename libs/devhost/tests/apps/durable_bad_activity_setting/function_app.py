"""Fixture: a Durable app whose host.json asks for 0 concurrent activities (refused at start)."""

from typing import Any

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def hello(context: df.DurableOrchestrationContext) -> Any:
    return (yield context.call_activity("say", "world"))


@app.activity_trigger(input_name="name")
def say(name: str) -> str:
    return f"hello {name}"
