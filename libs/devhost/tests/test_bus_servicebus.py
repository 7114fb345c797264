"""The Service Bus trigger and output, driven from outside through a real ``devhost run``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, free_port_block, http, wait_for
from eventkit.bus.servicebus import EmbeddedServiceBus, OutgoingMessage

APP = Path(__file__).parent / "apps" / "bus_sb"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevhostProcess, Path]]:
    root = tmp_path_factory.mktemp("bus_sb")
    out = root / "out"
    process = DevhostProcess([APP], root / "state", free_port_block(1), ["--no-auth"], {"BUS_OUT": str(out)})
    try:
        process.wait_running(0, "bus_sb")
        yield process, out
    finally:
        process.stop()


@pytest.fixture(scope="module")
def bus(host: tuple[DevhostProcess, Path]) -> Iterator[EmbeddedServiceBus]:
    namespace = StateLayout(host[0].state).open_servicebus()
    yield namespace
    namespace.close()


def seen(out: Path, function: str) -> list[dict[str, Any]]:
    path = out / function / "seen.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_a_failing_function_sees_a_message_ten_times_then_it_is_dead_lettered(
    host: tuple[DevhostProcess, Path], bus: EmbeddedServiceBus
) -> None:
    _, out = host
    message_id = f"fail-{uuid.uuid4()}"
    bus.send("always-fails", OutgoingMessage(b"boom", message_id=message_id))

    def dead_lettered() -> list[Any]:
        return bus.peek("always-fails/$deadletterqueue", 10)

    letters = wait_for(dead_lettered, 30, "the message in the dead-letter queue")
    attempts = [entry["delivery_count"] for entry in seen(out, "always_fails") if entry["id"] == message_id]
    assert attempts == list(range(1, 11))
    assert letters[0].message_id == message_id
    assert letters[0].dead_letter_reason == "MaxDeliveryCountExceeded"
    assert bus.runtime_properties("always-fails").active_message_count == 0


def test_a_successful_invocation_completes_the_message_and_its_output_reaches_the_hub(
    host: tuple[DevhostProcess, Path], bus: EmbeddedServiceBus
) -> None:
    process, out = host
    message_id = f"ok-{uuid.uuid4()}"
    bus.send(
        "work",
        OutgoingMessage(
            b"hello",
            message_id=message_id,
            subject="greeting",
            content_type="text/plain",
            correlation_id="corr-1",
            application_properties={"tenant": "t1"},
        ),
    )
    entry = wait_for(
        lambda: next((e for e in seen(out, "work") if e["id"] == message_id), None), 20, "the invocation"
    )
    assert entry["body"] == "hello" and entry["subject"] == "greeting" and entry["label"] == "greeting"
    assert entry["content_type"] == "text/plain" and entry["correlation_id"] == "corr-1"
    assert entry["delivery_count"] == 1 and entry["lock_token"] and entry["enqueued"]
    assert entry["properties"] == {"tenant": "t1"} == entry["user_properties"]
    assert entry["metadata_id"] == message_id and entry["is_func_message"]
    wait_for(lambda: bus.runtime_properties("work").active_message_count == 0, 20, "the queue to be empty")
    hubs = StateLayout(process.state).open_eventhubs()
    try:
        bodies = wait_for(
            lambda: [
                e.body
                for p in hubs.get_partition_ids("bus-copies")
                for e in hubs.receive("bus-copies", "$Default", p, "-1", max_batch_size=1000)
                if e.body == b"hello"
            ],
            20,
            "the event hub output",
        )
    finally:
        hubs.close()
    assert bodies == [b"hello"]


def test_a_contract_subscription_only_receives_the_event_types_of_contracts(
    host: tuple[DevhostProcess, Path], bus: EmbeddedServiceBus
) -> None:
    _, out = host
    order = str(uuid.uuid4())
    sent = {
        "placed": "com.nightshift.orders.order.placed.v1",
        "confirmed": "com.nightshift.orders.order.confirmed.v1",
        "cancelled": "com.nightshift.orders.order.cancelled.v1",
    }
    bus.send(
        "orders",
        [
            OutgoingMessage(b"{}", message_id=f"{order}-{name}", subject=subject, session_id=order)
            for name, subject in sent.items()
        ],
    )
    wait_for(
        lambda: len([e for e in seen(out, "inventory_listener") if e["session"] == order]) >= 2,
        20,
        "the placed and cancelled events",
    )
    wait_for(
        lambda: bus.runtime_properties("orders/subscriptions/inventory").active_message_count == 0,
        20,
        "completion",
    )
    received = sorted(e["id"] for e in seen(out, "inventory_listener") if e["session"] == order)
    assert received == [f"{order}-cancelled", f"{order}-placed"]


def test_messages_of_one_session_are_processed_in_order(
    host: tuple[DevhostProcess, Path], bus: EmbeddedServiceBus
) -> None:
    _, out = host
    sessions = [str(uuid.uuid4()) for _ in range(3)]
    bus.send(
        "ordered",
        [OutgoingMessage(str(i).encode(), session_id=session) for i in range(20) for session in sessions],
    )

    def bodies(session: str) -> list[int]:
        return [int(e["body"]) for e in seen(out, "ordered") if e["session"] == session]

    wait_for(lambda: all(len(bodies(s)) == 20 for s in sessions), 30, "every session's messages")
    for session in sessions:
        assert bodies(session) == list(range(20))


def test_cardinality_many_gets_batches_and_completes_every_message(
    host: tuple[DevhostProcess, Path], bus: EmbeddedServiceBus
) -> None:
    _, out = host
    ids = [f"batch-{uuid.uuid4()}" for _ in range(300)]
    bus.send("batched", [OutgoingMessage(b"x", message_id=i) for i in ids])

    def delivered() -> set[str]:
        return {i for e in seen(out, "batched") for i in e["ids"]}

    wait_for(lambda: set(ids) <= delivered(), 30, "every message")
    sizes = [len(e["ids"]) for e in seen(out, "batched") if set(e["ids"]) & set(ids)]
    assert max(sizes) > 1
    wait_for(lambda: bus.runtime_properties("batched").active_message_count == 0, 20, "completion")


def test_a_service_bus_output_list_sends_one_message_per_item(
    host: tuple[DevhostProcess, Path], bus: EmbeddedServiceBus
) -> None:
    process, _ = host
    word = uuid.uuid4().hex
    answer = http("POST", process.url(0, "/api/emit"), word.encode())
    assert answer.status == 200
    received = bus.receive("emitted", max_messages=10, max_wait_time=5)
    bus.complete_many([m.lock_token for m in received if m.lock_token])
    assert sorted(m.body for m in received) == sorted([word.encode(), f"{word}-again".encode()])
