"""Helpers for tests that drive ``devhost run`` from the outside (used by devhost's and services' tests).

``DevhostProcess`` starts ``devhost run`` as a subprocess on free ports with its own state folder,
waits (bounded) for ``/admin/host/status`` to say Running, and stops it with SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

READY_TIMEOUT = 60.0


def free_port_block(count: int) -> int:
    """A first port such that ``count`` consecutive ports are free (best effort)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = int(probe.getsockname()[1])
        if first + count >= 65535:
            continue
        sockets = []
        try:
            for offset in range(count):
                sock = socket.socket()
                sock.bind(("127.0.0.1", first + offset))
                sockets.append(sock)
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free block of ports")


def wait_for(condition: Callable[[], Any], timeout: float = READY_TIMEOUT, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Response:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return Response(answer.status, answer.read(), dict(answer.headers))
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read(), dict(error.headers))


class DevhostProcess:
    """A running ``devhost run`` process and what it printed (stdout and stderr, in one log file)."""

    def __init__(
        self, apps: list[Path], state: Path, port: int, extra: list[str], env: dict[str, str]
    ) -> None:
        self.apps = apps
        self.state = state
        self.port = port
        self.log_path = state.parent / f"devhost-{port}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devhost.cli", "run", "--state", str(state), "--port", str(port), *extra]
            + [str(app) for app in apps],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def url(self, app_index: int, path: str) -> str:
        return f"http://127.0.0.1:{self.port + app_index}{path}"

    def master_key(self, app: str) -> str:
        return str(json.loads((self.state / "keys" / f"{app}.json").read_text())["masterKey"])

    def keys(self, app: str) -> dict[str, Any]:
        return dict(json.loads((self.state / "keys" / f"{app}.json").read_text()))

    def worker_pid(self, app: str) -> int | None:
        try:
            return int(json.loads((self.state / "run" / f"{app}.json").read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return None

    def status(self, app_index: int, app: str) -> str | None:
        try:
            answer = http(
                "GET",
                self.url(app_index, "/admin/host/status"),
                headers={"x-functions-key": self.master_key(app)},
            )
        except (OSError, ValueError, KeyError):
            return None
        if answer.status != 200:
            return None
        return str(answer.json()["state"])

    def wait_running(self, app_index: int, app: str) -> None:
        def running() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"devhost exited early:\n{self.output}")
            return self.status(app_index, app) == "Running"

        wait_for(running, what=f"{app} to be Running")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode
