"""Logging for app workers and the supervisor: text like ``func start``, or one JSON object a line.

Every record carries the app name; records logged inside an invocation (including the user's own
``logging`` calls, from the event loop or from the thread pool) also carry the function name and
invocation id, taken from a context variable set by the invoker.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

current_invocation: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "devhost_current_invocation", default=None
)
"""(function name, invocation id) of the invocation running in this context, if any."""

_EXTRA_FIELDS = ("function", "invocation_id", "trigger", "duration_ms", "outcome", "error", "traceback")

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "information": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "none": logging.CRITICAL + 10,
}


def level_from_azure(name: str | None, default: int = logging.INFO) -> int:
    """Map a host.json ``logging.logLevel`` value (``Information``...) to a logging level."""
    if name is None:
        return default
    return _LEVELS.get(name.strip().lower(), default)


class _ContextFilter(logging.Filter):
    def __init__(self, app: str) -> None:
        super().__init__()
        self._app = app

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "app"):
            record.app = self._app
        invocation = current_invocation.get()
        if invocation is not None:
            if not hasattr(record, "function"):
                record.function = invocation[0]
            if not hasattr(record, "invocation_id"):
                record.invocation_id = invocation[1]
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return (
        datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class TextFormatter(logging.Formatter):
    """``[2026-01-01T06:00:00.000Z] [app] message`` (+ traceback), as Core Tools prints."""

    def format(self, record: logging.LogRecord) -> str:
        app = getattr(record, "app", "")
        text = (
            f"[{_timestamp(record)}] [{app}] {record.getMessage()}"
            if app
            else (f"[{_timestamp(record)}] {record.getMessage()}")
        )
        trace = getattr(record, "traceback", None)
        if trace:
            text += "\n" + str(trace).rstrip()
        elif record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, app, logger, message and invocation fields when set."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "app": getattr(record, "app", None),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                payload[name] = value
        if record.exc_info and "traceback" not in payload:
            payload["traceback"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(app: str, log_format: str, level: int = logging.INFO) -> None:
    """Route every log record of this process to stderr in ``text`` or ``json`` format."""
    if log_format not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', got {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_ContextFilter(app))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("aiohttp.access", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
