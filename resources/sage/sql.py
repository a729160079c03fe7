"""The only place SQL text for Sage 50 is made.

The Sage 50 ODBC driver accepts little: a single-table SELECT, an explicit column list, no bound
parameters, no sub-queries, no joins. So callers describe *what* to read as a `SageSelect` (table,
columns, conditions made of typed literal values) and `render` turns it into text. Every literal
goes through `literal`, which type-checks the value and doubles quotes, so no value can change the
shape of a query.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

LiteralValue = str | int | float | dt.date | dt.datetime
DateLiteralStyle = Literal["odbc_escape", "quoted"]
Operator = Literal["=", "<", "<=", ">", ">="]

# Sage identifiers are upper-case letters, digits and underscores; anything else is a bug upstream.
_IDENTIFIER = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def identifier(name: str) -> str:
    """A double-quoted Sage table or column name."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a Sage 50 identifier")
    return f'"{name}"'


def literal(value: LiteralValue, style: DateLiteralStyle = "odbc_escape") -> str:
    """One SQL literal. Text doubles its quotes; numbers must be finite; dates use `style`.

    `{d '…'}`/`{ts '…'}` are ODBC escapes that the Sage and SQLite ODBC drivers both translate;
    `quoted` ('2024-05-01 10:00:00') is what a plain SQL database (SQLAlchemy) needs.
    """
    # bool is an int subclass but never a Sage value: refuse it rather than send 1/0 by surprise.
    if isinstance(value, bool):
        raise TypeError("a boolean is not a Sage literal")
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return f"{{ts '{text}'}}" if style == "odbc_escape" else f"'{text}'"
    if isinstance(value, dt.date):
        text = value.isoformat()
        return f"{{d '{text}'}}" if style == "odbc_escape" else f"'{text}'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be a Sage literal")
        return repr(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a NUL character cannot be a Sage literal")
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"{type(value).__name__} is not a Sage literal type")


@dataclass(frozen=True)
class Compare:
    """`column <op> value`."""

    column: str
    op: Operator
    value: LiteralValue


@dataclass(frozen=True)
class IsNull:
    column: str


@dataclass(frozen=True)
class InList:
    """`column IN (v1, v2, …)`: literal lists replace the sub-queries the driver refuses."""

    column: str
    values: tuple[LiteralValue, ...]


@dataclass(frozen=True)
class Between:
    """`column >= low AND column <= high` (inclusive): a run of consecutive keys."""

    column: str
    low: LiteralValue
    high: LiteralValue


@dataclass(frozen=True)
class AnyOf:
    """Conditions joined by OR."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AllOf:
    """Conditions joined by AND."""

    conditions: tuple[Condition, ...]


Condition = Compare | IsNull | InList | Between | AnyOf | AllOf


@dataclass(frozen=True)
class SageSelect:
    """`SELECT <columns> FROM <table> [WHERE <condition>]` against one Sage table."""

    table: str
    columns: tuple[str, ...]
    where: Condition | None = None
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError("a Sage SELECT needs an explicit column list")


def _condition(cond: Condition, style: DateLiteralStyle) -> str:
    if isinstance(cond, Compare):
        return f"{identifier(cond.column)} {cond.op} {literal(cond.value, style)}"
    if isinstance(cond, IsNull):
        return f"{identifier(cond.column)} IS NULL"
    if isinstance(cond, InList):
        if not cond.values:
            raise ValueError("an empty IN list selects nothing: skip the query instead")
        values = ", ".join(literal(v, style) for v in cond.values)
        return f"{identifier(cond.column)} IN ({values})"
    if isinstance(cond, Between):
        col = identifier(cond.column)
        return f"{col} >= {literal(cond.low, style)} AND {col} <= {literal(cond.high, style)}"
    if isinstance(cond, AnyOf | AllOf):
        if not cond.conditions:
            raise ValueError("an empty condition group is ambiguous")
        joiner = " OR " if isinstance(cond, AnyOf) else " AND "
        return joiner.join(f"({_condition(c, style)})" for c in cond.conditions)
    raise TypeError(f"unknown condition {cond!r}")


def render(select: SageSelect, style: DateLiteralStyle = "odbc_escape") -> str:
    """The SQL text of `select`, in the only shape the Sage 50 driver is known to accept."""
    columns = ", ".join(identifier(c) for c in select.columns)
    sql = f"SELECT {columns} FROM {identifier(select.table)}"  # noqa: S608 - identifiers checked, values escaped
    if select.where is not None:
        sql += f" WHERE {_condition(select.where, style)}"
    return sql


def key_runs(keys: Sequence[int], column: str, max_terms: int = 400) -> list[Condition]:
    """Conditions that together select exactly `keys` of an integer key column.

    Consecutive keys (invoice and split numbers mostly are) collapse into ranges; the rest go into
    IN lists. Each returned condition holds at most `max_terms` literals, so each query stays short.
    """
    ordered = sorted(set(keys))
    ranges: list[tuple[int, int]] = []
    singles: list[int] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - start >= 2:
            ranges.append((ordered[start], ordered[end]))
        else:
            singles.extend(ordered[start : end + 1])
        start = end + 1
    conditions: list[Condition] = []
    batch: list[Condition] = []
    for low, high in ranges:
        batch.append(Between(column, low, high))
        if len(batch) * 2 >= max_terms:
            conditions.append(AnyOf(tuple(batch)) if len(batch) > 1 else batch[0])
            batch = []
    if batch:
        conditions.append(AnyOf(tuple(batch)) if len(batch) > 1 else batch[0])
    for i in range(0, len(singles), max_terms):
        conditions.append(InList(column, tuple(singles[i : i + max_terms])))
    return conditions
