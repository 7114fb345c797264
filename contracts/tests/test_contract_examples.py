"""Every committed example is a complete Nightshift CloudEvent whose data validates against the
committed schema and parses with the model, and what the models serialise validates too."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from contracts import EVENT_TYPES, model_for, schema_id
from contracts.envelope_schema import envelope_schema

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*/*.json"))


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.name}" for p in paths]


def _errors(validator: Draft202012Validator, instance: object) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


def test_every_event_type_has_at_least_one_example(contracts_root: Path) -> None:
    assert {p.parent.name for p in EXAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_an_example_is_a_valid_cloudevent_envelope(
    path: Path, validator_for: Callable[[dict[str, Any]], Draft202012Validator]
) -> None:
    event = json.loads(path.read_text())
    assert _errors(validator_for(envelope_schema()), event) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_an_example_s_data_validates_against_its_committed_schema(
    path: Path,
    validator_for: Callable[[dict[str, Any]], Draft202012Validator],
    committed_schema: Callable[[str], dict[str, Any]],
) -> None:
    event = json.loads(path.read_text())
    assert _errors(validator_for(committed_schema(path.parent.name)), event["data"]) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_an_example_parses_with_its_model_and_its_envelope_agrees_with_it(path: Path) -> None:
    event = json.loads(path.read_text())
    event_type = path.parent.name
    model = model_for(event_type)
    data = model.model_validate(event["data"])
    assert event["type"] == event_type
    assert event["dataschema"] == schema_id(event_type)
    assert event["source"] == f"/nightshift/{model.PRODUCER}"
    assert event["subject"] == event["partitionkey"] == data.partition_key()
    assert event["datacontenttype"] == "application/json"


@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_what_a_producer_serialises_validates_against_the_schema_and_parses_back(
    path: Path,
    validator_for: Callable[[dict[str, Any]], Draft202012Validator],
    committed_schema: Callable[[str], dict[str, Any]],
) -> None:
    model = model_for(path.parent.name)
    parsed = model.model_validate(json.loads(path.read_text())["data"])
    validator = validator_for(committed_schema(path.parent.name))
    for produced in (parsed.model_dump(mode="json"), parsed.model_dump(mode="json", exclude_none=True)):
        assert _errors(validator, produced) == []
        assert model.model_validate(produced) == parsed


def test_the_strict_date_time_checker_is_really_checking(
    validator_for: Callable[[dict[str, Any]], Draft202012Validator],
) -> None:
    validator = validator_for({"type": "string", "format": "date-time"})
    assert not validator.is_valid("2026-02-30T00:00:00Z")
    assert not validator.is_valid("yesterday Z")
    assert validator.is_valid("2026-02-28T00:00:00Z")
