"""The embedded BlobStore: blobs are plain files under `<root>/<container>/<name>`.

Copying a file into a container folder IS an upload: it is listed and readable at once, with an
ETag derived from its size, modification time and inode, so it changes whenever the file is
replaced or rewritten. Layout under `root`:

- `<container>/<name>`: the blob itself (`/` in names are folders);
- `<container>/.../.tmp-<random>`: a put in progress (see `names.is_temporary_file`); never listed;
- `.meta/<container>/<name>`: content type and metadata of blobs put through the API (`sidecar`);
- `.locks/<container>.lock`: `fcntl.flock` lock taken by every write, across threads and processes.

Differences from Azure (docs/adr/0003-blob-store.md): a name cannot be both a blob and a
folder of blobs (`a` and `a/b`); files that are not valid blob names are not listed; a hand
rewrite of a file in place that keeps its size within the filesystem's timestamp granularity
keeps its ETag (replace files with `mv` for an exact ETag, as `put` does).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import stat
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from eventkit.blobs.errors import (
    BlobExists,
    BlobNotFound,
    ContainerNotFound,
    InvalidBlobName,
    PreconditionFailed,
)
from eventkit.blobs.names import (
    TEMP_PREFIX,
    is_temporary_file,
    validate_blob_name,
    validate_container_name,
    validate_metadata,
)
from eventkit.blobs.port import DEFAULT_CONTENT_TYPE, BlobProperties, BlobStore
from eventkit.blobs.sidecar import (
    META_FOLDER,
    Sidecar,
    prune_empty_folders,
    read_sidecar,
    remove_sidecar,
    sidecar_path,
    write_sidecar,
)

CHUNK_SIZE = 1024 * 1024
LOCK_FOLDER = ".locks"
_MISSING = (FileNotFoundError, NotADirectoryError)


def etag_of(st: os.stat_result) -> str:
    """An Azure-style quoted ETag for one version of a file: a hash of size, mtime and inode."""
    key = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_dev}".encode()
    return '"0x{:016X}"'.format(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))


def _same_etag(expected: str, actual: str) -> bool:
    return expected.strip() == "*" or expected.strip().strip('"') == actual.strip('"')


class FileSystemBlobStore(BlobStore):
    """Blobs as files under `root` (created if missing); safe for many threads and processes."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def container_path(self, container: str) -> Path:
        """The folder holding `container`'s blobs (what a blob trigger watches)."""
        return self.root / validate_container_name(container)

    def create_container(self, container: str) -> None:
        self.container_path(container).mkdir(exist_ok=True)

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
        path = self._blob_path(container, name)
        clean_metadata = validate_metadata(metadata or {})
        if not self.container_path(container).is_dir():
            raise ContainerNotFound(container)
        temp = self._write_temp(container, name, path, data)
        try:
            with self._locked(container, fcntl.LOCK_EX):
                current = self._stat_or_none(container, name, path)
                if if_none_match and current is not None:
                    raise BlobExists(container, name)
                if if_match is not None and (current is None or not _same_etag(if_match, etag_of(current))):
                    detail = "it does not exist" if current is None else f"its ETag is {etag_of(current)}"
                    raise PreconditionFailed(container, name, if_match, detail)
                # ETags must differ between versions even when the clock's tick is coarse.
                stamp = max(time.time_ns(), current.st_mtime_ns + 1 if current else 0)
                os.utime(temp, ns=(stamp, stamp))
                written = os.stat(temp)
                sidecar = Sidecar(etag_of(written), content_type, clean_metadata)
                write_sidecar(sidecar_path(self.root, container, name), sidecar, self._meta_base(container))
                if if_none_match:  # link fails if a file appeared by hand meanwhile
                    try:
                        os.link(temp, path)
                    except FileExistsError:
                        remove_sidecar(sidecar_path(self.root, container, name), self._meta_base(container))
                        raise BlobExists(container, name) from None
                else:
                    os.replace(temp, path)
                _fsync_folder(path.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        return self._properties_from(container, name, written, sidecar)

    def open_read(self, container: str, name: str) -> BinaryIO:
        path = self._blob_path(container, name)
        self._check_inside(container, name, path)
        try:
            stream = open(path, "rb", buffering=CHUNK_SIZE)  # noqa: SIM115 - the caller closes it
        except (*_MISSING, IsADirectoryError):
            raise self._not_found(container, name) from None
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            stream.close()
            raise self._not_found(container, name)
        return stream

    def properties(self, container: str, name: str) -> BlobProperties:
        path = self._blob_path(container, name)
        self._check_inside(container, name, path)
        try:
            return self._describe(container, name, path)
        except _MISSING:
            raise self._not_found(container, name) from None

    def list(self, container: str, prefix: str = "") -> Iterator[BlobProperties]:
        return self._list(self.container_path(container), container, prefix)

    def delete(self, container: str, name: str, if_match: str | None = None) -> None:
        path = self._blob_path(container, name)
        if not self.container_path(container).is_dir():
            raise self._not_found(container, name)
        with self._locked(container, fcntl.LOCK_EX):
            current = self._stat_or_none(container, name, path)
            if current is None:
                raise self._not_found(container, name)
            if if_match is not None and not _same_etag(if_match, etag_of(current)):
                raise PreconditionFailed(container, name, if_match, f"its ETag is {etag_of(current)}")
            path.unlink()
            remove_sidecar(sidecar_path(self.root, container, name), self._meta_base(container))
            prune_empty_folders(path.parent, self.container_path(container))

    # -- internals ---------------------------------------------------------------------------

    def _blob_path(self, container: str, name: str) -> Path:
        return self.container_path(container) / validate_blob_name(name)

    def _meta_base(self, container: str) -> Path:
        return self.root / META_FOLDER / container

    def _check_inside(self, container: str, name: str, path: Path) -> None:
        """Defence in depth: refuse a path that symlinks lead outside the container folder."""
        folder = os.path.realpath(self.container_path(container))
        if os.path.commonpath([folder, os.path.realpath(path)]) != folder:
            raise InvalidBlobName(name, f"it resolves outside container {container!r} (symbolic link)")

    def _not_found(self, container: str, name: str) -> BlobNotFound:
        if not self.container_path(container).is_dir():
            return BlobNotFound(container, name, "the container does not exist")
        return BlobNotFound(container, name)

    def _stat_or_none(self, container: str, name: str, path: Path) -> os.stat_result | None:
        self._check_inside(container, name, path)
        try:
            found = os.stat(path)
        except _MISSING:
            return None
        if stat.S_ISDIR(found.st_mode):
            raise _folder_conflict(name, "it is a folder of other blobs")
        return found

    def _write_temp(self, container: str, name: str, path: Path, data: bytes | BinaryIO) -> Path:
        """Write `data` to a temp file beside `path`; retried if a delete prunes the folder."""
        for _attempt in range(5):
            self._check_inside(container, name, path)  # before mkdir follows a symbolic link out
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise _folder_conflict(name, "one of its folders is a blob") from None
            self._check_inside(container, name, path)
            temp = path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}")
            try:
                handle = open(temp, "xb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                continue
            try:
                with handle:
                    if isinstance(data, bytes | bytearray | memoryview):
                        handle.write(data)
                    else:
                        shutil.copyfileobj(data, handle, CHUNK_SIZE)
                    handle.flush()
                    os.fsync(handle.fileno())
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            return temp
        raise OSError(f"could not create a temp file for blob {name!r} in container {container!r}")

    @contextlib.contextmanager
    def _locked(self, container: str, mode: int) -> Iterator[None]:
        folder = self.root / LOCK_FOLDER
        folder.mkdir(exist_ok=True)
        with open(folder / f"{container}.lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), mode)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _describe(self, container: str, name: str, path: Path) -> BlobProperties:
        found = os.stat(path)
        if not stat.S_ISREG(found.st_mode):
            raise FileNotFoundError(path)
        etag = etag_of(found)
        sidecar = read_sidecar(sidecar_path(self.root, container, name))
        if sidecar is not None and sidecar.etag != etag:
            # Maybe a put is between its sidecar and its rename: look again once it is done.
            with self._locked(container, fcntl.LOCK_SH):
                found = os.stat(path)
                etag = etag_of(found)
                sidecar = read_sidecar(sidecar_path(self.root, container, name))
        if sidecar is None or sidecar.etag != etag:
            sidecar = Sidecar(etag)
        return self._properties_from(container, name, found, sidecar)

    def _properties_from(
        self, container: str, name: str, found: os.stat_result, sidecar: Sidecar
    ) -> BlobProperties:
        return BlobProperties(
            container=container,
            name=name,
            etag=etag_of(found),
            size=found.st_size,
            content_type=sidecar.content_type,
            last_modified=datetime.fromtimestamp(found.st_mtime_ns / 1e9, tz=UTC),
            metadata=dict(sidecar.metadata),
        )

    def _list(self, folder: Path, container: str, prefix: str) -> Iterator[BlobProperties]:
        if not folder.is_dir():
            raise ContainerNotFound(container)
        names: list[str] = []
        for current, dirs, files in os.walk(folder):
            relative = os.path.relpath(current, folder)
            base = "" if relative == "." else relative.replace(os.sep, "/") + "/"
            dirs[:] = [d for d in dirs if _may_hold(base + d + "/", prefix)]
            for file_name in files:
                name = base + file_name
                if is_temporary_file(file_name) or not name.startswith(prefix):
                    continue
                with contextlib.suppress(InvalidBlobName):
                    names.append(validate_blob_name(name))
        for name in sorted(names):
            path = folder / name
            try:
                self._check_inside(container, name, path)
                yield self._describe(container, name, path)
            except (*_MISSING, InvalidBlobName):
                continue  # deleted since the walk, or a symbolic link leading outside


def _may_hold(folder_prefix: str, prefix: str) -> bool:
    return folder_prefix.startswith(prefix) or prefix.startswith(folder_prefix)


def _folder_conflict(name: str, why: str) -> InvalidBlobName:
    return InvalidBlobName(
        name, f"{why}; the filesystem adapter cannot hold a blob 'a' and blobs 'a/...' at the same time"
    )


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
