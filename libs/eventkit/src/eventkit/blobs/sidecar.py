"""Content type and metadata of filesystem blobs, kept outside the container folders.

A blob put through the API gets a sidecar at `<root>/.meta/<container>/<name>` (the same
shape as the container tree, so two blob names never share a sidecar). It records the ETag of
the version it describes: when the file was replaced by hand since, the sidecar no longer
matches and the blob reads as a hand-dropped file (`application/octet-stream`, no metadata).
Containers cannot start with `.`, so `.meta` never collides with a container, and watchers of
the container folders never see sidecars.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from eventkit.blobs.names import TEMP_PREFIX
from eventkit.blobs.port import DEFAULT_CONTENT_TYPE

META_FOLDER = ".meta"


@dataclass(frozen=True)
class Sidecar:
    """What the API knew about one version (ETag) of a blob."""

    etag: str
    content_type: str = DEFAULT_CONTENT_TYPE
    metadata: dict[str, str] = field(default_factory=dict)


def sidecar_path(root: Path, container: str, name: str) -> Path:
    return root / META_FOLDER / container / name


def read_sidecar(path: Path) -> Sidecar | None:
    """The sidecar at `path`, or None when there is none or it is unreadable."""
    try:
        raw = json.loads(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    etag, content_type, metadata = raw.get("etag"), raw.get("content_type"), raw.get("metadata")
    if not isinstance(etag, str) or not isinstance(content_type, str) or not isinstance(metadata, dict):
        return None
    return Sidecar(etag, content_type, {str(k): str(v) for k, v in metadata.items()})


def write_sidecar(path: Path, sidecar: Sidecar, base: Path) -> None:
    """Atomically replace the sidecar at `path` under `base` (`<root>/.meta/<container>`).

    The caller holds the container's write lock.

    Stale sidecars of blobs deleted by hand can stand where this one's folders or file must go
    (blob `a` once had a sidecar, now `a/b` is written); they describe nothing and are removed.
    """
    _clear_stale_parents(path, base)
    if path.is_dir():
        shutil.rmtree(path)
    body = json.dumps(
        {"etag": sidecar.etag, "content_type": sidecar.content_type, "metadata": sidecar.metadata}
    )
    tmp = path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(body.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def remove_sidecar(path: Path, stop_at: Path) -> None:
    """Delete the sidecar at `path` and the folders it leaves empty, up to `stop_at`."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
        path.unlink()
    prune_empty_folders(path.parent, stop_at)


def prune_empty_folders(folder: Path, stop_at: Path) -> None:
    """Remove `folder` and its parents while they are empty, never `stop_at` or above."""
    while folder != stop_at and stop_at in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty, already gone, or in use by a concurrent put
            return
        folder = folder.parent


def _clear_stale_parents(path: Path, base: Path) -> None:
    for parent in reversed(path.parents):
        if base not in parent.parents:
            continue
        if parent.is_file() or parent.is_symlink():
            parent.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
