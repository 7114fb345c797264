"""Embedded bus throughput: Service Bus send → receive → complete, Event Hubs send → read →
checkpoint. Messages are real CloudEvents mapped with `eventkit.envelope.to_transport`."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cloudevents.core.v1.event import CloudEvent

from eventkit.bus.eventhubs import EmbeddedEventHubs, EventProcessor
from eventkit.bus.servicebus import EmbeddedServiceBus
from eventkit.envelope import to_transport
from eventkit.publisher import TransportMessage

BATCH = 100


def messages(payloads: Sequence[dict[str, Any]]) -> list[TransportMessage]:
    """One structured-mode CloudEvent per payload, keyed by its sku."""
    return [
        to_transport(
            CloudEvent(
                {
                    "type": "com.nightshift.inventory.stock.adjusted.v1",
                    "source": "/nightshift/inventory",
                    "subject": p["sku"],
                    "partitionkey": p["sku"],
                },
                p,
            )
        )
        for p in payloads
    ]


def servicebus_round_trip(folder: Path, payloads: Sequence[dict[str, Any]], consumers: int) -> float:
    """Messages/s: send all in batches of BATCH, while `consumers` threads receive up to BATCH
    under peek-lock and complete them in one call, until every message is completed."""
    bus = EmbeddedServiceBus(folder / "servicebus.db")
    bus.create_queue("bench")
    outgoing = messages(payloads)
    done = [0] * consumers
    total = len(outgoing)
    started = time.perf_counter()

    def produce() -> None:
        for start in range(0, total, BATCH):
            bus.send("bench", outgoing[start : start + BATCH])

    def consume(index: int) -> None:
        while sum(done) < total:
            received = bus.receive("bench", max_messages=BATCH, max_wait_time=0.2)
            if received:
                bus.complete_many([m.lock_token for m in received])
                done[index] += len(received)

    threads = [threading.Thread(target=produce)]
    threads += [threading.Thread(target=consume, args=(i,)) for i in range(consumers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if sum(done) != total or bus.runtime_properties("bench").active_message_count != 0:
        raise AssertionError(f"service bus bench lost or duplicated messages: {sum(done)} of {total}")
    bus.close()
    return total / elapsed


def eventhubs_round_trip(folder: Path, payloads: Sequence[dict[str, Any]], batch: int = 500) -> float:
    """Events/s: send all in batches of `batch` to a 4-partition hub, then an EventProcessor reads
    them in batches of `batch` and checkpoints after each (as the Functions host does)."""
    hubs = EmbeddedEventHubs(folder / "eventhubs.db")
    hubs.create_event_hub("bench", partition_count=4)
    outgoing = messages(payloads)
    seen = 0

    def handler(context: object, events: Sequence[object]) -> None:
        nonlocal seen
        seen += len(events)

    started = time.perf_counter()
    for start in range(0, len(outgoing), batch):
        hubs.send("bench", outgoing[start : start + batch])
    processor = EventProcessor(hubs, "bench", handler, max_batch_size=batch)
    while seen < len(outgoing):
        processor.run_once()
    elapsed = time.perf_counter() - started
    processor.close()
    hubs.close()
    if seen != len(outgoing):
        raise AssertionError(f"event hubs bench saw {seen} of {len(outgoing)}")
    return len(outgoing) / elapsed
