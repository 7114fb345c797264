"""The README's `make run`: it lists the example app's functions, answers its HTTP route, and
stops cleanly on Ctrl-C (SIGINT), leaving its state in the folder it named."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return None


def test_make_run_serves_the_example_app_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, state, log = _free_port(), tmp_path / "state", tmp_path / "make-run.log"
    with log.open("wb") as out:
        make = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "run",
                f"DEVHOST_STATE={state}",
                f"DEVHOST_PORT={port}",
                "RUN_APPS=libs/devhost/examples/hello/function_app.py",
            ],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            answer = None
            deadline = time.monotonic() + 120
            while answer is None and time.monotonic() < deadline and make.poll() is None:
                answer = _get(f"http://127.0.0.1:{port}/api/hello/nightshift")
                time.sleep(0.3)
            assert answer == "Hello, nightshift!", log.read_text()
        finally:
            os.killpg(make.pid, signal.SIGINT)
            make.wait(timeout=60)
    printed = log.read_text()
    assert f"hello: [GET] http://localhost:{port}/api/hello/{{name}}" in printed
    assert f"state in {state}/" in printed
    assert (state / "keys" / "hello.json").exists()
