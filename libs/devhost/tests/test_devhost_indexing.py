"""Indexing loads function_app.py as the Python worker does and describes every function."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from devhost.errors import AppLoadError
from devhost.indexing import load_app, module_name_for

APPS = Path(__file__).parent / "apps"


def test_get_functions_is_called_exactly_once() -> None:
    load_app(APPS / "counting")
    module = sys.modules[module_name_for(APPS / "counting")]
    assert module.CountingApp.calls == 1


def test_each_function_carries_its_trigger_settings_bindings_and_retry() -> None:
    index = load_app(APPS / "counting")
    names = [function.name for function in index.functions]
    assert names == ["ping", "tick", "queue_listener", "storage_listener"]

    ping = index.function("ping")
    assert ping is not None
    assert ping.trigger.type == "httpTrigger"
    assert ping.trigger.get("route") == "ping"
    assert ping.trigger.get("authLevel") == "anonymous"
    assert not ping.is_async

    tick = index.function("tick")
    assert tick is not None and tick.retry is not None
    assert tick.trigger.get("schedule") == "%PING_SCHEDULE%"
    assert (tick.retry.strategy, tick.retry.max_retry_count) == ("exponential_backoff", 4)
    assert tick.retry.minimum_interval == "00:00:01"

    listener = index.function("queue_listener")
    assert listener is not None
    assert listener.trigger.type == "serviceBusTrigger"
    assert listener.trigger.get("queueName") == "%QUEUE%"
    assert listener.trigger.get("connection") == "ServiceBusConnection"
    assert [(b.type, b.direction, b.name) for b in listener.outputs] == [("serviceBus", "out", "out")]
    assert listener.outputs[0].get("topicName") == "orders"


def test_async_functions_are_recognised() -> None:
    index = load_app(APPS / "timers")
    startup = index.function("yearly_with_startup")
    assert startup is not None and startup.is_async
    assert startup.trigger.get("runOnStartup") is True


def test_an_import_error_is_reported_with_its_full_traceback() -> None:
    with pytest.raises(AppLoadError) as caught:
        load_app(APPS / "broken")
    assert "missing_module_for_devhost_test" in str(caught.value)
    assert "Traceback (most recent call last)" in caught.value.traceback_text
    assert "function_app.py" in caught.value.traceback_text


def test_an_app_without_a_function_app_instance_is_a_load_error(tmp_path: Path) -> None:
    app_dir = tmp_path / f"noapp_{uuid.uuid4().hex[:8]}"
    app_dir.mkdir()
    (app_dir / "function_app.py").write_text("import azure.functions as func\nx = 1\n")
    with pytest.raises(AppLoadError, match="no top-level function app instance"):
        load_app(app_dir)


def test_a_missing_function_app_file_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(AppLoadError, match="does not exist"):
        load_app(tmp_path)


def test_two_apps_with_the_same_module_layout_load_under_different_names(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    for folder, route in ((first, "a"), (second, "b")):
        folder.mkdir()
        (folder / "function_app.py").write_text(
            "import azure.functions as func\napp = func.FunctionApp()\n"
            f"@app.route(route='{route}')\ndef f(req): return 'x'\n"
        )
    routes = [load_app(folder).functions[0].trigger.get("route") for folder in (first, second)]
    assert routes == ["a", "b"]
    assert module_name_for(first) != module_name_for(second)
