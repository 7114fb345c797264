"""Where the committed contract files lie: `contracts/schemas/`, `contracts/examples/`,
`contracts/asyncapi.yaml`. Only the command-line tools and the tests read or write them; importing
`contracts` never touches the file system.
"""

from __future__ import annotations

from pathlib import Path

from contracts.errors import ContractError

MANIFEST_NAME = "released.json"
"""The released-schema manifest under `schemas/`: file name -> sha256 of its released bytes."""


class ContractsRootNotFound(ContractError):
    """The `contracts/` folder (holding `schemas/`) could not be found."""


def default_root() -> Path:
    """The `contracts/` folder of the source checkout this package was installed from (editable).

    Raises `ContractsRootNotFound` when the package was installed without its source tree; pass
    `--root PATH/TO/contracts` to the tools then.
    """
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "src" / "contracts").is_dir():
        raise ContractsRootNotFound(
            f"{root} is not the contracts/ source folder (the package is not an editable install); "
            "pass --root PATH/TO/contracts"
        )
    return root


def schemas_dir(root: Path) -> Path:
    """`<root>/schemas`, where one `<event type>.json` per type lies beside `released.json`."""
    return root / "schemas"


def examples_dir(root: Path) -> Path:
    """`<root>/examples`, holding one folder of example CloudEvents per event type."""
    return root / "examples"


def asyncapi_path(root: Path) -> Path:
    """`<root>/asyncapi.yaml`."""
    return root / "asyncapi.yaml"


def schema_files(directory: Path) -> list[Path]:
    """The schema files in `directory` (every `*.json` except the manifest), sorted by name."""
    return sorted(p for p in directory.glob("*.json") if p.name != MANIFEST_NAME)
