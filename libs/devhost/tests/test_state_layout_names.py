"""The state folder turns database, container and app names into file names only when they are safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.state import StateLayout, StateLayoutError


def test_a_plain_container_name_becomes_its_database_file(tmp_path: Path) -> None:
    layout = StateLayout(tmp_path)

    assert (
        layout.cosmos_container_path("nightshift", "orders-v2")
        == tmp_path / "cosmos" / "nightshift" / "orders-v2.db"
    )


@pytest.mark.parametrize(
    "name", ["", "../orders", "or..ders", "orders/x", "-orders", "orders\n", "has space"]
)
def test_a_name_that_would_leave_or_break_the_state_folder_is_refused_by_name(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(StateLayoutError, match="container name"):
        StateLayout(tmp_path).cosmos_container_path("nightshift", name)
