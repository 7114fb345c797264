"""`devhost publish`, `devhost tail` and `devhost dlq`: the embedded bus from the command line.

- `publish FILE --to DEST`: send the CloudEvent(s) in FILE (one JSON object, a JSON array, or
  `-` for stdin) to a topic, queue or event hub, exactly as a service's outbox relay would
  (message id = event id, subject = type, sessions where the topic needs them). Events are
  validated against `contracts` first; `--no-validate` sends events of unknown types as they are.
- `tail PATH`: print the CloudEvents on a subscription (`TOPIC/subscriptions/SUB`) or queue
  without taking them (peek, as Service Bus Explorer does), or on an event hub for a consumer
  group (read without checkpointing). `--receive` takes and completes messages instead.
- `dlq list PATH` / `dlq resubmit PATH`: the dead letters of a queue or subscription, and moving
  them back to it (all, or `--sequence N ...`).

Every command exits 0 on success, 2 on bad input (with a message naming what was wrong) and 1
when the bus refused.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from cloudevents.core.v1.event import CloudEvent

from devhost.state import StateLayout
from eventkit.bus.eventhubs import EmbeddedEventHubs, EventHubsError, PartitionReader
from eventkit.bus.servicebus import EmbeddedServiceBus, ReceivedMessage, ServiceBusError
from eventkit.envelope import EnvelopeError, data_model, decode, encode
from eventkit.publisher import PublishError
from eventkit.publishing.embedded import EmbeddedPublisher

DEFAULT_STATE = Path(".devhost")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    publish = commands.add_parser("publish", help="send CloudEvents from a file to a topic, queue or hub")
    publish.add_argument("file", help="a JSON CloudEvent, or a JSON array of them; - reads stdin")
    publish.add_argument("--to", required=True, dest="destination", help="topic, queue or event hub")
    publish.add_argument("--no-validate", action="store_true", help="skip the contracts check of data")
    publish.add_argument("--state", type=Path, default=DEFAULT_STATE)
    publish.set_defaults(handler=_publish)

    tail = commands.add_parser("tail", help="print the CloudEvents on a subscription, queue or hub")
    tail.add_argument("path", help="TOPIC/subscriptions/SUB, QUEUE, or an event hub name")
    tail.add_argument("--consumer-group", default="$Default", help="for an event hub (default $Default)")
    tail.add_argument("--from-start", action="store_true", help="hub: from the earliest event, not new ones")
    tail.add_argument("--receive", action="store_true", help="take and complete messages (default: peek)")
    tail.add_argument("--count", type=int, default=0, help="stop after N events (0: no limit)")
    tail.add_argument("--timeout", type=float, default=0.0, help="stop after S seconds without events")
    tail.add_argument("--json", action="store_true", help="one full CloudEvent JSON per line")
    tail.add_argument("--state", type=Path, default=DEFAULT_STATE)
    tail.set_defaults(handler=_tail)

    dlq = commands.add_parser("dlq", help="list or resubmit dead-lettered messages")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = dlq_commands.add_parser("list", help="the dead letters of a queue or subscription")
    listing.add_argument("path", help="QUEUE or TOPIC/subscriptions/SUB")
    listing.add_argument("--max", type=int, default=100)
    listing.add_argument("--state", type=Path, default=DEFAULT_STATE)
    listing.set_defaults(handler=_dlq_list)
    resubmit = dlq_commands.add_parser("resubmit", help="move dead letters back to their entity")
    resubmit.add_argument("path", help="QUEUE or TOPIC/subscriptions/SUB")
    resubmit.add_argument("--sequence", type=int, nargs="*", help="only these sequence numbers")
    resubmit.add_argument("--state", type=Path, default=DEFAULT_STATE)
    resubmit.set_defaults(handler=_dlq_resubmit)


def _fail(message: str, code: int = 2) -> int:
    print(f"devhost: {message}", file=sys.stderr)
    return code


def _read_events(source: str, validate: bool) -> list[CloudEvent]:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"{source}: not JSON: {exc}") from exc
    items = raw if isinstance(raw, list) else [raw]
    events = []
    for index, item in enumerate(items):
        try:
            event = decode(json.dumps(item))
            if validate:
                data_model(event)
        except EnvelopeError as exc:
            raise EnvelopeError(f"{source}: event #{index + 1}: {exc}") from exc
        events.append(event)
    return events


def _publish(args: argparse.Namespace) -> int:
    try:
        events = _read_events(args.file, validate=not args.no_validate)
    except (OSError, EnvelopeError) as exc:
        return _fail(str(exc))
    layout = StateLayout(args.state.resolve())
    hubs = layout.open_eventhubs()
    publisher = EmbeddedPublisher(layout.open_servicebus(), hubs)
    try:
        publisher.publish(args.destination, events)
    except PublishError as exc:
        return _fail(str(exc), 1)
    for event in events:
        print(f"published {event.get_type()} {event.get_id()} to {args.destination}")
    return 0


def _describe(body: bytes, as_json: bool, where: str) -> str:
    try:
        event = decode(body)
    except EnvelopeError as exc:
        return f"{where} (not a CloudEvent: {exc})"
    if as_json:
        return encode(event).decode()
    data = event.get_data()
    summary = json.dumps(data, separators=(",", ":")) if isinstance(data, dict) else repr(data)
    subject = event.get_subject() or "-"
    return f"{where} {event.get_type()} id={event.get_id()} subject={subject} {summary}"


def _tail(args: argparse.Namespace) -> int:
    layout = StateLayout(args.state.resolve())
    printed = 0
    try:
        hubs = layout.open_eventhubs()
        if args.path in hubs.list_event_hubs():
            lines = _hub_lines(hubs, args)
        else:
            lines = _entity_lines(layout.open_servicebus(), args)
        for line in lines:
            print(line, flush=True)
            printed += 1
            if args.count and printed >= args.count:
                break
    except (ServiceBusError, EventHubsError, LookupError) as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        pass
    return 0


class _Idle:
    """Tells when tailing should stop: `timeout` seconds without events (0: never)."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._last = time.monotonic()

    def saw_events(self) -> None:
        self._last = time.monotonic()

    def expired(self) -> bool:
        if self._timeout and time.monotonic() - self._last > self._timeout:
            return True
        time.sleep(0.1)
        return False


def _entity_lines(bus: EmbeddedServiceBus, args: argparse.Namespace) -> Iterator[str]:
    next_sequence = 0
    idle = _Idle(args.timeout)
    while True:
        if args.receive:
            batch = bus.receive(args.path, max_messages=100, max_wait_time=0.5)
            if batch:
                bus.complete_many([m.lock_token for m in batch if m.lock_token])
        else:
            batch = bus.peek(args.path, max_messages=100, from_sequence_number=next_sequence)
        for message in batch:
            next_sequence = max(next_sequence, message.sequence_number + 1)
            yield _describe(message.body, args.json, f"[{args.path} #{message.sequence_number}]")
        if batch:
            idle.saw_events()
        elif idle.expired():
            return


def _hub_lines(hubs: EmbeddedEventHubs, args: argparse.Namespace) -> Iterator[str]:
    start = "-1" if args.from_start else "@latest"
    partitions = hubs.get_partition_ids(args.path)
    readers = [PartitionReader(hubs, args.path, args.consumer_group, pid, start) for pid in partitions]
    idle = _Idle(args.timeout)
    while True:
        seen = False
        for reader in readers:
            for event in reader.receive(max_batch_size=100):
                seen = True
                where = f"[{args.path}/{reader.partition_id} #{event.sequence_number}]"
                yield _describe(event.body, args.json, where)
        if seen:
            idle.saw_events()
        elif idle.expired():
            return


def _dead_letter_line(message: ReceivedMessage) -> str:
    reason = message.dead_letter_reason or "-"
    description = message.dead_letter_error_description or ""
    return (
        f"#{message.sequence_number} id={message.message_id} subject={message.subject or '-'} "
        f"deliveries={message.delivery_count} reason={reason} {description}".rstrip()
    )


def _dlq_path(path: str) -> str:
    return path if path.endswith("/$deadletterqueue") else f"{path}/$deadletterqueue"


def _dlq_list(args: argparse.Namespace) -> int:
    bus = StateLayout(args.state.resolve()).open_servicebus()
    try:
        messages = bus.peek(_dlq_path(args.path), max_messages=args.max)
    except ServiceBusError as exc:
        return _fail(str(exc), 1)
    for message in messages:
        print(_dead_letter_line(message))
    print(f"{len(messages)} dead letter(s) on {args.path}")
    return 0


def _dlq_resubmit(args: argparse.Namespace) -> int:
    bus = StateLayout(args.state.resolve()).open_servicebus()
    try:
        moved = bus.resubmit_dead_letters(args.path, sequence_numbers=args.sequence)
    except ServiceBusError as exc:
        return _fail(str(exc), 1)
    print(f"resubmitted {moved} message(s) to {args.path}")
    return 0
