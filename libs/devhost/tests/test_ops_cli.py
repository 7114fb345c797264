"""`devhost publish`, `tail`, `dlq` and `status` work on the state folder as a user types them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devhost.cli import main
from devhost.state import StateLayout
from eventkit.bus.servicebus import CorrelationFilter, RuleProperties
from eventkit.envelope import decode, to_transport
from eventkit.publisher import TransportMessage

REPO = Path(__file__).resolve().parents[3]
FULFILLMENT = (
    REPO / "contracts/examples/com.nightshift.orders.order.fulfillment-requested.v1/ship-two-lines.json"
)
STOCK_ADJUSTED = REPO / "contracts/examples/com.nightshift.inventory.stock.adjusted.v1/from-feed.json"


@pytest.fixture()
def state(tmp_path: Path) -> StateLayout:
    layout = StateLayout(tmp_path / "state")
    bus = layout.open_servicebus()
    bus.create_topic("orders")
    rule = RuleProperties(
        "fulfillment", CorrelationFilter(subject="com.nightshift.orders.order.fulfillment-requested.v1")
    )
    bus.create_subscription("orders", "fulfillment", rules=[rule])
    bus.create_queue("work")
    layout.open_eventhubs().create_event_hub("inventory-stock", partition_count=4)
    return layout


def devhost(state: StateLayout, *args: str) -> int:
    return main([*args, "--state", str(state.root)])


def test_a_published_event_is_tailed_from_its_subscription_without_being_taken(
    state: StateLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    event_id = json.loads(FULFILLMENT.read_text())["id"]

    assert devhost(state, "publish", str(FULFILLMENT), "--to", "orders") == 0
    assert devhost(state, "tail", "orders/subscriptions/fulfillment", "--count", "1", "--timeout", "5") == 0

    out = capsys.readouterr().out
    assert f"published com.nightshift.orders.order.fulfillment-requested.v1 {event_id}" in out
    assert f"id={event_id}" in out
    counts = state.open_servicebus().runtime_properties("orders/subscriptions/fulfillment")
    assert counts.active_message_count == 1


def test_an_event_whose_data_breaks_its_contract_is_refused_naming_the_field(
    state: StateLayout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = json.loads(FULFILLMENT.read_text())
    bad["data"]["lines"][0]["quantity"] = 0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))

    assert devhost(state, "publish", str(path), "--to", "orders") == 2
    assert "lines.0.quantity" in capsys.readouterr().err
    assert (
        state.open_servicebus().runtime_properties("orders/subscriptions/fulfillment").active_message_count
        == 0
    )


def test_dead_letters_are_listed_with_their_reason_and_resubmitted(
    state: StateLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    bus = state.open_servicebus()
    bus.send("work", [_message(FULFILLMENT)])
    (received,) = bus.receive("work", max_messages=1)
    assert received.lock_token is not None
    bus.dead_letter(received.lock_token, "PoisonOrder", "quantity made no sense")

    assert devhost(state, "dlq", "list", "work") == 0
    assert "reason=PoisonOrder quantity made no sense" in capsys.readouterr().out
    assert devhost(state, "dlq", "resubmit", "work") == 0
    assert "resubmitted 1 message(s) to work" in capsys.readouterr().out
    counts = bus.runtime_properties("work")
    assert (counts.active_message_count, counts.dead_letter_message_count) == (1, 0)


def test_a_hub_is_tailed_from_the_start_with_its_partition(
    state: StateLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    assert devhost(state, "publish", str(STOCK_ADJUSTED), "--to", "inventory-stock") == 0
    assert devhost(state, "tail", "inventory-stock", "--from-start", "--count", "1", "--timeout", "5") == 0
    assert "[inventory-stock/" in capsys.readouterr().out


def test_status_reports_backlogs_dead_letters_and_partitions(
    state: StateLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    devhost(state, "publish", str(FULFILLMENT), "--to", "orders")
    devhost(state, "publish", str(STOCK_ADJUSTED), "--to", "inventory-stock")
    capsys.readouterr()

    assert devhost(state, "status", "--json") == 0
    report = json.loads(capsys.readouterr().out)

    fulfillment = next(e for e in report["entities"] if e["path"] == "orders/subscriptions/fulfillment")
    assert fulfillment["active"] == 1
    assert sum(p["backlog"] for p in report["partitions"] if p["hub"] == "inventory-stock") == 1
    assert report["poison_blobs"] == 0


def test_the_console_script_publishes_like_the_function(state: StateLayout) -> None:
    devhost_script = Path(sys.executable).with_name("devhost")
    result = subprocess.run(
        [str(devhost_script), "publish", str(FULFILLMENT), "--to", "orders", "--state", str(state.root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "published" in result.stdout


def _message(path: Path) -> TransportMessage:
    return to_transport(decode(path.read_bytes()))
