"""Fixture app that counts get_functions() calls (the worker may call it only once)."""

import azure.functions as func


class CountingApp(func.FunctionApp):
    calls = 0

    def get_functions(self):  # type: ignore[no-untyped-def]
        CountingApp.calls += 1
        return super().get_functions()


app = CountingApp()


@app.route(route="ping", auth_level=func.AuthLevel.ANONYMOUS)
def ping(req: func.HttpRequest) -> str:
    return "pong"


@app.timer_trigger(schedule="%PING_SCHEDULE%", arg_name="timer")
@app.retry(
    strategy="exponential_backoff",
    max_retry_count="4",
    minimum_interval="00:00:01",
    maximum_interval="00:00:10",
)
def tick(timer: func.TimerRequest) -> None:
    pass


@app.function_name("queue_listener")
@app.service_bus_queue_trigger(arg_name="msg", queue_name="%QUEUE%", connection="ServiceBusConnection")
@app.service_bus_topic_output(arg_name="out", topic_name="orders", connection="ServiceBusConnection")
def listen(msg: func.ServiceBusMessage, out: func.Out[str]) -> None:
    pass


@app.function_name("storage_listener")
@app.queue_trigger(arg_name="msg", queue_name="work-items", connection="AzureWebJobsStorage")
def storage_listener(msg: func.QueueMessage) -> None:
    pass
