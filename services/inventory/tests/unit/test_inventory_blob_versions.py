"""A feed is applied once per uploaded version, so each upload must be told apart even when the
Functions host hands the ETag over as an empty object (its serialised `Azure.ETag`)."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from inventory.handlers import Inventory, apply_feed, stock_of
from inventory.subscriptions import blob_version

from eventkit.blobs import FileSystemBlobStore
from eventkit.store import InMemoryEventStore


def upload(last_modified: str, md5: str) -> dict[str, object]:
    return {"ETag": {}, "LastModified": last_modified, "ContentLength": 41, "ContentHash": md5}


def test_an_etag_given_as_text_is_the_version() -> None:
    assert blob_version({"ETag": '"0x8DC1"', "LastModified": "2026-11-29T01:00:00+00:00"}) == '"0x8DC1"'


def test_without_a_text_etag_two_uploads_of_one_name_are_still_two_versions(tmp_path: Path) -> None:
    inventory = Inventory(InMemoryEventStore(), FileSystemBlobStore(tmp_path), default_reorder_point=0)
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    monday = blob_version(upload("2026-11-30T01:00:00+00:00", "bW9uZGF5"))
    tuesday = blob_version(upload("2026-12-01T01:00:00+00:00", "dHVlc2RheQ=="))

    for version, on_hand in ((monday, 5), (tuesday, 9)):
        assert version is not None
        text = f"sku,warehouse,on_hand,unit_cost\n{sku},DE-BER1,{on_hand},1.00\n"
        apply_feed(inventory, "acme/stock.csv", version, io.BytesIO(text.encode()))

    assert monday != tuesday
    assert stock_of(inventory, sku).available == 9


def test_the_older_sdks_length_and_md5_tell_versions_apart_too() -> None:
    first = {"ETag": {}, "LastModified": "2026-11-30T01:00:00+00:00", "Length": 41, "ContentMD5": "YQ=="}
    second = dict(first, ContentMD5="Yg==")

    assert blob_version(first) != blob_version(second)


def test_with_nothing_that_tells_versions_apart_the_caller_must_ask_the_store() -> None:
    assert blob_version({"ETag": {}}) is None
    assert blob_version({}) is None
