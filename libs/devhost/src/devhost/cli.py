"""``devhost``: run function apps locally, list their functions, invoke one.

devhost run [--state DIR] [--port N] [--no-auth] [--log-format text|json] APP_DIR...
devhost functions APP_DIR
devhost invoke APP_DIR FUNCTION [--input TEXT] [--state DIR]
and the commands of the modules in `devhost.commands` (`devhost --help` lists them all).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from devhost.apphost import AppHost
from devhost.commands import register_all
from devhost.errors import AppLoadError, DevhostError
from devhost.http.keys import read_keys
from devhost.listing import format_listing
from devhost.logs import configure_logging
from devhost.supervisor import AppSpec, Supervisor

DEFAULT_STATE = Path(".devhost")
DEFAULT_PORT = 7071


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devhost", description="Run Azure Functions Python apps locally.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one or more function apps, each in its own process")
    run.add_argument("apps", nargs="+", type=Path, metavar="APP_DIR")
    run.add_argument("--state", type=Path, default=DEFAULT_STATE, help="state folder (default .devhost)")
    run.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="HTTP port of the first app (default 7071)"
    )
    run.add_argument(
        "--no-auth", action="store_true", help="do not check function/admin keys (as Core Tools)"
    )
    run.add_argument("--log-format", choices=("text", "json"), default="text")
    run.add_argument("--drain-timeout", type=float, default=30.0, help="seconds to let invocations finish")

    functions = commands.add_parser("functions", help="index an app and print its functions")
    functions.add_argument("app", type=Path, metavar="APP_DIR")
    functions.add_argument("--port", type=int, default=DEFAULT_PORT)

    invoke = commands.add_parser("invoke", help="invoke a non-HTTP function (through a running host if any)")
    invoke.add_argument("app", type=Path, metavar="APP_DIR")
    invoke.add_argument("function")
    invoke.add_argument("--input", default="", help='the input passed as {"input": ...}')
    invoke.add_argument("--state", type=Path, default=DEFAULT_STATE)
    register_all(commands)
    return parser


def _app_specs(apps: list[Path], port: int) -> list[AppSpec]:
    specs: list[AppSpec] = []
    seen: set[str] = set()
    for offset, app in enumerate(apps):
        app_dir = app.resolve()
        if not (app_dir / "function_app.py").is_file():
            raise SystemExit(f"devhost: {app} has no function_app.py")
        name = app_dir.name
        if name in seen:
            raise SystemExit(f"devhost: two apps are named {name!r}; app folder names must be unique")
        seen.add(name)
        specs.append(AppSpec(app_dir=app_dir, name=name, port=port + offset))
    return specs


def _run(args: argparse.Namespace) -> int:
    specs = _app_specs(args.apps, args.port)
    supervisor = Supervisor(
        specs,
        args.state,
        no_auth=args.no_auth,
        log_format=args.log_format,
        drain_timeout=args.drain_timeout,
    )
    return asyncio.run(supervisor.run())


def _functions(args: argparse.Namespace) -> int:
    configure_logging(args.app.resolve().name, "text")
    host = AppHost(args.app, DEFAULT_STATE, args.port)
    try:
        statuses = host.load()
    except AppLoadError as error:
        print(f"devhost: {error}\n{error.traceback_text}", file=sys.stderr)
        return 1
    except DevhostError as error:
        print(f"devhost: {error}", file=sys.stderr)
        return 1
    print(format_listing(host.app_name, host.base_url, [status.to_json() for status in statuses]))
    return 0


def _running_port(state: Path, app: str) -> int | None:
    try:
        info = json.loads((state / "run" / f"{app}.json").read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return int(info["port"])


def _invoke_remote(state: Path, app: str, port: int, function: str, input_text: str) -> int:
    keys = read_keys(state.resolve(), app)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/admin/functions/{function}",
        data=json.dumps({"input": input_text}).encode(),
        headers={
            "Content-Type": "application/json",
            **({"x-functions-key": keys.master_key} if keys else {}),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print(f"devhost: {function} accepted by the running host ({response.status}); see its log")
            return 0
    except urllib.error.HTTPError as error:
        print(f"devhost: the running host answered {error.code}: {error.read().decode(errors='replace')}")
        return 1


async def _invoke_local(app_dir: Path, state: Path, function: str, input_text: str) -> int:
    host = AppHost(app_dir, state, 0)
    host.load()
    trigger = next((t for name, t in host.triggers.items() if name.lower() == function.lower()), None)
    if trigger is None:
        reason = host.unsupported.get(function) or f"no non-HTTP function {function!r} in {host.app_name}"
        print(f"devhost: {reason}", file=sys.stderr)
        return 1
    await host.start()
    try:
        result = await host.invoker.invoke(
            trigger.function, trigger.admin_arguments(input_text), "Invoked by devhost invoke"
        )
    finally:
        await host.stop(drain_timeout=5.0)
    return 0 if result.succeeded else 1


def _invoke(args: argparse.Namespace) -> int:
    app_dir = args.app.resolve()
    port = _running_port(args.state, app_dir.name)
    if port is not None:
        return _invoke_remote(args.state, app_dir.name, port, args.function, args.input)
    configure_logging(app_dir.name, "text")
    try:
        return asyncio.run(_invoke_local(app_dir, args.state, args.function, args.input))
    except AppLoadError as error:
        print(f"devhost: {error}\n{error.traceback_text}", file=sys.stderr)
        return 1
    except DevhostError as error:
        print(f"devhost: {error}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``devhost`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "functions":
        return _functions(args)
    if args.command == "invoke":
        return _invoke(args)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
