"""Released schema files never change: the committed manifest pins each one's sha256."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts import EVENT_TYPES, ReleasedSchemaChanged
from contracts.release import (
    ManifestInvalid,
    main,
    read_manifest,
    release_new,
    released_changes,
    sha256_of,
    unreleased,
    verify_released,
)


def test_every_v1_schema_is_released_in_the_committed_manifest(contracts_root: Path) -> None:
    manifest = read_manifest(contracts_root / "schemas")
    assert set(manifest) == {f"{t}.json" for t in EVENT_TYPES}


def test_no_released_schema_has_changed(contracts_root: Path) -> None:
    changes = released_changes(contracts_root / "schemas")
    assert not changes, "\n".join(str(c) for c in changes)


def test_modifying_a_released_schema_fails_naming_the_file_and_asking_for_a_new_version(
    schemas_copy: Path,
) -> None:
    name = "com.nightshift.orders.order.placed.v1.json"
    schema = json.loads((schemas_copy / name).read_text())
    schema["properties"]["coupon"] = {"type": "string"}
    (schemas_copy / name).write_text(json.dumps(schema, indent=2) + "\n")
    with pytest.raises(ReleasedSchemaChanged) as caught:
        verify_released(schemas_copy)
    message = str(caught.value)
    assert name in message
    assert "released schemas never change" in message
    assert "add a new major version (...v2) beside it instead" in message


def test_deleting_a_released_schema_fails_too(schemas_copy: Path) -> None:
    name = "com.nightshift.inventory.stock.low.v1.json"
    (schemas_copy / name).unlink()
    assert [c.file_name for c in released_changes(schemas_copy)] == [name]


def test_a_new_unreleased_schema_is_allowed_until_it_is_released(schemas_copy: Path) -> None:
    new = "com.nightshift.orders.order.placed.v2.json"
    (schemas_copy / new).write_text('{"title": "draft"}\n')
    verify_released(schemas_copy)
    assert unreleased(schemas_copy) == [new]
    (schemas_copy / new).write_text('{"title": "draft, revised"}\n')
    verify_released(schemas_copy)

    assert release_new(schemas_copy) == [new]
    assert read_manifest(schemas_copy)[new] == sha256_of(schemas_copy / new)
    (schemas_copy / new).write_text('{"title": "changed after release"}\n')
    with pytest.raises(ReleasedSchemaChanged, match=r"orders\.order\.placed\.v2\.json"):
        verify_released(schemas_copy)


def test_releasing_refuses_while_a_released_schema_is_modified(schemas_copy: Path) -> None:
    changed = "com.nightshift.orders.order.cancelled.v1.json"
    (schemas_copy / changed).write_text("{}\n")
    (schemas_copy / "com.nightshift.orders.order.cancelled.v2.json").write_text("{}\n")
    before = (schemas_copy / "released.json").read_text()
    with pytest.raises(ReleasedSchemaChanged, match=changed):
        release_new(schemas_copy)
    assert (schemas_copy / "released.json").read_text() == before


def test_the_release_command_check_exits_1_naming_the_changed_file(
    schemas_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = "com.nightshift.reporting.report.published.v1.json"
    with (schemas_copy / changed).open("a") as f:
        f.write(" ")
    assert main(["--check", "--root", str(schemas_copy.parent)]) == 1
    err = capsys.readouterr().err
    assert changed in err and "v2" in err


def test_the_release_command_check_passes_on_the_committed_tree(
    contracts_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--check", "--root", str(contracts_root)]) == 0
    assert "released schemas unchanged" in capsys.readouterr().out


def test_a_malformed_manifest_is_reported_as_such(schemas_copy: Path) -> None:
    (schemas_copy / "released.json").write_text('{"x.json": "not-a-hash"}')
    with pytest.raises(ManifestInvalid, match=r"x\.json"):
        read_manifest(schemas_copy)
