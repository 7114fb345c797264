"""The contract every `BlobStore` adapter passes: subclass `BlobStoreContract` in a test module.

    class TestMyBlobStore(BlobStoreContract):
        @pytest.fixture
        def store(self) -> Iterator[BlobStore]:
            ...

Each test gets a fresh container with a random name. Needs pytest (a test dependency).
"""

from __future__ import annotations

import hashlib
import io
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC

import pytest

from eventkit.blobs import (
    BlobExists,
    BlobNotFound,
    BlobStore,
    ContainerNotFound,
    InvalidBlobMetadata,
    InvalidBlobName,
    InvalidContainerName,
    PreconditionFailed,
)

BAD_BLOB_NAMES = [
    "../x",
    "a/../../x",
    "..",
    "/etc/passwd",
    "a\\b",
    "a\x00b",
    "a\nb",
    "a\x7fb",
    ".",
    "a/./b",
    "",
    "x" * 1025,
    "a/",
    "a//b",
    "a/.tmp-123",
]
BAD_CONTAINER_NAMES = ["ab", "x" * 64, "Upper", "a--b", "-ab", "ab-", "a_b", "a.b", "", "../etc", ".meta"]
MIB = 1024 * 1024


def random_name(prefix: str = "blob") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class BlobStoreContract:
    """Promises of `eventkit.blobs.port.BlobStore`, whatever the backend."""

    @pytest.fixture
    def store(self) -> Iterator[BlobStore]:
        raise NotImplementedError("a BlobStoreContract subclass provides the `store` fixture")

    @pytest.fixture
    def container(self, store: BlobStore) -> str:
        name = random_name("c")
        store.create_container(name)
        return name

    # -- round trips ------------------------------------------------------------------------

    def test_a_put_blob_reads_back_with_its_content_type_and_metadata(
        self, store: BlobStore, container: str
    ) -> None:
        metadata = {"supplier": "acme", "rows": "1"}
        written = store.put(
            container, "feeds/a.csv", b"sku,qty\n1,2\n", content_type="text/csv", metadata=metadata
        )
        found = store.properties(container, "feeds/a.csv")
        assert store.get_bytes(container, "feeds/a.csv") == b"sku,qty\n1,2\n"
        assert found == written
        assert (found.container, found.name, found.size) == (container, "feeds/a.csv", 12)
        assert (found.content_type, dict(found.metadata)) == ("text/csv", {"supplier": "acme", "rows": "1"})
        assert found.etag.startswith('"') and found.etag.endswith('"')
        assert found.last_modified.tzinfo is not None and found.last_modified.utcoffset() == UTC.utcoffset(
            None
        )

    def test_a_blob_put_without_a_content_type_is_octet_stream(
        self, store: BlobStore, container: str
    ) -> None:
        assert store.put(container, "x", b"1").content_type == "application/octet-stream"
        assert store.properties(container, "x").metadata == {}

    def test_a_blob_put_from_a_stream_has_the_streams_size(self, store: BlobStore, container: str) -> None:
        written = store.put(container, "stream", io.BytesIO(b"abc" * 1000))
        assert written.size == 3000 == store.properties(container, "stream").size
        assert store.get_bytes(container, "stream") == b"abc" * 1000

    def test_an_empty_blob_round_trips(self, store: BlobStore, container: str) -> None:
        assert store.put(container, "empty", b"").size == 0
        assert store.get_bytes(container, "empty") == b""

    def test_overwriting_a_blob_changes_its_etag(self, store: BlobStore, container: str) -> None:
        first = store.put(container, "x", b"one")
        second = store.put(container, "x", b"two")
        third = store.put(container, "x", b"two")
        assert len({first.etag, second.etag, third.etag}) == 3
        assert store.properties(container, "x").etag == third.etag
        assert store.get_bytes(container, "x") == b"two"

    def test_creating_a_container_twice_is_harmless(self, store: BlobStore, container: str) -> None:
        store.put(container, "kept", b"1")
        store.create_container(container)
        assert store.get_bytes(container, "kept") == b"1"

    def test_exists_tells_whether_a_blob_is_there(self, store: BlobStore, container: str) -> None:
        assert not store.exists(container, "x")
        store.put(container, "x", b"1")
        assert store.exists(container, "x")

    # -- preconditions ----------------------------------------------------------------------

    def test_a_create_only_put_creates_a_missing_blob(self, store: BlobStore, container: str) -> None:
        written = store.put(container, "x", b"new", if_none_match=True)
        assert store.properties(container, "x").etag == written.etag

    def test_a_create_only_put_refuses_an_existing_blob_and_keeps_it(
        self, store: BlobStore, container: str
    ) -> None:
        original = store.put(container, "x", b"old", content_type="text/plain", metadata={"v": "1"})
        with pytest.raises(BlobExists, match=f"'x'.*{container}"):
            store.put(container, "x", b"new", if_none_match=True)
        assert store.get_bytes(container, "x") == b"old"
        assert store.properties(container, "x") == original

    def test_an_if_match_put_with_the_current_etag_writes(self, store: BlobStore, container: str) -> None:
        original = store.put(container, "x", b"old")
        updated = store.put(container, "x", b"new", if_match=original.etag)
        assert updated.etag != original.etag
        assert store.get_bytes(container, "x") == b"new"

    def test_an_if_match_put_with_a_stale_etag_fails_and_writes_nothing(
        self, store: BlobStore, container: str
    ) -> None:
        stale = store.put(container, "x", b"one").etag
        current = store.put(container, "x", b"two")
        with pytest.raises(PreconditionFailed, match=f"'x'.*{container}"):
            store.put(container, "x", b"three", if_match=stale)
        assert store.get_bytes(container, "x") == b"two"
        assert store.properties(container, "x").etag == current.etag

    def test_an_if_match_put_on_a_missing_blob_fails(self, store: BlobStore, container: str) -> None:
        with pytest.raises(PreconditionFailed):
            store.put(container, "missing", b"x", if_match='"0x8DC0000000000000"')
        assert not store.exists(container, "missing")

    def test_an_if_match_star_put_writes_only_over_an_existing_blob(
        self, store: BlobStore, container: str
    ) -> None:
        with pytest.raises(PreconditionFailed):
            store.put(container, "x", b"1", if_match="*")
        assert not store.exists(container, "x")
        store.put(container, "x", b"1")
        store.put(container, "x", b"2", if_match="*")
        assert store.get_bytes(container, "x") == b"2"

    def test_if_match_and_if_none_match_together_are_refused(self, store: BlobStore, container: str) -> None:
        with pytest.raises(ValueError, match="not both"):
            store.put(container, "x", b"1", if_none_match=True, if_match='"0x1"')

    def test_concurrent_conditional_updates_never_lose_a_write(
        self, store: BlobStore, container: str
    ) -> None:
        store.put(container, "counter", b"0")
        workers, increments = 4, 5

        def increment() -> None:
            done = 0
            while done < increments:
                seen = store.properties(container, "counter")
                value = int(store.get_bytes(container, "counter"))
                try:
                    store.put(container, "counter", str(value + 1).encode(), if_match=seen.etag)
                except PreconditionFailed:
                    continue
                done += 1

        _run_in_threads(increment, workers)
        assert store.get_bytes(container, "counter") == str(workers * increments).encode()

    # -- delete -----------------------------------------------------------------------------

    def test_a_deleted_blob_is_gone(self, store: BlobStore, container: str) -> None:
        store.put(container, "d/x", b"1")
        store.delete(container, "d/x")
        assert not store.exists(container, "d/x")
        assert [b.name for b in store.list(container)] == []

    def test_a_delete_with_a_stale_etag_fails_and_keeps_the_blob(
        self, store: BlobStore, container: str
    ) -> None:
        stale = store.put(container, "x", b"1").etag
        current = store.put(container, "x", b"2").etag
        with pytest.raises(PreconditionFailed):
            store.delete(container, "x", if_match=stale)
        store.delete(container, "x", if_match=current)
        assert not store.exists(container, "x")

    # -- list -------------------------------------------------------------------------------

    def test_list_returns_the_blobs_under_a_prefix_sorted_by_name(
        self, store: BlobStore, container: str
    ) -> None:
        for name in ["c", "ab", "a/b", "a-b", "a/a/c", "b/2", "a/z"]:
            store.put(container, name, name.encode())
        assert [b.name for b in store.list(container)] == ["a-b", "a/a/c", "a/b", "a/z", "ab", "b/2", "c"]
        assert [b.name for b in store.list(container, prefix="a/")] == ["a/a/c", "a/b", "a/z"]
        assert [b.name for b in store.list(container, prefix="a")] == ["a-b", "a/a/c", "a/b", "a/z", "ab"]
        assert [b.name for b in store.list(container, prefix="a/a")] == ["a/a/c"]
        assert list(store.list(container, prefix="zz")) == []

    def test_listed_properties_match_the_blobs_properties(self, store: BlobStore, container: str) -> None:
        store.put(container, "x", b"123", content_type="text/plain", metadata={"k": "v"})
        assert list(store.list(container)) == [store.properties(container, "x")]

    # -- streaming --------------------------------------------------------------------------

    def test_open_read_streams_a_20_mb_blob_in_pieces(self, store: BlobStore, container: str) -> None:
        block = hashlib.sha256(b"seed").digest() * (MIB // 32)
        written = store.put(container, "big.csv", io.BytesIO(block * 20))
        assert written.size == 20 * MIB
        digest, pieces, total = hashlib.sha256(), 0, 0
        with store.open_read(container, "big.csv") as stream:
            while piece := stream.read(64 * 1024):
                assert len(piece) <= 64 * 1024
                digest.update(piece)
                pieces += 1
                total += len(piece)
        assert total == 20 * MIB and pieces == 20 * MIB // (64 * 1024)
        assert digest.hexdigest() == hashlib.sha256(block * 20).hexdigest()

    # -- errors -----------------------------------------------------------------------------

    @pytest.mark.parametrize("operation", ["properties", "open_read", "get_bytes", "delete"])
    def test_a_missing_blob_raises_blob_not_found_naming_it(
        self, store: BlobStore, container: str, operation: str
    ) -> None:
        with pytest.raises(BlobNotFound, match=f"'nothing/here'.*'{container}'"):
            getattr(store, operation)(container, "nothing/here")

    def test_a_blob_in_a_missing_container_is_not_found(self, store: BlobStore) -> None:
        with pytest.raises(BlobNotFound, match="container does not exist"):
            store.properties(random_name("nc"), "x")

    def test_writing_or_listing_a_missing_container_raises_container_not_found(
        self, store: BlobStore
    ) -> None:
        missing = random_name("nc")
        with pytest.raises(ContainerNotFound, match=missing):
            store.put(missing, "x", b"1")
        with pytest.raises(ContainerNotFound, match=missing):
            list(store.list(missing))

    @pytest.mark.parametrize("bad_name", BAD_BLOB_NAMES, ids=repr)
    def test_a_blob_name_that_could_leave_its_container_is_refused(
        self, store: BlobStore, container: str, bad_name: str
    ) -> None:
        operations: list[Callable[[], object]] = [
            lambda: store.put(container, bad_name, b"x"),
            lambda: store.open_read(container, bad_name),
            lambda: store.properties(container, bad_name),
            lambda: store.exists(container, bad_name),
            lambda: store.delete(container, bad_name),
        ]
        for operation in operations:
            with pytest.raises(InvalidBlobName) as refused:
                operation()
            assert repr(bad_name) in str(refused.value)
        assert list(store.list(container)) == []

    @pytest.mark.parametrize("bad_container", BAD_CONTAINER_NAMES, ids=repr)
    def test_a_container_name_azure_would_refuse_is_refused(
        self, store: BlobStore, bad_container: str
    ) -> None:
        operations: list[Callable[[], object]] = [
            lambda: store.create_container(bad_container),
            lambda: store.put(bad_container, "x", b"1"),
            lambda: store.properties(bad_container, "x"),
            lambda: store.list(bad_container),
        ]
        for operation in operations:
            with pytest.raises(InvalidContainerName) as refused:
                operation()
            assert repr(bad_container) in str(refused.value)

    @pytest.mark.parametrize("metadata", [{"bad-key": "v"}, {"1st": "v"}, {"k": "caf\u00e9"}, {"k": " v"}])
    def test_metadata_azure_could_not_carry_is_refused(
        self, store: BlobStore, container: str, metadata: dict[str, str]
    ) -> None:
        with pytest.raises(InvalidBlobMetadata):
            store.put(container, "x", b"1", metadata=metadata)
        assert not store.exists(container, "x")


def _run_in_threads(work: Callable[[], None], count: int) -> None:
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker thread did not finish within 60 s"
    assert not errors, errors
