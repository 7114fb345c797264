"""Where inventory's blob store is: the embedded folder for the emulator string, else the storage
account the Functions host reads from the same connection settings, as the same identity."""

from __future__ import annotations

from pathlib import Path

import pytest
from inventory.bootstrap import SettingMissing, build_blobs

from eventkit.blobs import FileSystemBlobStore
from eventkit.blobs.azure import AzureBlobStore

ACCOUNT = "https://acme.blob.core.windows.net"


@pytest.mark.parametrize("setting", ["InventoryStorage__blobServiceUri", "InventoryStorage__serviceUri"])
def test_either_service_uri_spelling_means_that_account_as_the_connections_identity(setting: str) -> None:
    asked: list[str | None] = []
    env = {
        setting: ACCOUNT,
        "InventoryStorage__credential": "managedidentity",
        "InventoryStorage__clientId": "id-7",
    }

    blobs = build_blobs(env, lambda client_id: asked.append(client_id) or "token")

    assert isinstance(blobs, AzureBlobStore)
    assert asked == ["id-7"]


def test_the_emulator_string_means_the_state_folders_blobs(tmp_path: Path) -> None:
    env = {"InventoryStorage": "UseDevelopmentStorage=true", "DEVHOST_STATE_DIR": str(tmp_path)}

    assert isinstance(build_blobs(env), FileSystemBlobStore)


def test_no_storage_setting_is_refused_naming_the_settings() -> None:
    with pytest.raises(SettingMissing, match="InventoryStorage__blobServiceUri"):
        build_blobs({})
