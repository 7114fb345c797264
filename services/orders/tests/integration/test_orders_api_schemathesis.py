"""schemathesis against the orders API on a real `devhost run`: every response it provokes is one
the OpenAPI document (contracts/openapi/orders.yaml) promises, and none is a server error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SPEC = Path(__file__).resolve().parents[4] / "contracts" / "openapi" / "orders.yaml"
CONFORMANCE = (
    "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
)


def schemathesis(host: Any, order_ids: list[str], *options: str) -> subprocess.CompletedProcess[str]:
    """Run the schemathesis CLI with the master key (it passes every auth level); order ids and
    SKUs are drawn half the time from those the app really holds, so 200s are checked too."""
    config = host.process.state.parent / "schemathesis.toml"
    known = ", ".join(f'"{order_id}"' for order_id in order_ids)
    config.write_text(
        f'[dictionaries.orders]\nvalues = [{known}]\n\n[dictionaries.skus]\nvalues = ["SKU-1001"]\n\n'
        "[parameters]\n"
        '"path.order_id" = { dictionary = "orders", probability = 0.5 }\n'
        '"path.sku" = { dictionary = "skus", probability = 0.5 }\n'
    )
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        str(SPEC),
        "--url",
        host.url("/api"),
        "--header",
        f"x-functions-key: {host.admin_key['x-functions-key']}",
        "--max-examples",
        "40",
        "--seed",
        "20240601",
        "--generation-database",
        "none",
        "--no-color",
        *options,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=200, cwd=host.process.state)


@pytest.fixture
def priced_host(orders_alone: Any) -> tuple[Any, list[str]]:
    """The orders app with the spec's example SKU priced and one order placed."""
    orders_alone.set_price("SKU-1001", 1999)
    placed = orders_alone.place("cust-42", [("SKU-1001", 2)])
    assert placed.status == 202, placed.text
    return orders_alone, [placed.json()["order_id"]]


@pytest.mark.timeout(300)
def test_every_valid_request_gets_a_documented_status_body_and_content_type(priced_host: Any) -> None:
    host, order_ids = priced_host
    result = schemathesis(host, order_ids, "--mode", "positive", "--checks", CONFORMANCE)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.mark.timeout(300)
def test_invalid_requests_never_cause_a_server_error_or_an_undocumented_status(priced_host: Any) -> None:
    host, order_ids = priced_host
    result = schemathesis(
        host, order_ids, "--mode", "negative", "--checks", "not_a_server_error,status_code_conformance"
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
