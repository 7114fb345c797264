"""Fixtures shared by the contract tests: where the committed files lie, and JSON Schema
validators that really check `date-time` and `uri` formats (jsonschema skips them unless optional
packages are installed, which would make format assertions pass vacuously).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker

CONTRACTS_ROOT = Path(__file__).resolve().parents[1]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_absolute_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc) and " " not in value


def strict_format_checker() -> FormatChecker:
    checker = FormatChecker()
    checker.checks("date-time")(_is_rfc3339)
    checker.checks("uri")(_is_absolute_uri)
    return checker


@pytest.fixture(scope="session")
def contracts_root() -> Path:
    return CONTRACTS_ROOT


@pytest.fixture(scope="session")
def validator_for() -> Callable[[dict[str, Any]], Draft202012Validator]:
    """Builds a 2020-12 validator with strict `date-time` and `uri` format checking."""
    checker = strict_format_checker()

    def build(schema: dict[str, Any]) -> Draft202012Validator:
        Draft202012Validator.check_schema(schema)
        return Draft202012Validator(schema, format_checker=checker)

    return build


@pytest.fixture(scope="session")
def committed_schema() -> Callable[[str], dict[str, Any]]:
    """Loads `schemas/<event type>.json`."""

    def load(event_type: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((CONTRACTS_ROOT / "schemas" / f"{event_type}.json").read_text())
        return loaded

    return load


@pytest.fixture
def schemas_copy(tmp_path: Path) -> Iterator[Path]:
    """A private copy of `schemas/` (with its released manifest) that a test may tamper with."""
    target = tmp_path / "schemas"
    shutil.copytree(CONTRACTS_ROOT / "schemas", target)
    yield target
