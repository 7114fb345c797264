"""The order saga end to end on devhost, with inventory beside it: throughput and latency.

`measure` starts a real ``devhost run services/inventory services/orders`` (``--no-auth``) on a
temporary state folder, prices `SKUS` SKUs through the catalog API and stocks them through an
inventory feed (plenty: every order is confirmed), then:

- throughput: places `orders` orders as fast as `concurrency` HTTP clients can, and counts from
  the first POST until the last ``order.confirmed`` is enqueued on topic ``orders`` (read from the
  subscription ``orders/audit``, which takes every order event: its enqueue time is when the
  relay published it);
- latency: offers orders at a fixed `rate` per second for `seconds` seconds (open loop: each POST
  is sent at its scheduled time, whatever the earlier ones did) and measures each order from its
  scheduled send time to its ``order.confirmed`` enqueue time (p50, p99);
- memory: the peak resident set (VmHWM) of each app's worker process and of its language-worker
  children, read before stopping.

Called from bench/run.py (`orders_saga`); ``python bench/orders_bench.py [--quick]`` prints the
figures.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from processes import child_pids, peak_mb

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, free_port_block, http, wait_for

ROOT = Path(__file__).resolve().parents[1]
INVENTORY = ROOT / "services" / "inventory"
ORDERS = ROOT / "services" / "orders"
SKUS = 20
CONFIRMED = "com.nightshift.orders.order.confirmed.v1"
SHIP_TO = {"name": "Bench", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}


@dataclass(frozen=True)
class OrdersFigures:
    """One run: sustained throughput, latency at a fixed offered rate, workers' peak memory."""

    orders: int
    orders_per_second: float
    offered_rate: float
    offered: int
    p50_seconds: float
    p99_seconds: float
    peak_mb: dict[str, float]


class ConfirmedWatch:
    """When each order's ``order.confirmed`` was enqueued on ``orders/audit`` (epoch seconds),
    peeking only what is new on each poll."""

    def __init__(self, layout: StateLayout) -> None:
        self._bus = layout.open_servicebus()
        self._next = 0
        self.confirmed_at: dict[str, float] = {}

    def poll(self) -> int:
        while batch := self._bus.peek(
            "orders/subscriptions/audit", max_messages=5000, from_sequence_number=self._next
        ):
            for message in batch:
                event = json.loads(bytes(message.body))
                if event.get("type") == CONFIRMED:
                    self.confirmed_at.setdefault(str(event["subject"]), message.enqueued_time_utc.timestamp())
            self._next = batch[-1].sequence_number + 1
        return len(self.confirmed_at)

    def close(self) -> None:
        self._bus.close()


class Shop:
    """The two apps on one devhost, seen from a client."""

    def __init__(self, host: DevhostProcess) -> None:
        self.host = host
        self.layout = StateLayout(host.state)

    def put_price(self, sku: str) -> None:
        body = json.dumps({"unit_price_minor": 199, "currency": "EUR"}).encode()
        answer = http("PUT", self.host.url(1, f"/api/catalog/{sku}"), body)
        if answer.status != 200:
            raise RuntimeError(f"PUT /api/catalog/{sku} answered {answer.status}: {answer.text}")

    def stock(self, skus: list[str], on_hand: int) -> None:
        target = self.layout.blobs_root / "inventory-uploads" / "bench" / f"stock-{uuid.uuid4().hex[:8]}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        rows = "".join(f"{sku},DE-BER1,{on_hand},1.00\n" for sku in skus)
        temporary = target.with_name(f".tmp-{target.name}")
        temporary.write_text("sku,warehouse,on_hand,unit_cost\n" + rows)
        temporary.rename(target)
        for sku in skus:
            wait_for(lambda s=sku: self.available(s) == on_hand, 60, f"{sku} stocked")  # type: ignore[misc]

    def available(self, sku: str) -> int | None:
        answer = http("GET", self.host.url(0, f"/api/stock/{sku}"))
        return int(answer.json()["available"]) if answer.status == 200 else None

    def place(self, sku: str) -> str:
        """POST one order of one unit; returns its id. Raises `RuntimeError` unless accepted."""
        body = {"customer_id": f"bench-{uuid.uuid4().hex[:8]}", "lines": [{"sku": sku, "quantity": 1}]}
        data = json.dumps({**body, "ship_to": SHIP_TO}).encode()
        answer = http("POST", self.host.url(1, "/api/orders"), data, {"Idempotency-Key": uuid.uuid4().hex})
        if answer.status != 202:
            raise RuntimeError(f"POST /api/orders answered {answer.status}: {answer.text}")
        return str(answer.json()["order_id"])


def _wait_confirmed(watch: ConfirmedWatch, ids: list[str], timeout: float) -> float:
    """Wait until every id is confirmed; returns the latest confirmation time among them."""
    wanted = set(ids)
    wait_for(lambda: watch.poll() and wanted <= watch.confirmed_at.keys(), timeout, f"{len(ids)} confirmed")
    return max(watch.confirmed_at[i] for i in ids)


def throughput(shop: Shop, watch: ConfirmedWatch, skus: list[str], count: int, concurrency: int) -> float:
    """Orders/s from the first POST to the last `order.confirmed` enqueued."""
    started = time.time()
    with ThreadPoolExecutor(concurrency) as pool:
        ids = list(pool.map(lambda n: shop.place(skus[n % len(skus)]), range(count)))
    last = _wait_confirmed(watch, ids, 600)
    return count / (last - started)


def latency(shop: Shop, watch: ConfirmedWatch, skus: list[str], rate: float, seconds: float) -> list[float]:
    """Seconds from each order's scheduled send time to its `order.confirmed`, sorted."""
    count = int(rate * seconds)
    scheduled: dict[str, float] = {}
    lock = threading.Lock()

    def send(n: int, at: float) -> None:
        order_id = shop.place(skus[n % len(skus)])
        with lock:
            scheduled[order_id] = at

    start = time.time() + 0.2
    with ThreadPoolExecutor(64) as pool:
        futures = []
        for n in range(count):
            at = start + n / rate
            time.sleep(max(0.0, at - time.time()))
            futures.append(pool.submit(send, n, at))
        for future in futures:
            future.result()
    _wait_confirmed(watch, list(scheduled), 600)
    return sorted(watch.confirmed_at[i] - at for i, at in scheduled.items())


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def measure(
    orders: int = 2_000, concurrency: int = 16, rate: float = 50.0, seconds: float = 20.0
) -> OrdersFigures:
    """One run on a fresh devhost (see the module's docstring). Raises `AssertionError` (from
    `wait_for`) when orders are not confirmed within 10 minutes, `RuntimeError` for a refused POST."""
    with TemporaryDirectory(prefix="nightshift-orders-bench-") as folder:
        state = Path(folder) / "state"
        host = DevhostProcess([INVENTORY, ORDERS], state, free_port_block(2), ["--no-auth"], {})
        try:
            host.wait_running(0, INVENTORY.name)
            host.wait_running(1, ORDERS.name)
            shop = Shop(host)
            skus = [f"BENCH-{n:02d}-{uuid.uuid4().hex[:6]}" for n in range(SKUS)]
            for sku in skus:
                shop.put_price(sku)
            shop.stock(skus, 1_000_000)
            watch = ConfirmedWatch(shop.layout)
            rate_figure = throughput(shop, watch, skus, orders, concurrency)
            delays = latency(shop, watch, skus, rate, seconds)
            watch.close()
            peaks = {}
            for app in (INVENTORY, ORDERS):
                pid = _pid(host, app.name)
                peaks[f"{app.name} worker"] = peak_mb(pid)
                for number, child in enumerate(child_pids(pid), start=1):
                    peaks[f"{app.name} language worker {number}"] = peak_mb(child)
        finally:
            host.stop()
    return OrdersFigures(
        orders, rate_figure, rate, len(delays), _percentile(delays, 0.5), _percentile(delays, 0.99), peaks
    )


def _pid(host: DevhostProcess, app: str) -> int:
    pid = host.worker_pid(app)
    if pid is None:
        raise LookupError(f"devhost reported no worker pid for {app}")
    return pid


def orders_saga(quick: bool) -> OrdersFigures:
    """What bench/run.py calls: the full run, or a smoke run (200 orders, 2 s at 50/s)."""
    return measure(200, 16, 50.0, 2.0) if quick else measure()


def report(figures: OrdersFigures, out: Callable[[str], None] = print) -> None:
    """Print the figures as rows of bench/run.py's tables (no peer ran: ratio columns are "-")."""

    def line(name: str, value: float, unit: str, target: str = "") -> None:
        out(f"  {name:<44} {value:>12,.0f} {unit:<10} {'-':>9} {'-':>9}   {target}")

    rate = f"{figures.offered_rate:.0f}/s"
    line(f"orders/s, {figures.orders:,} placed at once", figures.orders_per_second, "orders/s", ">= 100/s")
    line(f"POST -> order.confirmed p50, {rate} offered", figures.p50_seconds * 1000, "ms")
    line(f"POST -> order.confirmed p99, {rate} offered", figures.p99_seconds * 1000, "ms", "<= 2,000 ms")
    for process, mb in figures.peak_mb.items():
        line(f"peak memory, {process}", mb, "MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 orders, 2 s at 50/s (a smoke run)")
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    arguments = parser.parse_args()
    if arguments.quick:
        figures = orders_saga(True)
    else:
        figures = measure(arguments.orders, arguments.concurrency, arguments.rate, arguments.seconds)
    report(figures)


if __name__ == "__main__":
    main()
