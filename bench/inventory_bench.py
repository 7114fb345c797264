"""The inventory nightly run on devhost: many supplier files dropped at once, end to end.

`nightly_run` starts a real ``devhost run services/inventory`` (``--no-auth``) on a temporary
state folder, writes every supplier file into the uploads container at once, and measures from
the first upload until the last ``feed.processed`` is on the subscription ``inventory/reporting``.
It returns rows/s and the peak resident memory (VmHWM) of the app's worker process, read just
before stopping. The split (rows applied in the store vs. published) is printed when asked, so a
slow figure says which half is slow. Called from bench/run.py; ``python bench/inventory_bench.py
[--quick]`` prints the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from processes import child_pids, peak_mb

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, free_port_block, wait_for

APP = Path(__file__).resolve().parents[1] / "services" / "inventory"
WAREHOUSES = ("DE-BER1", "DE-HAM1", "FR-PAR1", "NL-AMS1")
SHARED_SKUS = 200
"""SKUs every supplier also counts (a few rows per file), so feeds race on the same streams."""
PROCESSED = "com.nightshift.inventory.feed.processed.v1"


@dataclass(frozen=True)
class NightlyFigures:
    """One nightly run: throughput, peak memory and where the time went."""

    rows: int
    rows_per_second: float
    peak_mb: float
    children_peak_mb: tuple[float, ...]  # each language-worker child (FUNCTIONS_WORKER_PROCESS_COUNT)
    applied_seconds: float  # first upload → last FeedProcessed appended to the store
    published_seconds: float  # first upload → last feed.processed on inventory/reporting


def supplier_file(supplier: int, rows: int, rng: random.Random) -> bytes:
    """One supplier's CSV: mostly its own SKUs, plus one row in 50 for a SKU every supplier has."""
    lines = ["sku,warehouse,on_hand,unit_cost"]
    for row in range(rows):
        if row % 50 == 49:
            sku = f"SHARED-{rng.randrange(SHARED_SKUS)}"
        else:
            sku = f"S{supplier}-{row // len(WAREHOUSES)}"
        warehouse = WAREHOUSES[row % len(WAREHOUSES)]
        lines.append(f"{sku},{warehouse},{rng.randrange(0, 500)},{rng.randrange(100, 9999) / 100:.2f}")
    return ("\n".join(lines) + "\n").encode()


def _upload_all(layout: StateLayout, files: int, rows: int) -> None:
    """Write every file under a temporary name first, then rename them all (an upload each)."""
    rng = random.Random(files * 1_000_003 + rows)
    root = layout.blobs_root / "inventory-uploads"
    staged: list[tuple[Path, Path]] = []
    for supplier in range(files):
        target = root / f"supplier-{supplier}" / "stock.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".tmp-{target.name}")
        temporary.write_bytes(supplier_file(supplier, rows, rng))
        staged.append((temporary, target))
    for temporary, target in staged:
        temporary.rename(target)


class _StoreCounter:
    """Counts `inventory.FeedProcessed` events in the app's store, reading only events appended
    since the last call (by position), so measuring does not scan the store every 50 ms."""

    def __init__(self, state: Path) -> None:
        self._path = state / "cosmos" / "nightshift" / "inventory.db"
        self._after = 0
        self.count = 0

    def poll(self) -> int:
        if not self._path.exists():
            return self.count
        connection = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=30)
        try:
            rows = connection.execute(
                "SELECT position, type = 'inventory.FeedProcessed' FROM events"
                " WHERE position > ? ORDER BY position",
                (self._after,),
            ).fetchall()
        except sqlite3.OperationalError:  # schema not created yet
            return self.count
        finally:
            connection.close()
        if rows:
            self._after = rows[-1][0]
            self.count += sum(flag for _, flag in rows)
        return self.count


class _ProcessedCounter:
    """Counts `feed.processed` messages on inventory/reporting, peeking only what is new."""

    def __init__(self, layout: StateLayout) -> None:
        self._bus = layout.open_servicebus()
        self._next = 0
        self.count = 0

    def poll(self) -> int:
        while batch := self._bus.peek(
            "inventory/subscriptions/reporting", max_messages=5000, from_sequence_number=self._next
        ):
            for message in batch:
                if json.loads(bytes(message.body)).get("type") == PROCESSED:
                    self.count += 1
            self._next = batch[-1].sequence_number + 1
        return self.count

    def close(self) -> None:
        self._bus.close()


def measure(files: int = 500, rows: int = 2000, timeout: float = 1800.0) -> NightlyFigures:
    """Run one night of `files` supplier files of `rows` rows each; see `NightlyFigures`.
    Raises `TimeoutError` (from `wait_for`) if the feeds are not all processed in `timeout` s."""
    with tempfile.TemporaryDirectory(prefix="nightshift-inventory-bench-") as folder:
        state = Path(folder) / "state"
        host = DevhostProcess([APP], state, free_port_block(1), ["--no-auth"], {})
        try:
            host.wait_running(0, APP.name)
            layout = StateLayout(state)
            wait_for(lambda: _has_reporting(layout), 60, "subscription inventory/reporting")
            counter = _ProcessedCounter(layout)
            in_store = _StoreCounter(state)
            applied_at: list[float] = []
            started = time.perf_counter()
            _upload_all(layout, files, rows)

            def all_published() -> bool:
                if not applied_at and in_store.poll() >= files:
                    applied_at.append(time.perf_counter())
                return counter.poll() >= files

            wait_for(all_published, timeout, f"{files} feed.processed on inventory/reporting")
            published = time.perf_counter() - started
            applied = (applied_at[0] if applied_at else time.perf_counter()) - started
            counter.close()
            pid = host.worker_pid(APP.name)
            if pid is None:
                raise LookupError(f"devhost reported no worker pid for {APP.name}")
            peak = peak_mb(pid)
            children = tuple(peak_mb(child) for child in child_pids(pid))
        finally:
            host.stop()
    total = files * rows
    return NightlyFigures(total, total / published, peak, children, applied, published)


def _has_reporting(layout: StateLayout) -> bool:
    bus = layout.open_servicebus()
    try:
        return any(s.name == "reporting" for s in bus.list_subscriptions("inventory"))
    except Exception:  # the topic is provisioned by devhost while it starts
        return False
    finally:
        bus.close()


def nightly_run(files: int = 500, rows: int = 2000) -> tuple[float, float]:
    """(rows/s from first upload to last `feed.processed`, peak MB of the app's worker)."""
    figures = measure(files, rows)
    return figures.rows_per_second, figures.peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 files x 200 rows (a smoke run)")
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rows", type=int, default=2000)
    arguments = parser.parse_args()
    files, rows = (20, 200) if arguments.quick else (arguments.files, arguments.rows)
    figures = measure(files, rows)
    print(
        f"inventory nightly run, {files} files x {rows} rows = {figures.rows:,} rows: "
        f"{figures.rows_per_second:,.0f} rows/s, worker peak {figures.peak_mb:,.0f} MB, language "
        f"workers' peaks {', '.join(f'{mb:,.0f}' for mb in figures.children_peak_mb) or '-'} MB"
    )
    print(
        f"  applied in the store after {figures.applied_seconds:.1f} s, "
        f"last feed.processed published after {figures.published_seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
