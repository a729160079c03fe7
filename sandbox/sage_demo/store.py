"""The demo company's SQLite file: tables cut from the Sage schema catalogue, fast batched inserts."""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

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


class Db(Protocol):
    """What the generator needs of a connection: statements in order, nothing read back."""

    def execute(self, sql: str, params: Sequence[object] = ..., /) -> object: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]], /) -> object: ...

    def close(self) -> None: ...


def create_tables(con: Db, tables: Iterable[str]) -> None:
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
        con: Db,
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
        rows = self._rows
        rows.append(row)
        if len(rows) >= BATCH_ROWS:
            self.flush()

    def extend(self, rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            self.add(row)

    def flush(self) -> None:
        if self._rows:
            self._con.executemany(self.sql, self._rows)
            self.count += len(self._rows)
            self._rows.clear()


# A fresh file tuned for one bulk write: no journal, no fsync, one explicit transaction.
PRAGMAS = (
    "PRAGMA journal_mode=OFF",
    "PRAGMA synchronous=OFF",
    "PRAGMA cache_size=-200000",
    "PRAGMA temp_store=MEMORY",
)


def open_new(path: Path) -> sqlite3.Connection:
    """A fresh file, written in this process, with `PRAGMAS`."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        con.execute(pragma)
    return con


class WriterProcess:
    """The file's one connection, run by a child Python so SQLite works while rows are made.

    Statements are pickled down the child's stdin and run there in exactly the order they are
    sent, so the file is byte-identical to writing in-process. The pipe's small buffer is the
    back-pressure: the child is at most about one batch behind, and memory stays flat. The child
    is a plain `python -I -c` program that imports only sqlite3 and pickle (no multiprocessing:
    nothing re-imports the caller's main module, and no fork of a threaded process).
    `close()` waits for it and raises RuntimeError with its traceback if it failed.
    """

    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and program
            [sys.executable, "-I", "-c", _WRITER_PROGRAM],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._errors,
        )
        self._stdin = self._proc.stdin
        self._closed = False
        self._put((str(path), PRAGMAS))

    def _put(self, message: object) -> None:
        try:
            pickle.dump(message, self._stdin, protocol=pickle.HIGHEST_PROTOCOL)
        except (BrokenPipeError, ConnectionResetError):
            self.close()  # raises the child's error
            raise

    def execute(self, sql: str, params: Sequence[object] = (), /) -> None:
        self._put((False, sql, tuple(params)))

    def executemany(self, sql: str, rows: Iterable[Sequence[object]], /) -> None:
        self._put((True, sql, rows if isinstance(rows, list) else list(rows)))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            pickle.dump(None, self._stdin)
            self._stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass
        code = self._proc.wait()
        self._errors.seek(0)
        errors = self._errors.read().decode(errors="replace")
        self._errors.close()
        if code:
            raise RuntimeError(f"demo company writer exited with {code}:\n{errors}")


# The writer child: (path, pragmas), then (many?, sql, args) messages until None.
_WRITER_PROGRAM = """
import pickle, sqlite3, sys
read = sys.stdin.buffer
path, pragmas = pickle.load(read)
con = sqlite3.connect(path, isolation_level=None)
for pragma in pragmas:
    con.execute(pragma)
while (message := pickle.load(read)) is not None:
    many, sql, args = message
    (con.executemany if many else con.execute)(sql, args)
con.close()
"""
