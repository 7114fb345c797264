"""A small function app for devhost: an anonymous route, a function-level route and a timer."""

import logging

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="hello/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def hello(req: func.HttpRequest) -> func.HttpResponse:
    """Greets the name in the route; anyone may call it."""
    return func.HttpResponse(f"Hello, {req.route_params['name']}!", mimetype="text/plain")


@app.route(route="secret", methods=["GET", "POST"])
def secret(req: func.HttpRequest) -> func.HttpResponse:
    """Needs a function key (?code= or x-functions-key)."""
    return func.HttpResponse('{"secret": "kept"}', mimetype="application/json")


@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
def every_five_minutes(timer: func.TimerRequest) -> None:
    """Logs every five minutes, and says so when the run is late."""
    logging.info("five-minute tick (past due: %s)", timer.past_due)
