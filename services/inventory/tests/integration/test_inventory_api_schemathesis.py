"""schemathesis against the inventory API on a real `devhost run`: every response it provokes
is one the OpenAPI document (contracts/openapi/inventory.yaml) promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import http, wait_for

SPEC = Path(__file__).resolve().parents[4] / "contracts" / "openapi" / "inventory.yaml"
PROBLEMS = "https://nightshift.example/problems/"
CONFORMANCE = (
    "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
)


def schemathesis(host: Any, *options: str) -> subprocess.CompletedProcess[str]:
    """Run the schemathesis CLI on the spec against the app; feed ids are drawn half the time
    from the feeds the app really processed (`known_feed_ids`), so 200s are checked too."""
    key = host.key["x-functions-key"]
    config = host.process.state.parent / "schemathesis.toml"
    known = ", ".join(f'"{feed_id}"' for feed_id in host.known_feed_ids)
    config.write_text(
        f"[dictionaries.feeds]\nvalues = [{known}]\n\n"
        '[parameters]\n"path.feed_id" = { dictionary = "feeds", probability = 0.5 }\n'
    )
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        str(SPEC),
        "--url",
        host.process.url(0, "/api"),
        "--header",
        f"x-functions-key: {key}",
        "--max-examples",
        "50",
        "--seed",
        "20240601",
        "--generation-database",
        "none",
        "--no-color",
        *options,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=host.process.state)


@pytest.fixture
def stocked_host(inventory_host: Any) -> Any:
    """The app with the spec's example SKUs stocked (its state folder is this test's own), so the
    examples phase sees 200s, one of them for a SKU with a `/`."""
    inventory_host.upload_feed(
        [("SKU-1001", "DE-BER1", 12), ("acme/PART-7", "DE-HAM1", 3), ("SKU-1001", "DE-HAM1", -1)]
    )
    inventory_host.wait_stock("SKU-1001", 12)
    assert inventory_host.get("/api/stock/acme%2FPART-7").json()["available"] == 3
    processed = wait_for(inventory_host.events_for_reporting, 60.0, "feed.processed")
    inventory_host.known_feed_ids = [event["data"]["feed_id"] for event in processed]
    return inventory_host


@pytest.mark.timeout(240)
def test_every_valid_request_gets_a_documented_status_body_and_content_type(stocked_host: Any) -> None:
    result = schemathesis(stocked_host, "--mode", "positive", "--checks", CONFORMANCE)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.mark.timeout(240)
def test_invalid_parameters_never_cause_a_server_error_or_an_undocumented_status(stocked_host: Any) -> None:
    # Values the router cannot match (a control character, an empty segment) never reach the
    # function: the host answers its own bodiless 404, so only status codes are checked here.
    result = schemathesis(
        stocked_host, "--mode", "negative", "--checks", "not_a_server_error,status_code_conformance"
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.mark.timeout(120)
def test_a_malformed_id_is_a_400_problem_and_a_missing_key_a_bodiless_401(inventory_host: Any) -> None:
    bad_sku = inventory_host.get("/api/stock/-starts-with-a-dash")
    trailing_break = inventory_host.get("/api/stock/SKU-1%0A")
    feed_with_break = inventory_host.get(f"/api/feeds/feed-{'0' * 32}%0A")
    bad_feed = inventory_host.get("/api/feeds/not-a-feed-id/rejected-rows")
    unknown = inventory_host.get(f"/api/feeds/feed-{'0' * 32}")
    keyless = http("GET", inventory_host.process.url(0, "/api/stock/SKU-1"))

    assert (bad_sku.status, bad_sku.json()["type"]) == (400, PROBLEMS + "invalid-sku")
    assert (bad_feed.status, bad_feed.json()["type"]) == (400, PROBLEMS + "invalid-feed-id")
    assert (trailing_break.status, trailing_break.json()["type"]) == (400, PROBLEMS + "invalid-sku")
    assert (feed_with_break.status, feed_with_break.json()["type"]) == (400, PROBLEMS + "invalid-feed-id")
    assert (unknown.status, unknown.json()["type"]) == (404, PROBLEMS + "unknown-feed")
    assert bad_sku.headers["Content-Type"].startswith("application/problem+json")
    assert (keyless.status, keyless.body) == (401, b"")
