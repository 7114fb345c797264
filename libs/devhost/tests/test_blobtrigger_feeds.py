"""Blob trigger on a real `devhost run`: detection, receipts by ETag, poison queue, parallelism, CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, wait_for
from devhost.triggers.blob import POISON_QUEUE
from devhost.triggers.blob_receipts import BlobReceipts

APP = Path(__file__).parent / "apps" / "blobtrig_feeds"
CONTAINER = "inventory-uploads"
WAIT = 30.0


class FeedHost:
    """A devhost running the feed fixture app, and what its function recorded."""

    def __init__(self, start: Callable[..., DevhostProcess], tmp_path: Path) -> None:
        self._start = start
        self.state = tmp_path / "state"
        self.results = tmp_path / "invocations.jsonl"
        self.layout = StateLayout(self.state)
        self.host: DevhostProcess | None = None

    def run(self) -> DevhostProcess:
        self.host = self._start([APP], env={"BLOBTRIG_RESULTS": str(self.results)}, state=self.state)
        self.host.wait_running(0, APP.name)
        return self.host

    def stop(self) -> None:
        assert self.host is not None
        self.host.stop()

    def invocations(self, blob: str | None = None) -> list[dict[str, Any]]:
        if not self.results.exists():
            return []
        entries = [json.loads(line) for line in self.results.read_text().splitlines() if line]
        return [e for e in entries if blob is None or e["name"] == f"{CONTAINER}/{blob}"]

    def wait_processed(self, blob: str, times: int = 1) -> list[dict[str, Any]]:
        return list(
            wait_for(lambda: len(self.invocations(blob)) >= times and self.invocations(blob), WAIT, blob)
        )

    def drop_by_hand(self, blob: str, content: bytes) -> Path:
        """Copy a file into the container folder, as a user would (not through the store API)."""
        source = self.state.parent / f"local-{uuid.uuid4().hex}.csv"
        source.write_bytes(content)
        target = self.layout.blobs_root / CONTAINER / blob
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return target


def _feed(rows: int = 3) -> bytes:
    return b"sku,quantity\n" + b"".join(f"SKU-{i},{i}\n".encode() for i in range(rows))


def _blob_name(folder: str) -> str:
    return f"{folder}/feed-{uuid.uuid4().hex[:8]}.csv"


def test_a_blob_copied_by_hand_is_processed_once_with_its_supplier_folder_in_name(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    feeds = FeedHost(start_devhost, tmp_path)
    host = feeds.run()
    blob = _blob_name(f"acme-{uuid.uuid4().hex[:6]}")
    content = _feed(rows=5)
    feeds.drop_by_hand(blob, content)

    (seen,) = feeds.wait_processed(blob)
    assert seen["name"] == f"{CONTAINER}/{blob}"
    assert seen["length"] == len(content)
    assert seen["uri"] == f"http://127.0.0.1:10000/devstoreaccount1/{CONTAINER}/{blob}"
    assert seen["first_line"] == "sku,quantity"
    assert seen["rest_bytes"] == len(content) - len(b"sku,quantity\n")
    store = feeds.layout.open_blobs()
    assert seen["etag"] == store.properties(CONTAINER, blob).etag
    out = wait_for(lambda: store.exists("quarantine", f"{blob}.out"), WAIT, "quarantine output")
    assert out and store.get_bytes("quarantine", f"{blob}.out") == b"processed:sku,quantity"

    later = _blob_name("other")
    feeds.drop_by_hand(later, _feed())
    feeds.wait_processed(later)  # several scans happened since: the first blob was not run again
    assert len(feeds.invocations(blob)) == 1
    assert f"ETag={seen['etag']}" in host.output


def test_a_processed_version_is_not_run_again_after_a_restart_but_a_rewrite_is(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    feeds = FeedHost(start_devhost, tmp_path)
    feeds.run()
    blob = _blob_name("globex")
    store = feeds.layout.open_blobs()
    store.create_container(CONTAINER)
    store.put(CONTAINER, blob, _feed())
    (first,) = feeds.wait_processed(blob)
    feeds.stop()

    while_down = _blob_name("initech")
    store.put(CONTAINER, while_down, _feed())
    feeds.run()
    feeds.wait_processed(while_down)
    assert len(feeds.invocations(blob)) == 1

    rewritten = store.put(CONTAINER, blob, _feed(rows=7))
    runs = feeds.wait_processed(blob, times=2)
    assert [run["etag"] for run in runs] == [first["etag"], rewritten.etag]
    assert first["etag"] != rewritten.etag


def test_a_blob_that_fails_five_times_goes_to_the_poison_queue_and_is_not_retried(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    feeds = FeedHost(start_devhost, tmp_path)
    host = feeds.run()
    blob = _blob_name("poison")
    feeds.drop_by_hand(blob, _feed())
    bus = feeds.layout.open_servicebus()

    def poisoned() -> list[Any]:
        try:
            return bus.peek(POISON_QUEUE, max_messages=10)
        except Exception:  # the queue appears with the first poison message
            return []

    (message,) = wait_for(poisoned, WAIT, "the poison queue message")
    etag = feeds.layout.open_blobs().properties(CONTAINER, blob).etag
    assert json.loads(message.body) == {
        "Type": "BlobTrigger",
        "FunctionId": "blobtrig_feeds.Functions.process_feed",
        "BlobType": "BlockBlob",
        "ContainerName": CONTAINER,
        "BlobName": blob,
        "ETag": etag.strip('"'),
    }
    later = _blob_name("after-poison")
    feeds.drop_by_hand(later, _feed())
    feeds.wait_processed(later)
    attempts = feeds.invocations(blob)
    assert len(attempts) == 5 and {a["outcome"] for a in attempts} == {"failed"}
    receipts = BlobReceipts(feeds.layout.app_dir(APP.name) / "blob_receipts.db")
    assert receipts.status("process_feed", CONTAINER, blob, etag) == ("poisoned", 5)
    assert "moved to poison queue 'webjobs-blobtrigger-poison'" in host.output


def test_blobs_dropped_together_are_processed_in_parallel(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    feeds = FeedHost(start_devhost, tmp_path)
    feeds.run()
    store = feeds.layout.open_blobs()
    store.create_container(CONTAINER)
    blobs = [_blob_name("slow") for _ in range(4)]
    for blob in blobs:
        store.put(CONTAINER, blob, _feed())
    for blob in blobs:
        feeds.wait_processed(blob)
    assert max(entry["peak_in_flight"] for entry in feeds.invocations()) > 1
    assert all(len(feeds.invocations(blob)) == 1 for blob in blobs)


def _cli(state: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "devhost.cli", "blob", *args, "--state", str(state)],
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_blob_put_get_and_ls_round_trip_and_put_triggers_the_function(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    feeds = FeedHost(start_devhost, tmp_path)
    feeds.run()
    local = tmp_path / "stock.csv"
    local.write_bytes(_feed(rows=20))
    blob = _blob_name("umbrella")

    put = _cli(feeds.state, "put", str(local), f"{CONTAINER}/{blob}")
    assert put.returncode == 0, put.stderr.decode()
    feeds.wait_processed(blob)

    listing = _cli(feeds.state, "ls", f"{CONTAINER}/umbrella/")
    assert listing.returncode == 0, listing.stderr.decode()
    (line,) = listing.stdout.decode().splitlines()
    name, size, etag, modified = line.split("\t")
    properties = feeds.layout.open_blobs().properties(CONTAINER, blob)
    assert (name, int(size), etag) == (blob, local.stat().st_size, properties.etag)
    assert modified.endswith("Z")

    copy = tmp_path / "copy.csv"
    got = _cli(feeds.state, "get", f"{CONTAINER}/{blob}", "-o", str(copy))
    assert got.returncode == 0, got.stderr.decode()
    assert copy.read_bytes() == local.read_bytes()
    missing = _cli(feeds.state, "get", f"{CONTAINER}/no-such-{uuid.uuid4().hex}.csv")
    assert missing.returncode == 1 and b"not found" in missing.stderr
