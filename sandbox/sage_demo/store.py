"""The demo company's SQLite file: tables cut from the Sage schema catalogue, fast batched inserts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from resources.sage_schema import table_columns

# The manifest of injected defects; no real Sage table has this name, and the extractor
# reads only the CRM tables, so it never travels further than the tests.
DEFECTS_TABLE = "_DEMO_DEFECTS"

# Rows are flushed with executemany in batches of this size, keeping memory flat on `large`.
BATCH_ROWS = 20_000


def _literal(value: object) -> str:
    """A constant as SQL text. Constants are the generator's own values, never user input."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"unsupported constant {value!r}")


def create_tables(con: sqlite3.Connection, tables: Iterable[str]) -> None:
    """Create each table with exactly the catalogue's columns, in the driver's order."""
    for table in tables:
        cols = ", ".join(f'"{c.name}" {c.sqlite_type}' for c in table_columns(table))
        con.execute(f'CREATE TABLE "{table}" ({cols})')
    con.execute(
        f'CREATE TABLE "{DEFECTS_TABLE}" (table_name VARCHAR, row_key VARCHAR, '
        "column_name VARCHAR, defect VARCHAR)"
    )


class Sink:
    """Buffered inserts into one table.

    `columns` name the values each row tuple carries, in order; `constants` are written as SQL
    literals for every row, so wide tables pass only what varies (all other columns are NULL).
    Every table's RECORD_DELETED is 0 unless the caller says otherwise.
    """

    def __init__(
        self,
        con: sqlite3.Connection,
        table: str,
        columns: Sequence[str],
        constants: Mapping[str, object] | None = None,
    ) -> None:
        catalogue = {c.name: c for c in table_columns(table)}
        consts = dict(constants or {})
        if "RECORD_DELETED" in catalogue and "RECORD_DELETED" not in columns:
            consts.setdefault("RECORD_DELETED", 0)
        unknown = [c for c in (*columns, *consts) if c not in catalogue]
        if unknown:
            raise KeyError(f"{table} has no column(s) {', '.join(unknown)}")
        overlap = set(columns) & set(consts)
        if overlap:
            raise ValueError(f"{table}: {sorted(overlap)} given both per row and as constants")

        def placeholder(name: str) -> str:
            # AUDIT_HEADER.RECORD_CREATE_DATE is a DATE in the catalogue while every other
            # RECORD_* column is a TIMESTAMP: callers pass timestamps and the date is cut here.
            if name.startswith("RECORD_") and catalogue[name].odbc_type == "DATE":
                return "substr(?, 1, 10)"
            return "?"

        names = [*columns, *consts]
        values = [placeholder(c) for c in columns] + [_literal(v) for v in consts.values()]
        quoted = ", ".join(f'"{n}"' for n in names)
        self.sql = f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join(values)})'  # noqa: S608
        self.table = table
        self.width = len(columns)
        self.count = 0
        self._con = con
        self._rows: list[Sequence[object]] = []

    def add(self, row: Sequence[object]) -> None:
        self._rows.append(row)
        if len(self._rows) >= BATCH_ROWS:
            self.flush()

    def extend(self, rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            self.add(row)

    def flush(self) -> None:
        if self._rows:
            self._con.executemany(self.sql, self._rows)
            self.count += len(self._rows)
            self._rows.clear()


def open_new(path: Path) -> sqlite3.Connection:
    """A fresh file tuned for one bulk write: no journal, no fsync, one explicit transaction."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-200000")
    con.execute("PRAGMA temp_store=MEMORY")
    return con
