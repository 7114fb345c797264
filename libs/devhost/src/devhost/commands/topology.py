"""``devhost topology APP_DIR... [--json] [--state DIR]``: the entities the apps bind to.

Indexes each app in its own subprocess (``get_functions()`` may run once per app object, and apps
must not see each other's modules), never runs them, and prints the topics, subscriptions with
their filters, queues, event hubs with consumer groups, Cosmos DB containers and blob paths, with
the properties devhost provisions them with (``devhost.namespace.json``, then
``contracts.topology``, then Azure's defaults).

``--json`` prints one object with a stable shape (version 1), which deployment checks compare
with the Bicep::

    {"version": 1,
     "apps": [{"name": str, "dir": str}],
     "serviceBus": {
       "queues": [{"name", "requiresSession", "maxDeliveryCount", "lockDuration", "usedBy"}],
       "topics": [{"name", "requiresDuplicateDetection", "usedBy",
                   "subscriptions": [{"name", "requiresSession", "maxDeliveryCount", "lockDuration",
                                      "rules": [{"name", "filter"}], "usedBy"}]}]},
     "eventHubs": [{"name", "partitionCount", "consumerGroups": [{"name", "usedBy"}], "usedBy"}],
     "cosmos": [{"database", "container", "usedBy"}],
     "blobs": [{"container", "path", "usedBy"}]}

``usedBy`` is a list of ``{"app", "function", "direction"}`` (direction ``trigger``, ``in``,
``out``, ``lease`` or ``declared``); durations are ISO 8601; a filter is ``{"type": "true"}``,
``{"type": "sql", "expression": str}`` or ``{"type": "correlation", <field>: str...,
"properties": {...}}`` (fields: subject, correlationId, messageId, to, replyTo, sessionId,
contentType). Lists are sorted by name. Exit code 1 when an app fails to index.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from devhost.namespace_config import load_namespace_config
from devhost.provisioning import (
    AppTopology,
    Use,
    partition_count,
    plan_functions,
    queue_properties,
    subscription_properties,
    subscription_rules,
    topic_properties,
    with_declared,
)
from eventkit.bus.servicebus import CorrelationFilter, Filter, SqlFilter
from eventkit.bus.servicebus.entities import DEFAULT_LOCK_DURATION, DEFAULT_MAX_DELIVERY_COUNT

_CORRELATION_NAMES = {
    "subject": "subject",
    "correlation_id": "correlationId",
    "message_id": "messageId",
    "to": "to",
    "reply_to": "replyTo",
    "session_id": "sessionId",
    "content_type": "contentType",
}


def iso_duration(value: timedelta) -> str:
    """``PT1M``-style ISO 8601 duration of ``value``."""
    seconds = value.total_seconds()
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = "P" + (f"{int(days)}D" if days else "")
    time = (f"{int(hours)}H" if hours else "") + (f"{int(minutes)}M" if minutes else "")
    time += f"{secs:g}S" if secs or not (days or hours or minutes) else ""
    return text + ("T" + time if time else "")


def filter_json(flt: Filter) -> dict[str, Any]:
    if isinstance(flt, SqlFilter):
        return {"type": "sql", "expression": flt.sql_expression}
    if isinstance(flt, CorrelationFilter):
        fields = {
            json_name: getattr(flt, name)
            for name, json_name in _CORRELATION_NAMES.items()
            if getattr(flt, name) is not None
        }
        return {"type": "correlation", **fields, "properties": dict(flt.properties)}
    return {"type": type(flt).__name__.removesuffix("Filter").lower()}


def _uses(uses: list[Use]) -> list[dict[str, str]]:
    return sorted((asdict(use) for use in uses), key=lambda u: (u["app"], u["function"], u["direction"]))


def _receiver(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "requiresSession": bool(props.get("requires_session", False)),
        "maxDeliveryCount": int(props.get("max_delivery_count", DEFAULT_MAX_DELIVERY_COUNT)),
        "lockDuration": iso_duration(props.get("lock_duration", DEFAULT_LOCK_DURATION)),
    }


def topology_json(apps: list[tuple[str, Path]], plan: AppTopology, state_dir: Path | None) -> dict[str, Any]:
    """The documented JSON of ``plan`` (configs read from each app folder and ``state_dir``)."""
    config = load_namespace_config(None, state_dir)
    for _name, app_dir in apps:
        config = load_namespace_config(app_dir, None).merged_over(config)
    full = (
        with_declared(plan, config, "(config)")
        if config.queues or config.topics or config.event_hubs
        else plan
    )
    queues = [
        {"name": name, **_receiver(queue_properties(name, config, name.lower() in full.session_entities)),
         "usedBy": _uses(uses)}
        for name, uses in full.queues.items()
    ]  # fmt: skip
    topics = []
    for name, uses in full.topics.items():
        subscriptions = []
        for (topic, sub), sub_uses in full.subscriptions.items():
            if topic.lower() != name.lower():
                continue
            bound = f"{topic}/subscriptions/{sub}".lower() in full.session_entities
            rules = subscription_rules(topic, sub, config)
            subscriptions.append(
                {
                    "name": sub,
                    **_receiver(subscription_properties(topic, sub, config, bound)),
                    "rules": [{"name": r.name, "filter": filter_json(r.filter)} for r in (rules or [])]
                    or [{"name": "$Default", "filter": {"type": "true"}}],
                    "usedBy": _uses(sub_uses),
                }
            )
        props = topic_properties(name, config)
        topics.append(
            {
                "name": name,
                "requiresDuplicateDetection": bool(props.get("requires_duplicate_detection", False)),
                "subscriptions": sorted(subscriptions, key=lambda s: str(s["name"]).lower()),
                "usedBy": _uses(uses),
            }
        )
    hubs = []
    for name, uses in full.event_hubs.items():
        groups = [
            {"name": group, "usedBy": _uses(group_uses)}
            for (hub, group), group_uses in full.consumer_groups.items()
            if hub.lower() == name.lower()
        ]
        hubs.append(
            {
                "name": name,
                "partitionCount": partition_count(name, config),
                "consumerGroups": sorted(groups, key=lambda g: str(g["name"]).lower()),
                "usedBy": _uses(uses),
            }
        )
    return {
        "version": 1,
        "apps": [{"name": name, "dir": str(app_dir)} for name, app_dir in apps],
        "serviceBus": {
            "queues": sorted(queues, key=lambda q: str(q["name"]).lower()),
            "topics": sorted(topics, key=lambda t: str(t["name"]).lower()),
        },
        "eventHubs": sorted(hubs, key=lambda h: str(h["name"]).lower()),
        "cosmos": sorted(
            ({"database": db, "container": c, "usedBy": _uses(u)} for (db, c), u in full.cosmos.items()),
            key=lambda x: (str(x["database"]).lower(), str(x["container"]).lower()),
        ),
        "blobs": sorted(
            ({"container": c, "path": p, "usedBy": _uses(u)} for (c, p), u in full.blobs.items()),
            key=lambda x: (str(x["container"]).lower(), str(x["path"])),
        ),
    }


def _plan_from_json(data: dict[str, Any]) -> AppTopology:
    plan = AppTopology()
    for name in ("queues", "topics", "event_hubs"):
        table: dict[Any, list[Use]] = getattr(plan, name)
        for key, uses in data[name]:
            table[key] = [Use(**use) for use in uses]
    for name in ("subscriptions", "consumer_groups", "cosmos", "blobs"):
        table = getattr(plan, name)
        for key, uses in data[name]:
            table[tuple(key)] = [Use(**use) for use in uses]
    plan.session_entities = set(data["session_entities"])
    return plan


def _plan_to_json(plan: AppTopology) -> dict[str, Any]:
    data: dict[str, Any] = {"session_entities": sorted(plan.session_entities)}
    for name in ("queues", "topics", "event_hubs", "subscriptions", "consumer_groups", "cosmos", "blobs"):
        table: dict[Any, list[Use]] = getattr(plan, name)
        data[name] = [[key, [asdict(use) for use in uses]] for key, uses in table.items()]
    return data


def index_app(app_dir: Path) -> AppTopology:
    """Index one app in a subprocess; raises RuntimeError with its output when indexing fails."""
    done = subprocess.run(
        [sys.executable, "-m", "devhost.commands.topology", str(app_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{app_dir}: indexing failed\n{done.stderr.strip()}")
    return _plan_from_json(json.loads(done.stdout.strip().splitlines()[-1]))


def _print_text(data: dict[str, Any]) -> None:
    def users(entity: dict[str, Any]) -> str:
        return ", ".join(f"{u['app']}.{u['function']} ({u['direction']})" for u in entity["usedBy"])

    print("Service Bus queues:")
    for queue in data["serviceBus"]["queues"]:
        session = " sessions" if queue["requiresSession"] else ""
        print(f"  {queue['name']} (maxDeliveryCount {queue['maxDeliveryCount']}, lock {queue['lockDuration']}"
              f"{session}) <- {users(queue)}")  # fmt: skip
    print("Service Bus topics:")
    for topic in data["serviceBus"]["topics"]:
        print(f"  {topic['name']} <- {users(topic)}")
        for sub in topic["subscriptions"]:
            session = ", sessions" if sub["requiresSession"] else ""
            print(f"    subscription {sub['name']}{session} <- {users(sub)}")
            for rule in sub["rules"]:
                print(f"      rule {rule['name']}: {json.dumps(rule['filter'])}")
    print("Event hubs:")
    for hub in data["eventHubs"]:
        print(f"  {hub['name']} ({hub['partitionCount']} partitions) <- {users(hub)}")
        for group in hub["consumerGroups"]:
            print(f"    consumer group {group['name']} <- {users(group)}")
    print("Cosmos DB containers:")
    for item in data["cosmos"]:
        print(f"  {item['database']}/{item['container']} <- {users(item)}")
    print("Blob paths:")
    for item in data["blobs"]:
        print(f"  {item['path']} (container {item['container']}) <- {users(item)}")


def _handle(args: argparse.Namespace) -> int:
    apps: list[tuple[str, Path]] = []
    plan = AppTopology()
    for app in args.apps:
        app_dir = Path(app).resolve()
        try:
            plan.merge(index_app(app_dir))
        except RuntimeError as error:
            print(f"devhost: {error}", file=sys.stderr)
            return 1
        apps.append((app_dir.name, app_dir))
    data = topology_json(apps, plan, args.state.resolve() if args.state else None)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        _print_text(data)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "topology", help="print the entities the apps bind to (without running them)"
    )
    parser.add_argument("apps", nargs="+", type=Path, metavar="APP_DIR")
    parser.add_argument("--json", action="store_true", help="print the documented JSON shape")
    parser.add_argument("--state", type=Path, help="also read <state>/devhost.namespace.json")
    parser.set_defaults(handler=_handle)


def _index_main(app_dir: Path) -> int:
    """Subprocess entry: index ``app_dir`` and print its plan as one JSON line."""
    import logging

    from devhost.apphost import apply_settings_to_environment
    from devhost.indexing import load_app
    from devhost.settings import load_app_settings

    logging.disable(logging.WARNING)
    settings = load_app_settings(app_dir)
    apply_settings_to_environment(settings)
    index = load_app(app_dir)
    print(json.dumps(_plan_to_json(plan_functions(app_dir.name, index.functions, settings))))
    return 0


if __name__ == "__main__":
    sys.exit(_index_main(Path(sys.argv[1]).resolve()))
