"""A function's Durable client through a real `devhost run`: in process (default) and over HTTP.

The fixture app's functions drive orchestrations with their client and report every
``[status, body]`` the SDK's request functions returned, what the public client API returned or
raised, and whether the SDK ever opened its aiohttp session.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevhostProcess, free_port_block, http, wait_for

APP = Path(__file__).parent / "apps" / "durable_client_inprocess"
NAME = "durable_client_inprocess"
SETTING = "DEVHOST_DURABLE_CLIENT_TRANSPORT"
TIME = re.compile(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"')


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, DevhostProcess]]:
    """One app per transport, each with its own state folder (so instance ids can repeat)."""
    started: dict[str, DevhostProcess] = {}
    for transport in ("inprocess", "http"):
        state = tmp_path_factory.mktemp(transport) / "state"
        started[transport] = DevhostProcess([APP], state, free_port_block(1), [], {SETTING: transport})
    try:
        for host in started.values():
            host.wait_running(0, NAME)
        yield started
    finally:
        for host in started.values():
            host.stop()


def run_scenario(host: DevhostProcess, prefix: str, route: str = "scenario") -> dict[str, Any]:
    answer = http("POST", host.url(0, f"/api/{route}/{prefix}"), b"")
    assert answer.status == 200, host.output[-3000:]
    result: dict[str, Any] = answer.json()
    return result


def normalised(result: dict[str, Any], host: DevhostProcess, prefix: str) -> Any:
    """The result with what differs between two hosts by construction replaced: port, key, times."""
    key = json.loads((host.state / "apps" / NAME / "durabletask.keys.json").read_text())[
        "durabletask_extension"
    ]
    text = json.dumps({"calls": result["calls"], "sdk": result["sdk"]})
    text = text.replace(f":{host.port}/", ":PORT/").replace(key, "KEY").replace(prefix, "PREFIX")
    return json.loads(TIME.sub('"TIME"', text))


def new_prefix() -> str:
    return f"order-{uuid.uuid4().hex[:12]}"


EXPECTED_STATUSES = [
    ("start", 202),
    ("status running", 202),
    ("start running id", 409),
    ("raise unknown", 404),
    ("raise", 202),
    ("status completed", 200),
    ("raise completed", 410),
    ("status unknown", 404),
    ("start unknown orchestrator", 400),
    ("start b", 202),
    ("terminate", 202),
    ("status terminated", 200),
    ("terminate ended", 410),
    ("terminate unknown", 404),
    ("purge", 200),
    ("purge unknown", 404),
]


def test_a_functions_client_gets_the_same_status_codes_and_bodies_in_process_as_over_http(
    hosts: dict[str, DevhostProcess],
) -> None:
    prefix = new_prefix()
    results = {transport: run_scenario(host, prefix) for transport, host in hosts.items()}
    for transport, result in results.items():
        assert [(step, answer[0]) for step, answer in result["calls"]] == EXPECTED_STATUSES, transport
        answers = dict((step, answer) for step, answer in result["calls"])
        assert answers["status unknown"] == [404, ""] and answers["raise completed"] == [410, None]
        assert answers["start running id"][1]["ExceptionType"] == "InstanceAlreadyExistsError"
        assert "is Running" in answers["start running id"][1]["ExceptionMessage"]
        assert answers["status completed"][1]["output"]["decision"] == {"by": "ops", "note": "ok é"}
        assert answers["purge"] == [200, {"instancesDeleted": 1}]
        assert answers["start"][1]["statusQueryGetUri"].startswith(
            f"http://127.0.0.1:{hosts[transport].port}/"
        )
    in_process = normalised(results["inprocess"], hosts["inprocess"], prefix)
    over_http = normalised(results["http"], hosts["http"], prefix)
    assert in_process["calls"] == over_http["calls"]


def test_the_public_client_api_returns_and_raises_the_same_both_ways(
    hosts: dict[str, DevhostProcess],
) -> None:
    prefix = new_prefix()
    results = {transport: run_scenario(host, prefix) for transport, host in hosts.items()}
    in_process = normalised(results["inprocess"], hosts["inprocess"], prefix)
    assert in_process["sdk"] == normalised(results["http"], hosts["http"], prefix)["sdk"]
    outcomes = dict((step, outcome) for step, outcome in in_process["sdk"])
    assert outcomes["start_new"] == {"returned": "PREFIX-c"}
    assert "InstanceAlreadyExistsError" in outcomes["start_new running id"]["raised"]
    assert outcomes["raise_event unknown"] == {
        "raised": "Exception: No instance with ID PREFIX-missing found."
    }
    assert outcomes["raise_event completed"] == {
        "raised": "Exception: Instance with ID PREFIX-c is gone: either completed or failed"
    }
    assert outcomes["terminate unknown"] == {
        "raised": "Exception: No instance with ID 'PREFIX-missing' found."
    }
    assert outcomes["get_status completed"]["output"]["decision"] == {"by": "sdk"}
    assert outcomes["signal_entity"] == {"returned": None} and outcomes["read_entity_state"] == 5


def test_in_process_the_sdk_never_opens_an_http_session_while_over_http_it_does(
    hosts: dict[str, DevhostProcess],
) -> None:
    assert run_scenario(hosts["inprocess"], new_prefix())["sdk_http_session_opened"] is False
    assert run_scenario(hosts["http"], new_prefix())["sdk_http_session_opened"] is True


def test_a_client_used_from_another_threads_event_loop_gets_the_same_answers(
    hosts: dict[str, DevhostProcess],
) -> None:
    host = hosts["inprocess"]
    on_the_hosts_loop, on_a_thread = new_prefix(), new_prefix()
    expected = normalised(run_scenario(host, on_the_hosts_loop), host, on_the_hosts_loop)
    threaded = run_scenario(host, on_a_thread, route="scenario-thread")
    assert normalised(threaded, host, on_a_thread) == expected
    assert threaded["sdk_http_session_opened"] is False


def test_the_worker_reports_at_stop_how_many_client_calls_it_served_in_process(
    start_devhost: Callable[..., DevhostProcess],
) -> None:
    host = start_devhost([APP])
    host.wait_running(0, NAME)
    run_scenario(host, new_prefix())
    assert host.stop() == 0
    counts = re.search(
        r"Durable client calls to this app: (\d+) served in process, (\d+) over HTTP", host.output
    )
    assert counts is not None, host.output[-3000:]
    assert int(counts.group(1)) >= len(EXPECTED_STATUSES) and int(counts.group(2)) == 0


def test_a_bad_transport_setting_keeps_the_app_from_loading_and_names_the_setting(
    start_devhost: Callable[..., DevhostProcess],
) -> None:
    host = start_devhost([APP], env={SETTING: "loopback"})
    output = wait_for(lambda: "failed to load" in host.output and host.output, what="the load failure")
    assert f"app setting {SETTING} must be 'inprocess' or 'http', got 'loopback'" in output
