"""App settings and connections, resolved as the Functions host and Core Tools do.

Precedence (Core Tools ``func start``): every ``Values`` entry of ``local.settings.json`` is copied
into the process environment *unless the environment already defines that name*; so the
environment wins over ``local.settings.json``. devhost does the same per app process.

``%Name%`` in a binding setting is replaced by the app setting ``Name``; an expression naming a
missing setting raises UnresolvedSettingError naming the function, the binding setting and the
missing app setting.

Connections: the official emulators' development connection strings mean "embedded" under devhost;
anything that points at real Azure (a real namespace, identity-based ``<Conn>__...`` settings)
raises RealAzureNotSupportedError when a trigger asks for an embedded connection.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from devhost.errors import (
    ConnectionNotFoundError,
    RealAzureNotSupportedError,
    SettingsError,
    UnresolvedSettingError,
)

_EXPRESSION = re.compile(r"%([^%\s]+)%")


@dataclass(frozen=True)
class AppSettings:
    """The effective app settings of one app: local.settings.json Values under the environment."""

    values: dict[str, str]
    from_file: dict[str, str]
    overridden_by_environment: tuple[str, ...]

    def get(self, name: str) -> str | None:
        """The value of app setting ``name``; names match case-insensitively as in Azure."""
        if name in self.values:
            return self.values[name]
        lowered = name.lower()
        for key, value in self.values.items():
            if key.lower() == lowered:
                return value
        return None

    def is_true(self, name: str) -> bool:
        """Whether setting ``name`` holds a true value (``true`` or ``1``), as ``...Disabled`` flags."""
        value = self.get(name)
        return value is not None and value.strip().lower() in ("true", "1")


def read_local_settings(app_dir: Path) -> dict[str, str]:
    """The ``Values`` of ``<app_dir>/local.settings.json``; an absent file gives no values.

    Raises SettingsError when the file is not JSON or ``Values`` is not an object of scalars.
    """
    path = app_dir / "local.settings.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise SettingsError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: must hold a JSON object with a 'Values' object")
    values = data.get("Values", {})
    if not isinstance(values, dict):
        raise SettingsError(f"{path}: 'Values' must be an object of name -> string")
    result: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, (dict, list)):
            raise SettingsError(f"{path}: Values.{key} must be a string, got {type(value).__name__}")
        result[str(key)] = (
            "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        )
    return result


def load_app_settings(app_dir: Path, environ: Mapping[str, str] | None = None) -> AppSettings:
    """Merge ``local.settings.json`` Values under ``environ`` (default: ``os.environ``)."""
    env = dict(os.environ if environ is None else environ)
    from_file = read_local_settings(app_dir)
    merged = dict(env)
    overridden = []
    for key, value in from_file.items():
        if key in env and env[key] != "":
            overridden.append(key)
        else:
            merged[key] = value
    return AppSettings(values=merged, from_file=from_file, overridden_by_environment=tuple(overridden))


def resolve_expression(value: str, settings: AppSettings, function: str, binding_setting: str) -> str:
    """Replace every ``%Name%`` in ``value``; raises UnresolvedSettingError for a missing one."""

    def replace(match: re.Match[str]) -> str:
        resolved = settings.get(match.group(1))
        if resolved is None:
            raise UnresolvedSettingError(function, binding_setting, match.group(1))
        return resolved

    return _EXPRESSION.sub(replace, value)


_NOT_RESOLVED = {"type", "direction", "name"}


def resolve_binding(binding: dict[str, Any], settings: AppSettings, function: str) -> dict[str, Any]:
    """A copy of ``binding`` with ``%Name%`` resolved in every string setting (not type/direction/name)."""
    resolved: dict[str, Any] = {}
    for key, value in binding.items():
        if isinstance(value, str) and key not in _NOT_RESOLVED:
            resolved[key] = resolve_expression(value, settings, function, key)
        else:
            resolved[key] = value
    return resolved


class ConnectionKind(Enum):
    """Where a connection points."""

    EMBEDDED = "embedded"
    AZURE = "azure"


@dataclass(frozen=True)
class ConnectionInfo:
    """What a connection setting name resolves to."""

    name: str
    kind: ConnectionKind
    service: str
    """``storage``, ``servicebus`` (also the Event Hubs emulator string), ``cosmos`` or ``unknown``."""
    setting: str
    """The app setting that decided it (``Name`` or ``Name__fullyQualifiedNamespace``...)."""
    detail: str


_IDENTITY_SUFFIXES = (
    "fullyQualifiedNamespace",
    "accountEndpoint",
    "serviceUri",
    "blobServiceUri",
    "queueServiceUri",
    "tableServiceUri",
    "accountName",
)
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _parse_connection_string(value: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for piece in value.split(";"):
        if "=" in piece:
            key, _, item = piece.partition("=")
            parts[key.strip().lower()] = item.strip()
    return parts


def _is_local(url: str) -> bool:
    lowered = url.lower()
    return any(f"//{host}" in lowered for host in _LOCAL_HOSTS)


def classify_connection_string(value: str) -> tuple[ConnectionKind, str]:
    """Classify a connection string as embedded (an emulator's development string) or real Azure."""
    text = value.strip()
    parts = _parse_connection_string(text)
    if text.lower().replace(" ", "") in ("usedevelopmentstorage=true", "usedevelopmentstorage=true;"):
        return ConnectionKind.EMBEDDED, "storage"
    if parts.get("accountname") == "devstoreaccount1":
        return ConnectionKind.EMBEDDED, "storage"
    if "endpoint" in parts:
        local = parts.get("usedevelopmentemulator", "").lower() == "true" or _is_local(parts["endpoint"])
        return (ConnectionKind.EMBEDDED if local else ConnectionKind.AZURE), "servicebus"
    if "accountendpoint" in parts:
        local = _is_local(parts["accountendpoint"])
        return (ConnectionKind.EMBEDDED if local else ConnectionKind.AZURE), "cosmos"
    if "accountname" in parts or "blobendpoint" in parts:
        return ConnectionKind.AZURE, "storage"
    return ConnectionKind.AZURE, "unknown"


class ConnectionResolver:
    """Tells, for a binding's ``connection`` value, whether it is embedded or real Azure."""

    def __init__(self, settings: AppSettings) -> None:
        self._settings = settings

    def resolve(self, connection: str | None) -> ConnectionInfo:
        """Resolve a connection name as the Functions host does.

        An empty name means ``AzureWebJobsStorage``. The setting ``Name`` (then ``AzureWebJobsName``)
        holding a connection string wins; otherwise ``Name__<property>`` settings mean an
        identity-based connection to real Azure. Raises ConnectionNotFoundError when none exists.
        """
        name = connection or "AzureWebJobsStorage"
        for candidate in (name, f"AzureWebJobs{name}"):
            value = self._settings.get(candidate)
            if value:
                kind, service = classify_connection_string(value)
                return ConnectionInfo(name, kind, service, candidate, "connection string")
        prefix = f"{name}__".lower()
        for key, value in self._settings.values.items():
            if key.lower().startswith(prefix) and value:
                suffix = key[len(prefix) :]
                local = _is_local(value)
                service = "unknown"
                if suffix.lower() == "fullyqualifiednamespace":
                    service = "servicebus"
                elif suffix.lower() == "accountendpoint":
                    service = "cosmos"
                elif suffix.lower() in ("serviceuri", "blobserviceuri", "accountname"):
                    service = "storage"
                kind = ConnectionKind.EMBEDDED if local else ConnectionKind.AZURE
                return ConnectionInfo(name, kind, service, key, f"identity-based ({suffix}={value})")
        raise ConnectionNotFoundError(
            f"connection {name!r}: no app setting {name!r} (connection string) and no "
            f"{name}__<{'|'.join(_IDENTITY_SUFFIXES)}> setting; add one to local.settings.json Values, "
            "e.g. 'UseDevelopmentStorage=true' or the Service Bus emulator string "
            "'Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;"
            "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;'"
        )

    def require_embedded(self, connection: str | None, function: str) -> ConnectionInfo:
        """Resolve and insist on embedded infrastructure; raises RealAzureNotSupportedError otherwise."""
        info = self.resolve(connection)
        if info.kind is not ConnectionKind.EMBEDDED:
            raise RealAzureNotSupportedError(
                f"function {function!r}: connection {info.name!r} (app setting {info.setting!r}, "
                f"{info.detail}) points at real Azure; devhost runs embedded infrastructure only. "
                "Set it to the emulator's development connection string (e.g. UseDevelopmentStorage=true "
                "or 'Endpoint=sb://localhost;...;UseDevelopmentEmulator=true;') to run locally."
            )
        return info
