"""Name rules shared by every `BlobStore` adapter.

Both adapters refuse the same names, so code that works on the filesystem adapter works on
Azure and the other way round. The blob name rules are stricter than Azure's on purpose (see
docs/adr/0003-blob-store.md): a blob name becomes a path under the container folder on the
filesystem adapter, so any name that could leave that folder, or that two different names would
map to the same file, is refused everywhere:

- empty names, names over 1,024 characters, or a segment over 255 UTF-8 bytes;
- a leading `/` (absolute path), a trailing `/` (a "folder"), or an empty segment (`a//b`);
- `.` or `..` segments;
- backslashes, NUL and other control characters (C0, DEL, C1), unencodable surrogates;
- a segment starting with `.tmp-`: that prefix is reserved for files being written
  (`TEMP_PREFIX`), which listers and watchers skip.

Container names follow Azure's rules: 3 to 63 characters, lowercase letters, digits and
hyphens, starting and ending with a letter or digit, no two hyphens in a row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from eventkit.blobs.errors import InvalidBlobMetadata, InvalidBlobName, InvalidContainerName

MAX_BLOB_NAME_LENGTH = 1024
MAX_SEGMENT_BYTES = 255
TEMP_PREFIX = ".tmp-"
"""Files whose own name (last path segment) starts with this are writes in progress, not blobs."""

_CONTAINER_NAME = re.compile(r"[a-z0-9]([a-z0-9]|-(?=[a-z0-9]))*")
_METADATA_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def validate_blob_name(name: str) -> str:
    """Return `name` unchanged if every rule of this module allows it.

    Raises `InvalidBlobName` naming the blob and the rule it broke.
    """
    if not name:
        raise InvalidBlobName(name, "it is empty")
    if len(name) > MAX_BLOB_NAME_LENGTH:
        raise InvalidBlobName(name, f"it is {len(name)} characters long, the limit is {MAX_BLOB_NAME_LENGTH}")
    for char in name:
        if char == "\\":
            raise InvalidBlobName(name, "backslashes are not allowed; use '/' to separate folders")
        if _is_control(char):
            raise InvalidBlobName(name, f"control character U+{ord(char):04X} is not allowed")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidBlobName(name, "it is not valid Unicode (lone surrogate)") from exc
    if name.startswith("/"):
        raise InvalidBlobName(name, "absolute names (leading '/') are not allowed")
    if name.endswith("/"):
        raise InvalidBlobName(name, "a trailing '/' names a folder, not a blob")
    for segment in name.split("/"):
        if segment == "":
            raise InvalidBlobName(name, "empty path segment ('//') is not allowed")
        if segment in (".", ".."):
            raise InvalidBlobName(name, f"'{segment}' path segments are not allowed")
        if segment.startswith(TEMP_PREFIX):
            raise InvalidBlobName(
                name, f"segments starting with {TEMP_PREFIX!r} are reserved for temporary files"
            )
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidBlobName(name, f"a path segment is longer than {MAX_SEGMENT_BYTES} bytes")
    return name


def validate_container_name(container: str) -> str:
    """Return `container` unchanged if it follows Azure's container naming rules.

    Raises `InvalidContainerName` naming the container and the rule it broke.
    """
    if not 3 <= len(container) <= 63:
        raise InvalidContainerName(container, f"it is {len(container)} characters long; it must be 3 to 63")
    if _CONTAINER_NAME.fullmatch(container) is None:
        raise InvalidContainerName(
            container,
            "use only lowercase letters, digits and single hyphens; start and end with a letter or digit",
        )
    return container


def validate_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of `metadata` if every key and value can be an Azure metadata header.

    Keys must be identifiers (letters, digits, underscore; not starting with a digit), unique
    ignoring case (Azure treats them so); values printable ASCII without leading or trailing
    spaces (HTTP trims them). Raises `InvalidBlobMetadata`.
    """
    seen: set[str] = set()
    for key, value in metadata.items():
        if not isinstance(key, str) or _METADATA_KEY.fullmatch(key) is None:
            raise InvalidBlobMetadata(str(key), "keys must be identifiers: letters, digits, '_'")
        if key.lower() in seen:
            raise InvalidBlobMetadata(key, "keys are case-insensitive and this one is given twice")
        seen.add(key.lower())
        if not isinstance(value, str):
            raise InvalidBlobMetadata(key, f"values must be str, got {type(value).__name__}")
        if not all(0x20 <= ord(c) < 0x7F for c in value) or value != value.strip():
            raise InvalidBlobMetadata(key, "values must be printable ASCII without leading/trailing spaces")
    return dict(metadata)


def is_temporary_file(file_name: str) -> bool:
    """Whether a file found in a container folder is a write in progress rather than a blob.

    `file_name` is the file's own name (last path segment). Listers and watchers skip these.
    """
    return file_name.startswith(TEMP_PREFIX)
