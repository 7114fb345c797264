"""A parser and evaluator for the practical subset of Service Bus SQL filter syntax.

Supported: comparisons (`=`, `<>`, `!=`, `<`, `>`, `<=`, `>=`), `AND`, `OR`, `NOT`,
parentheses, `[NOT] IN (...)`, `[NOT] LIKE 'pattern' [ESCAPE 'c']` with `%` and `_`,
`IS [NOT] NULL`, `EXISTS(prop)`, string / number / `TRUE` / `FALSE` / `NULL` literals,
system properties (`sys.Label`, `sys.Subject`, `sys.MessageId`, `sys.CorrelationId`,
`sys.ContentType`, `sys.SessionId`, `sys.To`, `sys.ReplyTo`, `sys.PartitionKey`) and
application properties (`user.name`, bare `name`, `[name with-dashes]`).

Evaluation uses SQL's three-valued logic: a missing property or a comparison of different
types is *unknown*, and only a filter that evaluates to true matches. Keywords are
case-insensitive; string comparisons are case-sensitive.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from eventkit.publisher import PropertyValue

from .errors import FilterSyntaxError

Value = PropertyValue
Truth = bool | None  # None is SQL's UNKNOWN
Operand = Callable[["FilterTarget"], Value]
Predicate = Callable[["FilterTarget"], Truth]

SYSTEM_PROPERTIES = {
    "label": "subject",
    "subject": "subject",
    "messageid": "message_id",
    "correlationid": "correlation_id",
    "contenttype": "content_type",
    "sessionid": "session_id",
    "to": "to",
    "replyto": "reply_to",
    "partitionkey": "partition_key",
}
_KEYWORDS = {"and", "or", "not", "in", "like", "escape", "is", "null", "exists", "true", "false"}
_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<string>'(?:[^']|'')*')
      | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<ident>(?:(?P<scope>[A-Za-z]+)\.)?(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<bracketed>[^\]]+)\]))
      | (?P<op><>|!=|<=|>=|=|<|>|\(|\)|,|-)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class FilterTarget:
    """What a filter sees of a message: system properties (by snake_case name) and user ones."""

    system: Mapping[str, Value]
    user: Mapping[str, Value]


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, ident, keyword, op, end
    text: str
    position: int
    value: Value = None
    scope: str | None = None


def _tokenize(expression: str, fail: Callable[[int, str], Exception]) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise fail(position, f"unexpected character {expression[position]!r}")
        kind = match.lastgroup if match.lastgroup in ("ws", "string", "number", "op") else "ident"
        text = match.group(0)
        if kind == "string":
            tokens.append(_Token("string", text, position, text[1:-1].replace("''", "'")))
        elif kind == "number":
            is_float = any(c in text for c in ".eE")
            tokens.append(_Token("number", text, position, float(text) if is_float else int(text)))
        elif kind == "ident":
            scope, name = match.group("scope"), match.group("name") or match.group("bracketed")
            if scope is None and match.group("name") and name.lower() in _KEYWORDS:
                tokens.append(_Token("keyword", name.lower(), position))
            else:
                tokens.append(_Token("ident", name, position, scope=scope.lower() if scope else None))
        elif kind == "op":
            tokens.append(_Token("op", text, position))
        position = match.end()
    tokens.append(_Token("end", "", len(expression)))
    return tokens


def _compare(left: Value, right: Value, op: str) -> Truth:
    if left is None or right is None:
        return None
    if isinstance(left, bool) or isinstance(right, bool):
        if not (isinstance(left, bool) and isinstance(right, bool)) or op not in ("=", "<>", "!="):
            return None
    elif isinstance(left, str) != isinstance(right, str):
        return None
    if op == "=":
        return left == right
    if op in ("<>", "!="):
        return left != right
    if op == "<":
        return left < right  # type: ignore[operator]
    if op == ">":
        return left > right  # type: ignore[operator]
    if op == "<=":
        return left <= right  # type: ignore[operator]
    return left >= right  # type: ignore[operator]


def _not(value: Truth) -> Truth:
    return None if value is None else not value


def _and(left: Truth, right: Callable[[], Truth]) -> Truth:
    if left is False:
        return False
    other = right()
    if other is False:
        return False
    return None if left is None or other is None else True


def _or(left: Truth, right: Callable[[], Truth]) -> Truth:
    if left is True:
        return True
    other = right()
    if other is True:
        return True
    return None if left is None or other is None else False


def _like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if escape is not None and char == escape and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


class _Parser:
    def __init__(self, rule_name: str, expression: str) -> None:
        self._rule_name = rule_name
        self._expression = expression
        self._tokens = _tokenize(expression, self._error)
        self._index = 0

    def _error(self, position: int, reason: str) -> FilterSyntaxError:
        return FilterSyntaxError(self._rule_name, self._expression, position, reason)

    @property
    def _current(self) -> _Token:
        return self._tokens[self._index]

    def _accept(self, kind: str, text: str | None = None) -> _Token | None:
        token = self._current
        if token.kind == kind and (text is None or token.text == text):
            self._index += 1
            return token
        return None

    def _expect(self, kind: str, text: str | None, what: str) -> _Token:
        token = self._accept(kind, text)
        if token is None:
            found = self._current.text or "end of expression"
            raise self._error(self._current.position, f"expected {what}, found {found!r}")
        return token

    def parse(self) -> Predicate:
        if self._current.kind == "end":
            raise self._error(0, "the expression is empty")
        predicate = self._or()
        if self._current.kind != "end":
            raise self._error(self._current.position, f"unexpected {self._current.text!r}")
        return predicate

    def _or(self) -> Predicate:
        left = self._and()
        while self._accept("keyword", "or"):
            right = self._and()
            left = (lambda a, b: lambda m: _or(a(m), lambda: b(m)))(left, right)
        return left

    def _and(self) -> Predicate:
        left = self._unary()
        while self._accept("keyword", "and"):
            right = self._unary()
            left = (lambda a, b: lambda m: _and(a(m), lambda: b(m)))(left, right)
        return left

    def _unary(self) -> Predicate:
        if self._accept("keyword", "not"):
            inner = self._unary()
            return lambda m: _not(inner(m))
        if self._accept("keyword", "exists"):
            self._expect("op", "(", "'(' after EXISTS")
            token = self._expect("ident", None, "a property name in EXISTS(...)")
            self._expect("op", ")", "')' closing EXISTS(")
            scope, name = self._resolve(token)
            return lambda m: name in (m.system if scope == "sys" else m.user)
        if self._current.kind == "op" and self._current.text == "(":
            self._index += 1
            inner = self._or()
            self._expect("op", ")", "')'")
            return inner
        return self._predicate()

    def _predicate(self) -> Predicate:
        left = self._operand()
        token = self._current
        if token.kind == "op" and token.text in ("=", "<>", "!=", "<", ">", "<=", ">="):
            self._index += 1
            right = self._operand()
            return lambda m: _compare(left(m), right(m), token.text)
        if self._accept("keyword", "is"):
            negate = self._accept("keyword", "not") is not None
            self._expect("keyword", "null", "NULL after IS [NOT]")
            return lambda m: (left(m) is not None) if negate else (left(m) is None)
        negate = self._accept("keyword", "not") is not None
        if self._accept("keyword", "in"):
            return self._in(left, negate)
        if self._accept("keyword", "like"):
            return self._like(left, negate)
        if negate:
            raise self._error(self._current.position, "expected IN or LIKE after NOT")
        if token.kind == "end" or token.text == ")" or token.kind == "keyword":
            return lambda m: (lambda v: v if isinstance(v, bool) else None)(left(m))
        raise self._error(token.position, f"expected a comparison operator, found {token.text!r}")

    def _in(self, left: Operand, negate: bool) -> Predicate:
        self._expect("op", "(", "'(' after IN")
        values = [self._literal()]
        while self._accept("op", ","):
            values.append(self._literal())
        self._expect("op", ")", "')' closing the IN list")

        def member(m: FilterTarget) -> Truth:
            value = left(m)
            if value is None:
                return None
            found = any(_compare(value, candidate, "=") for candidate in values)
            return not found if negate else found

        return member

    def _like(self, left: Operand, negate: bool) -> Predicate:
        pattern = self._expect("string", None, "a quoted pattern after LIKE")
        escape: str | None = None
        if self._accept("keyword", "escape"):
            escape_token = self._expect("string", None, "a quoted character after ESCAPE")
            escape = str(escape_token.value)
            if len(escape) != 1:
                raise self._error(escape_token.position, "ESCAPE takes exactly one character")
        regex = _like_regex(str(pattern.value), escape)

        def like(m: FilterTarget) -> Truth:
            value = left(m)
            if not isinstance(value, str):
                return None
            matched = regex.fullmatch(value) is not None
            return not matched if negate else matched

        return like

    def _literal(self) -> Value:
        token = self._current
        if token.kind in ("string", "number"):
            self._index += 1
            return token.value
        if token.kind == "op" and token.text == "-":
            self._index += 1
            number = self._expect("number", None, "a number after '-'")
            assert isinstance(number.value, int | float)
            return -number.value
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            self._index += 1
            return {"true": True, "false": False, "null": None}[token.text]
        raise self._error(token.position, f"expected a literal, found {token.text or 'end of expression'!r}")

    def _operand(self) -> Operand:
        token = self._current
        if token.kind == "ident":
            self._index += 1
            scope, name = self._resolve(token)
            if scope == "sys":
                return lambda m: m.system.get(name)
            return lambda m: m.user.get(name)
        value = self._literal()
        return lambda m: value

    def _resolve(self, token: _Token) -> tuple[str, str]:
        if token.scope is None or token.scope == "user":
            return "user", token.text
        if token.scope == "sys":
            field = SYSTEM_PROPERTIES.get(token.text.lower())
            if field is None:
                known = ", ".join(sorted({f"sys.{k}" for k in SYSTEM_PROPERTIES}))
                raise self._error(token.position, f"unknown system property sys.{token.text} ({known})")
            return "sys", field
        raise self._error(token.position, f"unknown property scope {token.scope!r}: use sys. or user.")


def compile_sql_filter(expression: str, rule_name: str = "$Default") -> Callable[[FilterTarget], bool]:
    """Compile `expression`; the result is True only where the filter evaluates to TRUE.

    Raises `FilterSyntaxError` naming `rule_name`, the expression and the position.
    """
    predicate = _Parser(rule_name, expression).parse()
    return lambda target: predicate(target) is True
