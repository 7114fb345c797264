"""Start `@vercel/cosmosdb-server` (npm) on loopback for tests: `with cosmos_server() as endpoint:`.

The server speaks HTTPS with a self-signed certificate, so clients pass `connection_verify=False`.
Its account key is ignored; use `COSMOS_EMULATOR_KEY`, the public key of Microsoft's emulator.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

COSMOS_EMULATOR_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)
_PACKAGE = Path("node_modules") / "@vercel" / "cosmosdb-server"
_SCRIPT = Path(__file__).with_name("cosmos_server.js")


class CosmosServerUnavailable(RuntimeError):
    """The emulator cannot be started: node or the npm package is missing, or it did not answer."""


def find_cosmos_server_package(start: Path | None = None) -> Path:
    """The `node_modules/@vercel/cosmosdb-server` folder nearest above `start` (default: this file).

    Raises `CosmosServerUnavailable` telling to run `npm ci` if there is none.
    """
    origin = (start or Path(__file__)).resolve()
    for folder in [origin, *origin.parents]:
        candidate = folder / _PACKAGE
        if (candidate / "package.json").is_file():
            return candidate
    raise CosmosServerUnavailable(
        f"node_modules/@vercel/cosmosdb-server not found above {origin}: run `npm ci` at the repository "
        "root (or `make setup`) to install the Cosmos DB emulator"
    )


@contextmanager
def cosmos_server(startup_timeout: float = 20.0) -> Iterator[str]:
    """Run the emulator on 127.0.0.1 on a free port; yield its endpoint `https://127.0.0.1:<port>`.

    The server is stopped on exit; it also exits by itself if this process dies (its stdin closes).
    Raises `CosmosServerUnavailable` if node or the package is missing or the server does not
    accept connections within `startup_timeout` seconds.
    """
    package = find_cosmos_server_package()
    node = shutil.which("node")
    if node is None:
        raise CosmosServerUnavailable("`node` is not on PATH; install Node.js 20+ to run the Cosmos emulator")
    port = _free_port()
    with tempfile.TemporaryFile() as log:  # not a pipe: a full pipe would block the server
        process = subprocess.Popen(
            [node, str(_SCRIPT), str(package), str(port)], stdin=subprocess.PIPE, stdout=log, stderr=log
        )
        try:
            _wait_until_listening(process, port, startup_timeout, log)
            yield f"https://127.0.0.1:{port}"
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_listening(
    process: subprocess.Popen[bytes], port: int, timeout: float, log: IO[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise CosmosServerUnavailable(f"the Cosmos emulator exited with {process.returncode}: {output}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise CosmosServerUnavailable(
        f"the Cosmos emulator did not listen on 127.0.0.1:{port} within {timeout} s"
    )
