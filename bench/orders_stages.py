"""Where an order's time goes: the saga's stages, end to end, on one `devhost run`.

Places `--orders` orders at once (as `orders_bench.throughput` does), then reads the enqueue time
of each order's events from the `audit` subscriptions of topics `orders` and `inventory` and
prints, per stage (POST -> ``order.placed`` -> ``stock.reserved`` -> ``payment-captured`` ->
``confirmed``), p50/p90/max, plus how many orders were placed and confirmed per 5 s window. A
stage whose delay grows through the run is the one that bounds throughput.

``python bench/orders_stages.py [--orders N]``; the devhost log is kept beside the state folder.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import mkdtemp

import orders_bench as ob

from devhost.testing import DevhostProcess, free_port_block

STAGES = ("placed", "reserved", "payment-captured", "confirmed")


def _event_times(shop: ob.Shop) -> dict[str, dict[str, float]]:
    bus = shop.layout.open_servicebus()
    times: dict[str, dict[str, float]] = defaultdict(dict)
    try:
        for subscription in ("orders/subscriptions/audit", "inventory/subscriptions/audit"):
            start = 0
            while batch := bus.peek(subscription, max_messages=5000, from_sequence_number=start):
                for message in batch:
                    event = json.loads(bytes(message.body))
                    ours = ".orders." in event["type"]
                    order_id = event["subject"] if ours else event["data"].get("order_id")
                    stage = event["type"].split(".")[-2]
                    times[str(order_id)].setdefault(stage, message.enqueued_time_utc.timestamp())
                start = batch[-1].sequence_number + 1
    finally:
        bus.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    state = Path(mkdtemp(prefix="nightshift-orders-stages-")) / "state"
    host = DevhostProcess([ob.INVENTORY, ob.ORDERS], state, free_port_block(2), ["--no-auth"], {})
    try:
        host.wait_running(0, ob.INVENTORY.name)
        host.wait_running(1, ob.ORDERS.name)
        shop = ob.Shop(host)
        skus = [f"BENCH-{n:02d}-{uuid.uuid4().hex[:6]}" for n in range(ob.SKUS)]
        for sku in skus:
            shop.put_price(sku)
        shop.stock(skus, 1_000_000)
        watch = ob.ConfirmedWatch(shop.layout)
        posted: dict[str, float] = {}
        started = time.time()

        def place(n: int) -> str:
            sent = time.time()
            order_id = shop.place(skus[n % len(skus)])
            posted[order_id] = sent
            return order_id

        with ThreadPoolExecutor(args.concurrency) as pool:
            ids = list(pool.map(place, range(args.orders)))
        accepted = time.time() - started
        last = ob._wait_confirmed(watch, ids, 600)
        watch.close()
        print(f"{args.orders} POSTs accepted in {accepted:.1f} s ({args.orders / accepted:.0f}/s)")
        print(f"all confirmed after {last - started:.1f} s: {args.orders / (last - started):.1f} orders/s")
        times = _event_times(shop)
        delays: dict[str, list[float]] = defaultdict(list)
        for order_id, sent in posted.items():
            previous, at = "POST", sent
            for stage in STAGES:
                if stage in times[order_id]:
                    delays[f"{previous} -> {stage}"].append(times[order_id][stage] - at)
                    previous, at = stage, times[order_id][stage]
        for name, values in delays.items():
            values.sort()
            p50, p90 = values[len(values) // 2], values[int(len(values) * 0.9)]
            worst = values[-1]
            figures = f"p50 {p50 * 1000:7.0f} ms  p90 {p90 * 1000:7.0f} ms  max {worst * 1000:7.0f} ms"
            print(f"  {name:32s} {figures}")
        placed = sorted(t["placed"] - started for t in times.values() if "placed" in t)
        confirmed = sorted(t["confirmed"] - started for t in times.values() if "confirmed" in t)
        for window in range(0, int(confirmed[-1]) + 5, 5):
            in_window = [sum(1 for x in xs if window <= x < window + 5) for xs in (placed, confirmed)]
            print(f"  {window:4d}-{window + 5:<4d} s  placed {in_window[0]:5d}  confirmed {in_window[1]:5d}")
        print(f"devhost log: {host.log_path}")
    finally:
        host.stop()


if __name__ == "__main__":
    main()
