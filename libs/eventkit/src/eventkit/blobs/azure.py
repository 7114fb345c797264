"""The BlobStore on Azure Blob Storage (and Azurite), with the sync `azure-storage-blob` SDK.

Build it from a `BlobServiceClient` (identity-based in Azure: account URL + a
`DefaultAzureCredential`), with `from_account_url`, or with `from_connection_string` (Azurite).
The `from_*` builders set the download chunk to 4 MiB, so `open_read` holds at most one 4 MiB
chunk; a client built elsewhere keeps its own `max_single_get_size` (SDK default 32 MiB) for
the first chunk.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobServiceClient, ContentSettings

from eventkit.blobs.chunked import ChunkReader
from eventkit.blobs.errors import BlobExists, BlobNotFound, ContainerNotFound, PreconditionFailed
from eventkit.blobs.names import validate_blob_name, validate_container_name, validate_metadata
from eventkit.blobs.port import DEFAULT_CONTENT_TYPE, BlobProperties, BlobStore

CHUNK_SIZE = 4 * 1024 * 1024
_CLIENT_OPTIONS: dict[str, Any] = {"max_single_get_size": CHUNK_SIZE, "max_chunk_get_size": CHUNK_SIZE}


class AzureBlobStore(BlobStore):
    """Blobs in one storage account. `close()` closes the client only if this store built it."""

    def __init__(self, service: BlobServiceClient, *, owns_client: bool = False) -> None:
        self._service = service
        self._owns_client = owns_client

    @classmethod
    def from_connection_string(cls, connection_string: str, **client_options: Any) -> AzureBlobStore:
        """A store on the account of `connection_string` (Azurite's, in tests)."""
        options = {**_CLIENT_OPTIONS, **client_options}
        return cls(BlobServiceClient.from_connection_string(connection_string, **options), owns_client=True)

    @classmethod
    def from_account_url(cls, account_url: str, credential: Any, **client_options: Any) -> AzureBlobStore:
        """A store on `https://<account>.blob.core.windows.net` with e.g. `DefaultAzureCredential()`."""
        options = {**_CLIENT_OPTIONS, **client_options}
        return cls(BlobServiceClient(account_url, credential=credential, **options), owns_client=True)

    def create_container(self, container: str) -> None:
        with contextlib.suppress(ResourceExistsError):
            self._service.create_container(validate_container_name(container))

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
        if if_none_match and if_match is not None:
            raise ValueError("give if_none_match or if_match, not both")
        blob = self._blob(container, name)
        clean_metadata = validate_metadata(metadata or {})
        conditions: dict[str, Any] = {}
        if if_match is not None:
            conditions = {"etag": if_match, "match_condition": MatchConditions.IfNotModified}
            if if_match.strip() == "*":
                conditions = {"match_condition": MatchConditions.IfPresent}
        body: bytes | _CountingReader = data if isinstance(data, bytes) else _CountingReader(data)
        try:
            result = blob.upload_blob(
                body,
                overwrite=not if_none_match,
                content_settings=ContentSettings(content_type=content_type),
                metadata=clean_metadata,
                **conditions,
            )
        except ResourceExistsError as exc:
            if _code(exc) == "BlobAlreadyExists" or if_none_match:
                raise BlobExists(container, name) from exc
            raise
        except ResourceModifiedError as exc:
            raise PreconditionFailed(container, name, if_match or "", _code(exc)) from exc
        except ResourceNotFoundError as exc:
            if _code(exc) == "ContainerNotFound":
                raise ContainerNotFound(container) from exc
            if if_match is not None:
                raise PreconditionFailed(container, name, if_match, "it does not exist") from exc
            raise
        except HttpResponseError as exc:
            if exc.status_code == 412 and if_match is not None:
                raise PreconditionFailed(container, name, if_match, _code(exc)) from exc
            if exc.status_code == 409 and if_none_match:
                raise BlobExists(container, name) from exc
            raise
        size = len(body) if isinstance(body, bytes) else body.count
        return BlobProperties(
            container=container,
            name=name,
            etag=_quoted(result["etag"]),
            size=size,
            content_type=content_type,
            last_modified=_utc(result["last_modified"]),
            metadata=clean_metadata,
        )

    def open_read(self, container: str, name: str) -> BinaryIO:
        blob = self._blob(container, name)
        try:
            downloader = blob.download_blob(max_concurrency=1)
        except ResourceNotFoundError as exc:
            raise self._not_found(container, name, exc) from exc
        etag = _quoted(downloader.properties.etag)

        def changed(exc: Exception) -> Exception:
            if isinstance(exc, ResourceModifiedError | ResourceNotFoundError):
                return PreconditionFailed(container, name, etag, "it changed while being read")
            return exc

        raw = ChunkReader(downloader.chunks(), translate_error=changed)
        return io.BufferedReader(raw, buffer_size=64 * 1024)

    def properties(self, container: str, name: str) -> BlobProperties:
        blob = self._blob(container, name)
        try:
            found = blob.get_blob_properties()
        except ResourceNotFoundError as exc:
            raise self._not_found(container, name, exc) from exc
        return _properties(container, name, found)

    def list(self, container: str, prefix: str = "") -> Iterator[BlobProperties]:
        client = self._service.get_container_client(validate_container_name(container))
        return self._list(client, container, prefix)

    def delete(self, container: str, name: str, if_match: str | None = None) -> None:
        blob = self._blob(container, name)
        conditions: dict[str, Any] = {}
        if if_match is not None and if_match.strip() != "*":
            conditions = {"etag": if_match, "match_condition": MatchConditions.IfNotModified}
        try:
            blob.delete_blob(**conditions)
        except ResourceNotFoundError as exc:
            raise self._not_found(container, name, exc) from exc
        except ResourceModifiedError as exc:
            raise PreconditionFailed(container, name, if_match or "", _code(exc)) from exc

    def close(self) -> None:
        if self._owns_client:
            self._service.close()

    # -- internals ---------------------------------------------------------------------------

    def _blob(self, container: str, name: str) -> Any:
        return self._service.get_blob_client(validate_container_name(container), validate_blob_name(name))

    def _list(self, client: Any, container: str, prefix: str) -> Iterator[BlobProperties]:
        try:
            for item in client.list_blobs(name_starts_with=prefix or None, include=["metadata"]):
                yield _properties(container, item.name, item)
        except ResourceNotFoundError as exc:
            raise ContainerNotFound(container) from exc

    @staticmethod
    def _not_found(container: str, name: str, exc: HttpResponseError) -> BlobNotFound:
        if _code(exc) == "ContainerNotFound":
            return BlobNotFound(container, name, "the container does not exist")
        return BlobNotFound(container, name)


class _CountingReader(io.RawIOBase):
    """Passes a caller's stream to the SDK, counting the bytes it read (the blob's size)."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        chunk = self._source.read(-1 if size is None else size)
        self.count += len(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[: len(chunk)] = chunk
        return len(chunk)


def _code(exc: HttpResponseError) -> str:
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or exc.reason or exc.status_code)


def _quoted(etag: object) -> str:
    """ETags as Azure sends them in headers: quoted (listings return them bare)."""
    text = str(etag)
    return text if text.startswith('"') else f'"{text}"'


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _properties(container: str, name: str, found: Any) -> BlobProperties:
    return BlobProperties(
        container=container,
        name=name,
        etag=_quoted(found.etag),
        size=int(found.size),
        content_type=str(found.content_settings.content_type or DEFAULT_CONTENT_TYPE),
        last_modified=_utc(found.last_modified),
        metadata=dict(found.metadata or {}),
    )
