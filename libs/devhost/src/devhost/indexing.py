"""Indexing: load an app's ``function_app.py`` as the Python worker does and describe its functions.

The worker puts the app folder on ``sys.path``, imports ``function_app.py``, finds the one
top-level FunctionApp (``FunctionApp``, ``DFApp``, ``AsgiFunctionApp``...), and calls
``app.get_functions()`` exactly once (a second call would re-register every function and fail
the unique-name check). devhost does the same, importing the module under a name unique to the
app so that several apps can be indexed in one process (``devhost functions``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import sys
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.errors import AppLoadError

_LOWERCASED = ("authLevel", "cardinality", "dataType", "accessRights")


@dataclass(frozen=True)
class BindingInfo:
    """One binding of a function, as in function.json: ``type``, ``direction``, ``name`` and settings."""

    type: str
    direction: str
    name: str
    settings: dict[str, Any]
    """Every binding-specific setting in function.json spelling (route, methods, schedule, ...)."""

    def get(self, key: str, default: Any = None) -> Any:
        """A binding setting by its function.json name (``queueName``, ``runOnStartup``...)."""
        return self.settings.get(key, default)

    @property
    def is_trigger(self) -> bool:
        return self.type.endswith("Trigger")


@dataclass(frozen=True)
class RetryPolicy:
    """``@app.retry`` settings: strategy ``fixed_delay`` or ``exponential_backoff``."""

    strategy: str
    max_retry_count: int
    delay_interval: str | None = None
    minimum_interval: str | None = None
    maximum_interval: str | None = None


@dataclass(frozen=True)
class FunctionInfo:
    """One indexed function."""

    name: str
    trigger: BindingInfo
    bindings: tuple[BindingInfo, ...]
    """Every binding other than the trigger (inputs and outputs, including ``$return``)."""
    user_function: Callable[..., Any]
    is_async: bool
    retry: RetryPolicy | None = None
    http_type: str = "function"

    @property
    def outputs(self) -> tuple[BindingInfo, ...]:
        return tuple(binding for binding in self.bindings if binding.direction == "out")

    @property
    def inputs(self) -> tuple[BindingInfo, ...]:
        return tuple(binding for binding in self.bindings if binding.direction != "out")

    def with_bindings(self, trigger: BindingInfo, bindings: tuple[BindingInfo, ...]) -> FunctionInfo:
        """A copy with resolved bindings (after ``%Name%`` expressions were replaced)."""
        return FunctionInfo(
            self.name, trigger, bindings, self.user_function, self.is_async, self.retry, self.http_type
        )


@dataclass(frozen=True)
class AppIndex:
    """The indexed functions of one app folder."""

    app_name: str
    app_dir: Path
    functions: tuple[FunctionInfo, ...]
    app_type: str
    warnings: tuple[str, ...] = field(default=())

    def function(self, name: str) -> FunctionInfo | None:
        """The function called ``name`` (case-insensitive, as Azure function names), or None."""
        for info in self.functions:
            if info.name.lower() == name.lower():
                return info
        return None


def _normalise_binding(raw: dict[str, Any]) -> BindingInfo:
    settings = {key: value for key, value in raw.items() if key not in ("type", "direction", "name")}
    for key in _LOWERCASED:
        if isinstance(settings.get(key), str):
            settings[key] = settings[key].lower()
    if isinstance(settings.get("methods"), list):
        settings["methods"] = [str(method).upper() for method in settings["methods"]]
    direction = str(raw.get("direction", "in")).lower()
    return BindingInfo(type=str(raw["type"]), direction=direction, name=str(raw["name"]), settings=settings)


def _retry_policy(settings: dict[str, Any] | None, function: str) -> RetryPolicy | None:
    if not settings:
        return None
    strategy = str(settings.get("strategy", "")).lower()
    if strategy not in ("fixed_delay", "exponential_backoff"):
        raise ValueError(
            f"function {function!r}: @app.retry strategy must be 'fixed_delay' or "
            f"'exponential_backoff', got {settings.get('strategy')!r}"
        )
    try:
        count = int(str(settings.get("max_retry_count")))
    except ValueError as error:
        raise ValueError(
            f"function {function!r}: @app.retry max_retry_count must be an integer, "
            f"got {settings.get('max_retry_count')!r}"
        ) from error
    return RetryPolicy(
        strategy=strategy,
        max_retry_count=count,
        delay_interval=settings.get("delay_interval"),
        minimum_interval=settings.get("minimum_interval"),
        maximum_interval=settings.get("maximum_interval"),
    )


def _describe(function: Any) -> FunctionInfo:
    name = str(function.get_function_name())
    raw = json.loads(function.get_function_json())
    bindings = [_normalise_binding(binding) for binding in raw.get("bindings", [])]
    triggers = [binding for binding in bindings if binding.is_trigger]
    if len(triggers) != 1:
        raise ValueError(f"function {name!r} has {len(triggers)} triggers; a function needs exactly one")
    user_function = function.get_user_function()
    return FunctionInfo(
        name=name,
        trigger=triggers[0],
        bindings=tuple(binding for binding in bindings if binding is not triggers[0]),
        user_function=user_function,
        is_async=inspect.iscoroutinefunction(user_function),
        retry=_retry_policy(function.get_settings_dict("retry_policy"), name),
        http_type=str(getattr(function, "http_type", "function")),
    )


def _find_app(module: types.ModuleType) -> Any:
    from azure.functions import FunctionRegister
    from azure.functions.decorators.function_app import DecoratorApi

    found: list[tuple[str, Any]] = []
    for attribute, value in vars(module).items():
        if isinstance(value, FunctionRegister) or (
            not isinstance(value, (type, types.ModuleType, DecoratorApi))
            and not inspect.isroutine(value)
            and callable(getattr(value, "get_functions", None))
        ):
            found.append((attribute, value))
    if not found:
        raise ValueError(
            "no top-level function app instance in function_app.py; define e.g. "
            "`app = func.FunctionApp()` at module level"
        )
    if len(found) > 1:
        names = ", ".join(name for name, _ in found)
        raise ValueError(f"more than one top-level function app instance in function_app.py: {names}")
    return found[0][1]


def module_name_for(app_dir: Path) -> str:
    """The unique module name under which an app's function_app.py is imported."""
    digest = hashlib.sha1(str(app_dir.resolve()).encode()).hexdigest()[:10]
    safe = "".join(char if char.isalnum() else "_" for char in app_dir.resolve().name)
    return f"devhost_app_{safe}_{digest}"


def load_app(app_dir: Path, app_name: str | None = None) -> AppIndex:
    """Import ``<app_dir>/function_app.py`` and index its functions.

    Raises AppLoadError (with the full traceback text) when the file is missing, its import
    raises, no function app instance is found, or ``get_functions()`` fails.
    """
    app_dir = app_dir.resolve()
    name = app_name or app_dir.name
    script = app_dir / "function_app.py"
    if not script.is_file():
        raise AppLoadError(str(app_dir), f"{script} does not exist", f"FileNotFoundError: {script}\n")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    module_name = module_name_for(app_dir)
    try:
        spec = importlib.util.spec_from_file_location(module_name, script)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {script}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        app = _find_app(module)
        functions = app.get_functions()
        infos = tuple(_describe(function) for function in functions)
    except (Exception, SystemExit) as error:
        sys.modules.pop(module_name, None)
        raise AppLoadError(
            str(app_dir), f"{type(error).__name__}: {error}", traceback.format_exc()
        ) from error
    warnings = () if infos else ("the function app defines no functions",)
    return AppIndex(
        app_name=name, app_dir=app_dir, functions=infos, app_type=type(app).__name__, warnings=warnings
    )
