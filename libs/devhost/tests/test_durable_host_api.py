"""The Durable HTTP management API and DurableOrchestrationClient, through a real `devhost run`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevhostProcess, Response, http, wait_for

APP = Path(__file__).parent / "apps" / "durable_saga"
CHECK_STATUS_KEYS = {
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "rewindPostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
}


@pytest.fixture
def host(start_devhost: Callable[..., DevhostProcess]) -> DevhostProcess:
    started = start_devhost([APP])
    started.wait_running(0, "durable_saga")
    return started


def start_order(host: DevhostProcess, orchestrator: str, order: Any, instance_id: str = "") -> Response:
    query = f"?id={instance_id}" if instance_id else ""
    return http("POST", host.url(0, f"/api/orders/{orchestrator}{query}"), json.dumps(order).encode())


def status_of(url: str) -> Response:
    return http("GET", url)


def wait_status(url: str, wanted: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        body: dict[str, Any] = status_of(url).json()
        return body if body["runtimeStatus"] == wanted else None

    result: dict[str, Any] = wait_for(reached, timeout=20, what=f"instance to be {wanted}")
    return result


def webhook(host: DevhostProcess, path: str) -> str:
    key = json.loads((host.state / "apps" / "durable_saga" / "durabletask.keys.json").read_text())
    separator = "&" if "?" in path else "?"
    return host.url(0, f"/runtime/webhooks/durabletask/{path}{separator}code={key['durabletask_extension']}")


def test_an_http_starter_answers_202_with_the_check_status_payload_and_the_status_uri_reports_completion(
    host: DevhostProcess,
) -> None:
    started = start_order(host, "quick_order", "o-1")
    assert started.status == 202
    payload = started.json()
    assert set(payload) == CHECK_STATUS_KEYS
    assert started.headers["Location"] == payload["statusQueryGetUri"]
    assert started.headers["Retry-After"] == "10"
    assert "taskHub=SagaHub&connection=Storage&code=" in payload["statusQueryGetUri"]
    done = wait_status(payload["statusQueryGetUri"], "Completed")
    assert done["output"] == "paid(reserved(o-1))"
    assert done["input"] == "o-1" and done["name"] == "quick_order"
    assert done["createdTime"].endswith("Z") and "historyEvents" not in done
    with_history = status_of(payload["statusQueryGetUri"] + "&showHistory=true").json()
    kinds = [(e["EventType"], e.get("Name")) for e in with_history["historyEvents"]]
    assert ("TaskCompleted", "reserve_stock") in kinds and kinds[-1] == ("ExecutionCompleted", None)
    without_key = payload["statusQueryGetUri"].split("&code=")[0]
    assert status_of(without_key).status == 401
    master = host.master_key("durable_saga")
    assert status_of(f"{without_key}&code={master}").status == 200


def test_an_event_raised_through_send_event_uri_completes_the_waiting_saga(host: DevhostProcess) -> None:
    payload = start_order(host, "order_saga", "o-2").json()
    waiting = wait_status(payload["statusQueryGetUri"], "Running")
    assert status_of(payload["statusQueryGetUri"]).status == 202
    wait_for(
        lambda: status_of(payload["statusQueryGetUri"]).json()["customStatus"] == "awaiting approval",
        timeout=20,
        what="the saga to wait for approval",
    )
    assert waiting["output"] is None
    raise_url = payload["sendEventPostUri"].replace("{eventName}", "Approved")
    plain = http("POST", raise_url, b'"ann"', {"Content-Type": "text/plain"})
    assert plain.status == 400
    assert http("POST", raise_url, b'"ann"', {"Content-Type": "application/json"}).status == 202
    done = wait_status(payload["statusQueryGetUri"], "Completed")
    assert done["output"] == {"paid": "paid(reserved(o-2))", "approved_by": "ann"}
    assert http("POST", raise_url, b'"late"', {"Content-Type": "application/json"}).status == 410
    missing = webhook(host, f"instances/{uuid.uuid4().hex}/raiseEvent/Approved")
    assert http("POST", missing, b"{}", {"Content-Type": "application/json"}).status == 404


def test_a_running_instance_id_is_refused_with_409_and_invalid_ids_or_names_with_400(
    host: DevhostProcess,
) -> None:
    instance_id = f"order-{uuid.uuid4().hex[:8]}"
    first = http("POST", webhook(host, f"orchestrators/order_saga/{instance_id}"), b'"o-3"')
    assert first.status == 202 and first.json()["id"] == instance_id
    again = http("POST", webhook(host, f"orchestrators/order_saga/{instance_id}"), b'"o-3"')
    assert again.status == 409
    assert http("POST", webhook(host, "orchestrators/order_saga/@entity"), b"{}").status == 400
    assert http("POST", webhook(host, "orchestrators/no_such_orchestrator"), b"{}").status == 400
    generated = http("POST", webhook(host, "orchestrators/quick_order"), b'"o-4"')
    assert generated.status == 202 and len(generated.json()["id"]) == 32


def test_terminate_then_purge_answer_like_azure(host: DevhostProcess) -> None:
    payload = start_order(host, "order_saga", "o-5").json()
    wait_status(payload["statusQueryGetUri"], "Running")
    terminate = payload["terminatePostUri"].replace("{text}", "cancelled")
    purge = payload["purgeHistoryDeleteUri"]
    assert http("DELETE", purge).status == 412
    assert http("POST", terminate).status == 202
    terminated = wait_status(payload["statusQueryGetUri"], "Terminated")
    assert terminated["output"] == "cancelled"
    assert status_of(payload["statusQueryGetUri"]).status == 200
    assert http("POST", terminate).status == 410
    purged = http("DELETE", purge)
    assert purged.status == 200 and purged.json() == {"instancesDeleted": 1}
    assert http("DELETE", purge).status == 404
    assert status_of(payload["statusQueryGetUri"]).status == 404
    assert http("POST", webhook(host, f"instances/{uuid.uuid4().hex}/terminate")).status == 404


def test_listing_filters_by_status_and_prefix_and_pages_with_a_continuation_token(
    host: DevhostProcess,
) -> None:
    prefix = f"batch-{uuid.uuid4().hex[:6]}-"
    for n in range(3):
        payload = start_order(host, "quick_order", n, f"{prefix}{n}").json()
        wait_status(payload["statusQueryGetUri"], "Completed")
    start_order(host, "order_saga", "o-6", f"{prefix}running")
    query = f"instances?runtimeStatus=Completed,Failed&instanceIdPrefix={prefix}&top=2"
    first = http("GET", webhook(host, query))
    assert first.status == 200
    assert [s["instanceId"] for s in first.json()] == [f"{prefix}0", f"{prefix}1"]
    token = first.headers["x-ms-continuation-token"]
    assert token
    second = http("GET", webhook(host, query), headers={"x-ms-continuation-token": token})
    assert [s["instanceId"] for s in second.json()] == [f"{prefix}2"]
    assert second.headers.get("x-ms-continuation-token", "") == ""
    every = http("GET", webhook(host, f"instances?instanceIdPrefix={prefix}")).json()
    assert len(every) == 4
    assert http("DELETE", webhook(host, "instances")).status == 400
    purged = http(
        "DELETE", webhook(host, "instances?createdTimeFrom=2000-01-01T00:00:00Z&runtimeStatus=Completed")
    )
    assert purged.status == 200 and purged.json() == {"instancesDeleted": 3}
    assert http("GET", webhook(host, f"instances?instanceIdPrefix={prefix}")).json()[0]["runtimeStatus"] in (
        "Running",
        "Pending",
    )


def test_a_suspended_saga_keeps_its_event_until_resumed(host: DevhostProcess) -> None:
    payload = start_order(host, "order_saga", "o-7").json()
    status_url = payload["statusQueryGetUri"]
    wait_for(
        lambda: status_of(status_url).json()["customStatus"] == "awaiting approval",
        timeout=20,
        what="the saga to wait for approval",
    )
    assert http("POST", payload["suspendPostUri"].replace("{text}", "hold")).status == 202
    wait_status(status_url, "Suspended")
    raise_url = payload["sendEventPostUri"].replace("{eventName}", "Approved")
    assert http("POST", raise_url, b'"bob"', {"Content-Type": "application/json"}).status == 202
    assert status_of(status_url).json()["runtimeStatus"] == "Suspended"
    assert http("POST", payload["resumePostUri"].replace("{text}", "go")).status == 202
    done = wait_status(status_url, "Completed")
    assert done["output"]["approved_by"] == "bob"


def test_restart_starts_the_same_orchestration_again_with_its_input(host: DevhostProcess) -> None:
    payload = start_order(host, "quick_order", "o-8").json()
    wait_status(payload["statusQueryGetUri"], "Completed")
    restarted = http("POST", payload["restartPostUri"])
    assert restarted.status == 202
    again = restarted.json()
    assert again["id"] != payload["id"] and set(again) == CHECK_STATUS_KEYS - {"rewindPostUri"}
    assert wait_status(again["statusQueryGetUri"], "Completed")["output"] == "paid(reserved(o-8))"
    in_place = http("POST", payload["restartPostUri"] + "&restartWithNewInstanceId=false")
    assert in_place.status == 202 and in_place.json()["id"] == payload["id"]
    unknown = http("POST", webhook(host, f"instances/{uuid.uuid4().hex}/restart"))
    assert unknown.status == 400


def test_wait_for_completion_answers_200_with_the_output(host: DevhostProcess) -> None:
    answer = http("POST", host.url(0, "/api/orders/quick_order?wait=1"), b'"o-9"')
    assert answer.status == 200
    assert answer.text == "paid(reserved(o-9))"  # the SDK writes a string output as is


def test_the_sdk_client_raises_reads_terminates_and_purges_through_the_rpc_url(host: DevhostProcess) -> None:
    instance_id = f"sdk-{uuid.uuid4().hex[:8]}"
    payload = start_order(host, "order_saga", "o-10", instance_id).json()
    assert payload["id"] == instance_id
    wait_for(
        lambda: status_of(payload["statusQueryGetUri"]).json()["customStatus"] == "awaiting approval",
        timeout=20,
        what="the saga to wait for approval",
    )
    client = host.url(0, "/api/client")
    status = http("POST", f"{client}/status/{instance_id}").json()
    assert status["runtimeStatus"] == "Running" and status["customStatus"] == "awaiting approval"
    assert http("POST", f"{client}/raise/{instance_id}", b'"sdk"').status == 204
    assert wait_status(payload["statusQueryGetUri"], "Completed")["output"]["approved_by"] == "sdk"
    assert http("POST", f"{client}/terminate/{instance_id}").status == 204  # 410 is not an error
    assert http("POST", f"{client}/purge/{instance_id}").json() == {"deleted": 1}
    assert http("POST", f"{client}/raise/{instance_id}", b'"x"').status == 500  # 404 raises
