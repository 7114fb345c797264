"""The simulator's ledger shared by OS processes: racing retries and a kill -9.

The workers are separate Python processes (`python -c`), as the Functions worker and a test
process are: they share nothing but the ledger file.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import orders
import pytest
from orders.payments import SimulatedPaymentGateway, SimulatorRules, capture_key

pytestmark = pytest.mark.timeout(120)

SERVICE_ROOT = Path(orders.__file__).resolve().parent.parent

# Captures every order of a JSON list several times, retrying outages, once both workers said
# "ready" and the test said "go"; prints {order_id: payment_id or decline code}.
RACER = """
import json, sys
from pathlib import Path
from orders.payments import (
    PaymentDeclined, PaymentUnavailable, SimulatedPaymentGateway, SimulatorRules, capture_key,
)

db, orders, attempts = Path(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
gateway = SimulatedPaymentGateway(db, SimulatorRules(flaky_failures=2))
print("ready", flush=True)
sys.stdin.readline()
seen = {}
for order_id, customer_id in orders:
    for _ in range(attempts):
        try:
            outcome = gateway.capture(
                idempotency_key=capture_key(order_id), order_id=order_id,
                customer_id=customer_id, amount_minor=1234, currency="EUR",
            ).payment_id
        except PaymentUnavailable:
            continue
        except PaymentDeclined as declined:
            outcome = declined.code
        if seen.setdefault(order_id, outcome) != outcome:
            sys.exit(f"order {order_id}: {outcome} after {seen[order_id]}")
print(json.dumps(seen), flush=True)
"""

# Captures orders prefix-0, prefix-1, ... one after another, printing each payment id, until killed.
CHARGER = """
import sys
from pathlib import Path
from orders.payments import SimulatedPaymentGateway, SimulatorRules, capture_key

gateway = SimulatedPaymentGateway(Path(sys.argv[1]), SimulatorRules())
prefix = sys.argv[2]
for index in range(1_000_000):
    order_id = f"{prefix}-{index}"
    capture = gateway.capture(
        idempotency_key=capture_key(order_id), order_id=order_id,
        customer_id="cust-steady", amount_minor=500, currency="EUR",
    )
    print(order_id, capture.payment_id, flush=True)
"""


def start(script: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVICE_ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream:
                stream.close()


def test_two_processes_retrying_the_same_captures_charge_each_order_exactly_once(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    db = tmp_path / "simulator.db"
    run = uuid.uuid4().hex[:6]
    plan = [(f"ord-{run}-{i}", ("cust-", "flaky-", "decline-")[i % 3] + run) for i in range(45)]
    processes.extend(start(RACER, str(db), json.dumps(plan), "5") for _ in range(2))
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()

    results = []
    for process in processes:
        out, err = process.communicate(timeout=90)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    gateway = SimulatedPaymentGateway(db, SimulatorRules())
    assert results[0] == results[1], "both processes saw the same outcome for every key"
    for order_id, customer_id in plan:
        declined = customer_id.startswith("decline-")
        assert results[0][order_id] == (
            "card_declined" if declined else gateway.charges(order_id)[0].payment_id
        )
        assert gateway.charge_count(order_id) == (0 if declined else 1)
        expected_attempts = 3 if customer_id.startswith("flaky-") else 1
        assert gateway.attempts(capture_key(order_id)) == expected_attempts
    assert len(gateway.charges()) == 30


def test_a_process_killed_mid_capture_leaves_every_charge_with_its_key_and_retries_charge_nothing_new(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    db = tmp_path / "simulator.db"
    prefix = f"ord-{uuid.uuid4().hex[:6]}"
    charger = start(CHARGER, str(db), prefix)
    processes.append(charger)
    assert charger.stdout is not None
    reported: dict[str, str] = {}
    while len(reported) < 200:
        line = charger.stdout.readline()
        assert line, f"the charger stopped early: {charger.communicate(timeout=30)[1]}"
        order_id, payment_id = line.split()
        reported[order_id] = payment_id

    os.kill(charger.pid, signal.SIGKILL)
    charger.wait(timeout=30)

    gateway = SimulatedPaymentGateway(db, SimulatorRules())
    committed = gateway.charges()
    with sqlite3.connect(db) as ledger:
        (succeeded_keys,) = ledger.execute(
            "SELECT COUNT(*) FROM idempotency_keys WHERE outcome = 'succeeded'"
        ).fetchone()
    assert succeeded_keys == len(committed) >= len(reported)
    for charge in committed:
        assert charge.idempotency_key == capture_key(charge.order_id)
    retried = [f"{prefix}-{index}" for index in range(len(committed) + 5)]
    for order_id in retried:
        payment_id = gateway.capture(
            idempotency_key=capture_key(order_id),
            order_id=order_id,
            customer_id="cust-steady",
            amount_minor=500,
            currency="EUR",
        ).payment_id
        assert reported.get(order_id, payment_id) == payment_id
        assert gateway.charge_count(order_id) == 1
    assert len(gateway.charges()) == len(retried)
