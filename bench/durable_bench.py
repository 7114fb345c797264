"""Durable orchestration throughput: devhost's engine beside DBOS (SQLite system database).

Three workloads, each run for each system in its own fresh subprocess (so one run's peak memory
never mixes with another's; the peak is the child's ru_maxrss as reported by ``os.wait4``):

- ``sequential``: one orchestration of N sequential no-op activities -> activities/s
- ``fan_out``: one orchestration fanning out N no-op activities and fanning in -> activities/s
- ``many``: N orchestrations of 5 sequential no-op activities, started at once -> orchestrations/s

Ours is ``devhost.durable.Engine`` in-process (the engine ``devhost run`` hosts) with its default
settings (extended sessions on: see ``devhost.durable.session``), driving the real
``azure-functions-durable`` SDK orchestrators; DBOS is workflows +
steps, with the fan-out done by DBOS's idiom (a workflow enqueuing child workflows on a queue and
awaiting their handles). ``durable_figures`` is what ``bench/run.py`` calls; running this file
prints the table (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WORKLOADS: dict[str, tuple[str, int]] = {
    "sequential": ("1,000 sequential activities (activities/s)", 1_000),
    "fan_out": ("fan-out/fan-in of 10,000 activities (activities/s)", 10_000),
    "many": ("2,000 orchestrations x 5 activities (orchestrations/s)", 2_000),
}
TARGETS = {
    "sequential": ">= 500/s",
    "fan_out": ">= 2,000/s",
    "many": ">= 150/s and >= 3x DBOS",
}
CHAIN = 5


# -- children: one workload on one system, in this process ---------------------------------
def _ours(workload: str, size: int, folder: Path) -> float:
    import azure.durable_functions as df

    from devhost.durable import Engine

    def sequential(ctx: df.DurableOrchestrationContext) -> Any:
        total = 0
        for n in range(ctx.get_input()):
            total += yield ctx.call_activity("noop", n)
        return total

    def fan_out(ctx: df.DurableOrchestrationContext) -> Any:
        results = yield ctx.task_all([ctx.call_activity("noop", n) for n in range(ctx.get_input())])
        return sum(results)

    engine = Engine(folder / "taskhub.db")
    engine.register_orchestrator("sequential", df.Orchestrator.create(sequential))
    engine.register_orchestrator("fan_out", df.Orchestrator.create(fan_out))
    engine.register_activity("noop", lambda value: value)
    try:
        started = time.perf_counter()
        if workload == "many":
            ids = [engine.start_new("sequential", input=CHAIN) for _ in range(size)]
        else:
            ids = [engine.start_new(workload, input=size)]
        engine.run_until_idle(timeout=600)
        elapsed = time.perf_counter() - started
        for instance_id in ids:
            status = engine.get_status(instance_id)
            assert status is not None and status.runtime_status.value == "Completed", status
    finally:
        engine.close()
    return (size if workload != "many" else len(ids)) / elapsed


def _dbos(workload: str, size: int, folder: Path) -> float:
    from dbos import DBOS

    DBOS(
        config={
            "name": "durable-bench",
            "system_database_url": f"sqlite:///{folder / 'dbos.sqlite'}",
            "run_admin_server": False,
        }
    )

    @DBOS.step()
    def noop(value: int) -> int:
        return value

    @DBOS.workflow()
    def sequential(count: int) -> int:
        return sum(noop(n) for n in range(count))

    @DBOS.workflow()
    def child(value: int) -> int:
        return noop(value)

    @DBOS.workflow()
    def fan_out(count: int) -> int:
        queue = DBOS.retrieve_queue("fan-out")
        handles = [queue.enqueue(child, n) for n in range(count)]
        return sum(handle.get_result() for handle in handles)

    DBOS.launch()
    DBOS.register_queue("fan-out", polling_interval_sec=0.01)
    try:
        started = time.perf_counter()
        if workload == "sequential":
            assert sequential(size) == sum(range(size))
        elif workload == "fan_out":
            assert fan_out(size) == sum(range(size))
        else:
            handles = [DBOS.start_workflow(sequential, CHAIN) for _ in range(size)]
            assert all(handle.get_result() == sum(range(CHAIN)) for handle in handles)
        elapsed = time.perf_counter() - started
    finally:
        DBOS.destroy()
    return size / elapsed


def _child(system: str, workload: str, size: int, folder: Path) -> None:
    rate = (_ours if system == "ours" else _dbos)(workload, size, folder)
    (folder / "result.json").write_text(json.dumps({"rate": rate, "peak_mb": _own_peak_mb()}))


def _own_peak_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries the parent's high-water mark
    across fork + exec into it, so a child of a big parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- parent: fresh subprocess per measurement ---------------------------------------------
def measure(system: str, workload: str, size: int) -> tuple[float, float]:
    """Run one workload on one system in a fresh subprocess; returns (rate, peak RSS in MB).

    Raises RuntimeError when the child fails (its output is in the message).
    """
    with tempfile.TemporaryDirectory(prefix="nightshift-durable-bench-") as tmp:
        folder = Path(tmp)
        log = (folder / "child.log").open("wb")
        child = subprocess.Popen(
            [sys.executable, __file__, "child", system, workload, str(size), str(folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _, status, _ = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        log.close()
        result = folder / "result.json"
        if child.returncode != 0 or not result.exists():
            output = (folder / "child.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{system} {workload} x{size} failed ({child.returncode}):\n{output}")
        figures = json.loads(result.read_text())
    return float(figures["rate"]), float(figures["peak_mb"])


def durable_figures(scale: int = 1) -> list[tuple[str, float, float, float, float]]:
    """(name, ours_rate, dbos_rate, ours_peak_mb, dbos_peak_mb) per workload; sizes / ``scale``."""
    figures = []
    for workload, (name, size) in WORKLOADS.items():
        count = max(1, size // scale)
        ours_rate, ours_peak = measure("ours", workload, count)
        dbos_rate, dbos_peak = measure("dbos", workload, count)
        figures.append((name.replace(f"{size:,}", f"{count:,}"), ours_rate, dbos_rate, ours_peak, dbos_peak))
    return figures


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "child":
        _child(args[1], args[2], int(args[3]), Path(args[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes / 20: a smoke run")
    quick = parser.parse_args(args).quick
    print(f"  {'measure':<56} {'ours':>9} {'DBOS':>9} {'ratio':>7} {'ours MB':>8} {'DBOS MB':>8}   target")
    for (name, ours, dbos, ours_mb, dbos_mb), target in zip(
        durable_figures(20 if quick else 1), TARGETS.values(), strict=True
    ):
        rates = f"{ours:>9,.0f} {dbos:>9,.0f} {ours / dbos:>6.1f}x"
        print(f"  {name:<56} {rates} {ours_mb:>8.0f} {dbos_mb:>8.0f}   {target}")


if __name__ == "__main__":
    main()
