"""What the benches read of a running process from /proc: its peak memory and its children."""

from __future__ import annotations

from pathlib import Path


def peak_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MB; raises `LookupError` if not reported."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"/proc/{pid}/status has no VmHWM line")


def child_pids(pid: int) -> list[int]:
    """The live child processes of `pid` (an app worker's language workers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(child) for child in (task / "children").read_text().split())
    return found
