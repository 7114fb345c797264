"""RFC 9457 problem details, as the services' HTTP APIs answer errors.

A `ProblemDetails` holds the standard members (`type`, `title`, `status`, `detail`, `instance`)
and any extension members; `to_json()` is the `application/problem+json` body. eventkit does not
depend on `azure.functions`, so a service builds its response in one call::

    details = ProblemDetails(404, PROBLEM_BASE + "unknown-sku", "Unknown SKU", detail, req.url)
    func.HttpResponse(details.to_json(), status_code=details.status, mimetype=PROBLEM_CONTENT_TYPE)

Each service keeps its own problem `type` URIs and titles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
STANDARD_MEMBERS = ("type", "title", "status", "detail", "instance")


class ExtensionClash(ValueError):
    """An extension member reuses a standard member's name (RFC 9457 section 3.2 forbids it)."""


@dataclass(frozen=True)
class ProblemDetails:
    """One problem: the standard members, then `extensions` in their given order.

    An extension whose value is `None` is left out of the body, so a caller can pass an optional
    member as is. Raises `ExtensionClash` for an extension named like a standard member and
    `ValueError` for a status that is not an HTTP status code (100-599).
    """

    status: int
    type: str
    title: str
    detail: str
    instance: str
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 599:
            raise ValueError(f"problem status {self.status} is not an HTTP status code (100-599)")
        clashes = sorted(set(self.extensions) & set(STANDARD_MEMBERS))
        if clashes:
            raise ExtensionClash(f"extension members {clashes} reuse standard problem members; rename them")

    def body(self) -> dict[str, Any]:
        """The JSON object: standard members first, then the extensions that are not `None`."""
        members: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": self.instance,
        }
        members.update((name, value) for name, value in self.extensions.items() if value is not None)
        return members

    def to_json(self) -> str:
        """The `application/problem+json` body as text (`json.dumps` of `body()`).

        Raises `TypeError` when an extension value is not JSON-serializable."""
        return json.dumps(self.body())
