"""The ``func.InputStream`` devhost hands to blob-triggered functions: streamed from the file.

The library's ``azure.functions.blob.InputStream`` wraps a ``bytes`` object (the worker gets
the whole blob over gRPC). devhost passes a subclass that reads from the blob's file instead,
so a 1,000,000-row supplier feed is never held in memory: ``read(n)``, ``readline()``,
iteration over lines and ``io.TextIOWrapper(stream)`` all stream, in 1 MiB buffered reads.
``name``, ``uri``, ``length``, ``blob_properties`` and ``metadata`` are what the worker fills
from the host's trigger metadata (``BlobTrigger``, ``Uri``, ``Properties``, ``Metadata``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO
from urllib.parse import quote

from azure.functions.blob import InputStream

from eventkit.blobs import BlobProperties

AZURITE_BLOB_ENDPOINT = "http://127.0.0.1:10000/devstoreaccount1"
"""The account URL of ``UseDevelopmentStorage=true``: blob URIs look as under Core Tools + Azurite."""


def blob_uri(container: str, name: str) -> str:
    """The blob's URI as the storage emulator gives it (the name URL-encoded, ``/`` kept)."""
    return f"{AZURITE_BLOB_ENDPOINT}/{container}/{quote(name, safe='/')}"


def blob_properties_json(properties: BlobProperties) -> dict[str, Any]:
    """The ``Properties`` trigger metadata (a subset of the SDK's BlobProperties, as the worker sees it)."""
    return {
        "ContentLength": properties.size,
        "Length": properties.size,
        "ContentType": properties.content_type,
        "ETag": properties.etag,
        "LastModified": properties.last_modified.isoformat(),
        "BlobType": "BlockBlob",
    }


class FileInputStream(InputStream):
    """A ``func.InputStream`` over an open binary file; close it when the invocation is done."""

    def __init__(self, source: BinaryIO, properties: BlobProperties, metadata: Mapping[str, str]) -> None:
        super().__init__(
            data=b"",
            name=f"{properties.container}/{properties.name}",
            uri=blob_uri(properties.container, properties.name),
            length=properties.size,
            blob_properties=blob_properties_json(properties),
            metadata=dict(metadata),
        )
        self._source = source

    def read(self, size: int | None = -1) -> bytes:
        return self._source.read(-1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        return self._source.read1(size) if hasattr(self._source, "read1") else self._source.read(size)

    def readinto(self, buffer: Any) -> int:
        return self._source.readinto(buffer)  # type: ignore[attr-defined,no-any-return]

    def readline(self, size: int | None = -1) -> bytes:
        return self._source.readline(-1 if size is None else size)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._source)

    def __next__(self) -> bytes:
        return next(self._source)

    def close(self) -> None:
        self._source.close()
        super().close()

    @property
    def closed(self) -> bool:
        return self._source.closed
