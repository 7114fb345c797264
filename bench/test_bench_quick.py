"""The benchmarks still run (a smoke run at small sizes); figures are printed, never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_make_bench_runs_at_small_sizes_and_prints_every_section() -> None:
    script = Path(__file__).with_name("run.py")
    result = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    for section in (
        "EventStore",
        "Embedded Service Bus",
        "Embedded Event Hubs",
        "devhost:",
        "Durable Functions",
        "orders saga on devhost",
    ):
        assert section in result.stdout
