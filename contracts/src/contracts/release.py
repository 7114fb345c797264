"""Released-schema immutability: a manifest of sha256 hashes, and `python -m contracts.release`.

A schema file is released once its name and hash are in `schemas/released.json`. From then on
its bytes never change: a breaking change is a new major version (`...v2.json`) beside it.
Unreleased files may change freely until released. (How an optional field is added within a
released version is discussed in contracts/README.md.)

    python -m contracts.release           # verify, then add every unreleased schema to the manifest
    python -m contracts.release --check   # verify only; exit 1 naming each changed released file
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from contracts.errors import ContractError, ReleasedSchemaChanged
from contracts.files import MANIFEST_NAME, default_root, schema_files, schemas_dir


class ManifestInvalid(ContractError):
    """`released.json` is not a JSON object of file name -> 64-hex-digit sha256."""


def sha256_of(path: Path) -> str:
    """The hex sha256 of the file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(directory: Path) -> dict[str, str]:
    """The released manifest in `directory` ({} when there is none). Raises `ManifestInvalid`."""
    path = directory / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ManifestInvalid(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ManifestInvalid(f"{path} must be a JSON object of file name -> sha256")
    manifest: dict[str, str] = {}
    for name, digest in loaded.items():
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            raise ManifestInvalid(f"{path}: entry {name!r} must be a lower-case hex sha256, got {digest!r}")
        manifest[name] = digest
    return manifest


def write_manifest(directory: Path, manifest: dict[str, str]) -> None:
    """Write the manifest sorted by file name, 2-space JSON with a trailing newline."""
    text = json.dumps(dict(sorted(manifest.items())), indent=2) + "\n"
    (directory / MANIFEST_NAME).write_text(text, encoding="utf-8")


def released_changes(directory: Path) -> list[ReleasedSchemaChanged]:
    """One `ReleasedSchemaChanged` per released file in `directory` that was modified or deleted."""
    changes = []
    for name, expected in sorted(read_manifest(directory).items()):
        path = directory / name
        actual = sha256_of(path) if path.exists() else None
        if actual != expected:
            changes.append(ReleasedSchemaChanged(name, expected, actual))
    return changes


def verify_released(directory: Path) -> None:
    """Raise `ReleasedSchemaChanged` for the first released file that no longer matches its hash."""
    changes = released_changes(directory)
    if changes:
        raise changes[0]


def unreleased(directory: Path) -> list[str]:
    """Names of schema files in `directory` that are not in the manifest yet."""
    manifest = read_manifest(directory)
    return [p.name for p in schema_files(directory) if p.name not in manifest]


def release_new(directory: Path) -> list[str]:
    """Add every unreleased schema file to the manifest; return their names.

    Verifies the released files first and raises `ReleasedSchemaChanged` (adding nothing) if one
    changed, so a modified file can never be re-released under its old name.
    """
    verify_released(directory)
    manifest = read_manifest(directory)
    added = unreleased(directory)
    for name in added:
        manifest[name] = sha256_of(directory / name)
    if added:
        write_manifest(directory, manifest)
    return added


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: release new schemas, or `--check` that released ones are unchanged."""
    parser = argparse.ArgumentParser(prog="python -m contracts.release", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify only; change nothing")
    parser.add_argument("--root", type=Path, help="the contracts/ folder (default: this checkout's)")
    args = parser.parse_args(argv)
    try:
        directory = schemas_dir(args.root or default_root())
        changes = released_changes(directory)
        for change in changes:
            print(f"error: {change}", file=sys.stderr)
        if changes:
            return 1
        if args.check:
            pending = unreleased(directory)
            print(f"released schemas unchanged; {len(pending)} unreleased: {', '.join(pending) or 'none'}")
            return 0
        added = release_new(directory)
    except ContractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"released {len(added)} schema(s)" + "".join(f"\n  {n}" for n in added))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
