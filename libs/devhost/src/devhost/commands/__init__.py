"""CLI subcommands beside `run`, `functions` and `invoke`, one module per area.

Every module here exposes `register(commands)`, which adds its subparsers to the `devhost`
parser and sets `handler=<function(args) -> exit code>` on each with `set_defaults`. `cli.py`
discovers the modules, so adding a command never edits a shared file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil


def register_all(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Call `register` of every module in this package, in name order."""
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(commands)
