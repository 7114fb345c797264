"""Hubs, consumer groups, and how sent events land on partitions."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from eventkit.bus.eventhubs import (
    DEFAULT_CONSUMER_GROUP,
    ConsumerGroupNotFoundError,
    EmbeddedEventHubs,
    EntityNameError,
    EventData,
    EventHubConflictError,
    EventHubNotFoundError,
    EventTooLargeError,
    PartitionNotFoundError,
    partition_for_key,
    partition_key_hash,
)
from eventkit.publisher import TransportMessage

EventFactory = Callable[..., list[EventData]]


# Hash codes published in the Azure SDKs' own PartitionResolver tests (ported from the service).
AZURE_HASH_CODES = {
    "7": -15263,
    "131": 30562,
    "7149583486996073602": 12977,
    "FWfAT": -22341,
    "sOdeEAsyQoEuEFPGerWO": -6503,
    "!c*_!I@1^c": 15372,
    "p4*!jioeO/z-!-;w:dh": -3104,
    "$0cb": 26269,
    "-4189260826195535198": 453,
}


@pytest.mark.parametrize(("key", "expected"), AZURE_HASH_CODES.items())
def test_partition_key_hashes_match_the_event_hubs_gateway(key: str, expected: int) -> None:
    assert partition_key_hash(key) == expected


def test_a_negative_hash_picks_the_partition_as_the_dotnet_sdk_does() -> None:
    # "7" hashes to -15263; C# computes Math.Abs(-15263 % 4) = 3, Python's floor % would give 1.
    assert partition_for_key("7", 4) == 3


def test_hashes_agree_with_the_azure_python_sdk_for_ascii_keys() -> None:
    # The SDK's buffered producer hashes client-side; its module is private, hence the import here.
    from azure.eventhub._buffered_producer import _partition_resolver

    keys = [uuid.uuid4().hex[: index % 40] for index in range(500)]
    sdk_hash: Callable[[str], int] = _partition_resolver.generate_hash_code
    assert [partition_key_hash(key) for key in keys] == [sdk_hash(key) for key in keys]


def test_the_same_key_always_lands_on_the_same_partition(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    key = f"order-{uuid.uuid4()}"
    sent = [
        *namespace.send(hub, make_events(3, key)),
        *namespace.send(hub, make_events(4), partition_key=key),
    ]
    assert {event.partition_id for event in sent} == {str(partition_for_key(key, 4))}


def test_a_key_maps_to_the_same_partition_in_another_process(
    namespace: EmbeddedEventHubs, hub: str, db_path: Path
) -> None:
    keys = [str(uuid.uuid4()) for _ in range(40)]
    child = (
        "import json, sys\n"
        "from eventkit.bus.eventhubs import EmbeddedEventHubs, EventData\n"
        "db, hub, *keys = sys.argv[1:]\n"
        "namespace = EmbeddedEventHubs(db)\n"
        "sent = namespace.send(hub, [EventData(b'x', message_id=k, partition_key=k) for k in keys])\n"
        "print(json.dumps([s.partition_id for s in sent]))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", child, str(db_path), hub, *keys], check=True, capture_output=True, text=True
    ).stdout
    assert json.loads(output) == [str(partition_for_key(key, 4)) for key in keys]
    landed = {
        event.message_id: event.partition_id
        for partition_id in namespace.get_partition_ids(hub)
        for event in namespace.receive(hub, "$Default", partition_id, "-1")
    }
    assert landed == {key: str(partition_for_key(key, 4)) for key in keys}


def test_sequence_numbers_are_contiguous_from_zero_in_every_partition(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    for round_ in range(5):
        namespace.send(hub, [*make_events(7), *make_events(3, key=f"k{round_}")])
        namespace.send(hub, make_events(2), partition_id=str(round_ % 4))
    total = 0
    for partition_id in namespace.get_partition_ids(hub):
        events = namespace.receive(hub, "$Default", partition_id, "-1", max_batch_size=1000)
        assert [event.sequence_number for event in events] == list(range(len(events)))
        offsets = [int(event.offset) for event in events]
        assert offsets == sorted(set(offsets))
        times = [event.enqueued_time for event in events]
        assert times == sorted(times)
        total += len(events)
    assert total == 5 * 12


def test_a_keyless_batch_stays_together_and_batches_rotate_over_partitions(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    used = []
    for _ in range(4):
        sent = namespace.send(hub, make_events(5))
        assert len({event.partition_id for event in sent}) == 1
        used.append(sent[0].partition_id)
    assert sorted(used) == ["0", "1", "2", "3"]


def test_a_partition_id_pins_the_batch_and_excludes_keys(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    assert {sent.partition_id for sent in namespace.send(hub, make_events(6), partition_id="2")} == {"2"}
    with pytest.raises(ValueError, match="partition_key or partition_id"):
        namespace.send(hub, make_events(1), partition_key="k", partition_id="1")
    with pytest.raises(ValueError, match="has partition key"):
        namespace.send(hub, make_events(1, key="k"), partition_id="1")
    with pytest.raises(PartitionNotFoundError, match="'4'"):
        namespace.send(hub, make_events(1), partition_id="4")


def test_a_transport_message_keeps_its_body_properties_and_ids(
    namespace: EmbeddedEventHubs, hub: str
) -> None:
    message = TransportMessage(
        body=b'{"specversion":"1.0"}',
        message_id=str(uuid.uuid4()),
        partition_key="sku-42",
        correlation_id="corr-1",
        application_properties={"cloudEvents_type": "com.nightshift.inventory.stock.changed.v1", "n": 3},
    )
    (sent,) = namespace.send(hub, [message])
    (received,) = namespace.receive(hub, "$Default", sent.partition_id, "-1")
    assert (received.body, received.message_id, received.correlation_id) == (
        message.body,
        message.message_id,
        "corr-1",
    )
    assert received.content_type == message.content_type
    assert received.partition_key == "sku-42"
    assert received.properties == {"cloudEvents_type": "com.nightshift.inventory.stock.changed.v1", "n": 3}
    assert received.system_properties[b"x-opt-sequence-number"] == 0
    assert received.system_properties[b"x-opt-partition-key"] == b"sku-42"


def test_a_batch_with_an_oversized_event_stores_nothing(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    too_big = EventData(body=b"x" * (1024 * 1024 + 1), message_id="big")
    with pytest.raises(EventTooLargeError, match="'big'"):
        namespace.send(hub, [*make_events(3, key="k"), too_big], partition_key="k")
    assert all(namespace.partition_properties(hub, pid).is_empty for pid in namespace.get_partition_ids(hub))


def test_creating_a_hub_is_idempotent_and_brings_the_default_consumer_group(
    namespace: EmbeddedEventHubs,
) -> None:
    name = f"stock-{uuid.uuid4().hex[:6]}"
    first = namespace.create_event_hub(name)
    again = namespace.create_event_hub(name, message_retention=timedelta(hours=3))
    assert first.partition_ids == ("0", "1", "2", "3") == again.partition_ids
    assert first.message_retention == timedelta(days=1)
    assert again.message_retention == timedelta(hours=3)
    assert name in namespace.list_event_hubs()
    assert namespace.list_consumer_groups(name) == [DEFAULT_CONSUMER_GROUP]
    with pytest.raises(EventHubConflictError, match="4 partitions; 8 requested"):
        namespace.create_event_hub(name, partition_count=8)


def test_consumer_groups_are_created_once_and_listed(namespace: EmbeddedEventHubs, hub: str) -> None:
    namespace.create_consumer_group(hub, "reporting")
    namespace.create_consumer_group(hub, "reporting")
    assert namespace.list_consumer_groups(hub) == ["$Default", "reporting"]
    with pytest.raises(ConsumerGroupNotFoundError, match="'orders'"):
        namespace.receive(hub, "orders", "0", "-1")


@pytest.mark.parametrize("bad_name", ["", "-leading", "trailing.", "has space", "$Other", "x" * 257, "hub\n"])
def test_names_that_azure_refuses_are_refused(namespace: EmbeddedEventHubs, bad_name: str) -> None:
    with pytest.raises(EntityNameError):
        namespace.create_event_hub(bad_name)


def test_an_unknown_hub_or_partition_is_named_in_the_error(namespace: EmbeddedEventHubs, hub: str) -> None:
    with pytest.raises(EventHubNotFoundError, match="'nope'"):
        namespace.send("nope", [EventData(b"x")])
    with pytest.raises(PartitionNotFoundError, match="'7'"):
        namespace.partition_properties(hub, "7")


def test_partition_properties_track_the_last_enqueued_event(
    namespace: EmbeddedEventHubs, hub: str, make_events: EventFactory
) -> None:
    empty = namespace.partition_properties(hub, "1")
    assert (empty.is_empty, empty.last_enqueued_sequence_number, empty.last_enqueued_offset) == (
        True,
        -1,
        "-1",
    )
    assert empty.last_enqueued_time_utc is None
    namespace.send(hub, make_events(3), partition_id="1")
    events = namespace.receive(hub, "$Default", "1", "-1")
    filled = namespace.partition_properties(hub, "1")
    assert not filled.is_empty
    assert filled.beginning_sequence_number == 0
    assert filled.last_enqueued_sequence_number == 2
    assert filled.last_enqueued_offset == events[-1].offset
    assert filled.last_enqueued_time_utc == events[-1].enqueued_time
