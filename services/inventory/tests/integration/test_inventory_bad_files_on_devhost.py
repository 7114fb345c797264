"""The bad-file corpus of the parser's unit tests, dropped all at once into a running devhost:
every file ends as feed.processed or feed.rejected with its reason, the good rows of partly bad
files are applied, their bad rows quarantined, and the app's worker never crashes."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from devhost.testing import wait_for

CORPUS_MODULE = Path(__file__).resolve().parents[1] / "unit" / "test_inventory_feed_corpus.py"
LIMIT_DEPENDENT = {"over-size-limit", "over-decompressed-limit"}
"""Refused under the unit tests' small limits; under the app's defaults they are read."""
WAIT = 60.0
PROCESSED = "com.nightshift.inventory.feed.processed.v1"
REJECTED = "com.nightshift.inventory.feed.rejected.v1"


def _corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("inventory_bad_feed_corpus", CORPUS_MODULE)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name) or importlib.util.module_from_spec(spec)
    if spec.name not in sys.modules:
        sys.modules[spec.name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
    return module


def _upload_name(case_name: str, name: str) -> str | None:
    """Where the case lands in the container, made unique by the case name; None for names no
    file system upload can produce (absolute, `..`, NUL, backslash, empty segment) or that the
    blob trigger skips as temporary (`.tmp-`)."""
    if name.startswith("/") or any(bad in name for bad in ("..", "\x00", "\\", "//", ".tmp-")):
        return None
    folder, _, file = name.rpartition("/")
    return f"{folder}/{case_name}-{file}" if folder else f"{case_name}-{file}"


def _drop(host: Any, files: dict[str, bytes]) -> None:
    root = host.layout.blobs_root / "inventory-uploads"
    staged = []
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".tmp-{target.name}")
        temporary.write_bytes(content)
        staged.append((temporary, target))
    for temporary, target in staged:  # all at once: each rename is an upload
        temporary.rename(target)


def _partly_bad(skus: list[str]) -> bytes:
    rows = ["sku,warehouse,on_hand,unit_cost"]
    for index, sku in enumerate(skus):
        rows.append(f"{sku},DE-BER1,{20 + index},1.50")
        rows.append(f"{sku},nowhere,{index},1.50")  # bad warehouse
    rows.append("=HYPERLINK(1),DE-BER1,-4,x")
    return ("\n".join(rows) + "\n").encode()


def test_every_bad_file_dropped_at_once_ends_processed_or_rejected_without_a_crash(
    inventory_host: Any,  # conftest.InventoryHost
) -> None:
    corpus = _corpus()
    worker = wait_for(lambda: inventory_host.process.worker_pid("inventory"), WAIT, "the worker pid")
    expected: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for case_name, case in corpus.CORPUS.items():
        name = _upload_name(case_name, case.name)
        if name is not None:
            files[name], expected[name] = case.content, case
    partly_bad = {
        f"supplier-{n}/mixed-{uuid.uuid4().hex[:6]}.csv": [f"SKU-{uuid.uuid4().hex[:8]}" for _ in range(3)]
        for n in range(3)
    }
    for name, skus in partly_bad.items():
        files[name] = _partly_bad(skus)
    assert len(files) >= 40

    _drop(inventory_host, files)

    def outcomes() -> dict[str, dict[str, Any]] | None:
        seen = {
            event["data"]["blob_name"]: event
            for event in inventory_host.events_for_reporting()
            if event["type"] in (PROCESSED, REJECTED)
        }
        return seen if set(files) <= set(seen) else None

    seen: dict[str, dict[str, Any]] = wait_for(outcomes, WAIT, "an outcome for every dropped file")
    for name, case in expected.items():
        event = seen[name]
        if case.refused and case_name_of(name) not in LIMIT_DEPENDENT:
            assert (event["type"], event["data"]["reason"]) == (REJECTED, case.refused), name
        elif case.rejected:
            assert event["type"] == PROCESSED and event["data"]["rows_rejected"] == 1, name
    for name, skus in partly_bad.items():
        data = seen[name]["data"]
        assert seen[name]["type"] == PROCESSED
        assert (data["rows_applied"], data["rows_rejected"]) == (len(skus), len(skus) + 1)
        quarantine = inventory_host.layout.blobs_root / data["quarantine_location"]
        assert quarantine.read_text().count("unknown warehouse format") == len(skus)
        for index, sku in enumerate(skus):
            inventory_host.wait_stock(sku, 20 + index)
    assert inventory_host.process.worker_pid("inventory") == worker
    assert inventory_host.process.process.poll() is None
    assert "Traceback" not in inventory_host.process.output


def case_name_of(upload_name: str) -> str:
    file = upload_name.rpartition("/")[2]
    return next(
        (case for case in LIMIT_DEPENDENT if file.startswith(case + "-")),
        file,
    )
