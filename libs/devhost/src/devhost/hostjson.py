"""``host.json``: parsed into typed options, with Azure's defaults where a value is absent.

Keys are looked up case-insensitively, as the Functions host's configuration does.
``functionTimeout`` defaults to 30 minutes, the default of the Premium, Dedicated and Container
Apps plans (Nightshift runs on Container Apps); ``"-1"`` means unbounded, as in Azure.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from devhost.errors import HostJsonError
from devhost.timespan import parse_timespan

DEFAULT_FUNCTION_TIMEOUT = timedelta(minutes=30)


def _cores() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class ServiceBusOptions:
    """``extensions.serviceBus`` (extension 5.x defaults)."""

    prefetch_count: int = 0
    max_concurrent_calls: int = field(default_factory=lambda: 16 * _cores())
    max_concurrent_sessions: int = field(default_factory=lambda: 8 * _cores())
    max_auto_lock_renewal_duration: timedelta = timedelta(minutes=5)
    max_message_batch_size: int = 1000
    auto_complete_messages: bool = True
    session_idle_timeout: timedelta | None = None


@dataclass(frozen=True)
class InitialOffsetOptions:
    """``extensions.eventHubs.initialOffsetOptions``: where a consumer group starts without a checkpoint."""

    type: str = "fromStart"
    enqueued_time_utc: str | None = None


@dataclass(frozen=True)
class EventHubsOptions:
    """``extensions.eventHubs`` (extension 6.x defaults: batch size 100 since 6.0.0)."""

    max_event_batch_size: int = 100
    min_event_batch_size: int = 1
    max_wait_time: timedelta = timedelta(seconds=60)
    batch_checkpoint_frequency: int = 1
    prefetch_count: int = 300
    initial_offset_options: InitialOffsetOptions = field(default_factory=InitialOffsetOptions)


@dataclass(frozen=True)
class BlobsOptions:
    """``extensions.blobs``."""

    max_degree_of_parallelism: int = field(default_factory=lambda: 8 * _cores())
    poison_blob_threshold: int = 5


@dataclass(frozen=True)
class HostConfig:
    """The parts of ``host.json`` devhost honours."""

    route_prefix: str = "api"
    function_timeout: timedelta | None = DEFAULT_FUNCTION_TIMEOUT
    service_bus: ServiceBusOptions = field(default_factory=ServiceBusOptions)
    event_hubs: EventHubsOptions = field(default_factory=EventHubsOptions)
    blobs: BlobsOptions = field(default_factory=BlobsOptions)
    log_levels: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    def log_level(self, category: str) -> str | None:
        """The configured level for ``category`` (falling back to ``default``), or None."""
        for key, value in self.log_levels.items():
            if key.lower() == category.lower():
                return value
        for key, value in self.log_levels.items():
            if key.lower() == "default":
                return value
        return None


def _get(section: dict[str, Any], key: str) -> Any:
    for name, value in section.items():
        if name.lower() == key.lower():
            return value
    return None


def _section(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = _get(parent, key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise HostJsonError(f"host.json: {where} must be an object, got {value!r}")
    return value


def durable_task_value(data: dict[str, Any], key: str) -> Any:
    """``extensions.durableTask.<key>`` of host.json, every name matched case-insensitively as
    Azure reads them; None when absent. Raises HostJsonError when a section is not an object."""
    extensions = _section(data, "extensions", "extensions")
    return _get(_section(extensions, "durableTask", "extensions.durableTask"), key)


def _int(section: dict[str, Any], key: str, default: int, where: str) -> int:
    value = _get(section, key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise HostJsonError(f"host.json: {where}.{key} must be an integer, got {value!r}")
    return value


def _bool(section: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = _get(section, key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise HostJsonError(f"host.json: {where}.{key} must be true or false, got {value!r}")
    return value


def _span(section: dict[str, Any], key: str, default: timedelta | None, where: str) -> timedelta | None:
    value = _get(section, key)
    if value is None:
        return default
    try:
        return parse_timespan(str(value))
    except ValueError as error:
        raise HostJsonError(f"host.json: {where}.{key}: {error}") from error


def parse_host_json(data: dict[str, Any]) -> HostConfig:
    """Build a HostConfig from the parsed JSON object; raises HostJsonError on a wrong shape."""
    extensions = _section(data, "extensions", "extensions")
    http = _section(extensions, "http", "extensions.http")
    prefix = _get(http, "routePrefix")
    if prefix is not None and not isinstance(prefix, str):
        raise HostJsonError(f"host.json: extensions.http.routePrefix must be a string, got {prefix!r}")

    timeout_value = _get(data, "functionTimeout")
    timeout: timedelta | None = DEFAULT_FUNCTION_TIMEOUT
    if timeout_value is not None:
        if str(timeout_value).strip() == "-1":
            timeout = None
        else:
            try:
                timeout = parse_timespan(str(timeout_value))
            except ValueError as error:
                raise HostJsonError(f"host.json: functionTimeout: {error}") from error

    sb = _section(extensions, "serviceBus", "extensions.serviceBus")
    sb_defaults = ServiceBusOptions()
    service_bus = ServiceBusOptions(
        prefetch_count=_int(sb, "prefetchCount", sb_defaults.prefetch_count, "extensions.serviceBus"),
        max_concurrent_calls=_int(
            sb, "maxConcurrentCalls", sb_defaults.max_concurrent_calls, "extensions.serviceBus"
        ),
        max_concurrent_sessions=_int(
            sb, "maxConcurrentSessions", sb_defaults.max_concurrent_sessions, "extensions.serviceBus"
        ),
        max_auto_lock_renewal_duration=_span(
            sb,
            "maxAutoLockRenewalDuration",
            sb_defaults.max_auto_lock_renewal_duration,
            "extensions.serviceBus",
        )
        or timedelta(0),
        max_message_batch_size=_int(
            sb, "maxMessageBatchSize", sb_defaults.max_message_batch_size, "extensions.serviceBus"
        ),
        auto_complete_messages=_bool(
            sb, "autoCompleteMessages", sb_defaults.auto_complete_messages, "extensions.serviceBus"
        ),
        session_idle_timeout=_span(sb, "sessionIdleTimeout", None, "extensions.serviceBus"),
    )

    eh = _section(extensions, "eventHubs", "extensions.eventHubs")
    eh_defaults = EventHubsOptions()
    offset = _section(eh, "initialOffsetOptions", "extensions.eventHubs.initialOffsetOptions")
    offset_type = _get(offset, "type") or "fromStart"
    if str(offset_type).lower() not in ("fromstart", "fromend", "fromenqueuedtime"):
        raise HostJsonError(
            "host.json: extensions.eventHubs.initialOffsetOptions.type must be fromStart, fromEnd or "
            f"fromEnqueuedTime, got {offset_type!r}"
        )
    event_hubs = EventHubsOptions(
        max_event_batch_size=_int(
            eh, "maxEventBatchSize", eh_defaults.max_event_batch_size, "extensions.eventHubs"
        ),
        min_event_batch_size=_int(
            eh, "minEventBatchSize", eh_defaults.min_event_batch_size, "extensions.eventHubs"
        ),
        max_wait_time=_span(eh, "maxWaitTime", eh_defaults.max_wait_time, "extensions.eventHubs")
        or timedelta(0),
        batch_checkpoint_frequency=_int(
            eh, "batchCheckpointFrequency", eh_defaults.batch_checkpoint_frequency, "extensions.eventHubs"
        ),
        prefetch_count=_int(eh, "prefetchCount", eh_defaults.prefetch_count, "extensions.eventHubs"),
        initial_offset_options=InitialOffsetOptions(
            type=str(offset_type), enqueued_time_utc=_get(offset, "enqueuedTimeUtc")
        ),
    )

    bl = _section(extensions, "blobs", "extensions.blobs")
    bl_defaults = BlobsOptions()
    blobs = BlobsOptions(
        max_degree_of_parallelism=_int(
            bl, "maxDegreeOfParallelism", bl_defaults.max_degree_of_parallelism, "extensions.blobs"
        ),
        poison_blob_threshold=_int(
            bl, "poisonBlobThreshold", bl_defaults.poison_blob_threshold, "extensions.blobs"
        ),
    )

    logging_section = _section(data, "logging", "logging")
    levels = _section(logging_section, "logLevel", "logging.logLevel")

    return HostConfig(
        route_prefix="api" if prefix is None else prefix.strip("/"),
        function_timeout=timeout,
        service_bus=service_bus,
        event_hubs=event_hubs,
        blobs=blobs,
        log_levels={str(key): str(value) for key, value in levels.items()},
        raw=data,
    )


def load_host_json(app_dir: Path) -> HostConfig:
    """Read ``<app_dir>/host.json``; a missing file means all defaults (as Azure).

    Raises HostJsonError when the file is not a JSON object or a value has the wrong shape.
    """
    path = app_dir / "host.json"
    if not path.exists():
        return HostConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise HostJsonError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise HostJsonError(f"{path}: must hold a JSON object")
    return parse_host_json(data)
