"""`devhost status`: what runs and what waits, read from the state folder (no host needed).

Shows each app that has run (pid and port, and whether it is alive), the backlog of every queue
and subscription (active, scheduled, dead-lettered), the backlog of every event hub partition per
consumer group (events after the group's checkpoint), and the blob trigger's poison queue.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from devhost.state import StateLayout
from eventkit.bus.eventhubs import CheckpointStore, EmbeddedEventHubs
from eventkit.bus.servicebus import EmbeddedServiceBus, EntityNotFound

POISON_QUEUE = "webjobs-blobtrigger-poison"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = commands.add_parser("status", help="apps, backlogs, dead letters and poison blobs")
    status.add_argument("--state", type=Path, default=Path(".devhost"))
    status.add_argument("--json", action="store_true", help="print one JSON document")
    status.set_defaults(handler=_status)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def apps_of(root: Path) -> list[dict[str, Any]]:
    """The apps that ran on this state folder, from the run files the workers write."""
    apps = []
    for run_file in sorted((root / "run").glob("*.json")):
        try:
            info = json.loads(run_file.read_text())
            pid, port = int(info["pid"]), int(info["port"])
        except (OSError, ValueError, KeyError):
            continue
        apps.append({"app": run_file.stem, "pid": pid, "port": port, "running": _alive(pid)})
    return apps


def entities_of(bus: EmbeddedServiceBus) -> list[dict[str, Any]]:
    """Queues and subscriptions with their message counts."""
    paths = [queue.name for queue in bus.list_queues()]
    for topic in bus.list_topics():
        paths += [f"{topic.name}/subscriptions/{sub.name}" for sub in bus.list_subscriptions(topic.name)]
    rows = []
    for path in paths:
        counts = bus.runtime_properties(path)
        rows.append(
            {
                "path": path,
                "active": counts.active_message_count,
                "scheduled": counts.scheduled_message_count,
                "dead_letters": counts.dead_letter_message_count,
            }
        )
    return rows


def partitions_of(hubs: EmbeddedEventHubs) -> list[dict[str, Any]]:
    """Per hub, consumer group and partition: events after the group's checkpoint."""
    checkpoints = CheckpointStore(hubs)
    rows = []
    for hub in hubs.list_event_hubs():
        for group in hubs.list_consumer_groups(hub):
            done = {c.partition_id: c.sequence_number for c in checkpoints.list_checkpoints(hub, group)}
            for pid in hubs.get_partition_ids(hub):
                props = hubs.partition_properties(hub, pid)
                last = props.last_enqueued_sequence_number
                start = done.get(pid, props.beginning_sequence_number - 1)
                rows.append(
                    {
                        "hub": hub,
                        "consumer_group": group,
                        "partition": pid,
                        "last_sequence": last,
                        "checkpoint": done.get(pid),
                        "backlog": max(0, last - start),
                    }
                )
    return rows


def poison_count(bus: EmbeddedServiceBus) -> int:
    try:
        return bus.runtime_properties(POISON_QUEUE).active_message_count
    except EntityNotFound:
        return 0


def _status(args: argparse.Namespace) -> int:
    layout = StateLayout(args.state.resolve())
    if not layout.root.exists():
        print(f"devhost: no state folder at {layout.root} (start `devhost run` first)")
        return 2
    bus, hubs = layout.open_servicebus(), layout.open_eventhubs()
    apps, entities, partitions = apps_of(layout.root), entities_of(bus), partitions_of(hubs)
    poison = poison_count(bus)
    if args.json:
        report = {"state": str(layout.root), "apps": apps, "entities": entities, "partitions": partitions}
        print(json.dumps({**report, "poison_blobs": poison}, indent=2))
        return 0
    print(f"state: {layout.root}")
    print("apps:")
    for app in apps:
        state = "running" if app["running"] else "stopped"
        print(f"  {app['app']:<20} {state:<8} pid {app['pid']:<8} http://localhost:{app['port']}")
    print("queues and subscriptions (active / scheduled / dead letters):")
    for row in entities:
        print(f"  {row['path']:<50} {row['active']:>7} {row['scheduled']:>7} {row['dead_letters']:>7}")
    print("event hub partitions (backlog after checkpoint):")
    for row in partitions:
        where = f"{row['hub']}/{row['consumer_group']}/{row['partition']}"
        detail = f"(last #{row['last_sequence']}, checkpoint {row['checkpoint']})"
        print(f"  {where:<50} {row['backlog']:>7}  {detail}")
    print(f"poison blobs ({POISON_QUEUE}): {poison}")
    return 0
