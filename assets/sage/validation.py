"""Validation rules of each Sage table, as a pandera schema generated from the catalogue.

Rules: the type of every column, key columns not null and unique, dates between 1980 and 2100,
numbers finite (no NaN, +inf, -inf) and within what staging's DECIMAL columns hold, documented
flags within their domain, text within its documented length, e-mail columns shaped like e-mail
addresses, account references in Sage's format. The failing rows are reported row by
row with column and reason, so they go to quarantine while the rest of the chunk lands.

The pandera schema is where the rules are declared and what judges a row, but running pandera
over every chunk costs more than fetching it. So each chunk first goes through a screen: the same
declared checks, translated into Arrow compute expressions (`_screen`), flag the rows that may
fail (a superset: e.g. RE2's `$` is stricter than Python's). Only the flagged rows are handed to
pandera (lazily, all failures at once), so a clean chunk costs a few vectorised passes. A check the
screen cannot translate sends the whole chunk to pandera. Key uniqueness is judged over the whole
extract, not per chunk (`warehouse.mark_cross_chunk_duplicates`), so the per-chunk schema leaves
`unique` out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from assets.sage.catalogue import (
    EARLIEST_DATE,
    EMAIL_COLUMNS,
    FLAG_DOMAINS,
    LATEST_DATE,
    SageTable,
    number_limit,
)
from assets.sage.convert import ARROW_TYPES
from resources.sage_schema import SageColumn

_ONE_EMAIL = r"[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+"
# Sage users put several addresses in one field, separated by ';' or ','.
EMAIL_PATTERN = rf"^\s*$|^{_ONE_EMAIL}(\s*[;,]\s*{_ONE_EMAIL})*\s*$"

NOT_FINITE = "not a finite number"


@dataclass(frozen=True)
class RuleFailure:
    """A row of a chunk that broke a rule."""

    row: int
    column: str
    reason: str
    value: str | None


def _checks(table: SageTable, column: SageColumn) -> list[pa.Check]:
    checks: list[pa.Check] = []
    kind = column.duckdb_type
    if kind == "DATE":
        low, high = dt.date.fromisoformat(EARLIEST_DATE), dt.date.fromisoformat(LATEST_DATE)
        checks.append(
            pa.Check.in_range(low, high, error=f"date outside {EARLIEST_DATE}..{LATEST_DATE}")
        )
    elif kind == "TIMESTAMP":
        low = dt.datetime.fromisoformat(EARLIEST_DATE)
        high = dt.datetime.fromisoformat(LATEST_DATE) + dt.timedelta(days=1)
        checks.append(
            pa.Check.in_range(
                low,
                high,
                include_max=False,
                error=f"timestamp outside {EARLIEST_DATE}..{LATEST_DATE}",
            )
        )
    elif kind == "DOUBLE":
        checks += _number_checks(number_limit(column))
    elif kind == "VARCHAR" and (length := table.max_length(column)):
        checks.append(
            pa.Check.str_length(max_value=length, error=f"longer than {length} characters")
        )
    if column.name in FLAG_DOMAINS:
        domain = FLAG_DOMAINS[column.name]
        checks.append(pa.Check.isin(list(domain), error=f"flag not in {domain}"))
    if column.name in EMAIL_COLUMNS:
        checks.append(pa.Check.str_matches(EMAIL_PATTERN, error="not an e-mail address"))
    if column.name in table.key and kind == "VARCHAR":
        checks.append(pa.Check.str_length(min_value=1, error="key is empty"))
    if column.name in table.non_negative:
        checks.append(pa.Check.ge(0, error="negative quantity"))
    for name, pattern in table.patterns:
        if name == column.name:
            checks.append(pa.Check.str_matches(pattern, error=f"does not match {pattern}"))
    return checks


def _finite(values: pd.Series) -> pd.Series:
    return np.isfinite(values.astype("float64"))


def _number_checks(limit: int) -> list[pa.Check]:
    """NaN and infinities (a damaged file can hold them), then magnitudes beyond `limit`: staging
    could not cast either to its DECIMAL. A non-finite value breaks only the first rule."""

    def within(values: pd.Series) -> pd.Series:
        return ~_finite(values) | (values.abs() <= limit)

    return [
        pa.Check(_finite, name="finite", error=NOT_FINITE),
        pa.Check(
            within,
            name="within_limit",
            statistics={"limit": limit},
            error=f"magnitude above {limit:,}",
        ),
    ]


@cache
def table_schema(table: SageTable) -> pa.DataFrameSchema:
    """The pandera schema of `table`'s chunks (lower-case column names, Arrow-backed dtypes)."""
    key = set(table.key)
    columns = {
        col.name.lower(): pa.Column(
            pd.ArrowDtype(ARROW_TYPES[col.duckdb_type]),
            checks=_checks(table, col),
            nullable=col.name not in key,
            description=f"{table.table}.{col.name} ({col.odbc_type})",
        )
        for col in table.columns
    }
    return pa.DataFrameSchema(
        columns,
        unique=[k.lower() for k in table.key],
        report_duplicates="exclude_first",
        name=f"sage.{table.name}",
        strict=True,
    )


@cache
def _checked_columns(table: SageTable) -> tuple[str, ...]:
    """Columns that carry a rule beyond their type. Types are already enforced by the Arrow
    conversion, so per chunk only these are handed to pandera (a wide STOCK row has hundreds of
    unchecked DOUBLE columns, each costing pandera a millisecond per chunk)."""
    schema = table_schema(table)
    keys = {k.lower() for k in table.key}
    return tuple(n for n, c in schema.columns.items() if c.checks or n in keys)


@cache
def _chunk_schema(table: SageTable) -> pa.DataFrameSchema:
    """The per-chunk schema: the checked columns, without `unique` (judged over the extract)."""
    schema = table_schema(table)
    columns = {name: schema.columns[name] for name in _checked_columns(table)}
    return pa.DataFrameSchema(columns, name=schema.name, strict=True)


# ------------------------------------------------------------------------------ the Arrow screen


def _screen_check(check: pa.Check, arrow_type: pyarrow.DataType):  # noqa: ANN202
    """A function Arrow array -> boolean array (True = may fail), or None if not translatable."""
    stats = check.statistics or {}
    name = check.name
    if name == "in_range":
        low = pyarrow.scalar(stats["min_value"], arrow_type)
        high = pyarrow.scalar(stats["max_value"], arrow_type)
        below = pc.less if stats.get("include_min", True) else pc.less_equal
        above = pc.greater if stats.get("include_max", True) else pc.greater_equal
        return lambda a: pc.or_(below(a, low), above(a, high))
    if name == "greater_than_or_equal_to":
        low = pyarrow.scalar(stats["min_value"], arrow_type)
        return lambda a: pc.less(a, low)
    if name == "finite":
        return lambda a: pc.invert(pc.is_finite(a))
    if name == "within_limit":
        limit = stats["limit"]
        return lambda a: pc.and_(pc.is_finite(a), pc.greater(pc.abs(a), limit))
    if name == "str_length" and stats.get("exact_value") is None:
        low, high = stats.get("min_value"), stats.get("max_value")

        def length(a: pyarrow.Array) -> pyarrow.Array:
            n = pc.utf8_length(a)
            out = pc.less(n, low) if low is not None else None
            if high is not None:
                over = pc.greater(n, high)
                out = over if out is None else pc.or_(out, over)
            return out if out is not None else pc.is_null(a)  # no bound: nothing fails

        return length
    if name == "isin":
        allowed = pyarrow.array(list(stats["allowed_values"]))
        same_kind = (
            pyarrow.types.is_string(arrow_type) and pyarrow.types.is_string(allowed.type)
        ) or (pyarrow.types.is_integer(arrow_type) and pyarrow.types.is_integer(allowed.type))
        if not same_kind:
            return None
        allowed = allowed.cast(arrow_type)
        return lambda a: pc.and_(pc.is_valid(a), pc.invert(pc.is_in(a, value_set=allowed)))
    if name == "str_matches":
        pattern = stats["pattern"]
        # pandera matches from the start (re.match); a pattern without '^' is anchored here too.
        anchored = pattern if pattern.startswith("^") else f"^(?:{pattern})"
        return lambda a: pc.invert(pc.match_substring_regex(a, anchored))
    return None


@cache
def _screens(table: SageTable) -> tuple[tuple[str, object], ...] | None:
    """The translated checks of `table` as (column, mask function); None if one is untranslatable
    (then every chunk goes to pandera whole)."""
    schema = _chunk_schema(table)
    types = {c.name.lower(): ARROW_TYPES[c.duckdb_type] for c in table.columns}
    screens: list[tuple[str, object]] = []
    for name, column in schema.columns.items():
        if not column.nullable:
            screens.append((name, pc.is_null))
        for check in column.checks:
            try:
                fn = _screen_check(check, types[name])
            except (KeyError, TypeError, ValueError, pyarrow.ArrowException):
                fn = None
            if fn is None:
                return None
            screens.append((name, fn))
    return tuple(screens)


def screen(table: SageTable, chunk: pyarrow.Table) -> np.ndarray | None:
    """Positions of the rows of `chunk` that may break a rule (None: all of them, unscreened)."""
    screens = _screens(table)
    if screens is None:
        return None
    suspect = None
    for name, fn in screens:
        mask = fn(chunk.column(name))  # type: ignore[operator]
        if mask.null_count:
            mask = pc.fill_null(mask, False)
        suspect = mask if suspect is None else pc.or_(suspect, mask)
    if suspect is None:
        return np.empty(0, np.int64)
    if not pc.any(suspect).as_py():
        return np.empty(0, np.int64)
    return np.flatnonzero(suspect.to_numpy(zero_copy_only=False))


def _reason(check: str, column: str) -> str:
    if check == "not_nullable":
        return "key is empty"
    if check == "multiple_fields_uniqueness" or check.startswith("field_uniqueness"):
        return "duplicate key"
    if check.startswith("dtype("):
        return f"wrong type for {column}"
    return check


def _shown(value: object, reason: str) -> str | None:
    """A failing value as quarantine shows it; NaN is a value here, not a missing one."""
    if reason == NOT_FINITE:
        return str(value)
    return None if pd.isna(value) else str(value)[:200]  # type: ignore[call-overload]


def validate_chunk(table: SageTable, chunk: pyarrow.Table) -> list[RuleFailure]:
    """The rule failures of one chunk (row = position in the chunk); empty when every row passes.

    The screen picks the rows that may fail; pandera judges those (or the whole chunk when the
    screen cannot translate a check)."""
    rows = screen(table, chunk)
    if rows is not None and len(rows) == 0:
        return []
    checked = chunk.select(list(_checked_columns(table)))
    if rows is not None:
        checked = checked.take(pyarrow.array(rows))
    frame = checked.to_pandas(types_mapper=pd.ArrowDtype)
    if rows is not None:
        frame.index = pd.Index(rows)
    try:
        _chunk_schema(table).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    failures = []
    for case in cases.itertuples(index=False):
        if case.index is None or pd.isna(case.index):
            continue  # a whole-column failure (dtype) is a bug in the conversion, not a bad row
        column = str(case.column).upper() if case.column is not None else ""
        reason = _reason(str(case.check), column)
        value = _shown(case.failure_case, reason)
        failures.append(RuleFailure(int(case.index), column, reason, value))
    return failures
