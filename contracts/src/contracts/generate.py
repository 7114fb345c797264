"""`python -m contracts.generate`: write each model's JSON Schema to `schemas/<type>.json`.

    python -m contracts.generate          # write missing schemas, refresh unreleased ones
    python -m contracts.generate --check  # write nothing; exit 1 listing every file out of date

A released schema (listed in `schemas/released.json`) is never overwritten: if its model now
renders differently, the command refuses, names the file, and says to add a new major version.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from contracts.errors import ContractError, ReleasedSchemaOverwrite
from contracts.files import default_root, schema_files, schemas_dir
from contracts.registry import EVENT_TYPES, schema_file_name
from contracts.release import read_manifest
from contracts.schema import render_schema


@dataclass
class GenerationReport:
    """What `generate` found (and, unless checking, did) for each schema file."""

    written: list[str] = field(default_factory=list)
    """Files that were missing (created, or would be with --check)."""
    refreshed: list[str] = field(default_factory=list)
    """Unreleased files whose content differed from the model (rewritten, or would be)."""
    unchanged: list[str] = field(default_factory=list)
    refused: list[ReleasedSchemaOverwrite] = field(default_factory=list)
    """Released files whose model renders differently; never overwritten."""
    orphans: list[str] = field(default_factory=list)
    """Schema files naming no known event type."""

    @property
    def up_to_date(self) -> bool:
        """True when every schema file equals its model's rendering and none is orphaned."""
        return not (self.written or self.refreshed or self.refused or self.orphans)


def generate(directory: Path, *, check: bool = False) -> GenerationReport:
    """Compare every model's rendering with `directory`; unless `check`, write missing files and
    refresh unreleased ones. Released files are never written (see `GenerationReport.refused`).
    """
    released = read_manifest(directory)
    report = GenerationReport()
    expected_names = set()
    for event_type in EVENT_TYPES:
        name = schema_file_name(event_type)
        expected_names.add(name)
        path = directory / name
        text = render_schema(event_type)
        if not path.exists():
            report.written.append(name)
        elif path.read_text(encoding="utf-8") == text:
            report.unchanged.append(name)
            continue
        elif name in released:
            report.refused.append(ReleasedSchemaOverwrite(name))
            continue
        else:
            report.refreshed.append(name)
        if not check:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    report.orphans = [p.name for p in schema_files(directory) if p.name not in expected_names]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m contracts.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if out of date")
    parser.add_argument("--root", type=Path, help="the contracts/ folder (default: this checkout's)")
    args = parser.parse_args(argv)
    try:
        report = generate(schemas_dir(args.root or default_root()), check=args.check)
    except ContractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    verb = "missing" if args.check else "wrote"
    for name in report.written:
        print(f"{verb}: {name}")
    for name in report.refreshed:
        print(f"{'out of date' if args.check else 'refreshed'} (unreleased): {name}")
    for refusal in report.refused:
        print(f"error: {refusal}", file=sys.stderr)
    for name in report.orphans:
        print(f"error: {name} names no known event type (remove it, or add its model)", file=sys.stderr)
    if report.refused or report.orphans or (args.check and not report.up_to_date):
        return 1
    print(f"{len(report.unchanged)} schema(s) unchanged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
