"""Fixtures for the BlobStore tests: one Azurite per test session.

Azurite comes from `npm ci` at the repository root. If it is missing the Azurite tests fail
(they do not skip): the Blob adapter must be checked against the emulator on every run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventkit.testing.azurite import Azurite, run_azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    with run_azurite() as running:
        yield running
