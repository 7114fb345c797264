"""The supervisor: one worker process per app, restarted when it crashes, stopped cleanly.

- Every app is started at once in its own process (imports run in parallel, not one by one).
- A worker that exits unexpectedly (crash, kill -9) is restarted with exponential backoff
  (0.5 s doubling to 30 s; reset after 60 s of healthy running).
- An app that fails to import is reported once with its traceback and not restarted; the other
  apps keep running.
- SIGTERM / SIGINT: forwarded to the workers as SIGTERM; each drains its in-flight invocations
  (bounded by the drain timeout); workers still alive after it are killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from devhost.listing import format_listing
from devhost.worker import EXIT_LOAD_FAILED

BACKOFF_START = 0.5
BACKOFF_MAX = 30.0
HEALTHY_AFTER = 60.0


@dataclass
class AppSpec:
    """One app to run: its folder, unique name and HTTP port."""

    app_dir: Path
    name: str
    port: int


@dataclass
class _AppRun:
    spec: AppSpec
    process: asyncio.subprocess.Process | None = None
    status: str = "starting"
    """starting, ready, failed (load failure, not restarted), stopped."""
    restarts: int = 0
    listed: bool = False
    functions: list[dict[str, Any]] = field(default_factory=list)


class Supervisor:
    """Runs the given apps until SIGTERM/SIGINT; ``run`` returns the exit code."""

    def __init__(
        self,
        apps: list[AppSpec],
        state_dir: Path,
        *,
        no_auth: bool = False,
        log_format: str = "text",
        drain_timeout: float = 30.0,
        out: TextIO | None = None,
    ) -> None:
        self._runs = [_AppRun(spec) for spec in apps]
        self._state_dir = state_dir.resolve()
        self._no_auth = no_auth
        self._log_format = log_format
        self._drain_timeout = drain_timeout
        self._out = out or sys.stdout
        self._stopping = asyncio.Event()
        self._announced = False

    def _print(self, text: str) -> None:
        if self._log_format == "json":
            for line in text.splitlines():
                if line.strip():
                    self._out.write(json.dumps({"logger": "devhost.supervisor", "message": line}) + "\n")
        else:
            self._out.write(text + "\n")
        self._out.flush()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stopping.set)
        self._state_dir.mkdir(parents=True, exist_ok=True)
        tasks = [asyncio.create_task(self._supervise(run)) for run in self._runs]
        stopper = asyncio.create_task(self._stop_when_asked())
        await asyncio.gather(*tasks)
        stopper.cancel()
        failed = [run for run in self._runs if run.status == "failed"]
        return 1 if failed and len(failed) == len(self._runs) else 0

    async def _stop_when_asked(self) -> None:
        await self._stopping.wait()
        self._print("devhost: stopping (draining in-flight invocations)...")
        for run in self._runs:
            if run.process is not None and run.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    run.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._drain_timeout + 5.0
        for run in self._runs:
            if run.process is None:
                continue
            try:
                await asyncio.wait_for(run.process.wait(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                self._print(f"devhost: {run.spec.name} did not stop in time; killing it")
                with contextlib.suppress(ProcessLookupError):
                    run.process.kill()

    def _check_all_ready(self) -> None:
        if self._announced or any(run.status == "starting" for run in self._runs):
            return
        self._announced = True
        ready = [run.spec.name for run in self._runs if run.status == "ready"]
        failed = [run.spec.name for run in self._runs if run.status == "failed"]
        text = f"devhost: {len(ready)} app(s) running: {', '.join(ready) or '-'}"
        if failed:
            text += f"; failed to load: {', '.join(failed)}"
        self._print(text)

    def _command(self, spec: AppSpec, fd: int) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "devhost.worker",
            "--app",
            str(spec.app_dir),
            "--name",
            spec.name,
            "--port",
            str(spec.port),
            "--state",
            str(self._state_dir),
            "--log-format",
            self._log_format,
            "--control-fd",
            str(fd),
            "--drain-timeout",
            str(self._drain_timeout),
        ]
        if self._no_auth:
            command.append("--no-auth")
        return command

    async def _supervise(self, run: _AppRun) -> None:
        backoff = BACKOFF_START
        while not self._stopping.is_set():
            started = time.monotonic()
            code = await self._run_once(run)
            if self._stopping.is_set():
                break
            if code == EXIT_LOAD_FAILED:
                run.status = "failed"
                self._check_all_ready()
                return
            if time.monotonic() - started > HEALTHY_AFTER:
                backoff = BACKOFF_START
            run.restarts += 1
            self._print(
                f"devhost: app {run.spec.name} exited unexpectedly (code {code}); "
                f"restarting in {backoff:.1f}s (restart #{run.restarts})"
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff)
            backoff = min(BACKOFF_MAX, backoff * 2)
        run.status = "stopped"

    async def _run_once(self, run: _AppRun) -> int:
        spec = run.spec
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            run.process = await asyncio.create_subprocess_exec(
                *self._command(spec, write_fd), pass_fds=(write_fd,), cwd=str(spec.app_dir), env=env
            )
        finally:
            os.close(write_fd)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb")
        )
        try:
            while line := await reader.readline():
                self._handle(run, line)
        finally:
            transport.close()
        return await run.process.wait()

    def _handle(self, run: _AppRun, line: bytes) -> None:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            return
        event = message.get("event")
        base = f"http://localhost:{run.spec.port}"
        if event == "indexed" and not run.listed:
            run.listed = True
            run.functions = list(message.get("functions", []))
            self._print(format_listing(run.spec.name, base, run.functions))
        elif event == "ready":
            if run.restarts:
                self._print(f"devhost: app {run.spec.name} is running again ({base})")
            run.status = "ready"
            self._check_all_ready()
        elif event == "failed":
            stage = message.get("stage")
            if stage == "load":
                self._print(
                    f"devhost: app {run.spec.name} ({run.spec.app_dir}) failed to load; it is not started. "
                    f"{message.get('error', '')}\n{message.get('traceback', '')}".rstrip()
                )
            else:
                self._print(f"devhost: app {run.spec.name} failed to start: {message.get('error', '')}")
