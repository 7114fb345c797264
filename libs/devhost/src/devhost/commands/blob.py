"""`devhost blob put|get|ls`: the embedded blob store from the command line.

- `blob put LOCAL_FILE CONTAINER/NAME`: upload (atomically, streamed; creates the container);
  a running blob trigger on that container picks it up as any upload.
- `blob get CONTAINER/NAME [-o FILE]`: download to FILE or stdout.
- `blob ls CONTAINER[/PREFIX]`: one line per blob: name, size, ETag, last modified (UTC).

Every command takes `--state DIR` (default `.devhost`) and exits 0 on success, 2 on bad input
(a bad name, a missing local file) and 1 when the blob or container does not exist.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from devhost.state import StateLayout
from eventkit.blobs import (
    BlobNotFound,
    BlobStoreError,
    ContainerNotFound,
    InvalidBlobName,
    InvalidContainerName,
)

DEFAULT_STATE = Path(".devhost")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    blob = commands.add_parser("blob", help="put, get and list blobs of the embedded blob store")
    blob_commands = blob.add_subparsers(dest="blob_command", required=True)

    put = blob_commands.add_parser("put", help="upload a local file as CONTAINER/NAME")
    put.add_argument("file", type=Path, metavar="LOCAL_FILE")
    put.add_argument("path", metavar="CONTAINER/NAME")
    put.add_argument("--content-type", default="application/octet-stream")
    put.add_argument("--state", type=Path, default=DEFAULT_STATE)
    put.set_defaults(handler=_put)

    get = blob_commands.add_parser("get", help="download CONTAINER/NAME")
    get.add_argument("path", metavar="CONTAINER/NAME")
    get.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    get.add_argument("--state", type=Path, default=DEFAULT_STATE)
    get.set_defaults(handler=_get)

    listing = blob_commands.add_parser("ls", help="list the blobs of CONTAINER[/PREFIX]")
    listing.add_argument("path", metavar="CONTAINER[/PREFIX]")
    listing.add_argument("--state", type=Path, default=DEFAULT_STATE)
    listing.set_defaults(handler=_ls)


def _fail(message: str, code: int) -> int:
    print(f"devhost blob: {message}", file=sys.stderr)
    return code


def _split(path: str, need_name: bool) -> tuple[str, str]:
    container, _, name = path.strip().lstrip("/").partition("/")
    if not container or (need_name and not name):
        raise ValueError(f"{path!r} must be CONTAINER/NAME" if need_name else f"{path!r} must be CONTAINER")
    return container, name


def _put(args: argparse.Namespace) -> int:
    try:
        container, name = _split(args.path, need_name=True)
        store = StateLayout(args.state.resolve()).open_blobs()
        store.create_container(container)
        with args.file.open("rb") as source:
            properties = store.put(container, name, source, content_type=args.content_type)
    except (ValueError, InvalidBlobName, InvalidContainerName) as error:
        return _fail(str(error), 2)
    except OSError as error:
        return _fail(f"cannot read {args.file}: {error.strerror or error}", 2)
    print(f"{container}/{name}\t{properties.size}\t{properties.etag}")
    return 0


def _get(args: argparse.Namespace) -> int:
    try:
        container, name = _split(args.path, need_name=True)
        store = StateLayout(args.state.resolve()).open_blobs()
        with store.open_read(container, name) as source:
            if args.output is None:
                shutil.copyfileobj(source, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            else:
                with args.output.open("wb") as target:
                    shutil.copyfileobj(source, target)
    except (ValueError, InvalidBlobName, InvalidContainerName) as error:
        return _fail(str(error), 2)
    except BlobNotFound as error:
        return _fail(str(error), 1)
    return 0


def _ls(args: argparse.Namespace) -> int:
    try:
        container, prefix = _split(args.path, need_name=False)
        store = StateLayout(args.state.resolve()).open_blobs()
        for blob in store.list(container, prefix):
            modified = blob.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ")
            print(f"{blob.name}\t{blob.size}\t{blob.etag}\t{modified}")
    except (ValueError, InvalidBlobName, InvalidContainerName) as error:
        return _fail(str(error), 2)
    except ContainerNotFound as error:
        return _fail(str(error), 1)
    except BlobStoreError as error:
        return _fail(str(error), 1)
    return 0
