"""Blob path binding expressions and the file-backed InputStream, without a running host."""

from __future__ import annotations

import io
from pathlib import Path

import azure.functions as func
import pytest

from devhost.triggers.blob import open_blob_stream
from devhost.triggers.blob_paths import BlobPathError, BlobPathPattern, resolve_path
from eventkit.blobs import FileSystemBlobStore


@pytest.mark.parametrize(
    ("path", "blob", "expected"),
    [
        ("inventory-uploads/{name}", "acme/2026-03-01.csv", {"name": "acme/2026-03-01.csv"}),
        ("feeds/{supplier}/{file}.csv", "acme/stock.csv", {"supplier": "acme", "file": "stock"}),
        ("feeds/{supplier}/{file}.csv", "acme/2026/stock.csv", {"supplier": "acme", "file": "2026/stock"}),
        ("feeds/{supplier}/{file}.csv", "acme/stock.txt", None),
        ("feeds/fixed-{name}", "other-x", None),
    ],
)
def test_path_parameters_capture_the_blob_name_as_azure_does(
    path: str, blob: str, expected: dict[str, str] | None
) -> None:
    assert BlobPathPattern.parse(path).match(blob) == expected


def test_a_path_without_a_blob_part_or_with_unbalanced_braces_is_refused() -> None:
    with pytest.raises(BlobPathError, match="container"):
        BlobPathPattern.parse("inventory-uploads")
    with pytest.raises(BlobPathError, match="braces"):
        BlobPathPattern.parse("uploads/{name}}")


def test_output_paths_resolve_from_binding_data_case_insensitively() -> None:
    data = {"name": "acme/feed.csv"}
    assert (
        resolve_path("quarantine/{Name}.rejected.csv", data, what="out")
        == "quarantine/acme/feed.csv.rejected.csv"
    )
    assert len(resolve_path("archive/{rand-guid}", data, what="out")) == len("archive/") + 36
    with pytest.raises(BlobPathError, match=r"\{supplier\}"):
        resolve_path("x/{supplier}", data, what="out")


def test_the_input_stream_reads_from_the_file_not_from_memory(tmp_path: Path) -> None:
    store = FileSystemBlobStore(tmp_path / "blobs")
    store.create_container("uploads")
    rows = b"".join(f"SKU-{i},{i}\n".encode() for i in range(100_000))
    store.put("uploads", "big/feed.csv", b"sku,qty\n" + rows)
    stream, etag = open_blob_stream(store, "uploads", "big/feed.csv")
    with stream:
        assert isinstance(stream, func.InputStream)
        assert (stream.name, stream.length) == ("uploads/big/feed.csv", len(rows) + 8)
        assert etag == store.properties("uploads", "big/feed.csv").etag
        assert stream.readline() == b"sku,qty\n"
        assert next(iter(stream)) == b"SKU-0,0\n"
        text = io.TextIOWrapper(stream, encoding="utf-8")
        assert sum(1 for _ in text) == 99_999
