"""Driver chunks -> Arrow columns typed as the warehouse wants them.

A record batch from a bulk fetch has its columns cast in Arrow (dates arrive as text and are
parsed there). A chunk of rows from `fetchmany` is turned into one Arrow array per column
(`zip(*rows)` then `pa.array`, which converts in C). Only when that fast path refuses a column
(text in a number column, an unparseable date) is the column converted value by value; the values
that cannot be converted become NULL and are reported, so their rows go to quarantine instead of
stopping the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from resources.sage_schema import SageColumn

ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "INTEGER": pa.int32(),
    "SMALLINT": pa.int16(),
    "DATE": pa.date32(),
    "TIME": pa.time64("us"),
    "TIMESTAMP": pa.timestamp("us"),
}


@dataclass(frozen=True)
class BadValue:
    """A value that could not be converted to its column's type."""

    row: int
    column: str
    reason: str
    value: str


def _to_text(v: Any) -> str:
    if isinstance(v, bytes):
        # Bytes in a text column are a bad export (e.g. raw Windows-1252): refuse, do not guess.
        return v.decode("utf-8")
    text = str(v)
    # A lone surrogate (a driver's broken UTF-16) is no text Arrow, DuckDB or SSM can hold.
    text.encode("utf-8")
    return text


def _shown(v: Any) -> str:
    """A bad value as quarantine shows it."""
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="backslashreplace")
    return str(v).encode("utf-8", errors="backslashreplace").decode("utf-8")


def _to_float(v: Any) -> float:
    if isinstance(v, str):
        return float(v.strip())
    return float(v)


def _to_int(v: Any) -> int:
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError("has a fraction")
        return int(v)
    if isinstance(v, str):
        return int(v.strip())
    return int(v)


def _date_text(v: Any) -> str:
    # Some drivers pad a raw date with NULs.
    return _to_text(v).strip().rstrip("\x00")


def _to_date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    text = _date_text(v)
    # Drivers render a DATE as 'YYYY-MM-DD' or with a midnight time part.
    return dt.datetime.fromisoformat(text).date() if len(text) > 10 else dt.date.fromisoformat(text)


def _to_timestamp(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    return dt.datetime.fromisoformat(_date_text(v))


def _to_time(v: Any) -> dt.time:
    if isinstance(v, dt.time):
        return v
    return dt.time.fromisoformat(_date_text(v))


_SLOW: dict[str, tuple[Callable[[Any], Any], str]] = {
    "VARCHAR": (_to_text, "not valid UTF-8 text"),
    "DOUBLE": (_to_float, "not a number"),
    "INTEGER": (_to_int, "not a whole number within INTEGER range"),
    "SMALLINT": (_to_int, "not a whole number within SMALLINT range"),
    "DATE": (_to_date, "not a valid date"),
    "TIME": (_to_time, "not a valid time"),
    "TIMESTAMP": (_to_timestamp, "not a valid timestamp"),
}

_INT_BOUNDS = {"INTEGER": (-(2**31), 2**31 - 1), "SMALLINT": (-(2**15), 2**15 - 1)}


def _fast(values: Sequence[Any], duckdb_type: str, arrow_type: pa.DataType) -> pa.Array:
    if duckdb_type in {"DATE", "TIMESTAMP", "TIME"}:
        sample = next((v for v in values if v is not None), None)
        if isinstance(sample, str):
            # ISO text (SQLite, or ODBC dates fetched raw): Arrow parses it in C; cast refuses
            # the whole column if one value is bad, and the slow path then finds which.
            return pc.cast(pa.array(values, pa.string()), arrow_type)
    return pa.array(values, arrow_type)


def convert_column(values: Sequence[Any], column: SageColumn, bad: list[BadValue]) -> pa.Array:
    """`values` as an Arrow array of the column's warehouse type; failures appended to `bad`."""
    duckdb_type = column.duckdb_type
    arrow_type = ARROW_TYPES[duckdb_type]
    try:
        return _fast(values, duckdb_type, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        pass
    convert, reason = _SLOW[duckdb_type]
    bounds = _INT_BOUNDS.get(duckdb_type)
    out: list[Any] = []
    for row, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        try:
            converted = convert(value)
            if bounds and not bounds[0] <= converted <= bounds[1]:
                raise ValueError("out of range")
        except (TypeError, ValueError, OverflowError):
            bad.append(BadValue(row, column.name, reason, _shown(value)[:200]))
            out.append(None)
        else:
            out.append(converted)
    return pa.array(out, arrow_type)


def rows_to_arrow(
    rows: Sequence[Sequence[Any]], columns: Sequence[SageColumn]
) -> tuple[pa.Table, list[BadValue]]:
    """One fetched chunk as an Arrow table with lower-case column names, plus its bad values."""
    bad: list[BadValue] = []
    by_column = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    arrays = [
        convert_column(values, col, bad) for values, col in zip(by_column, columns, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=[c.name.lower() for c in columns]), bad


def batch_to_arrow(
    batch: pa.RecordBatch, columns: Sequence[SageColumn]
) -> tuple[pa.Table, list[BadValue]]:
    """A bulk-fetched batch (columns in `columns` order) as `rows_to_arrow` returns a chunk."""
    bad: list[BadValue] = []
    arrays = []
    for array, column in zip(batch.columns, columns, strict=True):
        arrow_type = ARROW_TYPES[column.duckdb_type]
        try:
            arrays.append(array if array.type == arrow_type else pc.cast(array, arrow_type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            arrays.append(convert_column(array.to_pylist(), column, bad))
    return pa.Table.from_arrays(arrays, names=[c.name.lower() for c in columns]), bad


def to_arrow(
    chunk: Sequence[Sequence[Any]] | pa.RecordBatch, columns: Sequence[SageColumn]
) -> tuple[pa.Table, list[BadValue]]:
    """Any chunk a Sage connection streams, as an Arrow table plus its bad values."""
    if isinstance(chunk, pa.RecordBatch):
        return batch_to_arrow(chunk, columns)
    return rows_to_arrow(chunk, columns)
