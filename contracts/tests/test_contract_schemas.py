"""The committed JSON Schemas are exactly what the models render, and the generator keeps them so
without ever rewriting a released one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from contracts import EVENT_TYPES, schema_id
from contracts.generate import generate, main
from contracts.schema import JSON_SCHEMA_DIALECT, render_schema


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_the_committed_schema_is_exactly_what_the_model_renders(
    contracts_root: Path, event_type: str
) -> None:
    committed = (contracts_root / "schemas" / f"{event_type}.json").read_text(encoding="utf-8")
    assert committed == render_schema(event_type), (
        f"schemas/{event_type}.json differs from its model; run `python -m contracts.generate` "
        "(unreleased) or revert the model change (released)"
    )


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_each_schema_is_a_valid_2020_12_schema_with_its_id_and_documentation(
    committed_schema: Callable[[str], dict[str, Any]], event_type: str
) -> None:
    schema = committed_schema(event_type)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert schema["$id"] == schema_id(event_type)
    assert schema["title"] and schema["description"]
    assert schema["type"] == "object"
    assert "additionalProperties" not in schema, "consumers must accept fields added by newer producers"


def test_schema_ids_live_under_the_reserved_example_domain() -> None:
    for event_type in EVENT_TYPES:
        assert schema_id(event_type) == f"https://schemas.nightshift.example/events/{event_type}.json"


def test_the_generator_check_finds_the_committed_tree_up_to_date(contracts_root: Path) -> None:
    report = generate(contracts_root / "schemas", check=True)
    assert report.up_to_date, report


def test_the_generator_writes_a_missing_schema_and_leaves_the_others(schemas_copy: Path) -> None:
    missing = "com.nightshift.orders.order.placed.v1.json"
    (schemas_copy / missing).unlink()
    report = generate(schemas_copy)
    assert report.written == [missing]
    assert len(report.unchanged) == len(EVENT_TYPES) - 1
    assert (schemas_copy / missing).read_text() == render_schema("com.nightshift.orders.order.placed.v1")


def test_the_generator_check_mode_reports_but_writes_nothing(schemas_copy: Path) -> None:
    missing = "com.nightshift.orders.order.confirmed.v1.json"
    (schemas_copy / missing).unlink()
    report = generate(schemas_copy, check=True)
    assert report.written == [missing] and not report.up_to_date
    assert not (schemas_copy / missing).exists()


def test_the_generator_refreshes_an_unreleased_schema(schemas_copy: Path) -> None:
    name = "com.nightshift.inventory.stock.low.v1.json"
    _unrelease(schemas_copy, name)
    (schemas_copy / name).write_text("{}\n")
    report = generate(schemas_copy)
    assert report.refreshed == [name]
    assert (schemas_copy / name).read_text() == render_schema("com.nightshift.inventory.stock.low.v1")


def test_the_generator_refuses_to_overwrite_a_released_schema_and_says_what_to_do(
    schemas_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "com.nightshift.inventory.stock.low.v1.json"
    _release_all(schemas_copy)
    stale = json.dumps({"$id": "tampered"}) + "\n"
    (schemas_copy / name).write_text(stale)
    report = generate(schemas_copy)
    assert [r.file_name for r in report.refused] == [name]
    assert (schemas_copy / name).read_text() == stale, "a released file must never be rewritten"
    assert main(["--root", str(schemas_copy.parent)]) == 1
    err = capsys.readouterr().err
    assert name in err and "released schemas never change" in err.lower() and "v2" in err


def test_the_generator_flags_a_schema_file_naming_no_event_type(schemas_copy: Path) -> None:
    (schemas_copy / "com.nightshift.orders.order.teleported.v1.json").write_text("{}\n")
    report = generate(schemas_copy, check=True)
    assert report.orphans == ["com.nightshift.orders.order.teleported.v1.json"]


def _release_all(directory: Path) -> None:
    from contracts.release import release_new

    release_new(directory)


def _unrelease(directory: Path, name: str) -> None:
    from contracts.release import read_manifest, write_manifest

    manifest = read_manifest(directory)
    manifest.pop(name, None)
    write_manifest(directory, manifest)
