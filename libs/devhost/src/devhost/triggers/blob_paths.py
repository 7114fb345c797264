"""Blob paths with binding expressions, as the Functions host reads them.

A blob trigger's ``path`` is ``<container>/<blob name pattern>``: ``inventory-uploads/{name}``,
``feeds/{supplier}/{file}.csv``. Every ``{parameter}`` matches one or more characters, ``/``
included, so ``{name}`` in ``inventory-uploads/{name}`` is the whole rest of the blob name
(``acme/2026-03-01.csv``); with several parameters the earlier ones take as little as they can.
The values matched are the trigger's *binding data*, which output and input binding paths use
(``inventory-quarantine/{name}.rejected.csv``); parameter names match case-insensitively, as
in Azure. ``{rand-guid}`` and ``{DateTime}`` are the host's built-in expressions.

The binding data of the invocation being run travels in the ``current_binding_data`` context
variable: the trigger sets it before invoking, and output handlers read it (the invoker runs
each invocation in a task that copies the caller's context).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from devhost.errors import DevhostError

_PARAMETER = re.compile(r"\{([^{}]+)\}")

_NO_DATA: Mapping[str, str] = MappingProxyType({})
current_binding_data: ContextVar[Mapping[str, str]] = ContextVar("current_binding_data", default=_NO_DATA)
"""The binding data (path parameters, ``BlobTrigger``...) of the invocation running in this context."""


class BlobPathError(DevhostError):
    """A blob path is malformed, or names a binding expression the invocation has no value for."""


@dataclass(frozen=True)
class BlobPathPattern:
    """A trigger path split into its container and a matcher for blob names."""

    container: str
    name_pattern: str
    parameters: tuple[str, ...]
    _regex: re.Pattern[str]

    @classmethod
    def parse(cls, path: str) -> BlobPathPattern:
        """Parse ``container/pattern``; raises BlobPathError when no blob name part is given.

        The container part may not hold expressions (Azure's blob trigger needs a fixed container).
        """
        container, slash, pattern = path.strip().lstrip("/").partition("/")
        if not slash or not pattern:
            raise BlobPathError(
                f"blob path {path!r} must be '<container>/<blob name pattern>', e.g. 'uploads/{{name}}'"
            )
        if "{" in container or "}" in container:
            raise BlobPathError(f"blob path {path!r}: the container part may not hold binding expressions")
        parameters: list[str] = []
        regex = ""
        position = 0
        for match in _PARAMETER.finditer(pattern):
            regex += re.escape(pattern[position : match.start()])
            parameter = match.group(1).strip()
            if not parameter.isidentifier():
                raise BlobPathError(f"blob path {path!r}: {{{parameter}}} is not a valid parameter name")
            if parameter.lower() in (p.lower() for p in parameters):
                raise BlobPathError(f"blob path {path!r}: parameter {{{parameter}}} appears twice")
            parameters.append(parameter)
            regex += f"(?P<{parameter}>.+?)"
            position = match.end()
        rest = pattern[position:]
        if "{" in rest or "}" in rest:
            raise BlobPathError(f"blob path {path!r}: unbalanced braces")
        regex += re.escape(rest)
        return cls(container, pattern, tuple(parameters), re.compile(regex, re.DOTALL))

    def match(self, blob_name: str) -> dict[str, str] | None:
        """The parameter values when ``blob_name`` (without container) matches, else None."""
        found = self._regex.fullmatch(blob_name)
        return None if found is None else dict(found.groupdict())


def resolve_path(template: str, binding_data: Mapping[str, str], *, what: str) -> str:
    """Replace every ``{expression}`` in ``template`` from ``binding_data`` (case-insensitively).

    ``{rand-guid}`` is a new GUID and ``{DateTime}`` the current UTC time, as the host's
    built-ins. Raises BlobPathError naming ``what`` (the binding) and the missing expression.
    """
    lowered = {key.lower(): value for key, value in binding_data.items()}

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        key = expression.lower()
        if key in lowered:
            return lowered[key]
        if key == "rand-guid":
            return str(uuid.uuid4())
        if key == "datetime":
            return datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
        known = ", ".join(sorted(binding_data)) or "none"
        raise BlobPathError(
            f"{what}: path {template!r} uses {{{expression}}}, which the trigger does not provide "
            f"(binding data: {known})"
        )

    return _PARAMETER.sub(replace, template)


def split_blob_path(path: str) -> tuple[str, str]:
    """``container/name`` → (container, name); raises BlobPathError when either part is empty."""
    container, _, name = path.strip().lstrip("/").partition("/")
    if not container or not name:
        raise BlobPathError(f"blob path {path!r} must be '<container>/<blob name>'")
    return container, name
