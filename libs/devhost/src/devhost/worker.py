"""One app's worker process: ``python -m devhost.worker --app DIR --port N --state DIR ...``.

Started by the supervisor (one per app, like one container each). It reports to the supervisor
over a pipe (``--control-fd``), one JSON object per line: ``indexed`` (the function listing),
``failed`` (stage ``load`` with the traceback, or ``start``), ``ready``. SIGTERM or SIGINT stops it
gracefully: no new work, in-flight invocations finish (bounded by ``--drain-timeout``).

Exit codes: 0 stopped, 3 the app failed to load (the supervisor does not restart it; also when a
language-worker child cannot load it), 4 the app failed to start (e.g. port in use; restarted with
backoff), 5 its language-worker children kept exiting (Azure recycles the host; restarted with
backoff). For 3 and 5 the host drains and stops first, as on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from devhost.apphost import AppHost
from devhost.errors import AppLoadError, DevhostError
from devhost.language_pool import LanguageWorkerPoolFailure
from devhost.logs import configure_logging, level_from_azure
from devhost.triggers.durable import uses_durable

if TYPE_CHECKING:
    from devhost.durable.client_transport import ClientTransport, InstalledTransport

EXIT_LOAD_FAILED = 3
EXIT_START_FAILED = 4
EXIT_LANGUAGE_WORKERS_FAILED = 5

log = logging.getLogger("devhost.worker")


class _Control:
    def __init__(self, fd: int | None) -> None:
        self._stream: IO[str] | None = os.fdopen(fd, "w", buffering=1) if fd is not None else None

    def send(self, event: str, **fields: Any) -> None:
        if self._stream is None:
            return
        try:
            self._stream.write(json.dumps({"event": event, **fields}) + "\n")
            self._stream.flush()
        except OSError:
            self._stream = None


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost.worker")
    parser.add_argument("--app", required=True, type=Path)
    parser.add_argument("--name")
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("--no-auth", action="store_true")
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument("--control-fd", type=int)
    parser.add_argument("--drain-timeout", type=float, default=30.0)
    return parser.parse_args(argv)


def _client_transport_setting(host: AppHost) -> ClientTransport | None:
    """How the app's Durable clients reach its management API; None for an app without Durable.

    Raises ClientTransportSettingError (a DevhostError) for a bad DEVHOST_DURABLE_CLIENT_TRANSPORT.
    """
    if host.index is None or host.settings is None or not uses_durable(host.index.functions):
        return None
    from devhost.durable.client_transport import SETTING, client_transport

    return client_transport(host.settings.get(SETTING))


def _install_client_transport(host: AppHost, transport: ClientTransport) -> InstalledTransport | None:
    """Serve the app's Durable client calls to its own management API in process (the default)."""
    from devhost.durable.client_transport import ClientTransport, InProcessClientTransport, OwnServer, install

    if transport is not ClientTransport.INPROCESS:
        return None
    own = OwnServer.bound_to(host.bind, host.port)
    return install(InProcessClientTransport(lambda: host.web_runner, asyncio.get_running_loop(), own))


async def _serve(
    host: AppHost, control: _Control, drain_timeout: float, transport: ClientTransport | None
) -> int:
    stop = asyncio.Event()
    failures: list[LanguageWorkerPoolFailure] = []

    def language_workers_failed(failure: LanguageWorkerPoolFailure) -> None:
        failures.append(failure)
        stop.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    installed = _install_client_transport(host, transport) if transport is not None else None
    try:
        await host.start(drain_timeout=drain_timeout, on_language_worker_failure=language_workers_failed)
    except OSError as error:
        log.error("App %s failed to start: %s", host.app_name, error)
        control.send("failed", stage="start", error=str(error), traceback=traceback.format_exc())
        return EXIT_START_FAILED
    except DevhostError as error:  # a setting read at start (host.json, app settings): no restart heals it
        log.error("App %s failed to load its configuration: %s", host.app_name, error)
        control.send("failed", stage="load", error=str(error), traceback="")
        return EXIT_LOAD_FAILED
    control.send("ready", port=host.port, pid=os.getpid(), functions=[s.to_json() for s in host.statuses])
    log.info("Host started (%s)", host.base_url)
    await stop.wait()
    failure = failures[0] if failures else None
    if failure is not None and failure.load_failed:
        control.send("failed", stage="load", error=failure.message, traceback="")
    log.info("Stopping %s: draining in-flight invocations (up to %.0fs)", host.app_name, drain_timeout)
    drained = await host.stop(drain_timeout)
    if installed is not None:
        installed.uninstall()
    log.info("Stopped %s%s", host.app_name, "" if drained else " (some invocations did not finish)")
    if failure is None:
        return 0
    return EXIT_LOAD_FAILED if failure.load_failed else EXIT_LANGUAGE_WORKERS_FAILED


def main(argv: list[str] | None = None) -> int:
    """Run one app until SIGTERM/SIGINT; returns the process exit code."""
    args = _parse(argv)
    name = args.name or args.app.resolve().name
    configure_logging(name, args.log_format)
    control = _Control(args.control_fd)
    host = AppHost(args.app, args.state, args.port, app_name=name, no_auth=args.no_auth)
    try:
        statuses = host.load()
        transport = _client_transport_setting(host)
    except AppLoadError as error:
        log.error("App %s failed to load: %s", name, error, extra={"traceback": error.traceback_text})
        control.send("failed", stage="load", error=str(error), traceback=error.traceback_text)
        return EXIT_LOAD_FAILED
    except DevhostError as error:
        log.error("App %s failed to load: %s", name, error)
        control.send("failed", stage="load", error=str(error), traceback=traceback.format_exc())
        return EXIT_LOAD_FAILED
    logging.getLogger().setLevel(level_from_azure(host.host_config.log_level("default")))
    control.send("indexed", functions=[status.to_json() for status in statuses])
    return asyncio.run(_serve(host, control, args.drain_timeout, transport))


if __name__ == "__main__":
    sys.exit(main())
