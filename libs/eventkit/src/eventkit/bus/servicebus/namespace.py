"""`EmbeddedServiceBus`: a Service Bus namespace in one SQLite file, shared by processes."""

from __future__ import annotations

from .admin import AdminOperations
from .sending import SendOperations
from .sessions import SessionOperations
from .settlement import SettleOperations


class EmbeddedServiceBus(AdminOperations, SendOperations, SessionOperations, SettleOperations):
    """A Service Bus namespace stored in the SQLite file at `path` (created if missing).

    Any number of instances, in any number of processes, may open the same file: every
    operation is one transaction on it. Defaults and semantics are Azure's; the differences
    are listed in docs/adr/0004-embedded-service-bus.md.

    `clock` (default: the system clock, UTC) drives lock expiry, scheduling, TTL and the
    duplicate detection window, so tests can move time instead of sleeping. Waiting in
    `receive(max_wait_time=...)` uses real time.

    Usage::

        bus = EmbeddedServiceBus(state_dir / "servicebus.db")
        bus.create_queue_if_missing("jobs")
        bus.send("jobs", [OutgoingMessage(b"...")])
        for message in bus.receive("jobs", max_messages=100, max_wait_time=5):
            ...
        bus.complete_many([m.lock_token for m in batch])
    """

    def __enter__(self) -> EmbeddedServiceBus:
        return self
