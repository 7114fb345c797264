"""Which functions a language-worker pool takes (activities yes, Durable clients no) and
``extensions.durableTask.maxConcurrentActivityFunctions``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devhost.durable.host import max_concurrent_activities
from devhost.errors import HostJsonError
from devhost.indexing import BindingInfo, FunctionInfo, load_app
from devhost.language_pool import POOLED_TRIGGERS, LanguageWorkerPool
from devhost.testing import DevhostProcess, wait_for

BAD_APP = Path(__file__).parent / "apps" / "durable_bad_activity_setting"

SETTING = "maxConcurrentActivityFunctions"
POOLED_APP = Path(__file__).parent / "apps" / "durable_pooled"


def function_info(trigger: str, *bindings: str) -> FunctionInfo:
    def run(**_: Any) -> None:
        return None

    return FunctionInfo(
        name=f"{trigger}_function",
        trigger=BindingInfo(trigger, "in", "trigger", {}),
        bindings=tuple(BindingInfo(kind, "in", f"{kind}_arg", {}) for kind in bindings),
        user_function=run,
        is_async=False,
    )


def pool() -> LanguageWorkerPool:
    return LanguageWorkerPool(Path("/nonexistent-app"), "app", 2)


def durable(settings: dict[str, Any]) -> dict[str, Any]:
    return {"version": "2.0", "extensions": {"durableTask": settings}}


def test_without_the_setting_activities_run_ten_per_processor_as_on_azure() -> None:
    default = 10 * (os.cpu_count() or 1)
    assert max_concurrent_activities({}) == default
    assert max_concurrent_activities({"extensions": {}}) == default
    assert max_concurrent_activities(durable({"hubName": "Hub"})) == default


def test_the_setting_sizes_the_activity_workers() -> None:
    assert max_concurrent_activities(durable({SETTING: 3})) == 3
    assert max_concurrent_activities(durable({SETTING: 1})) == 1


@pytest.mark.parametrize(
    "host_json",
    [
        {"extensions": {"DurableTask": {"MaxConcurrentActivityFunctions": 7}}},
        {"extensions": {"durabletask": {"maxconcurrentactivityfunctions": 7}}},
        {"extensions": {"DURABLETASK": {"MAXCONCURRENTACTIVITYFUNCTIONS": 7}}},
    ],
)
def test_the_setting_is_read_whatever_the_case_of_its_keys(host_json: dict[str, Any]) -> None:
    assert max_concurrent_activities(host_json) == 7


def test_the_setting_is_read_under_a_capitalised_extensions_key() -> None:
    assert max_concurrent_activities({"Extensions": {"durableTask": {SETTING: 7}}}) == 7


@pytest.mark.parametrize("value", [0, -1, "8", True, 2.5])
def test_a_setting_that_is_not_a_positive_integer_is_refused_naming_the_setting(value: Any) -> None:
    with pytest.raises(HostJsonError, match=f"extensions.durableTask.{SETTING}") as raised:
        max_concurrent_activities(durable({SETTING: value}))
    assert repr(value) in str(raised.value)


@pytest.mark.parametrize("trigger", ["blobTrigger", "cosmosDBTrigger", "activityTrigger"])
def test_blob_cosmos_and_activity_invocations_go_to_the_language_workers(trigger: str) -> None:
    assert pool().handles(function_info(trigger))


@pytest.mark.parametrize(
    "trigger",
    [
        "httpTrigger",
        "timerTrigger",
        "serviceBusTrigger",
        "eventHubTrigger",
        "orchestrationTrigger",
        "entityTrigger",
    ],
)
def test_other_triggers_stay_in_the_worker_process(trigger: str) -> None:
    assert not pool().handles(function_info(trigger))


@pytest.mark.parametrize("trigger", ["blobTrigger", "cosmosDBTrigger"])
@pytest.mark.parametrize("client", ["durableClient", "DurableClient"])
def test_a_pooled_trigger_with_a_durable_client_binding_stays_in_the_worker_process(
    trigger: str, client: str
) -> None:
    assert not pool().handles(function_info(trigger, client))
    assert pool().handles(function_info(trigger, "blob"))


def test_in_an_indexed_durable_app_only_the_activities_go_to_the_language_workers() -> None:
    index = load_app(POOLED_APP)

    pooled = {function.name for function in index.functions if pool().handles(function)}

    assert pooled == {"square", "refuse"}
    relay = index.function("start_from_feed")
    assert relay is not None and relay.trigger.type in POOLED_TRIGGERS, (
        "a pooled trigger kept back by its client"
    )


def test_a_bad_activity_concurrency_stops_the_app_at_start_naming_it_without_restarts(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    host = start_devhost([BAD_APP], state=tmp_path / "state")
    output = wait_for(lambda: "failed to load" in host.output and host.output, what="the start failure")
    assert f"extensions.durableTask.{SETTING} must be a positive integer, not 0" in output
    assert "it is not started" in output
    # the supervisor restarts a crashed worker within 0.5 s; a configuration error is not retried
    with pytest.raises(AssertionError):
        wait_for(lambda: "restarting in" in host.output, timeout=3, what="a restart (there must be none)")
