"""Fixture app: routes, parameters, methods, auth levels, a slow route and failures."""

import json
import os
import time
from pathlib import Path

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="items/{id:int}", methods=["GET"])
def item_by_number(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"kind": "number", "id": req.route_params["id"], "q": req.params.get("q")}),
        mimetype="application/json",
    )


@app.route(route="items/{name}", methods=["GET", "PUT"])
def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
    body = req.get_json() if req.method == "PUT" else None
    return func.HttpResponse(
        json.dumps({"kind": "name", "id": req.route_params["name"], "body": body}),
        status_code=201 if req.method == "PUT" else 200,
        headers={"x-seen-method": req.method},
        mimetype="application/json",
    )


@app.route(route="files/{*path}", methods=["GET"])
def files(req: func.HttpRequest) -> str:
    return "path=" + req.route_params.get("path", "")


@app.route(route="greet/{name?}", methods=["GET"])
def greet(req: func.HttpRequest) -> str:
    return "hello " + req.route_params.get("name", "nobody")


@app.route(route="secure", auth_level=func.AuthLevel.FUNCTION)
def secure(req: func.HttpRequest) -> str:
    return "secure ok"


@app.route(route="other", auth_level=func.AuthLevel.FUNCTION)
def other(req: func.HttpRequest) -> str:
    return "other ok"


@app.route(route="adminonly", auth_level=func.AuthLevel.ADMIN)
def adminonly(req: func.HttpRequest) -> str:
    return "admin ok"


@app.route(route="slow", methods=["GET"])
def slow(req: func.HttpRequest) -> str:
    seconds = float(req.params.get("seconds", "3"))
    marker = Path(os.environ["DEVHOST_TEST_OUT"]) / "slow-started"
    marker.write_text("started")
    time.sleep(seconds)
    (Path(os.environ["DEVHOST_TEST_OUT"]) / "slow-finished").write_text("finished")
    return "slept"


@app.route(route="boom")
def boom(req: func.HttpRequest) -> str:
    raise RuntimeError("boom on purpose")


@app.route(route="whoami")
async def whoami(req: func.HttpRequest, context: func.Context) -> str:
    return f"{context.function_name} {os.environ.get('FROM_LOCAL_SETTINGS')} {os.environ.get('OVERRIDDEN')}"


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")
def record_invocation(timer: func.TimerRequest) -> None:
    out = Path(os.environ["DEVHOST_TEST_OUT"]) / "record_invocation.jsonl"
    with out.open("a") as handle:
        handle.write(json.dumps({"past_due": timer.past_due}) + "\n")
