"""Run Azurite's Blob service (from the repo's `node_modules`) on loopback for tests.

    with run_azurite() as azurite:
        store = AzureBlobStore.from_connection_string(azurite.connection_string)

Azurite comes from `npm ci` at the repository root (package.json pins it). It listens on
127.0.0.1 on a free port, keeps its data in a temporary folder, and is stopped on exit.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""The well-known development account key every Azurite and Storage Emulator accepts."""

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


class AzuriteNotInstalled(RuntimeError):
    """`node_modules/.bin/azurite-blob` was not found above this package."""


class AzuriteFailedToStart(RuntimeError):
    """Azurite exited or did not answer in time; the message carries its output."""


@dataclass(frozen=True)
class Azurite:
    """A running Azurite Blob service."""

    port: int
    location: Path

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )


def find_azurite_blob(start: Path | None = None) -> Path:
    """The `azurite-blob` launcher in the nearest `node_modules/.bin` above `start`.

    Raises `AzuriteNotInstalled` saying to run `npm ci` when there is none.
    """
    origin = (start or Path(__file__)).resolve()
    for folder in [origin, *origin.parents]:
        candidate = folder / "node_modules" / ".bin" / "azurite-blob"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise AzuriteNotInstalled(
        f"node_modules/.bin/azurite-blob not found in any folder above {origin}; "
        "run `npm ci` at the repository root (package.json pins azurite)"
    )


@contextlib.contextmanager
def run_azurite(launcher: Path | None = None, attempts: int = 3) -> Iterator[Azurite]:
    """Start Azurite Blob on a free loopback port, yield it once it answers, stop it after.

    Retries on another port if the chosen one was taken meanwhile. Raises `AzuriteNotInstalled`
    or `AzuriteFailedToStart` (with Azurite's output).
    """
    executable = launcher or find_azurite_blob()
    with tempfile.TemporaryDirectory(prefix="azurite-") as location:
        failure: AzuriteFailedToStart | None = None
        for _attempt in range(attempts):
            port = _free_port()
            log_path = Path(location) / f"azurite-{port}.log"
            command = [str(executable), "--blobHost", "127.0.0.1", "--blobPort", str(port)]
            command += ["--location", location, "--silent", "--skipApiVersionCheck", "--loose"]
            command += ["--disableTelemetry"]
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            try:
                _wait_until_listening(process, port, log_path)
            except AzuriteFailedToStart as exc:
                _stop(process)
                failure = exc
                continue
            try:
                yield Azurite(port=port, location=Path(location))
            finally:
                _stop(process)
            return
        assert failure is not None
        raise failure


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AzuriteFailedToStart(
                f"azurite-blob exited with code {process.returncode} before listening on port {port}:\n"
                + log_path.read_text(errors="replace")
            )
        if _answers(port):
            return
        time.sleep(0.05)
    raise AzuriteFailedToStart(
        f"azurite-blob did not listen on port {port} within {START_TIMEOUT_SECONDS:.0f} s:\n"
        + log_path.read_text(errors="replace")
    )


def _answers(port: int) -> bool:
    """Whether Azurite itself (not some other process on the port) answers HTTP there."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", f"/{ACCOUNT_NAME}?comp=list")
        response = connection.getresponse()
        response.read()
        return (response.getheader("Server") or "").startswith("Azurite-Blob")
    except OSError:
        return False
    finally:
        connection.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
