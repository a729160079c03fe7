"""The `where` filter of list calls: a small SQL subset, parsed by hand and evaluated in Python.

Grammar (keywords case-insensitive):

    expr       := and_expr (OR and_expr)*
    and_expr   := not_expr (AND not_expr)*
    not_expr   := NOT not_expr | '(' expr ')' | comparison
    comparison := operand ( cmp operand
                          | [NOT] LIKE operand
                          | [NOT] IN '(' literal (',' literal)* ')'
                          | IS [NOT] NULL )
    cmp        := = | <> | != | > | < | >= | <=
    operand    := field | field '.' (id | value) | literal
    literal    := 'text with '' escapes' | number | true | false | null

Values are never turned into SQL, so user input cannot reach a database query. Any input that
does not parse (a number too long for `int()` included) raises `WhereError`, which the app
answers with 400 and code 901. LIKE is matched by `LikePattern`, without backtracking.

Dates: SSM's date-literal syntax is UNCONFIRMED, so a literal compared with a date field is read
in every form a client may send (`parse_date_literal`) and the two compare as instants, not as
text; a literal that is no date is the caller's bad SQL (901). LIKE on a date field still
matches the stored text (`dateCreated LIKE '2026-12%'`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

MAX_WHERE_LENGTH = 8000
MAX_DEPTH = 64


class WhereError(ValueError):
    """A `where` the sandbox cannot read (SSM's code 901, "SQL not generated correctly")."""


@dataclass(frozen=True)
class FieldRef:
    name: str
    sub: str | None  # "id" or "value" after a dot, for foreign keys


@dataclass(frozen=True)
class Literal:
    value: Any


Operand = FieldRef | Literal


@dataclass(frozen=True)
class Compare:
    op: str  # = <> > < >= <=
    left: Operand
    right: Operand


@dataclass(frozen=True)
class Like:
    operand: Operand
    pattern: Operand
    negated: bool


@dataclass(frozen=True)
class In:
    operand: Operand
    values: tuple[Any, ...]
    negated: bool


@dataclass(frozen=True)
class IsNull:
    operand: Operand
    negated: bool


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition = Compare | Like | In | IsNull | BoolOp | Not

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
  | (?P<op><>|!=|>=|<=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL", "TRUE", "FALSE"}


@dataclass(frozen=True)
class _Token:
    kind: str  # string | number | name | keyword | op | punct | end
    text: str
    value: Any
    position: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN_RE.match(source, position)
        if not match:
            if source[position] == "'":
                raise WhereError(f"unterminated string starting at position {position}")
            raise WhereError(f"unexpected character {source[position]!r} at position {position}")
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "string":
            tokens.append(_Token("string", text, text[1:-1].replace("''", "'"), position))
        elif kind == "number":
            tokens.append(_Token("number", text, _number(text, position), position))
        elif kind == "name":
            upper = text.upper()
            if upper in _KEYWORDS:
                tokens.append(_Token("keyword", upper, upper, position))
            else:
                tokens.append(_Token("name", text, text, position))
        elif kind in ("op", "punct"):
            tokens.append(_Token(kind, text, text, position))
        position = match.end()
    tokens.append(_Token("end", "", None, len(source)))
    return tokens


def _number(text: str, position: int) -> int | float:
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except (ValueError, OverflowError):
        # int() refuses more than 4300 digits (CPython's guard against quadratic parsing).
        raise WhereError(f"number at position {position} is too long") from None


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "keyword" and token.text in words

    def expect_keyword(self, word: str) -> None:
        if not self.is_keyword(word):
            self.fail(f"expected {word}")
        self.take()

    def expect_punct(self, text: str) -> None:
        token = self.peek()
        if token.kind != "punct" or token.text != text:
            self.fail(f"expected '{text}'")
        self.take()

    def fail(self, message: str) -> None:
        token = self.peek()
        found = "end of input" if token.kind == "end" else repr(token.text)
        raise WhereError(f"{message} at position {token.position}, found {found}")

    def parse(self) -> Condition:
        condition = self.expr()
        if self.peek().kind != "end":
            self.fail("unexpected text")
        return condition

    def expr(self) -> Condition:
        parts = [self.and_expr()]
        while self.is_keyword("OR"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("OR", tuple(parts))

    def and_expr(self) -> Condition:
        parts = [self.not_expr()]
        while self.is_keyword("AND"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolOp("AND", tuple(parts))

    def not_expr(self) -> Condition:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise WhereError(f"where is nested more than {MAX_DEPTH} levels deep")
        try:
            if self.is_keyword("NOT"):
                self.take()
                return Not(self.not_expr())
            token = self.peek()
            if token.kind == "punct" and token.text == "(":
                self.take()
                inner = self.expr()
                self.expect_punct(")")
                return inner
            return self.comparison()
        finally:
            self.depth -= 1

    def comparison(self) -> Condition:
        left = self.operand()
        token = self.peek()
        if token.kind == "op":
            self.take()
            op = "<>" if token.text == "!=" else token.text
            return Compare(op, left, self.operand())
        negated = False
        if self.is_keyword("NOT"):
            self.take()
            negated = True
            if not self.is_keyword("LIKE", "IN"):
                self.fail("expected LIKE or IN after NOT")
        if self.is_keyword("LIKE"):
            self.take()
            return Like(left, self.operand(), negated)
        if self.is_keyword("IN"):
            self.take()
            self.expect_punct("(")
            values = [self.literal()]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                values.append(self.literal())
            self.expect_punct(")")
            return In(left, tuple(values), negated)
        if self.is_keyword("IS"):
            self.take()
            is_not = False
            if self.is_keyword("NOT"):
                self.take()
                is_not = True
            self.expect_keyword("NULL")
            return IsNull(left, is_not)
        self.fail("expected a comparison operator")
        raise AssertionError  # unreachable: fail() raises

    def operand(self) -> Operand:
        token = self.peek()
        if token.kind == "name":
            self.take()
            name, _, sub = token.text.partition(".")
            return FieldRef(name, sub or None)
        return Literal(self.literal())

    def literal(self) -> Any:
        token = self.peek()
        if token.kind in ("string", "number"):
            self.take()
            return token.value
        if token.kind == "keyword" and token.text in ("TRUE", "FALSE", "NULL"):
            self.take()
            return {"TRUE": True, "FALSE": False, "NULL": None}[token.text]
        self.fail("expected a value")
        raise AssertionError  # unreachable: fail() raises


def parse_where(source: str) -> Condition | None:
    """Parse a `where`; None when it is empty (no filter)."""
    if len(source) > MAX_WHERE_LENGTH:
        raise WhereError(f"where is longer than {MAX_WHERE_LENGTH} characters")
    if not source.strip():
        return None
    return _Parser(source).parse()


def field_refs(condition: Condition) -> list[FieldRef]:
    """Every field a condition reads, so the caller can check them before evaluating."""
    found: list[FieldRef] = []

    def visit_operand(operand: Operand) -> None:
        if isinstance(operand, FieldRef):
            found.append(operand)

    def visit(node: Condition) -> None:
        if isinstance(node, Compare):
            visit_operand(node.left)
            visit_operand(node.right)
        elif isinstance(node, Like):
            visit_operand(node.operand)
            visit_operand(node.pattern)
        elif isinstance(node, In | IsNull):
            visit_operand(node.operand)
        elif isinstance(node, BoolOp):
            for part in node.parts:
                visit(part)
        elif isinstance(node, Not):
            visit(node.part)

    visit(condition)
    return found


def compared_literals(condition: Condition) -> Iterator[tuple[FieldRef, Any, str]]:
    """Every literal compared with a field, with the operator (`=`, `>`, `IN`, `LIKE`...), so
    the caller can check the literals against their fields before evaluating any record."""
    if isinstance(condition, BoolOp):
        for part in condition.parts:
            yield from compared_literals(part)
    elif isinstance(condition, Not):
        yield from compared_literals(condition.part)
    elif isinstance(condition, Compare):
        for side, other in ((condition.left, condition.right), (condition.right, condition.left)):
            if isinstance(side, FieldRef) and isinstance(other, Literal):
                yield side, other.value, condition.op
    elif isinstance(condition, Like):
        if isinstance(condition.operand, FieldRef) and isinstance(condition.pattern, Literal):
            yield condition.operand, condition.pattern.value, "LIKE"
        if isinstance(condition.pattern, FieldRef) and isinstance(condition.operand, Literal):
            yield condition.pattern, condition.operand.value, "LIKE"
    elif isinstance(condition, In) and isinstance(condition.operand, FieldRef):
        for value in condition.values:
            yield condition.operand, value, "IN"


# ASCII digits only (`\d` would take other scripts' digits); a fraction of up to 9 digits
# (.NET writes 7, Java 9); a zone `Z`, `+01`, `+0100` or `+01:00`.
_DATE_LITERAL = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?)?"
    r"\s*([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)


def parse_date_literal(text: str) -> datetime | None:
    """The instant (UTC) a `where` date literal names, or None when it is no date.

    Accepts `2026-12-03`, `2026-12-03T10:00`, `2026-12-03 10:00:00`, a fraction
    (`.5`, `.123`, `.1234567`), and `Z` or an offset; without a zone the time is UTC, as SSM
    writes its dates. Fractions beyond microseconds are cut (datetime holds no more).
    """
    match = _DATE_LITERAL.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            micro, tzinfo=_zone(zone),
        )  # fmt: skip
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 2026-02-30, hour 24, 9999-12-31T23:00-05:00
        return None


def _zone(text: str | None) -> timezone:
    if text is None or text in "Zz":
        return UTC
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return timezone(-offset if text[0] == "-" else offset)  # ValueError past 24 h


def stored_instant(value: Any) -> datetime | None:
    """A stored date (the API's `2021-12-16T14:05:53.027Z`) as an instant; None if unset."""
    if isinstance(value, datetime):
        return value
    return parse_date_literal(value) if isinstance(value, str) else None


# --- evaluation ------------------------------------------------------------------------------

# Returns a field's value for one record; a literal compared with a field is prepared by
# `prepare_literal(field, value, operator)` (a date literal becomes an instant, see
# `compared_literals` for the operators), once per where.
Resolver = Callable[[FieldRef], Any]
LiteralPreparer = Callable[[FieldRef, Any, str], Any]


def _fold(value: Any) -> Any:
    # String comparisons ignore letter case, as SQL Server's default collation does.
    return value.casefold() if isinstance(value, str) else value


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    if left is None or right is None:
        return None  # SQL: a comparison with a null field is not true (`vatNumber <> ''`)
    if isinstance(left, datetime) or isinstance(right, datetime):
        # A date literal (prepared as an instant) against a stored date: compare instants.
        instants = stored_instant(left), stored_instant(right)
        return None if None in instants else instants
    if isinstance(left, str) and isinstance(right, str):
        return _fold(left), _fold(right)
    if isinstance(left, bool | int | float) and isinstance(right, bool | int | float):
        return left, right
    # Text against number: compare numerically when the text is a number (SQL's conversion).
    try:
        if isinstance(left, str):
            return float(left), right
        if isinstance(right, str):
            return left, float(right)
    except ValueError:
        return None
    return None


class LikePattern:
    """A SQL LIKE pattern matched in one left-to-right pass, never by a backtracking regex.

    A regex built from `%` -> `.*` backtracks: `'%a%a%a%a%b'` against 255 letters took minutes.
    Here the pattern is cut at `%` into pieces of fixed width (a literal character or `_` each
    match exactly one character); the first piece is anchored at the start, the last at the end,
    and each middle piece is taken at its leftmost place after the previous one (leftmost is
    always safe when only `%` separates pieces). The work is at most text x pattern length.
    Each piece is a regex without repetition, so letter case is compared exactly as the former
    `re.IGNORECASE` pattern did.
    """

    def __init__(self, pattern: str) -> None:
        pieces = pattern.split("%")
        self.pieces = [_piece_regex(piece) for piece in pieces]
        self.widths = [len(piece) for piece in pieces]

    def matches(self, text: str) -> bool:
        if len(self.pieces) == 1:
            return self.pieces[0].fullmatch(text) is not None
        first, *middle, last = self.pieces
        if not first.match(text):
            return False
        position = self.widths[0]
        for piece, width in zip(middle, self.widths[1:-1], strict=True):
            if width == 0:
                continue
            found = piece.search(text, position)
            if found is None:
                return False
            position = found.end()
        start = len(text) - self.widths[-1]
        return start >= position and last.fullmatch(text, start) is not None


def _piece_regex(piece: str) -> re.Pattern[str]:
    body = "".join("." if char == "_" else re.escape(char) for char in piece)
    return re.compile(body, re.DOTALL | re.IGNORECASE)


class CompiledWhere:
    """A parsed `where` bound to a resolver; call `matches(record)`."""

    def __init__(
        self,
        condition: Condition,
        resolve: Callable[[dict[str, Any], FieldRef], Any],
        prepare_literal: LiteralPreparer,
    ) -> None:
        self.condition = condition
        self.resolve = resolve
        self.prepare_literal = prepare_literal
        self._like_cache: dict[str, LikePattern] = {}
        # Each literal is prepared once, not once per record (a date is parsed per list, and a
        # literal the field cannot take fails before any record is read).
        self._prepared: dict[tuple[FieldRef, str, str, Any], Any] = {}
        for ref, value, op in compared_literals(condition):
            self._prepare(ref, value, op)

    def _prepare(self, ref: FieldRef, value: Any, op: str) -> Any:
        # The type is part of the key: 1, 1.0 and true are equal dict keys.
        key = (ref, op, type(value).__name__, value)
        if key not in self._prepared:
            self._prepared[key] = self.prepare_literal(ref, value, op)
        return self._prepared[key]

    def matches(self, record: dict[str, Any]) -> bool:
        return self._eval(self.condition, record)

    def _value(self, operand: Operand, other: Operand, record: dict[str, Any], op: str) -> Any:
        if isinstance(operand, FieldRef):
            return self.resolve(record, operand)
        if isinstance(other, FieldRef):
            return self._prepare(other, operand.value, op)
        return operand.value

    def _eval(self, node: Condition, record: dict[str, Any]) -> bool:
        if isinstance(node, BoolOp):
            if node.op == "AND":
                return all(self._eval(part, record) for part in node.parts)
            return any(self._eval(part, record) for part in node.parts)
        if isinstance(node, Not):
            return not self._eval(node.part, record)
        if isinstance(node, IsNull):
            value = self._value(node.operand, node.operand, record, "IS")
            return (value is not None) if node.negated else (value is None)
        if isinstance(node, In):
            value = self._value(node.operand, node.operand, record, "IN")
            found = False
            for candidate in node.values:
                if isinstance(node.operand, FieldRef):
                    candidate = self._prepare(node.operand, candidate, "IN")
                pair = _comparable(value, candidate)
                if pair is not None and pair[0] == pair[1]:
                    found = True
                    break
            if value is None:
                return False
            return not found if node.negated else found
        if isinstance(node, Like):
            value = self._value(node.operand, node.pattern, record, "LIKE")
            pattern = self._value(node.pattern, node.operand, record, "LIKE")
            if value is None or pattern is None:
                return False
            text, pattern_text = str(value), str(pattern)
            like = self._like_cache.get(pattern_text)
            if like is None:
                like = self._like_cache[pattern_text] = LikePattern(pattern_text)
            hit = like.matches(text)
            return not hit if node.negated else hit
        if isinstance(node, Compare):
            left = self._value(node.left, node.right, record, node.op)
            right = self._value(node.right, node.left, record, node.op)
            null_literal = any(
                isinstance(side, Literal) and side.value is None for side in (node.left, node.right)
            )
            if null_literal and node.op in ("=", "<>"):
                # `field = null` is read as IS NULL, `field <> null` as IS NOT NULL.
                same = left is None and right is None
                return same if node.op == "=" else not same
            pair = _comparable(left, right)
            if pair is None:
                return False
            a, b = pair
            if node.op == "=":
                return a == b
            if node.op == "<>":
                return a != b
            try:
                if node.op == ">":
                    return a > b
                if node.op == "<":
                    return a < b
                if node.op == ">=":
                    return a >= b
                return a <= b
            except TypeError:
                return False
        raise WhereError(f"cannot evaluate {node!r}")
