"""NewEvent ids: version 4 UUIDs exactly as `uuid` writes them, never repeated, not even by a
forked child that inherited its parent's random pool; and metadata stored exactly as given."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from eventkit.store import SQLiteEventStore, events
from eventkit.store.events import NewEvent


def test_an_event_id_is_the_version_4_uuid_of_its_random_bytes_as_uuid_writes_it() -> None:
    pool = events._POOL
    for _ in range(2_000):
        random = os.urandom(16)
        pool.hex, pool.offset, pool.filled_in = random.hex(), 0, events._RandomPool.generation
        assert events._new_event_id() == str(uuid.UUID(bytes=random, version=4))


def test_event_ids_parse_as_version_4_rfc_4122_uuids_and_never_repeat() -> None:
    ids = [NewEvent("t", {}).event_id for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[::97]:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_reuse_the_random_bytes_its_parent_had_left() -> None:
    events._new_event_id()  # the parent's pool holds unused bytes now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave without running pytest's teardown
        os.close(read)
        os.write(write, " ".join(events._new_event_id() for _ in range(4)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child_ids = pipe.read().split()
    os.waitpid(pid, 0)
    parent_ids = [events._new_event_id() for _ in range(4)]
    assert len(child_ids) == 4
    assert not set(child_ids) & set(parent_ids)


def test_events_sharing_metadata_keep_each_its_own_exact_metadata_in_the_store(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "store.db")
    metadatas: list[dict[str, object]] = [
        {"schema_version": 1, "correlation_id": "c-1"},
        {"schema_version": 1, "correlation_id": "c-1"},  # equal: stored as the same text
        {"schema_version": True, "correlation_id": "c-1"},  # equal in Python, not in JSON
        {"schema_version": 1.0, "correlation_id": "c-1"},
        {"correlation_id": "c-1", "schema_version": 1},  # other key order
        {"nested": {"a": 1}},
        {"nested": {"a": True}},
    ]
    store.append("s-1", 0, [NewEvent("t", {}, metadata) for metadata in metadatas])
    stored = [event.metadata for event in store.read_stream("s-1")]
    assert [json.dumps(m) for m in stored] == [json.dumps(m) for m in metadatas]
    store.close()
