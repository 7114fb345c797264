"""`make bench`: Nightshift's throughput figures, each beside its peers measured in this run.

Prints one table per section with the figure, the ratio to raw SQLite inserts and the ratio to
Huey's SqliteHuey doing the same work, and the targets from the issues. Figures vary with the
machine's load; compare ratios, not absolutes. `--quick` runs smaller sizes (a smoke run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bus_bench
import devhost_bench
import durable_bench
import inventory_bench
import orders_bench
import peers
import store_bench


def best_of(runs: int, measure: Callable[[Path], float]) -> float:
    """The best of `runs` measurements, each in a fresh temp folder (less noise than one run)."""
    best = 0.0
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="nightshift-bench-") as folder:
            best = max(best, measure(Path(folder)))
    return best


def row(name: str, value: float, unit: str, raw: float | None, huey: float | None, target: str) -> None:
    raw_ratio = f"{value / raw:6.2f}x" if raw else "     -"
    huey_ratio = f"{value / huey:6.2f}x" if huey else "     -"
    print(f"  {name:<44} {value:>12,.0f} {unit:<10} {raw_ratio:>9} {huey_ratio:>9}   {target}")


def header(title: str) -> None:
    print(f"\n{title}")
    print(f"  {'measure':<44} {'figure':>12} {'':<10} {'vs raw':>9} {'vs huey':>9}   target")


def store_section(scale: int, runs: int) -> None:
    events = store_bench.payloads(50_000 // scale)
    singles = events[: 5_000 // scale]
    header("EventStore (SQLite adapter): appends")
    single = best_of(runs, lambda d: store_bench.store_appends(d / "s.db", singles, batch=1))
    raw1 = best_of(runs, lambda d: peers.raw_sqlite_inserts(d / "r.db", singles, batch=1))
    huey1 = best_of(runs, lambda d: peers.huey_enqueue(d / "h.db", singles))
    row("single-event appends", single, "events/s", raw1, huey1, "")
    batched = best_of(runs, lambda d: store_bench.store_appends(d / "s.db", events, batch=100))
    raw100 = best_of(runs, lambda d: peers.raw_sqlite_inserts(d / "r.db", events, batch=100))
    hueyn = best_of(runs, lambda d: peers.huey_enqueue(d / "h.db", events[: 5_000 // scale]))
    row("batched appends (100 events per append)", batched, "events/s", raw100, hueyn, ">= 0.50x raw")
    print(f"  (raw SQLite inserts: {raw1:,.0f} rows/s one per transaction, {raw100:,.0f} rows/s 100 per")
    print(f"   transaction; Huey enqueue: {huey1:,.0f} items/s)")


def bus_section(scale: int, runs: int) -> None:
    count = 40_000 // scale
    payloads = store_bench.payloads(count)
    header(f"Embedded Service Bus: send -> receive -> complete, {count:,} messages")
    raw = best_of(runs, lambda d: peers.raw_sqlite_inserts(d / "r.db", payloads, batch=100))
    for consumers in (1, 4):
        ours = best_of(runs, lambda d, c=consumers: bus_bench.servicebus_round_trip(d, payloads, c))
        huey = best_of(
            runs, lambda d, c=consumers: peers.huey_round_trip(d / "h.db", payloads[: count // 4], c)
        )
        row(f"queue, {consumers} consumer(s)", ours, "msgs/s", raw, huey, ">= 10,000/s and >= 5x huey")
    print(f"  (raw SQLite inserts, 100 per transaction: {raw:,.0f} rows/s)")
    header(f"Embedded Event Hubs: send -> read -> checkpoint, {count * 5:,} events")
    events = store_bench.payloads(count * 5)
    eh = best_of(runs, lambda d: bus_bench.eventhubs_round_trip(d, events))
    raw_eh = best_of(runs, lambda d: peers.raw_sqlite_inserts(d / "r.db", events, batch=500))
    row("hub of 4 partitions, batches of 500", eh, "events/s", raw_eh, None, "")


def devhost_section(scale: int, runs: int) -> None:
    header("devhost: triggered no-op functions end to end, and start-up")
    messages = 20_000 // scale
    sb_one = max(devhost_bench.servicebus_triggered(messages, "one") for _ in range(runs))
    row("Service Bus trigger, cardinality one", sb_one, "msgs/s", None, None, ">= 5,000/s")
    sb_many = max(devhost_bench.servicebus_triggered(messages, "many") for _ in range(runs))
    row("Service Bus trigger, cardinality many", sb_many, "msgs/s", None, None, "")
    eh = max(devhost_bench.eventhubs_triggered(200_000 // scale, 100) for _ in range(runs))
    row("Event Hubs batch trigger (batches of 100)", eh, "events/s", None, None, ">= 50,000/s")
    ready = min(devhost_bench.ready_seconds(4) for _ in range(runs))
    print(f"  {'devhost run -> 4 apps ready':<44} {ready:>12.2f} {'s':<10} {'':>9} {'':>9}   <= 3 s")


def durable_section(scale: int) -> None:
    print("\nDurable Functions on devhost vs DBOS (SQLite system database), each in a fresh process")
    print(f"  {'workload':<44} {'devhost':>10} {'DBOS':>10} {'ratio':>8} {'peak MB':>16}   target")
    targets = {"sequential": ">= 500/s", "fan-out": ">= 2,000/s", "orchestrations": ">= 150/s, >= 3x DBOS"}
    for name, ours, dbos, ours_mb, dbos_mb in durable_bench.durable_figures(scale):
        target = next((t for key, t in targets.items() if key in name), "")
        peaks = f"{ours_mb:.0f} / {dbos_mb:.0f}"
        print(f"  {name:<44} {ours:>10,.0f} {dbos:>10,.0f} {ours / dbos:>7.2f}x {peaks:>16}   {target}")


def inventory_section(quick: bool) -> None:
    files, rows = (20, 200) if quick else (500, 2_000)
    header(f"inventory nightly run on devhost: {files} supplier files x {rows:,} rows dropped at once")
    rate, peak_mb = inventory_bench.nightly_run(files, rows)
    row("rows/s, first upload to last feed.processed", rate, "rows/s", None, None, ">= 20,000/s")
    print(f"  {'peak memory of the app worker':<44} {peak_mb:>12,.0f} MB")


def orders_section(quick: bool) -> None:
    size = "200 orders, then 2 s" if quick else "2,000 orders, then 20 s"
    header(f"orders saga on devhost with inventory: {size} at 50 orders/s offered")
    orders_bench.report(orders_bench.orders_saga(quick))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    args = parser.parse_args()
    scale, runs = (10, 1) if args.quick else (1, 3)
    print(f"Nightshift benchmarks (best of {runs} runs; ratios are against peers measured in this run)")
    store_section(scale, runs)
    bus_section(scale, runs)
    devhost_section(scale, runs)
    durable_section(20 if scale > 1 else 1)
    inventory_section(args.quick)
    orders_section(args.quick)


if __name__ == "__main__":
    main()
