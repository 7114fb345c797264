"""Fixtures for the embedded Service Bus tests: a namespace on a manual clock, random names."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventkit.bus.servicebus import EmbeddedServiceBus
from eventkit.bus.servicebus.testing import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "servicebus.db"


@pytest.fixture
def bus(db_path: Path, clock: ManualClock) -> Iterator[EmbeddedServiceBus]:
    namespace = EmbeddedServiceBus(db_path, clock=clock)
    yield namespace
    namespace.close()


@pytest.fixture
def new_name() -> Callable[[str], str]:
    """Random entity names, so no test depends on another's entities."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"
