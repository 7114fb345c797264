"""Runtime status of an orchestration instance, named as the Durable Task extension names it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class OrchestrationStatus(enum.StrEnum):
    """The runtimeStatus values of the Durable Functions management API."""

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    FAILED = "Failed"
    TERMINATED = "Terminated"
    SUSPENDED = "Suspended"

    @property
    def is_terminal(self) -> bool:
        """True once the instance has ended and takes no more work."""
        return self in (
            OrchestrationStatus.COMPLETED,
            OrchestrationStatus.FAILED,
            OrchestrationStatus.TERMINATED,
        )


ACTIVE_STATUSES = (
    OrchestrationStatus.PENDING,
    OrchestrationStatus.RUNNING,
    OrchestrationStatus.SUSPENDED,
    OrchestrationStatus.CONTINUED_AS_NEW,
)


@dataclass(frozen=True)
class InstanceStatus:
    """A snapshot of one instance; ``input``/``output``/``custom_status`` are decoded JSON values."""

    instance_id: str
    name: str
    runtime_status: OrchestrationStatus
    execution_id: str
    created_time: datetime
    last_updated_time: datetime
    input: Any = None
    output: Any = None
    custom_status: Any = None
    parent_instance_id: str | None = None
    history: list[dict[str, Any]] | None = field(default=None)
