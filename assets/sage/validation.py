"""Validation rules of each Sage table, as a pandera schema generated from the catalogue.

Rules: the type of every column, key columns not null and unique, dates between 1980 and 2100,
documented flags within their domain, text within its documented length, e-mail columns shaped
like e-mail addresses, account references in Sage's format. Each chunk is validated lazily (all
failures at once) and the failing rows are reported row by row with column and reason, so they go
to quarantine while the rest of the chunk lands.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import pandas as pd
import pandera.pandas as pa
import pyarrow

from assets.sage.catalogue import (
    EARLIEST_DATE,
    EMAIL_COLUMNS,
    FLAG_DOMAINS,
    LATEST_DATE,
    SageTable,
)
from assets.sage.convert import ARROW_TYPES
from resources.sage_schema import SageColumn

_ONE_EMAIL = r"[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+"
# Sage users put several addresses in one field, separated by ';' or ','.
EMAIL_PATTERN = rf"^\s*$|^{_ONE_EMAIL}(\s*[;,]\s*{_ONE_EMAIL})*\s*$"


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
    schema = table_schema(table)
    return schema.select_columns(list(_checked_columns(table)))


def _reason(check: str, column: str) -> str:
    if check == "not_nullable":
        return "key is empty"
    if check == "multiple_fields_uniqueness" or check.startswith("field_uniqueness"):
        return "duplicate key"
    if check.startswith("dtype("):
        return f"wrong type for {column}"
    return check


def validate_chunk(table: SageTable, chunk: pyarrow.Table) -> list[RuleFailure]:
    """The rule failures of one chunk; an empty list when every row passes."""
    frame = chunk.select(list(_checked_columns(table))).to_pandas(types_mapper=pd.ArrowDtype)
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
        value = None if pd.isna(case.failure_case) else str(case.failure_case)[:200]
        failures.append(RuleFailure(int(case.index), column, reason, value))
    return failures
