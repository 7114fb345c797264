"""Fixtures that start ``devhost run`` as a real subprocess on free ports with a temporary state folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devhost.testing import DevhostProcess, free_port_block

APPS = Path(__file__).parent / "apps"


@pytest.fixture
def start_devhost(tmp_path: Path) -> Iterator[Callable[..., DevhostProcess]]:
    """Start ``devhost run`` for app folders; every started host is stopped after the test."""
    started: list[DevhostProcess] = []

    def start(
        apps: list[Path], *extra: str, env: dict[str, str] | None = None, state: Path | None = None
    ) -> DevhostProcess:
        port = free_port_block(len(apps))
        host = DevhostProcess(apps, state or tmp_path / "state", port, list(extra), env or {})
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()
