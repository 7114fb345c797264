"""The commands contracts/README.md shows, run as a user would type them, pass on the committed tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "module",
    ["contracts.generate", "contracts.release", "contracts.asyncapi"],
)
def test_the_check_commands_pass_on_the_committed_tree(contracts_root: Path, module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--check"],
        cwd=contracts_root.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_generator_command_refuses_a_tampered_released_schema(schemas_copy: Path) -> None:
    name = "com.nightshift.orders.order.placed.v1.json"
    (schemas_copy / name).write_text("{}\n")
    done = subprocess.run(
        [sys.executable, "-m", "contracts.generate", "--root", str(schemas_copy.parent)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert name in done.stderr and "add a new major version (...v2)" in done.stderr
    assert (schemas_copy / name).read_text() == "{}\n"
