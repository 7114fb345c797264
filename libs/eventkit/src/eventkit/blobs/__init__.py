"""The BlobStore port, its errors and name rules, and its two adapters.

`FileSystemBlobStore` (embedded, devhost) and `AzureBlobStore` (Azure Blob Storage / Azurite)
make the same promises, checked by `eventkit.testing.blob_contract`. See docs/adr/0003-blob-store.md.
"""

from eventkit.blobs.azure import AzureBlobStore
from eventkit.blobs.errors import (
    BlobExists,
    BlobNotFound,
    BlobStoreError,
    ContainerNotFound,
    InvalidBlobMetadata,
    InvalidBlobName,
    InvalidContainerName,
    PreconditionFailed,
)
from eventkit.blobs.filesystem import FileSystemBlobStore
from eventkit.blobs.names import (
    TEMP_PREFIX,
    is_temporary_file,
    validate_blob_name,
    validate_container_name,
    validate_metadata,
)
from eventkit.blobs.port import DEFAULT_CONTENT_TYPE, BlobProperties, BlobStore

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "TEMP_PREFIX",
    "AzureBlobStore",
    "BlobExists",
    "BlobNotFound",
    "BlobProperties",
    "BlobStore",
    "BlobStoreError",
    "ContainerNotFound",
    "FileSystemBlobStore",
    "InvalidBlobMetadata",
    "InvalidBlobName",
    "InvalidContainerName",
    "PreconditionFailed",
    "is_temporary_file",
    "validate_blob_name",
    "validate_container_name",
    "validate_metadata",
]
