"""FUNCTIONS_WORKER_PROCESS_COUNT parsing and what may cross to a language-worker child."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import azure.functions as func
import pytest

from devhost.language_marshal import BlobReference, DocumentsJson, marshal_arguments
from devhost.language_pool import worker_process_count
from devhost.triggers.blob_stream import FileInputStream
from eventkit.blobs import BlobProperties


@pytest.mark.parametrize(("setting", "count"), [(None, 1), ("", 1), ("1", 1), ("2", 2), ("10", 10)])
def test_the_worker_process_count_is_the_setting_or_one(setting: str | None, count: int) -> None:
    assert worker_process_count(setting) == count


@pytest.mark.parametrize("setting", ["0", "11", "two", "-1"])
def test_a_worker_process_count_outside_one_to_ten_is_refused_naming_the_setting(setting: str) -> None:
    with pytest.raises(ValueError, match="FUNCTIONS_WORKER_PROCESS_COUNT"):
        worker_process_count(setting)


def test_a_blob_stream_crosses_as_its_container_and_name_and_documents_as_json() -> None:
    properties = BlobProperties("uploads", "acme/feed.csv", '"0x1"', 3, "text/csv", datetime.now(UTC))
    stream = FileInputStream(io.BytesIO(b"abc"), properties, {})
    documents = func.DocumentList([func.Document.from_dict({"id": "1", "events": [{"n": 1}]})])

    sent = marshal_arguments({"feed": stream, "docs": documents, "raw": b"x", "none": None})

    assert sent == {
        "feed": BlobReference("uploads", "acme/feed.csv"),
        "docs": DocumentsJson(json.dumps([{"id": "1", "events": [{"n": 1}]}])),
        "raw": b"x",
        "none": None,
    }


def test_an_argument_a_child_cannot_rebuild_keeps_the_invocation_in_the_worker_process() -> None:
    assert marshal_arguments({"feed": object()}) is None
    odd = func.DocumentList([func.Document.from_dict({"id": "1", "at": datetime.now(UTC)})])
    assert marshal_arguments({"docs": odd}) is None
