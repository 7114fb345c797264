"""Function and host keys, kept per app in ``<state>/keys/<app>.json``.

As Azure's secrets (``azure-webjobs-secrets``): a master key (admin level), host function keys
(``default``) valid for every function, and per-function keys (``default``). Generated on first
start and kept across restarts; a function added later gets its key on the next start.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _new_key() -> str:
    return secrets.token_urlsafe(40).replace("-", "a").replace("_", "b")


@dataclass(frozen=True)
class AppKeys:
    """The keys of one app."""

    master_key: str
    host_keys: dict[str, str]
    function_keys: dict[str, dict[str, str]]

    def to_json(self) -> dict[str, Any]:
        return {"masterKey": self.master_key, "functionKeys": self.host_keys, "functions": self.function_keys}

    def accepts_function(self, function: str, key: str) -> bool:
        """Whether ``key`` may call an authLevel=function route of ``function``."""
        candidates = [
            self.master_key,
            *self.host_keys.values(),
            *self.function_keys.get(function.lower(), {}).values(),
        ]
        return any(_same_key(key, candidate) for candidate in candidates)

    def accepts_admin(self, key: str) -> bool:
        """Whether ``key`` is the master key (admin level)."""
        return _same_key(key, self.master_key)


def _same_key(given: str, expected: str) -> bool:
    """Constant-time comparison that accepts any text (a non-ASCII `code=` is just a wrong key)."""
    return secrets.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def keys_path(state_dir: Path, app: str) -> Path:
    return state_dir / "keys" / f"{app}.json"


def load_or_create_keys(state_dir: Path, app: str, functions: list[str]) -> AppKeys:
    """Read the app's keys, adding any missing master, host or function key, and save them."""
    path = keys_path(state_dir, app)
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                data = loaded
        except (OSError, ValueError):
            data = {}
    master = data.get("masterKey") if isinstance(data.get("masterKey"), str) else None
    host_keys = {str(k): str(v) for k, v in (data.get("functionKeys") or {}).items()}
    function_keys = {
        str(name).lower(): {str(k): str(v) for k, v in (entries or {}).items()}
        for name, entries in (data.get("functions") or {}).items()
    }
    host_keys.setdefault("default", _new_key())
    for function in functions:
        function_keys.setdefault(function.lower(), {}).setdefault("default", _new_key())
    keys = AppKeys(master or _new_key(), host_keys, function_keys)
    if keys.to_json() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(keys.to_json(), indent=2), encoding="utf-8")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    return keys


def read_keys(state_dir: Path, app: str) -> AppKeys | None:
    """The app's keys if they were created; None otherwise."""
    path = keys_path(state_dir, app)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return AppKeys(
        str(data["masterKey"]),
        dict(data.get("functionKeys") or {}),
        {str(k).lower(): dict(v) for k, v in (data.get("functions") or {}).items()},
    )
