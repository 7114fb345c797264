"""What the services' HTTP APIs share (contracts/openapi/*.yaml): the SKU rule and the problem kinds
both APIs answer.

The OpenAPI documents are the contract; `tests/test_contract_api_rules.py` checks that the values
here are the ones they state, so a service that checks a SKU with `SKU_PATTERN` refuses exactly
what its spec refuses. Each service builds its own responses (`eventkit.http.problems`); this
module holds no HTTP code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROBLEM_BASE = "https://nightshift.example/problems/"
"""Every problem `type` URI is this base followed by the problem's kind."""

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
"""A SKU as the APIs and inventory's supplier feeds accept it: 1-64 letters, digits and `._/-`,
starting with a letter or digit (the events' `Sku` is looser: any 1-64 non-space characters).
Check text with `is_sku`: `SKU_PATTERN.match` would also take a SKU followed by a line break."""


def is_sku(text: str) -> bool:
    """Whether the whole of `text` is a SKU by `SKU_PATTERN` (a trailing line break is not)."""
    return SKU_PATTERN.fullmatch(text) is not None


@dataclass(frozen=True)
class ProblemKind:
    """A problem both APIs answer the same way: status, kind (the end of its `type` URI), title
    and the detail a client reads."""

    status: int
    kind: str
    title: str
    detail: str

    @property
    def type(self) -> str:
        """The problem's `type` URI."""
        return PROBLEM_BASE + self.kind


INVALID_SKU = ProblemKind(
    400,
    "invalid-sku",
    "Invalid SKU",
    "a SKU is 1-64 letters, digits and ._/-, starting with a letter or digit",
)
"""A path or body names a SKU that `SKU_PATTERN` refuses: no feed could have recorded it."""


SERVICE_UNAVAILABLE = ProblemKind(
    503,
    "service-unavailable",
    "Service unavailable",
    "the store is throttling or unavailable for now, so the request may not have been applied; "
    "sending it again after the Retry-After seconds is safe",
)
"""The store said "not now" (throttled, unavailable) or a hot stream kept clashing: answered with
`Retry-After`, never as a 500."""
