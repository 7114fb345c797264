"""kill -9 of the orders app's worker, ten times at random moments while customers place and
cancel orders (in stock, out of stock, declined and flaky cards): every order still ends in
exactly one outcome, nobody is charged twice, and no stock stays held for a cancelled order.

Inventory and orders run on one `devhost run`; its supervisor restarts the killed worker. It
backs off 0.5 s doubling (reset only after 60 s of healthy running, with no setting to shorten
it), so ten kills under one supervisor would wait about 150 s: after every `KILLS_PER_HOST`
kills the test stops that `devhost run` (while the worker is dead) and starts a new one on the
same state folder, as a developer restarting devhost would. Customers retry a request the dead
app did not answer with the same Idempotency-Key, as the API asks them to; impatient ones try
once, and an order of theirs that was stored before the app died must still reach its outcome.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest
from orders.handlers import order_id_for

from devhost.testing import DevhostProcess, free_port_block, wait_for

from .conftest import INVENTORY, ORDERS, OrdersHost
from .saga_invariants import (
    RETRYABLE_STATUSES,
    Placed,
    cancel,
    check_money,
    check_one_outcome,
    check_stock,
    place,
    retrying,
    wait_all_final,
)

KILLS = 10
KILLS_PER_HOST = 4
CUSTOMERS = 2
"""Threads placing orders side by side (each waits for its answers, retrying while the app is down)."""
IMPATIENT = 0.2
"""Share of customers who try once: an unanswered POST is not sent again."""
LIFETIME = (0.2, 1.2)
"""Seconds a restarted worker serves customers before it is killed (the random moment)."""
SCARCE = 25
ENV = {"ORDERS_RESERVATION_TIMEOUT_SECONDS": "15", "ORDERS_PAYMENT_RETRY_FIRST_MS": "100"}
"""A kill during an invocation holds its Service Bus message (and session) until the lock expires
(60 s, Azure's default): the saga of an order whose reservation answer was in that invocation
times out after 15 s and is cancelled; inventory releases the late reservation."""


def start_system(state: Path) -> OrdersHost:
    process = DevhostProcess([INVENTORY, ORDERS], state, free_port_block(2), [], ENV)
    try:
        process.wait_running(0, INVENTORY.name)
        process.wait_running(1, ORDERS.name)
    except BaseException:
        process.stop()
        raise
    return OrdersHost(process, 1)


class Customers(threading.Thread):
    """Places a stream of orders of every kind and cancels some of them a little later."""

    def __init__(self, current: list[OrdersHost], skus: list[str], empty_sku: str, seed: int) -> None:
        super().__init__(name="customers", daemon=True)
        self.current = current
        self.skus = skus
        self.empty_sku = empty_sku
        self.rng = random.Random(seed)
        self.placed: list[Placed] = []
        self.unanswered: list[Placed] = []
        """Orders of impatient customers whose POST got no answer (the app was down or died)."""
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def host(self) -> OrdersHost:
        return self.current[0]

    def next_order(self) -> tuple[str, list[tuple[str, int]]]:
        roll, sku = self.rng.random(), self.rng.choice(self.skus)
        customer = f"cust-{uuid.uuid4().hex[:8]}"
        if roll < 0.15:
            return f"decline-{uuid.uuid4().hex[:8]}", [(sku, 1)]
        if roll < 0.30:
            return f"flaky-{uuid.uuid4().hex[:8]}", [(sku, 1)]
        if roll < 0.42:
            return customer, [(self.empty_sku, 3)]
        if roll < 0.52:
            first, second = self.rng.sample(self.skus, 2)
            return customer, [(first, 1), (second, 1)]
        return customer, [(sku, self.rng.randint(1, 2))]

    def place_once(self, customer: str, lines: list[tuple[str, int]], key: str) -> None:
        """An impatient customer: one try; an unanswered order may or may not have been stored."""
        try:
            answer = self.host().place(customer, lines, key=key)
        except OSError:
            self.unanswered.append(Placed(order_id_for(customer, key), customer, lines))
            return
        if answer.status == 202:
            self.placed.append(Placed(str(answer.json()["order_id"]), customer, lines))
        else:
            assert answer.status in RETRYABLE_STATUSES, answer.text
            self.unanswered.append(Placed(order_id_for(customer, key), customer, lines))

    def run(self) -> None:
        cancels: list[tuple[float, Placed]] = []
        try:
            while not self.stopping.is_set():
                customer, lines = self.next_order()
                key = uuid.uuid4().hex
                if self.rng.random() < IMPATIENT:
                    self.place_once(customer, lines, key)
                    self.stopping.wait(0.15)
                    continue
                order = place(self.host, customer, lines, key)
                self.placed.append(order)
                if self.rng.random() < 0.15:
                    cancels.append((time.monotonic() + self.rng.uniform(0, 2.0), order))
                for due in [c for c in cancels if c[0] <= time.monotonic()]:
                    cancels.remove(due)
                    cancel(self.host, due[1])
                self.stopping.wait(0.15)
            for _, order in cancels:
                cancel(self.host, order)
        except BaseException as error:  # reported by the test thread
            self.error = error


def _fresh_worker(host: OrdersHost, killed: set[int]) -> int:
    def fresh() -> int | None:
        pid = host.process.worker_pid(ORDERS.name)
        if pid is None or pid in killed:
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    pid: int = wait_for(fresh, 60, "the supervisor to restart the orders worker")
    return pid


def _exists(host: OrdersHost, order: Placed) -> bool:
    answer = retrying(lambda: host.call("GET", f"/api/orders/{order.order_id}"))
    assert answer.status in (200, 404), answer.text
    return answer.status == 200


def _unfinished(host: OrdersHost, placed: list[Placed]) -> int:
    """Orders whose stream has no outcome yet, read (read-only) from the store file while the
    orders worker is dead."""
    path = host.layout.cosmos_container_path("nightshift", "orders")
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        ended = {
            str(stream_id)
            for (stream_id,) in connection.execute(
                "SELECT stream_id FROM events WHERE type IN "
                "('orders.FulfillmentRequested', 'orders.OrderCancelled')"
            )
        }
    finally:
        connection.close()
    return sum(f"order-{order.order_id}" not in ended for order in list(placed))


@pytest.mark.timeout(240)
def test_ten_kills_of_the_orders_worker_leave_every_order_one_outcome_one_charge_and_no_held_stock(
    tmp_path: Path,
) -> None:
    seed = random.randrange(2**32)
    print(f"random seed {seed} (customers' choices; the kill moments also follow it)")
    state, rng = tmp_path / "state", random.Random(seed)
    current = [start_system(state)]
    try:
        skus = [f"SKU-{uuid.uuid4().hex[:8]}" for _ in range(3)]
        empty_sku = f"SKU-{uuid.uuid4().hex[:8]}"
        for sku in [*skus, empty_sku]:
            current[0].set_price(sku, 250)
        seeded = {**{sku: SCARCE for sku in skus}, empty_sku: 1}
        current[0].upload_feed([(sku, "DE-BER1", units) for sku, units in seeded.items()])
        for sku, units in seeded.items():
            current[0].wait_available(sku, units)

        customers = [Customers(current, skus, empty_sku, rng.randrange(2**32)) for _ in range(CUSTOMERS)]
        for stream in customers:
            stream.start()

        def placed() -> list[Placed]:
            return [order for stream in customers for order in list(stream.placed)]

        killed: set[int] = set()
        in_flight_at_kills: list[int] = []
        while len(killed) < KILLS and all(stream.error is None for stream in customers):
            pid = _fresh_worker(current[0], killed)
            time.sleep(rng.uniform(*LIFETIME))  # the random moment of the crash, not a wait for a state
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
            in_flight_at_kills.append(_unfinished(current[0], placed()))
            if len(killed) % KILLS_PER_HOST == 0 and len(killed) < KILLS:
                current[0].process.stop()
                current[0] = start_system(state)
        _fresh_worker(current[0], killed)
        for stream in customers:
            stream.stopping.set()
        for stream in customers:
            stream.join(120)
            assert stream.error is None, stream.error
        host, orders = current[0], placed()
        unanswered = [order for stream in customers for order in stream.unanswered]
        stored = [order for order in unanswered if _exists(host, order)]
        orders += stored  # an order stored before the app died gets its saga though nobody asks again

        final = wait_all_final(host, orders, 90)

        outcomes = check_one_outcome(host, final)
        check_money(host, final)
        check_stock(host, orders, final, seeded)
        asked = sum(order.cancel_answer is not None for order in orders)
        print(
            f"\n{len(killed)} kills (orders in flight at each: {in_flight_at_kills}); "
            f"{len(final)} orders ({asked} cancels asked; {len(unanswered)} POSTs unanswered, "
            f"{len(stored)} of them stored): {outcomes}"
        )
        assert len(killed) == KILLS
        assert sum(n > 0 for n in in_flight_at_kills) >= KILLS // 2, in_flight_at_kills
        assert {"confirmed", "cancelled (out-of-stock)", "cancelled (payment-declined)"} <= set(
            outcomes.counts
        )
    finally:
        current[0].process.stop()
