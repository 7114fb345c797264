"""Errors of the embedded Service Bus, named after the azure-servicebus exceptions they stand for."""

from __future__ import annotations

from collections.abc import Sequence


class ServiceBusError(Exception):
    """Base of every error the embedded namespace raises."""


class EntityNotFound(ServiceBusError):
    """The queue, topic, subscription, rule or path does not exist (Azure: MessagingEntityNotFoundError)."""


class EntityAlreadyExists(ServiceBusError):
    """An entity of that name already exists (Azure: ResourceExistsError on create)."""


class InvalidEntityName(ServiceBusError, ValueError):
    """A name or path does not follow Azure's entity naming rules."""


class InvalidMessage(ServiceBusError, ValueError):
    """A message cannot be sent as given (e.g. no session id for a session-enabled entity)."""


class SessionIdRequired(InvalidMessage):
    """A message without `session_id` was sent to an entity that requires sessions."""


class SessionRequired(ServiceBusError):
    """A plain receiver was used on a session-enabled entity; accept a session first."""


class MessageLockLost(ServiceBusError):
    """The lock of the message expired or the token is unknown (Azure: MessageLockLostError).

    `lock_tokens` names every token that could not be settled; the message is no longer
    held by the caller and will be (or was) delivered again.
    """

    def __init__(self, lock_tokens: Sequence[str]) -> None:
        self.lock_tokens = tuple(lock_tokens)
        shown = ", ".join(self.lock_tokens[:5]) + (" ..." if len(self.lock_tokens) > 5 else "")
        super().__init__(
            f"the lock of {len(self.lock_tokens)} message(s) expired or is unknown: {shown}; "
            "the message will be delivered again, do not assume it was settled"
        )


class SessionLockLost(ServiceBusError):
    """The session lock expired or was released (Azure: SessionLockLostError)."""


class SessionCannotBeLocked(ServiceBusError):
    """The requested session is held by another receiver (Azure: SessionCannotBeLockedError)."""


class NoSessionAvailable(ServiceBusError):
    """No session with available messages appeared within `max_wait_time` (Azure: OperationTimeoutError)."""


class FilterSyntaxError(ServiceBusError, ValueError):
    """A SQL filter could not be parsed; names the rule, the expression and the 0-based position."""

    def __init__(self, rule_name: str, expression: str, position: int, reason: str) -> None:
        self.rule_name = rule_name
        self.expression = expression
        self.position = position
        self.reason = reason
        pointer = " " * position + "^"
        super().__init__(
            f"SQL filter of rule {rule_name!r} is malformed at position {position}: {reason}\n"
            f"  {expression}\n  {pointer}"
        )
