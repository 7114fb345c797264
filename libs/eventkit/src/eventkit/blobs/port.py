"""The BlobStore port: the one way services read and write blobs (supplier feeds, reports).

Adapters: `FileSystemBlobStore` (embedded, used by devhost and tests) and `AzureBlobStore`
(Azure Blob Storage, and Azurite in tests). Both pass `eventkit.testing.blob_contract`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import BinaryIO

from eventkit.blobs.errors import BlobNotFound

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class BlobProperties:
    """What is known about one version of a blob.

    `etag` is quoted as Azure sends it (`"0x8DC..."`) and changes whenever the content changes;
    pass it back as `if_match` to update or delete only that version. `last_modified` is
    timezone-aware UTC.
    """

    container: str
    name: str
    etag: str
    size: int
    content_type: str
    last_modified: datetime
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False)


class BlobStore(abc.ABC):
    """Containers of named blobs, with ETag preconditions for safe concurrent writers.

    Every method validates names first (`eventkit.blobs.names`) and raises `InvalidBlobName` /
    `InvalidContainerName` before touching the backend. Backend failures other than the ones
    listed are not translated (network errors surface as the backend raised them).
    """

    @abc.abstractmethod
    def put(
        self,
        container: str,
        name: str,
        data: bytes | BinaryIO,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> BlobProperties:
        """Write the whole blob atomically: readers see the old or the new content, never a mix.

        `data` is bytes or a binary stream read to its end in chunks. `if_none_match=True` makes
        it create-only: raises `BlobExists` if the blob is there. `if_match=etag` writes only if
        the blob's current ETag is `etag` (`"*"`: if it exists at all): raises
        `PreconditionFailed` otherwise, including when the blob is gone. Both at once is a
        `ValueError`. Raises `ContainerNotFound` if the container does not exist and
        `InvalidBlobMetadata` for metadata Azure could not carry. Returns the new version.
        """

    @abc.abstractmethod
    def open_read(self, container: str, name: str) -> BinaryIO:
        """Open the blob for streaming: `read(n)` returns at most `n` bytes, fetched in chunks.

        Never loads the whole blob; the stream reads one consistent version (a concurrent
        overwrite makes the Azure stream raise `PreconditionFailed`; on the filesystem it keeps
        reading the version it opened). Close it (it is a context manager). Raises
        `BlobNotFound` at open time if the blob does not exist.
        """

    def get_bytes(self, container: str, name: str) -> bytes:
        """Read the whole blob into memory; for small blobs only. Raises `BlobNotFound`."""
        with self.open_read(container, name) as stream:
            return stream.read()

    @abc.abstractmethod
    def properties(self, container: str, name: str) -> BlobProperties:
        """The current version's properties. Raises `BlobNotFound`."""

    def exists(self, container: str, name: str) -> bool:
        """Whether the blob exists now (a later call may disagree)."""
        try:
            self.properties(container, name)
        except BlobNotFound:
            return False
        return True

    @abc.abstractmethod
    def list(self, container: str, prefix: str = "") -> Iterator[BlobProperties]:
        """Every blob whose name starts with `prefix`, sorted by name as Azure lists them.

        Lazy: blobs written or deleted while iterating may or may not appear. Raises
        `ContainerNotFound` (when iteration starts) if the container does not exist.
        """

    @abc.abstractmethod
    def delete(self, container: str, name: str, if_match: str | None = None) -> None:
        """Delete the blob, only if its ETag is still `if_match` when given.

        Raises `BlobNotFound` if it does not exist, `PreconditionFailed` if the ETag differs.
        """

    @abc.abstractmethod
    def create_container(self, container: str) -> None:
        """Create the container if it does not exist yet; idempotent."""

    def close(self) -> None:  # noqa: B027 - optional hook, the filesystem adapter holds nothing
        """Release connections; the store must not be used afterwards."""

    def __enter__(self) -> BlobStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
