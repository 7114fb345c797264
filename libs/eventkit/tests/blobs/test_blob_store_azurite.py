"""The Azure Blob adapter passes the BlobStore contract against Azurite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eventkit.blobs import AzureBlobStore, BlobStore, PreconditionFailed
from eventkit.testing.azurite import Azurite, AzuriteNotInstalled, find_azurite_blob
from eventkit.testing.blob_contract import MIB, BlobStoreContract, random_name


class TestAzureBlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self, azurite: Azurite) -> Iterator[BlobStore]:
        with AzureBlobStore.from_connection_string(azurite.connection_string) as store:
            yield store


def test_a_stream_whose_blob_is_overwritten_mid_read_fails_rather_than_mixing_versions(
    azurite: Azurite,
) -> None:
    with AzureBlobStore.from_connection_string(azurite.connection_string) as store:
        container = random_name("c")
        store.create_container(container)
        store.put(container, "big", b"a" * (9 * MIB))
        with store.open_read(container, "big") as stream:
            assert stream.read(1024) == b"a" * 1024
            store.put(container, "big", b"b" * (9 * MIB))
            with pytest.raises(PreconditionFailed, match="changed while being read"):
                while stream.read(MIB):
                    pass


def test_a_missing_azurite_install_fails_saying_to_run_npm_ci(tmp_path: Path) -> None:
    with pytest.raises(AzuriteNotInstalled, match="run `npm ci`"):
        find_azurite_blob(tmp_path)


def test_azurite_is_found_in_the_repository_node_modules() -> None:
    assert find_azurite_blob().parts[-3:] == ("node_modules", ".bin", "azurite-blob")
