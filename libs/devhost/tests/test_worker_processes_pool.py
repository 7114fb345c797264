"""FUNCTIONS_WORKER_PROCESS_COUNT=2 on a real `devhost run`: blob and Cosmos DB invocations run in
two language-worker child processes while the worker process keeps the triggers."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, wait_for
from devhost.triggers.blob import POISON_QUEUE
from devhost.triggers.blob_receipts import BlobReceipts
from devhost.triggers.cosmos_feed import read_documents
from eventkit.store.events import NewEvent

APP = Path(__file__).parent / "apps" / "worker_processes"
UPLOADS = "wp-uploads"
WAIT = 30.0


class PooledApp:
    """A devhost running the fixture app with two language workers, and what its functions recorded."""

    def __init__(self, start: Callable[..., DevhostProcess], tmp_path: Path) -> None:
        self.state = tmp_path / "state"
        self.results = tmp_path / "invocations.jsonl"
        self.layout = StateLayout(self.state)
        self.host = start([APP], env={"WORKERPROC_RESULTS": str(self.results)}, state=self.state)
        self.host.wait_running(0, APP.name)
        pid = self.host.worker_pid(APP.name)
        assert pid is not None
        self.worker_pid = pid

    def records(self, event: str, blob: str | None = None) -> list[dict[str, Any]]:
        if not self.results.exists():
            return []
        entries = [json.loads(line) for line in self.results.read_text().splitlines() if line]
        wanted = None if blob is None else f"{UPLOADS}/{blob}"
        return [e for e in entries if e["event"] == event and wanted in (None, e.get("name"))]

    def wait_records(self, event: str, blob: str, count: int = 1) -> list[dict[str, Any]]:
        return list(
            wait_for(
                lambda: len(self.records(event, blob)) >= count and self.records(event, blob),
                WAIT,
                f"{count} '{event}' record(s) for {blob}",
            )
        )

    def upload(self, blob: str, content: bytes) -> None:
        self.layout.open_blobs().put(UPLOADS, blob, content)

    def result_blob(self, blob: str) -> bytes:
        return wait_for(lambda: self._read_result(blob), WAIT, f"output blob of {blob}")  # type: ignore[no-any-return]

    def _read_result(self, blob: str) -> bytes | None:
        path = self.layout.blobs_root / "wp-results" / f"{blob}.out"
        return path.read_bytes() if path.exists() else None

    def poisoned(self) -> list[Any]:
        bus = self.layout.open_servicebus()
        try:
            return list(bus.peek(POISON_QUEUE, max_messages=10))
        except Exception:  # the queue appears with the first poison message
            return []
        finally:
            bus.close()


def _upload_text(rows: int = 3) -> bytes:
    return b"sku,quantity\n" + b"".join(f"SKU-{i},{i}\n".encode() for i in range(rows))


def _blob(folder: str) -> str:
    return f"{folder}/upload-{uuid.uuid4().hex[:8]}.csv"


def test_blobs_run_once_each_in_two_child_processes_and_their_outputs_reach_the_output_blobs(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    app = PooledApp(start_devhost, tmp_path)
    blobs = [_blob("batch") for _ in range(8)]
    for blob in blobs:
        app.upload(blob, _upload_text(rows=4))

    for blob in blobs:
        (finished,) = app.wait_records("finished", blob)
        assert finished["type"] == "FileInputStream" and finished["first_line"] == "sku,quantity"
        assert finished["length"] == len(_upload_text(rows=4))
        assert finished["rest_bytes"] == 4 * len(b"SKU-0,0\n")
        assert finished["uri"].endswith(f"/{UPLOADS}/{blob}")
        assert app.result_blob(blob) == f"pid:{finished['pid']}".encode()
    pids = {record["pid"] for record in app.records("finished")}
    assert len(pids) == 2 and app.worker_pid not in pids
    receipts = BlobReceipts(app.layout.app_dir(APP.name) / "blob_receipts.db")
    etags = {blob: app.layout.open_blobs().properties(UPLOADS, blob).etag for blob in blobs}
    assert all(receipts.status("process_upload", UPLOADS, b, etags[b]) == ("done", 0) for b in blobs)
    assert len(app.records("started")) == len(blobs)  # each blob exactly once
    assert "Started 2 language worker processes for worker_processes" in app.host.output


def test_a_cosmos_triggered_function_in_a_child_gets_the_documents_the_trigger_read(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    store = StateLayout(tmp_path / "state").open_cosmos_container("nightshift", "wp-orders")
    stream = f"order-{uuid.uuid4().hex[:8]}"
    store.append(stream, 0, [NewEvent(type="placed", data={"total": 12.5}), NewEvent(type="priced", data={})])
    store.append(stream, 2, [NewEvent(type="shipped", data={"carrier": "DHL"})])
    app = PooledApp(start_devhost, tmp_path)

    def relayed() -> list[dict[str, Any]]:
        return [doc for record in app.records("relayed") for doc in record["docs"]]

    documents = wait_for(lambda: len(relayed()) >= 2 and relayed(), WAIT, "the relayed documents")
    expected, _last = read_documents(store, 0, 100)
    assert documents == json.loads(json.dumps(expected))
    record = app.records("relayed")[0]
    assert record["is_document_list"] and record["document_types"] == ["Document"]
    assert record["pid"] != app.worker_pid


def test_an_exception_in_a_child_is_logged_with_its_invocation_and_the_blob_is_retried_then_poisoned(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    app = PooledApp(start_devhost, tmp_path)
    blob = _blob("fail")
    app.upload(blob, _upload_text())

    (message,) = wait_for(app.poisoned, WAIT, "the poison queue message")
    assert json.loads(message.body)["BlobName"] == blob
    attempts = app.records("started", blob)
    assert len(attempts) == 3 and len({a["invocation_id"] for a in attempts}) == 3
    output = app.host.output
    for attempt in attempts:
        assert f"Executed 'Functions.process_upload' (Failed, Id={attempt['invocation_id']}" in output
    assert f"ValueError: cannot parse upload {UPLOADS}/{blob}" in output
    assert 'raise ValueError(f"cannot parse upload {upload.name}")' in output  # the child's traceback
    assert "moved to poison queue 'webjobs-blobtrigger-poison'" in output


def test_a_child_killed_mid_invocation_fails_it_the_blob_is_retried_and_the_pool_recovers(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    app = PooledApp(start_devhost, tmp_path)
    blob = _blob("hang")
    app.upload(blob, _upload_text())
    (first,) = app.wait_records("started", blob)
    killed = first["pid"]
    assert killed != app.worker_pid

    os.kill(killed, signal.SIGKILL)
    retried = app.wait_records("started", blob, count=2)[1]
    assert retried["pid"] != killed and retried["invocation_id"] != first["invocation_id"]
    Path(f"{app.results}.release").touch()
    app.wait_records("finished", blob)
    assert app.result_blob(blob) == f"pid:{retried['pid']}".encode()
    output = app.host.output
    assert f"Executed 'Functions.process_upload' (Failed, Id={first['invocation_id']}" in output
    assert f"language worker process {killed} of worker_processes exited with code -9" in output

    wait_for(lambda: f"replaces {killed}" in app.host.output, WAIT, "the killed child's replacement")
    later = [_blob("after-kill") for _ in range(6)]
    for each in later:
        app.upload(each, _upload_text())
    pids = {app.wait_records("finished", each)[0]["pid"] for each in later}
    assert len(pids) == 2 and killed not in pids and app.worker_pid not in pids
