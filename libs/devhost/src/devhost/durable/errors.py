"""Errors raised by the durable engine; each names the instance or function that was wrong."""

from __future__ import annotations


class DurableError(Exception):
    """Base class of every error the durable engine raises."""


class InstanceNotFoundError(DurableError):
    """No orchestration instance with this id exists in the task hub."""

    def __init__(self, instance_id: str) -> None:
        super().__init__(f"no orchestration instance with id {instance_id!r} exists in this task hub")
        self.instance_id = instance_id


class InstanceAlreadyExistsError(DurableError):
    """An instance with this id is Pending, Running or Suspended and cannot be started again."""

    def __init__(self, instance_id: str, status: str) -> None:
        super().__init__(
            f"orchestration instance {instance_id!r} is {status}; an instance can only be started "
            "again once it is Completed, Failed or Terminated (terminate it first or use a new id)"
        )
        self.instance_id = instance_id
        self.status = status


class InstanceNotRunningError(DurableError):
    """The instance has ended (Completed, Failed, Terminated), so it takes no more events."""

    def __init__(self, instance_id: str, status: str) -> None:
        super().__init__(f"orchestration instance {instance_id!r} is {status} and accepts no events")
        self.instance_id = instance_id
        self.status = status


class UnknownFunctionError(DurableError):
    """An orchestrator or activity name was used that is not registered with the engine."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        listed = ", ".join(sorted(known)) or "none"
        super().__init__(f"no {kind} function named {name!r} is registered (registered: {listed})")
        self.kind = kind
        self.name = name


class NonDeterminismError(DurableError):
    """The orchestrator's replayed actions do not match the history recorded for the instance."""


class ProtocolError(DurableError):
    """The orchestrator returned a state the engine cannot interpret (an SDK/engine mismatch)."""
