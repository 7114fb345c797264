"""ASP.NET-style route templates as the Functions host matches them.

Supported: literal segments (matched case-insensitively), ``{name}``, optional ``{name?}``,
catch-all ``{*rest}``, and constraints ``{id:int}``, ``long``, ``bool``, ``guid``, ``alpha``,
``double``/``float``/``decimal``, ``datetime``, ``minlength(n)``, ``maxlength(n)``, ``length(n)``,
``min(n)``, ``max(n)``, ``range(a,b)``, ``regex(...)``, combinable (``{id:int:min(1)}``).
More specific templates win (literal before constrained before plain parameter before catch-all).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote

from devhost.errors import RouteTemplateError

_PARAM = re.compile(r"^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)((?::[^:{}?]+(?:\([^)]*\))?)*)(\?)?\}$")
_CONSTRAINT = re.compile(r":([a-zA-Z]+)(?:\(([^)]*)\))?")


def _is_int(value: str, low: int, high: int) -> bool:
    try:
        number = int(value)
    except ValueError:
        return False
    return low <= number <= high


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _is_decimal(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _constraint(name: str, argument: str | None, template: str) -> Callable[[str], bool]:
    name = name.lower()
    int32 = (-(2**31), 2**31 - 1)
    int64 = (-(2**63), 2**63 - 1)
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: _is_int(v, *int32),
        "long": lambda v: _is_int(v, *int64),
        "bool": lambda v: v.lower() in ("true", "false"),
        "guid": _is_guid,
        "alpha": lambda v: v.isascii() and v.isalpha(),
        "double": _is_float,
        "float": _is_float,
        "decimal": _is_decimal,
        "datetime": _is_datetime,
    }
    if name in simple and argument is None:
        return simple[name]
    try:
        if name == "minlength" and argument is not None:
            n = int(argument)
            return lambda v: len(v) >= n
        if name == "maxlength" and argument is not None:
            n = int(argument)
            return lambda v: len(v) <= n
        if name == "length" and argument is not None:
            bounds = [int(part) for part in argument.split(",")]
            low, high = (bounds[0], bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
            return lambda v: low <= len(v) <= high
        if name == "min" and argument is not None:
            n = int(argument)
            return lambda v: _is_int(v, n, int64[1])
        if name == "max" and argument is not None:
            n = int(argument)
            return lambda v: _is_int(v, int64[0], n)
        if name == "range" and argument is not None:
            low_text, high_text = argument.split(",")
            low, high = int(low_text), int(high_text)
            return lambda v: _is_int(v, low, high)
        if name == "regex" and argument is not None:
            pattern = re.compile(argument, re.IGNORECASE)
            return lambda v: pattern.search(v) is not None
    except (ValueError, re.error) as error:
        raise RouteTemplateError(
            f"route {template!r}: bad argument for constraint {name!r}: {error}"
        ) from error
    raise RouteTemplateError(f"route {template!r}: unknown route constraint {name!r}")


@dataclass(frozen=True)
class _Segment:
    literal: str | None
    name: str | None = None
    optional: bool = False
    catch_all: bool = False
    constraints: tuple[Callable[[str], bool], ...] = ()

    def rank(self) -> int:
        if self.literal is not None:
            return 0
        if self.catch_all:
            return 4
        if self.constraints:
            return 1
        return 3 if self.optional else 2


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed route template; ``match`` returns the route parameters or None."""

    template: str
    segments: tuple[_Segment, ...]

    @property
    def sort_key(self) -> tuple[int, ...]:
        return (*[segment.rank() for segment in self.segments], -len(self.segments))

    def match(self, path_segments: list[str]) -> dict[str, str] | None:
        """Match URL-decoded path segments; returns route parameters (absent optionals omitted)."""
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.catch_all:
                rest = "/".join(path_segments[index:])
                if rest and not all(check(rest) for check in segment.constraints):
                    return None
                if rest:
                    values[segment.name or ""] = rest
                return values
            if index >= len(path_segments):
                if segment.optional and all(s.optional or s.catch_all for s in self.segments[index:]):
                    return values
                return None
            value = path_segments[index]
            if segment.literal is not None:
                if value.lower() != segment.literal.lower():
                    return None
                continue
            if value == "" or not all(check(value) for check in segment.constraints):
                return None
            values[segment.name or ""] = value
        if len(path_segments) != len(self.segments):
            return None
        return values


def parse_route(template: str) -> RouteTemplate:
    """Parse a route template (without the route prefix); raises RouteTemplateError."""
    text = template.strip().strip("/")
    segments: list[_Segment] = []
    parts = text.split("/") if text else []
    for position, part in enumerate(parts):
        if "{" not in part and "}" not in part:
            if part == "":
                raise RouteTemplateError(f"route {template!r}: empty path segment")
            segments.append(_Segment(literal=part))
            continue
        match = _PARAM.match(part)
        if match is None:
            raise RouteTemplateError(
                f"route {template!r}: segment {part!r} must be a literal or one parameter like "
                "'{id}', '{id:int}', '{id?}' or '{*rest}'"
            )
        star, name, constraint_text, question = match.groups()
        if star and position != len(parts) - 1:
            raise RouteTemplateError(f"route {template!r}: catch-all '{{*{name}}}' must be the last segment")
        constraints = tuple(
            _constraint(found.group(1), found.group(2), template)
            for found in _CONSTRAINT.finditer(constraint_text)
        )
        segments.append(
            _Segment(
                literal=None,
                name=name,
                optional=bool(question) or bool(star),
                catch_all=bool(star),
                constraints=constraints,
            )
        )
    names = [segment.name for segment in segments if segment.name]
    if len(names) != len({name.lower() for name in names}):
        raise RouteTemplateError(f"route {template!r}: a parameter name is used twice")
    return RouteTemplate(template=template, segments=tuple(segments))


def split_path(path: str) -> list[str]:
    """URL path → decoded segments (no leading/trailing empty segment)."""
    stripped = path.strip("/")
    return [unquote(part) for part in stripped.split("/")] if stripped else []
