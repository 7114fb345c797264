"""``devhost topology`` lists what the apps bind to, from indexing them (they do not run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

APPS = Path(__file__).parent / "apps"


def topology(*apps: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "devhost.cli", "topology", "--json", *map(str, apps)],
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_topology_json_lists_entities_with_contract_filters_and_config_properties() -> None:
    data = topology(APPS / "bus_sb", APPS / "bus_crash")
    assert data["version"] == 1
    assert [app["name"] for app in data["apps"]] == ["bus_sb", "bus_crash"]
    queues = {q["name"]: q for q in data["serviceBus"]["queues"]}
    assert set(queues) == {"always-fails", "work", "ordered", "batched", "emitted", "crashy"}
    assert queues["ordered"]["requiresSession"] is True
    assert queues["crashy"]["lockDuration"] == "PT3S"  # from bus_crash/devhost.namespace.json
    assert queues["work"] == {
        "name": "work",
        "requiresSession": False,
        "maxDeliveryCount": 10,
        "lockDuration": "PT1M",
        "usedBy": [{"app": "bus_sb", "function": "work", "direction": "trigger"}],
    }
    (orders,) = data["serviceBus"]["topics"]
    assert orders["name"] == "orders" and orders["requiresDuplicateDetection"] is True
    (inventory,) = orders["subscriptions"]
    assert inventory["requiresSession"] is True
    assert [rule["filter"] for rule in inventory["rules"]] == [
        {"type": "correlation", "subject": "com.nightshift.orders.order.placed.v1", "properties": {}},
        {"type": "correlation", "subject": "com.nightshift.orders.order.cancelled.v1", "properties": {}},
    ]
    (hub,) = data["eventHubs"]
    assert hub["name"] == "bus-copies" and hub["partitionCount"] == 4 and hub["consumerGroups"] == []
    assert hub["usedBy"] == [{"app": "bus_sb", "function": "work", "direction": "out"}]


def test_topology_takes_hub_partitions_and_consumer_groups_from_contracts() -> None:
    (hub,) = topology(APPS / "bus_hubs")["eventHubs"]
    assert hub["name"] == "inventory-stock" and hub["partitionCount"] == 4
    assert [group["name"] for group in hub["consumerGroups"]] == ["reporting"]


def test_topology_reports_an_app_that_fails_to_index() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devhost.cli", "topology", str(APPS / "broken")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "indexing failed" in done.stderr
