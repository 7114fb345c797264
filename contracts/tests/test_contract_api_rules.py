"""The rules `contracts.api` gives the services are the ones both OpenAPI documents state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.api import INVALID_SKU, PROBLEM_BASE, SERVICE_UNAVAILABLE, SKU_PATTERN, is_sku

SPECS = ("orders.yaml", "inventory.yaml")


def _spec(contracts_root: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((contracts_root / "openapi" / name).read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("name", SPECS)
def test_the_sku_pattern_is_the_one_each_api_spec_states(contracts_root: Path, name: str) -> None:
    sku = _spec(contracts_root, name)["components"]["schemas"]["Sku"]
    assert sku["pattern"] == SKU_PATTERN.pattern
    assert (sku["minLength"], sku["maxLength"]) == (1, 64)


@pytest.mark.parametrize("name", SPECS)
def test_each_api_spec_lists_the_shared_problem_types_under_the_shared_base(
    contracts_root: Path, name: str
) -> None:
    problem = _spec(contracts_root, name)["components"]["schemas"]["Problem"]
    problem_types: list[str] = problem["properties"]["type"]["enum"]
    assert INVALID_SKU.type in problem_types
    assert SERVICE_UNAVAILABLE.type in problem_types
    assert all(kind.startswith(PROBLEM_BASE) for kind in problem_types)


@pytest.mark.parametrize("sku", ["A", "abc-123", "ACME/widget.v2_x", "9" * 64])
def test_a_sku_of_letters_digits_and_punctuation_is_accepted(sku: str) -> None:
    assert is_sku(sku)


@pytest.mark.parametrize("sku", ["", "-abc", "/abc", "a b", "a\u00e9", "9" * 65, "abc\n"])
def test_a_sku_with_a_space_another_character_or_too_long_is_refused(sku: str) -> None:
    assert not is_sku(sku)


@pytest.mark.parametrize("name", SPECS)
def test_every_operation_of_each_api_spec_documents_the_503_with_retry_after(
    contracts_root: Path, name: str
) -> None:
    spec = _spec(contracts_root, name)
    operations = [op for path in spec["paths"].values() for op in path.values() if isinstance(op, dict)]
    unavailable = spec["components"]["responses"]["Unavailable"]

    assert operations and all(
        op["responses"]["503"] == {"$ref": "#/components/responses/Unavailable"} for op in operations
    )
    assert "Retry-After" in unavailable["headers"]
