"""Filling broker batches in order: the one algorithm both Azure publishers share.

The SDK batches (`ServiceBusMessageBatch`, `EventDataBatch`) know their own encoded size and
refuse a message that would overflow them with a `ValueError` (Service Bus raises
`MessageSizeExceededError`, which is one). `send_in_batches` adds messages in the order given,
sends a batch as soon as the next message does not fit, and starts a new one, so the broker
receives them in the caller's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from ..publisher import PublishError

__all__ = ["EventTooLarge", "send_in_batches"]


class _Sized(Protocol):
    def __len__(self) -> int: ...


MessageT = TypeVar("MessageT")
BatchT = TypeVar("BatchT", bound=_Sized)


class EventTooLarge(PublishError):
    """One event does not fit even an empty batch: it can never be sent as it is.

    Retrying will not help; the event (or its data) must be made smaller. Nothing of the
    publish call from this event on was sent.
    """

    def __init__(self, destination: str, event_id: str, reason: str) -> None:
        self.destination = destination
        self.event_id = event_id
        super().__init__(
            f"event {event_id} does not fit an empty batch for '{destination}' ({reason}); "
            "it is larger than the broker's message size limit"
        )


def send_in_batches(
    messages: Sequence[MessageT],
    *,
    event_ids: Sequence[str],
    destination: str,
    new_batch: Callable[[], BatchT],
    add: Callable[[BatchT, MessageT], None],
    send: Callable[[BatchT], None],
) -> int:
    """Send `messages` in as few batches as fit, in order; return how many batches were sent.

    `event_ids[i]` names `messages[i]` in errors. Raises `EventTooLarge` when a message does not
    fit an empty batch; errors from `new_batch` and `send` propagate unchanged.
    """
    batch = new_batch()
    sent = 0
    for index, message in enumerate(messages):
        try:
            add(batch, message)
            continue
        except ValueError as exc:
            if len(batch) == 0:
                raise EventTooLarge(destination, event_ids[index], str(exc)) from exc
        send(batch)
        sent += 1
        batch = new_batch()
        try:
            add(batch, message)
        except ValueError as exc:
            raise EventTooLarge(destination, event_ids[index], str(exc)) from exc
    if len(batch):
        send(batch)
        sent += 1
    return sent
