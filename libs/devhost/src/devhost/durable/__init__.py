"""devhost.durable: a Durable Functions engine persisted in SQLite, driving the real SDK.

Use :class:`Engine` with a task hub file; register SDK orchestrator handles and activities (or a
whole ``df.DFApp`` via :meth:`Engine.register_app`), start instances and run the engine.
"""

from devhost.durable.clock import Clock, ManualClock, system_clock
from devhost.durable.engine import Engine
from devhost.durable.errors import (
    DurableError,
    InstanceAlreadyExistsError,
    InstanceNotFoundError,
    InstanceNotRunningError,
    NonDeterminismError,
    ProtocolError,
    UnknownFunctionError,
)
from devhost.durable.status import InstanceStatus, OrchestrationStatus
from devhost.durable.taskhub import TaskHub

__all__ = [
    "Clock",
    "DurableError",
    "Engine",
    "InstanceAlreadyExistsError",
    "InstanceNotFoundError",
    "InstanceNotRunningError",
    "InstanceStatus",
    "ManualClock",
    "NonDeterminismError",
    "OrchestrationStatus",
    "ProtocolError",
    "TaskHub",
    "UnknownFunctionError",
    "system_clock",
]
