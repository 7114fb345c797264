"""Subscription rules: TrueFilter, FalseFilter, CorrelationFilter and SqlFilter.

A subscription holds one or more rules; a message sent to the topic is copied to the
subscription when any rule's filter matches (the subscription starts with `$Default`, a
TrueFilter, as in Azure). Filters are checked when the message is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from eventkit.publisher import PropertyValue

from .sql_filter import FilterTarget, compile_sql_filter

DEFAULT_RULE_NAME = "$Default"


@dataclass(frozen=True)
class TrueFilter:
    """Matches every message (`1=1`)."""


@dataclass(frozen=True)
class FalseFilter:
    """Matches no message (`1=0`)."""


@dataclass(frozen=True)
class CorrelationFilter:
    """Matches when every given field equals the message's (exact, case-sensitive).

    `properties` are application properties that must all be present and equal. At least
    one condition is required, as in Azure.
    """

    correlation_id: str | None = None
    message_id: str | None = None
    to: str | None = None
    reply_to: str | None = None
    subject: str | None = None
    session_id: str | None = None
    content_type: str | None = None
    properties: Mapping[str, PropertyValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.properties and all(getattr(self, name) is None for name in _CORRELATION_FIELDS):
            raise ValueError("a CorrelationFilter needs at least one field or property to match")

    @property
    def label(self) -> str | None:
        """The classic name of `subject`."""
        return self.subject


_CORRELATION_FIELDS = (
    "correlation_id",
    "message_id",
    "to",
    "reply_to",
    "subject",
    "session_id",
    "content_type",
)


@dataclass(frozen=True)
class SqlFilter:
    """A Service Bus SQL expression (see `sql_filter` for the supported subset)."""

    sql_expression: str


Filter: TypeAlias = TrueFilter | FalseFilter | CorrelationFilter | SqlFilter


@dataclass(frozen=True)
class RuleProperties:
    """A named rule of a subscription (actions are not supported)."""

    name: str
    filter: Filter


Matcher = Callable[[FilterTarget], bool]


def compile_filter(rule: RuleProperties) -> Matcher:
    """Return a predicate for `rule`; raises `FilterSyntaxError` for a malformed SQL filter."""
    flt = rule.filter
    if isinstance(flt, TrueFilter):
        return lambda target: True
    if isinstance(flt, FalseFilter):
        return lambda target: False
    if isinstance(flt, SqlFilter):
        return compile_sql_filter(flt.sql_expression, rule.name)
    system = {name: getattr(flt, name) for name in _CORRELATION_FIELDS if getattr(flt, name) is not None}
    properties = dict(flt.properties)

    def correlates(target: FilterTarget) -> bool:
        for name, expected in system.items():
            if target.system.get(name) != expected:
                return False
        for name, expected in properties.items():
            if name not in target.user:
                return False
            actual = target.user[name]
            if actual != expected or isinstance(actual, bool) != isinstance(expected, bool):
                return False
        return True

    return correlates


def filter_to_json(flt: Filter) -> str:
    """Serialise a filter for the namespace's rule table."""
    if isinstance(flt, TrueFilter):
        return json.dumps({"kind": "true"})
    if isinstance(flt, FalseFilter):
        return json.dumps({"kind": "false"})
    if isinstance(flt, SqlFilter):
        return json.dumps({"kind": "sql", "sql": flt.sql_expression})
    fields = {name: getattr(flt, name) for name in _CORRELATION_FIELDS}
    return json.dumps({"kind": "correlation", **fields, "properties": dict(flt.properties)})


def filter_from_json(text: str) -> Filter:
    """Inverse of `filter_to_json`."""
    data: dict[str, Any] = json.loads(text)
    kind = data.pop("kind")
    if kind == "true":
        return TrueFilter()
    if kind == "false":
        return FalseFilter()
    if kind == "sql":
        return SqlFilter(data["sql"])
    return CorrelationFilter(**data)
