"""The filesystem adapter passes the BlobStore contract, and a copied file is an upload."""

from __future__ import annotations

import io
import multiprocessing
import os
from collections.abc import Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from eventkit.blobs import (
    BlobExists,
    BlobStore,
    FileSystemBlobStore,
    InvalidBlobName,
    is_temporary_file,
)
from eventkit.testing.blob_contract import BlobStoreContract, random_name


class TestFileSystemBlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[BlobStore]:
        with FileSystemBlobStore(tmp_path / "blobs") as store:
            yield store


@pytest.fixture
def store(tmp_path: Path) -> FileSystemBlobStore:
    return FileSystemBlobStore(tmp_path / "blobs")


@pytest.fixture
def container(store: FileSystemBlobStore) -> str:
    name = random_name("c")
    store.create_container(name)
    return name


def drop_file(store: FileSystemBlobStore, container: str, name: str, content: bytes) -> Path:
    """Copy a file into the container folder by hand, as a user or a supplier job would."""
    path = store.container_path(container) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_a_file_copied_into_the_container_folder_is_a_blob(
    store: FileSystemBlobStore, container: str
) -> None:
    drop_file(store, container, "2024/feed.csv", b"sku,qty\n")
    [listed] = store.list(container)
    assert listed.name == "2024/feed.csv" and listed.size == 8
    assert listed.content_type == "application/octet-stream" and listed.metadata == {}
    assert store.get_bytes(container, "2024/feed.csv") == b"sku,qty\n"
    assert store.properties(container, "2024/feed.csv").etag == listed.etag


def test_a_hand_copied_file_gets_a_new_etag_when_rewritten(
    store: FileSystemBlobStore, container: str
) -> None:
    path = drop_file(store, container, "feed.csv", b"one")
    first = store.properties(container, "feed.csv").etag
    path.write_bytes(b"a longer second version")
    second = store.properties(container, "feed.csv").etag
    replacement = path.with_name("staging")
    replacement.write_bytes(b"same length as second!!")
    os.replace(replacement, path)  # a same-size replacement by `mv`
    third = store.properties(container, "feed.csv").etag
    assert len({first, second, third}) == 3


def test_a_blob_rewritten_by_hand_loses_the_metadata_of_the_api_version(
    store: FileSystemBlobStore, container: str
) -> None:
    store.put(container, "x.csv", b"api", content_type="text/csv", metadata={"supplier": "acme"})
    drop_file(store, container, "x.csv", b"by hand")
    found = store.properties(container, "x.csv")
    assert (found.content_type, found.metadata) == ("application/octet-stream", {})


def test_temp_files_are_never_listed(store: FileSystemBlobStore, container: str) -> None:
    drop_file(store, container, "a/.tmp-1234", b"half written")
    drop_file(store, container, ".tmp-5678", b"half written")
    store.put(container, "a/real", b"1")
    assert [b.name for b in store.list(container)] == ["a/real"]
    assert is_temporary_file(".tmp-1234") and not is_temporary_file("real")


def test_the_container_folder_holds_only_the_blobs(store: FileSystemBlobStore, container: str) -> None:
    store.put(container, "a/b.csv", b"1", content_type="text/csv", metadata={"k": "v"})
    store.put(container, "c", io.BytesIO(b"2"), if_none_match=True)
    store.put(container, "c", b"3", if_match=store.properties(container, "c").etag)
    folder = store.container_path(container)
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == ["a/b.csv", "c"]


def test_a_failed_put_leaves_the_old_blob_and_no_temp_file(
    store: FileSystemBlobStore, container: str
) -> None:
    store.put(container, "x", b"old")

    class BrokenStream(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError("supplier connection dropped")

    with pytest.raises(OSError, match="connection dropped"):
        store.put(container, "x", BrokenStream())
    assert store.get_bytes(container, "x") == b"old"
    assert [p.name for p in store.container_path(container).iterdir()] == ["x"]


def test_a_name_cannot_be_both_a_blob_and_a_folder_of_blobs(
    store: FileSystemBlobStore, container: str
) -> None:
    store.put(container, "a/b", b"1")
    with pytest.raises(InvalidBlobName, match=r"'a'.*folder"):
        store.put(container, "a", b"2")
    store.put(container, "c", b"1")
    with pytest.raises(InvalidBlobName, match=r"'c/d'.*folder"):
        store.put(container, "c/d", b"2")


def test_deleting_the_last_blob_of_a_folder_frees_its_name(
    store: FileSystemBlobStore, container: str
) -> None:
    store.put(container, "a/b", b"1", metadata={"k": "v"})
    store.delete(container, "a/b")
    store.put(container, "a", b"now a blob", metadata={"k": "w"})
    assert store.properties(container, "a").metadata == {"k": "w"}
    store.delete(container, "a")
    store.put(container, "a/b", b"a folder again", metadata={"k": "x"})
    assert store.properties(container, "a/b").metadata == {"k": "x"}


def test_a_symbolic_link_leading_outside_the_container_is_refused(
    store: FileSystemBlobStore, container: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not yours")
    (store.container_path(container) / "link").symlink_to(secret)
    (store.container_path(container) / "dir").symlink_to(tmp_path)
    for name in ["link", "dir/secret.txt"]:
        with pytest.raises(InvalidBlobName, match="outside container"):
            store.open_read(container, name)
        with pytest.raises(InvalidBlobName, match="outside container"):
            store.put(container, name, b"overwrite")
    with pytest.raises(InvalidBlobName, match="outside container"):
        store.put(container, "dir/new/x", b"planted")
    assert secret.read_bytes() == b"not yours"
    assert not (tmp_path / "new").exists()
    assert list(store.list(container)) == []


def _create_only(
    root: str, container: str, payload: bytes, start: Barrier, results: Queue[tuple[str, bytes]]
) -> None:
    store = FileSystemBlobStore(root)
    start.wait()
    try:
        store.put(container, "claimed", payload, if_none_match=True)
    except BlobExists:
        results.put(("lost", payload))
    else:
        results.put(("won", payload))


def test_concurrent_create_only_puts_from_several_processes_have_exactly_one_winner(
    store: FileSystemBlobStore, container: str
) -> None:
    context = multiprocessing.get_context("fork")
    contenders = 6
    start = context.Barrier(contenders)
    results: Queue[tuple[str, bytes]] = context.Queue()
    processes = [
        context.Process(
            target=_create_only, args=(str(store.root), container, f"p{i}".encode(), start, results)
        )
        for i in range(contenders)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    winners = [payload for outcome, payload in outcomes if outcome == "won"]
    assert len(winners) == 1
    assert store.get_bytes(container, "claimed") == winners[0]
