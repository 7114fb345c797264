"""Invalid data is refused by the models and, where JSON Schema can say it, by the committed
schemas too, with messages that name the offending field."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from contracts import model_for

ORDER_PLACED = "com.nightshift.orders.order.placed.v1"


def _example_data(contracts_root: Path, event_type: str) -> dict[str, Any]:
    first = sorted((contracts_root / "examples" / event_type).glob("*.json"))[0]
    data: dict[str, Any] = json.loads(first.read_text())["data"]
    return data


def _refusal(event_type: str, data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        model_for(event_type).model_validate(data)
    return str(caught.value)


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


# (event type, path to change, new value, text the refusal must contain, schema refuses too)
SCHEMA_AND_MODEL_REFUSALS = [
    (ORDER_PLACED, ("lines", 0, "quantity"), -1, "lines.0.quantity", True),
    (ORDER_PLACED, ("lines", 0, "quantity"), 0, "lines.0.quantity", True),
    (ORDER_PLACED, ("currency",), "gbp", "currency", True),
    (ORDER_PLACED, ("currency",), "POUND", "currency", True),
    (ORDER_PLACED, ("placed_at",), "2026-11-28T21:14:03", "placed_at", True),
    (ORDER_PLACED, ("placed_at",), "2026-11-28T21:14:03+02:00", "placed_at", True),
    (ORDER_PLACED, ("order_id",), "", "order_id", True),
    (ORDER_PLACED, ("order_id",), "ord 1", "order_id", True),
    (ORDER_PLACED, ("order_id",), "o" * 129, "order_id", True),
    (ORDER_PLACED, ("lines",), [], "lines", True),
    (ORDER_PLACED, ("total_minor",), -5, "total_minor", True),
    (ORDER_PLACED, ("total_minor",), 25.99, "total_minor", True),
    ("com.nightshift.orders.order.cancelled.v1", ("reason",), "changed-mind", "reason", True),
    ("com.nightshift.inventory.stock.adjusted.v1", ("reason",), "theft", "reason", True),
    ("com.nightshift.inventory.stock.adjusted.v1", ("on_hand",), -3, "on_hand", True),
    ("com.nightshift.inventory.stock.reserved.v1", ("lines", 1, "warehouse"), "", "lines.1.warehouse", True),
    (
        "com.nightshift.reporting.report.published.v1",
        ("formats",),
        {"docx": "https://x.example/r"},
        "formats",
        True,
    ),
    ("com.nightshift.reporting.report.published.v1", ("late",), "yes", "late", True),
    ("com.nightshift.migration.run.completed.v1", ("records_read",), -1, "records_read", True),
]


@pytest.mark.parametrize(
    ("event_type", "path", "value", "named", "schema_refuses"), SCHEMA_AND_MODEL_REFUSALS
)
def test_invalid_data_is_refused_by_model_and_schema_naming_the_field(
    contracts_root: Path,
    validator_for: Callable[[dict[str, Any]], Draft202012Validator],
    committed_schema: Callable[[str], dict[str, Any]],
    event_type: str,
    path: tuple[str | int, ...],
    value: Any,
    named: str,
    schema_refuses: bool,
) -> None:
    data = _set(_example_data(contracts_root, event_type), path, value)
    assert named in _refusal(event_type, data)
    schema_errors = list(validator_for(committed_schema(event_type)).iter_errors(data))
    assert bool(schema_errors) is schema_refuses
    assert any(list(e.absolute_path)[: len(path)] == list(path) or not e.absolute_path for e in schema_errors)


# Cross-field rules JSON Schema cannot express: the models refuse them, naming the fields.
MODEL_ONLY_REFUSALS = [
    (ORDER_PLACED, ("lines", 0, "line_total_minor"), 1, "line_total_minor"),
    ("com.nightshift.inventory.feed.processed.v1", ("rows_applied",), 1, "rows_total"),
    ("com.nightshift.inventory.stock.adjusted.v1", ("delta",), 0, "delta"),
    ("com.nightshift.inventory.stock.adjusted.v1", ("currency",), None, "unit_cost_minor and currency"),
    ("com.nightshift.inventory.stock.low.v1", ("on_hand",), 11, "reorder_point"),
    ("com.nightshift.inventory.reservation.rejected.v1", ("short_lines", 0, "available"), 6, "available"),
    ("com.nightshift.reporting.report.published.v1", ("headline", "net_minor"), 1, "net_minor"),
    ("com.nightshift.reporting.report.published.v1", ("period_end",), "2026-11-27T00:00:00Z", "period_end"),
    ("com.nightshift.migration.order.migrated.v1", ("order", "legacy_id"), "OMS-1", "legacy_id"),
    ("com.nightshift.migration.run.completed.v1", ("records_rejected",), 10**9, "records_read"),
]


@pytest.mark.parametrize(("event_type", "path", "value", "named"), MODEL_ONLY_REFUSALS)
def test_cross_field_rules_are_refused_by_the_model_naming_the_fields(
    contracts_root: Path, event_type: str, path: tuple[str | int, ...], value: Any, named: str
) -> None:
    data = _set(_example_data(contracts_root, event_type), path, value)
    assert named in _refusal(event_type, data)


def test_a_missing_required_field_is_named(contracts_root: Path) -> None:
    data = _example_data(contracts_root, ORDER_PLACED)
    del data["customer_id"]
    assert "customer_id" in _refusal(ORDER_PLACED, data)


def test_unknown_fields_from_a_newer_producer_are_ignored(contracts_root: Path) -> None:
    data = _example_data(contracts_root, ORDER_PLACED)
    field = f"added_{uuid.uuid4().hex[:8]}"
    data[field] = {"anything": [1, 2]}
    parsed = model_for(ORDER_PLACED).model_validate(data)
    assert field not in parsed.model_dump()


def test_a_utc_time_with_zero_offset_is_accepted_and_serialised_as_z(contracts_root: Path) -> None:
    data = _set(_example_data(contracts_root, ORDER_PLACED), ("placed_at",), "2026-11-28T21:14:03+00:00")
    parsed = model_for(ORDER_PLACED).model_validate(data)
    assert parsed.model_dump(mode="json")["placed_at"] == "2026-11-28T21:14:03Z"


def test_models_are_immutable(contracts_root: Path) -> None:
    parsed = model_for(ORDER_PLACED).model_validate(_example_data(contracts_root, ORDER_PLACED))
    with pytest.raises(ValidationError, match="frozen"):
        parsed.order_id = "other"  # type: ignore[attr-defined]
