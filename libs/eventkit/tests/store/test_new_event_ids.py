"""NewEvent ids: version 4 UUIDs exactly as `uuid` writes them, never repeated, not even by a
forked child that inherited its parent's random pool."""

from __future__ import annotations

import os
import uuid

import pytest

from eventkit.store import events
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
