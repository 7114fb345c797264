"""The errors every `BlobStore` adapter raises, whatever the backend said.

Callers catch these, never `azure.core.exceptions` or `OSError`: the adapter maps its backend's
failures onto them. Every message names the container and blob concerned and what was wrong.
"""

from __future__ import annotations


class BlobStoreError(Exception):
    """Base class of every error a `BlobStore` raises on purpose."""


class BlobNotFound(BlobStoreError):
    """The blob (or the container holding it) does not exist."""

    def __init__(self, container: str, name: str, detail: str = "") -> None:
        self.container = container
        self.name = name
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"blob {name!r} not found in container {container!r}{suffix}")


class ContainerNotFound(BlobStoreError):
    """The container does not exist; call `BlobStore.create_container` first."""

    def __init__(self, container: str) -> None:
        self.container = container
        super().__init__(f"container {container!r} does not exist; create it with create_container() first")


class BlobExists(BlobStoreError):
    """A create-only put (`if_none_match=True`) found the blob already there."""

    def __init__(self, container: str, name: str) -> None:
        self.container = container
        self.name = name
        super().__init__(
            f"blob {name!r} already exists in container {container!r}; "
            "the create-only put (if_none_match=True) wrote nothing"
        )


class PreconditionFailed(BlobStoreError):
    """An `if_match` ETag did not match the blob's current ETag (or the blob is gone)."""

    def __init__(self, container: str, name: str, expected_etag: str, detail: str = "") -> None:
        self.container = container
        self.name = name
        self.expected_etag = expected_etag
        suffix = f": {detail}" if detail else ""
        super().__init__(
            f"blob {name!r} in container {container!r} no longer has ETag {expected_etag}{suffix}; "
            "read it again and retry"
        )


class InvalidBlobName(BlobStoreError, ValueError):
    """A blob name was refused before reaching the backend (see `eventkit.blobs.names`)."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"invalid blob name {name!r}: {reason}")


class InvalidContainerName(BlobStoreError, ValueError):
    """A container name breaks Azure's container naming rules."""

    def __init__(self, container: str, reason: str) -> None:
        self.container = container
        self.reason = reason
        super().__init__(f"invalid container name {container!r}: {reason}")


class InvalidBlobMetadata(BlobStoreError, ValueError):
    """A metadata key or value cannot travel as an Azure `x-ms-meta-*` header."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"invalid blob metadata {key!r}: {reason}")
