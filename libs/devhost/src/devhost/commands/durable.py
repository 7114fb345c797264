"""`devhost durable list|show|history|replay-check`: the apps' Durable task hubs, read from the
state folder (no running host needed; safe while one runs).

Exit codes: 0 done (replay-check: every instance replays), 1 replay-check found instances the
current code would not replay, 2 nothing to read (unknown app, instance or task hub; app import
error).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devhost.errors import AppLoadError
from devhost.state import StateLayout

HUB_FILE = "taskhub.db"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    durable = commands.add_parser("durable", help="Durable Functions instances and replay checks")
    sub = durable.add_subparsers(dest="durable_command", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--state", type=Path, default=Path(".devhost"))
        parser.add_argument("--app", help="only this app's task hub (default: every app's)")
        parser.add_argument("--json", action="store_true", help="print JSON")

    listing = sub.add_parser("list", help="instances: id, orchestrator, status, custom status, times")
    common(listing)
    listing.add_argument("--status", action="append", default=[], help="runtime status filter (repeatable)")
    listing.set_defaults(handler=_list)
    show = sub.add_parser("show", help="one instance: status, input, output, custom status")
    common(show)
    show.add_argument("instance_id")
    show.set_defaults(handler=_show)
    history = sub.add_parser("history", help="one instance's history, one event a line")
    common(history)
    history.add_argument("instance_id")
    history.set_defaults(handler=_history)
    check = sub.add_parser(
        "replay-check", help="replay every recorded history against the app's current code"
    )
    check.add_argument("app_dir", type=Path)
    check.add_argument("--state", type=Path, default=Path(".devhost"))
    check.add_argument("--app", help="the app name whose task hub to read (default: APP_DIR's name)")
    check.set_defaults(handler=_replay_check)


def _hubs(state: Path, app: str | None) -> Iterator[tuple[str, Any]]:
    from devhost.durable.taskhub import TaskHub

    layout = StateLayout(state.resolve())
    paths = [layout.app_dir(app) / HUB_FILE] if app else sorted((layout.root / "apps").glob(f"*/{HUB_FILE}"))
    for path in paths:
        if path.is_file():
            hub = TaskHub(path)
            try:
                yield path.parent.name, hub
            finally:
                hub.close()


def _time(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decoded(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _row_json(app: str, row: Any) -> dict[str, Any]:
    return {
        "app": app,
        "instanceId": row.instance_id,
        "name": row.name,
        "runtimeStatus": row.status.value,
        "customStatus": _decoded(row.custom_status),
        "input": _decoded(row.input),
        "output": _decoded(row.output),
        "createdTime": _time(row.created_at),
        "lastUpdatedTime": _time(row.updated_at),
    }


def _list(args: argparse.Namespace) -> int:
    wanted = {s.lower() for s in args.status}
    rows = [
        _row_json(app, row)
        for app, hub in _hubs(args.state, args.app)
        for row in hub.list_instances()
        if not wanted or row.status.value.lower() in wanted
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no orchestration instances")
        return 0
    print(f"{'APP':<16} {'INSTANCE':<34} {'ORCHESTRATOR':<20} {'STATUS':<11} {'UPDATED':<20} CUSTOM STATUS")
    for r in rows:
        custom = "" if r["customStatus"] is None else json.dumps(r["customStatus"])
        print(
            f"{r['app']:<16} {r['instanceId']:<34} {r['name']:<20} {r['runtimeStatus']:<11} "
            f"{r['lastUpdatedTime']:<20} {custom}"
        )
    return 0


def _find(args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    for app, hub in _hubs(args.state, args.app):
        row = hub.get_instance(args.instance_id)
        if row is not None:
            return _row_json(app, row), hub.history(row.instance_id, row.execution_id)
    print(f"devhost durable: no instance {args.instance_id!r} in {args.state}", file=sys.stderr)
    return None


def _show(args: argparse.Namespace) -> int:
    found = _find(args)
    if found is None:
        return 2
    status, _ = found
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    for key, value in status.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        print(f"{key + ':':<17} {shown}")
    return 0


def _history(args: argparse.Namespace) -> int:
    from devhost.durable.http_api import readable_history

    found = _find(args)
    if found is None:
        return 2
    rows = readable_history(found[1])
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        detail = "  ".join(
            f"{k}={json.dumps(v)}" for k, v in row.items() if k not in ("EventType", "Timestamp", "Name")
        )
        name = row.get("Name", "")
        print(f"{row['Timestamp']}  {row['EventType']:<33} {name:<20} {detail}".rstrip())
    return 0


def _replay_check(args: argparse.Namespace) -> int:
    from devhost.durable.replay_check import replay_check
    from devhost.durable.taskhub import TaskHub
    from devhost.indexing import load_app

    try:
        index = load_app(args.app_dir)
    except AppLoadError as error:
        print(f"devhost durable replay-check: {error}", file=sys.stderr)
        return 2
    app = args.app or index.app_name
    path = StateLayout(args.state.resolve()).app_dir(app) / HUB_FILE
    if not path.is_file():
        print(f"devhost durable replay-check: no task hub for app {app!r} at {path}", file=sys.stderr)
        return 2
    orchestrators = {
        f.name: f.user_function for f in index.functions if f.trigger.type.lower() == "orchestrationtrigger"
    }
    hub = TaskHub(path)
    try:
        checked, problems = replay_check(hub, orchestrators)
    finally:
        hub.close()
    for problem in problems:
        print(f"NOT REPLAYABLE {problem.instance_id} ({problem.name}, {problem.status}): {problem.reason}")
    if problems:
        print(f"{len(problems)} of {checked} instance(s) would no longer replay with {args.app_dir}")
        return 1
    print(f"OK: {checked} instance(s) replay with {args.app_dir}")
    return 0
