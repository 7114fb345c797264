"""What crosses the pipe between an app's worker and its language-worker children.

Only trigger and input values devhost knows how to rebuild are sent: a blob stream goes as its
``container/name`` (the child reopens the file and builds the same ``FileInputStream`` the
in-process path builds), a change-feed batch of the Cosmos DB trigger as its container and feed
positions (the child reads the same documents from the container: they never cross the pipe),
any other ``func.DocumentList`` as the JSON of its documents (the child builds the same
``DocumentList``), and plain values (``bytes``, ``str``, numbers, ``None``, JSON-like
containers) as they are. Anything else makes `marshal_arguments` answer None and the invocation
runs in the worker process itself, as it does without language workers.

Frames are a 4-byte big-endian length followed by a pickle.
"""

from __future__ import annotations

import json
import pickle
import struct
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from devhost.triggers.blob_stream import FileInputStream
from devhost.triggers.cosmos_feed import WHOLE_FEED, FeedDocuments, FeedRange

_HEADER = struct.Struct(">I")
_PLAIN = (bytes, str, int, float, bool, type(None))


@dataclass(frozen=True)
class BlobReference:
    """A blob the child opens itself: the trigger's or an input binding's stream."""

    container: str
    name: str


@dataclass(frozen=True)
class FeedReference:
    """A change-feed batch the child reads itself: the documents of feed positions
    ``after + 1 .. last`` of an embedded container (a `FeedDocuments`)."""

    database: str
    container: str
    after: int
    last: int
    feed_range: FeedRange = WHOLE_FEED


@dataclass(frozen=True)
class DocumentsJson:
    """A ``func.DocumentList`` as the JSON array of its documents."""

    text: str


def _is_plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(item) for item in value)
    if type(value) is dict:
        return all(isinstance(key, str) and _is_plain(item) for key, item in value.items())
    return False


def marshal_value(value: Any) -> tuple[bool, Any]:
    """(True, what to send) for a value a child can rebuild, else (False, None)."""
    if isinstance(value, FileInputStream):
        container, _, name = (value.name or "").partition("/")
        return True, BlobReference(container, name)
    if isinstance(value, FeedDocuments):
        return True, FeedReference(value.database, value.container, value.after, value.last, value.feed_range)
    if isinstance(value, func.DocumentList):
        try:
            return True, DocumentsJson(json.dumps([document.to_dict() for document in value]))
        except (TypeError, ValueError):  # not JSON after all: the worker process runs it
            return False, None
    if _is_plain(value):
        return True, value
    return False, None


def marshal_arguments(arguments: dict[str, Any]) -> dict[str, Any] | None:
    """Every argument marshalled, or None when one of them cannot be sent to a child."""
    sent: dict[str, Any] = {}
    for name, value in arguments.items():
        ok, marshalled = marshal_value(value)
        if not ok:
            return None
        sent[name] = marshalled
    return sent


def encode_frame(message: Any) -> bytes:
    """One frame: length header and pickle. Raises pickle.PicklingError for unpicklable values."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


def frame_length(header: bytes) -> int:
    """The body length announced by a 4-byte frame header."""
    length: int = _HEADER.unpack(header)[0]
    return length


HEADER_SIZE = _HEADER.size
