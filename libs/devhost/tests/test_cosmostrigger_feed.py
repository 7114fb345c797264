"""Cosmos DB change feed trigger on a real `devhost run`: batches, start position, leases, failures."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, wait_for
from devhost.triggers.cosmos_feed import append_documents
from eventkit.store import SQLiteEventStore
from eventkit.store.events import NewEvent

APP = Path(__file__).parent / "apps" / "cosmostrig_relay"
WAIT = 30.0


class RelayHost:
    """A devhost running the relay fixture, the embedded containers, and what the functions recorded."""

    def __init__(self, start: Callable[..., DevhostProcess], tmp_path: Path) -> None:
        self._start = start
        self.state = tmp_path / "state"
        self.results = tmp_path / "relayed.jsonl"
        self.layout = StateLayout(self.state)
        self.host: DevhostProcess | None = None

    def run(self) -> DevhostProcess:
        self.host = self._start([APP], env={"COSMOSTRIG_RESULTS": str(self.results)}, state=self.state)
        self.host.wait_running(0, APP.name)
        return self.host

    def stop(self) -> None:
        assert self.host is not None
        self.host.stop()

    def container(self, name: str) -> SQLiteEventStore:
        return self.layout.open_cosmos_container("nightshift", name)

    def calls(self, function: str) -> list[dict[str, Any]]:
        if not self.results.exists():
            return []
        entries = [json.loads(line) for line in self.results.read_text().splitlines() if line]
        return [entry for entry in entries if entry["function"] == function]

    def event_ids(self, function: str) -> list[str]:
        return [event for call in self.calls(function) for doc in call["docs"] for event in doc["eventIds"]]

    def wait_event(self, function: str, event_id: str) -> None:
        wait_for(lambda: event_id in self.event_ids(function), WAIT, f"{function} to get {event_id}")


def _append(store: SQLiteEventStore, stream: str, *types: str) -> list[str]:
    events = [NewEvent(type=kind, data={"stream": stream}) for kind in types]
    store.append(stream, store.stream_version(stream), events)
    return [event.event_id for event in events]


def _stream() -> str:
    return f"order-{uuid.uuid4().hex[:8]}"


def test_documents_mirror_the_cosmos_adapter_one_per_append(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "orders.db")
    first, second = _stream(), _stream()
    _append(store, first, "placed", "priced")
    _append(store, second, "placed")
    _append(store, first, "shipped")
    documents = append_documents(store.read_all(0, 100))
    assert [(d["streamId"], d["id"], d["firstVersion"], d["lastVersion"]) for d in documents] == [
        (first, f"{1:020d}", 1, 2),
        (second, f"{1:020d}", 1, 1),
        (first, f"{3:020d}", 3, 3),
    ]
    assert [event["type"] for event in documents[0]["events"]] == ["placed", "priced"]
    assert {"kind", "recordedAt", "_lsn", "_ts"} <= set(documents[0])
    assert documents[0]["kind"] == "append" and documents[0]["_lsn"] == 2


def test_changes_reach_functions_in_batches_from_the_beginning_or_from_now_and_leases_survive_a_restart(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    relay = RelayHost(start_devhost, tmp_path)
    orders = relay.container("orders")
    before = [_append(orders, _stream(), "placed", "priced")] + [
        _append(orders, _stream(), "placed") for _ in range(2)
    ]
    relay.run()

    for ids in before:
        relay.wait_event("relay_from_start", ids[-1])
    batches = relay.calls("relay_from_start")
    assert all(1 <= len(call["docs"]) <= 2 for call in batches) and len(batches) >= 2
    assert relay.event_ids("relay_from_start") == [event for ids in before for event in ids]
    assert batches[0]["docs"][0]["eventIds"] == before[0]  # one document holds its append's two events

    after_start = _append(orders, _stream(), "placed")
    relay.wait_event("relay_from_now", after_start[0])
    relay.wait_event("relay_from_start", after_start[0])
    assert relay.event_ids("relay_from_now") == after_start  # nothing from before it started

    relay.stop()
    while_down = _append(orders, _stream(), "cancelled")
    relay.run()
    relay.wait_event("relay_from_start", while_down[0])
    relay.wait_event("relay_from_now", while_down[0])
    delivered = relay.event_ids("relay_from_start")
    assert len(delivered) == len(set(delivered)) == 6  # no batch redelivered after the restart
    assert relay.event_ids("relay_from_now") == after_start + while_down


def test_a_failed_batch_is_redelivered_under_a_retry_policy(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    relay = RelayHost(start_devhost, tmp_path)
    payments = relay.container("payments")
    ids = _append(payments, _stream(), "captured")
    relay.run()

    wait_for(lambda: len(relay.calls("flaky_relay")) >= 2, WAIT, "the retried batch")
    first, second = relay.calls("flaky_relay")[:2]
    assert first["docs"] == second["docs"] and first["docs"][0]["eventIds"] == ids
    assert (first["attempt"], first["retry_count"], second["attempt"], second["retry_count"]) == (1, 0, 2, 1)

    later = _append(payments, _stream(), "captured")
    wait_for(lambda: later[0] in relay.event_ids("flaky_relay"), WAIT, "the next batch")
    assert relay.event_ids("flaky_relay").count(ids[0]) == 2  # retried once, then the lease moved on


def test_without_a_retry_policy_a_failed_batch_is_skipped_as_in_azure(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    relay = RelayHost(start_devhost, tmp_path)
    refunds = relay.container("refunds")
    poisoned = _append(refunds, _stream(), "poison")
    host = relay.run()
    relay.wait_event("fragile_relay", poisoned[0])

    later = _append(refunds, _stream(), "refunded")
    relay.wait_event("fragile_relay", later[0])
    assert relay.event_ids("fragile_relay") == poisoned + later
    assert "the lease moves on" in host.output
