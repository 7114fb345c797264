"""Blob and container name rules shared by every adapter (eventkit.blobs.names)."""

from __future__ import annotations

import re

import pytest

from eventkit.blobs import InvalidBlobName, InvalidContainerName, validate_blob_name, validate_container_name
from eventkit.testing.blob_contract import BAD_BLOB_NAMES, BAD_CONTAINER_NAMES

GOOD_BLOB_NAMES = [
    "a",
    "feeds/2024-06-01/acme.csv",
    ".hidden",
    "a..b",
    "...",
    "x" * 255,
    "caf\u00e9/\u65e5\u672c.csv",
]


@pytest.mark.parametrize("name", GOOD_BLOB_NAMES)
def test_ordinary_blob_names_are_accepted_unchanged(name: str) -> None:
    assert validate_blob_name(name) == name


@pytest.mark.parametrize("name", BAD_BLOB_NAMES, ids=repr)
def test_a_bad_blob_name_is_refused_with_the_name_and_the_reason(name: str) -> None:
    with pytest.raises(InvalidBlobName) as refused:
        validate_blob_name(name)
    assert refused.value.name == name
    assert str(refused.value) == f"invalid blob name {name!r}: {refused.value.reason}"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../x", "'..' path segments"),
        ("/etc/passwd", "absolute"),
        ("a\\b", "backslash"),
        ("a\x00b", "U+0000"),
        ("x" * 1025, "1025 characters"),
        ("a/", "trailing '/'"),
        ("a/.tmp-1", "reserved for temporary files"),
        ("\ud800", "lone surrogate"),
        ("x" * 256, "longer than 255 bytes"),
    ],
)
def test_the_refusal_says_what_was_wrong(name: str, reason: str) -> None:
    with pytest.raises(InvalidBlobName, match=re.escape(reason)):
        validate_blob_name(name)


@pytest.mark.parametrize("container", ["abc", "inventory-uploads", "a1-b2-c3", "x" * 63, "123"])
def test_azure_container_names_are_accepted(container: str) -> None:
    assert validate_container_name(container) == container


@pytest.mark.parametrize("container", BAD_CONTAINER_NAMES, ids=repr)
def test_a_container_name_breaking_azures_rules_is_refused(container: str) -> None:
    with pytest.raises(InvalidContainerName, match="invalid container name"):
        validate_container_name(container)
