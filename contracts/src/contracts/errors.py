"""The exceptions `contracts` raises; all derive from `ContractError`."""

from __future__ import annotations


class ContractError(Exception):
    """Base of every error raised by the contracts package."""


class UnknownEventType(ContractError, LookupError):
    """An event type string names no known contract (wrong name, or a version not yet defined)."""

    def __init__(self, event_type: str) -> None:
        self.event_type = event_type
        super().__init__(
            f"unknown event type {event_type!r}: no contract defines it "
            "(see contracts.EVENT_TYPES for the known types)"
        )


class UnknownChannel(ContractError, LookupError):
    """A topic or event hub name that `contracts.topology` does not declare."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"unknown {kind} {name!r}: contracts.topology declares no such {kind}")


class ReleasedSchemaChanged(ContractError):
    """A released schema file differs from the hash recorded when it was released."""

    def __init__(self, file_name: str, expected_sha256: str, actual_sha256: str | None) -> None:
        self.file_name = file_name
        self.expected_sha256 = expected_sha256
        self.actual_sha256 = actual_sha256
        what = "was deleted" if actual_sha256 is None else "was modified"
        super().__init__(
            f"released schema {file_name} {what} (released sha256 {expected_sha256}, "
            f"now {actual_sha256 or 'missing'}): released schemas never change; "
            "add a new major version (...v2) beside it instead"
        )


class ReleasedSchemaOverwrite(ContractError):
    """The generator was asked to rewrite a released schema whose model now renders differently."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        super().__init__(
            f"refusing to overwrite released schema {file_name}: its model no longer matches it. "
            "Released schemas never change; revert the model change, or add a new major version "
            "(...v2) beside it instead"
        )
