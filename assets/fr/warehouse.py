"""DuckDB side of the Sage 50 FR source: `sage_fr.<table>`, the file ledger, quarantine.

Each export file is a full snapshot of its kind: a record it holds is inserted or updated, a live
record it lacks was deleted in Sage and is marked deleted (`deleted_at`), except a record whose
row is in quarantine this time (it still exists in Sage: it keeps its last good version). One file
is loaded in one transaction, with its ledger row: a file is loaded whole or not at all.

The ledger `sage_fr.files` holds every file read, by content hash: a file read again (the same
bytes, whatever its name) changes nothing. Identifiers come from the layout, never from data;
values are bound. Hence the file-wide S608 waiver.
"""
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from assets.fr.folder import ExportFile
from assets.fr.layout import FrTable, Layout
from assets.fr.reader import ReadFile
from assets.sage.warehouse import QUARANTINE_TABLE, create_quarantine, q

SCHEMA = "sage_fr"
LEDGER = f"{SCHEMA}.files"


def ensure_tables(con: duckdb.DuckDBPyConnection, layout: Layout) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {LEDGER} (
            sha256 VARCHAR PRIMARY KEY, file_name VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            size BIGINT, modified_ns BIGINT, status VARCHAR NOT NULL, reason VARCHAR,
            rows_read INTEGER, rows_quarantined INTEGER, run_id VARCHAR, read_at TIMESTAMP)"""
    )
    create_quarantine(con)
    for table in layout.tables:
        columns = ", ".join(f"{q(c.name)} {c.duckdb_type}" for c in table.columns)
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {table.warehouse_name} "
            f"({columns}, source_file VARCHAR, deleted_at TIMESTAMP, loaded_at TIMESTAMP)"
        )
        existing = {
            n
            for (n,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
                [SCHEMA, table.name],
            ).fetchall()
        }
        for c in table.columns:  # a column added to the layout later is added, not a failure
            if c.name not in existing:
                con.execute(
                    f"ALTER TABLE {table.warehouse_name} ADD COLUMN {q(c.name)} {c.duckdb_type}"
                )


def already_read(con: duckdb.DuckDBPyConnection, sha256: str) -> bool:
    found = con.execute(f"SELECT count(*) FROM {LEDGER} WHERE sha256 = ?", [sha256]).fetchall()
    return bool(found[0][0])


def newest_loaded(con: duckdb.DuckDBPyConnection, kind: str) -> int | None:
    """The modification time of the newest file of `kind` loaded so far."""
    return con.execute(
        f"SELECT max(modified_ns) FROM {LEDGER} WHERE kind = ? AND status = 'loaded'", [kind]
    ).fetchall()[0][0]


def record(
    con: duckdb.DuckDBPyConnection,
    file: ExportFile,
    sha256: str,
    status: str,
    run_id: str,
    *,
    reason: str | None = None,
    rows: int | None = None,
    quarantined: int | None = None,
) -> None:
    kind = file.kind.name if file.kind else ""
    con.execute(
        f"INSERT OR REPLACE INTO {LEDGER} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [sha256, file.name, kind, file.size, file.mtime_ns, status, reason, rows, quarantined,
         run_id],
    )  # fmt: skip


@dataclass(frozen=True)
class TableCounts:
    inserted: int
    updated: int
    deleted: int
    quarantined: int


def _match(table: FrTable, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{q(k)} IS NOT DISTINCT FROM {right}.{q(k)}" for k in table.key)


def _row_key(table: FrTable, alias: str) -> str:
    parts = [f"coalesce(CAST({alias}.{q(k)} AS VARCHAR), '')" for k in table.key]
    return parts[0] if len(parts) == 1 else f"concat_ws('/', {', '.join(parts)})"


def _merge(
    con: duckdb.DuckDBPyConnection,
    table: FrTable,
    rows: pa.Table,
    kept: set[str],
    file_name: str,
    now: dt.datetime,
) -> tuple[int, int, int]:
    """Make `table` the snapshot `rows`; keys in `kept` (quarantined) are left as they are."""
    target = table.warehouse_name
    cols = [q(c.name) for c in table.columns]
    con.register("_fr_rows", rows)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _fr_file AS SELECT * FROM _fr_rows")
    finally:
        con.unregister("_fr_rows")
    con.execute("CREATE OR REPLACE TEMP TABLE _fr_kept (row_key VARCHAR)")
    if kept:
        con.execute("INSERT INTO _fr_kept SELECT unnest(?::VARCHAR[])", [sorted(kept)])
    match = _match(table, "t", "s")
    changed = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in cols)
    updated = con.execute(
        f"""UPDATE {target} AS t SET {", ".join(f"{c} = s.{c}" for c in cols)},
                source_file = ?, deleted_at = NULL, loaded_at = ?
            FROM _fr_file AS s WHERE {match} AND (t.deleted_at IS NOT NULL OR {changed})""",
        [file_name, now],
    ).fetchall()[0][0]
    inserted = con.execute(
        f"""INSERT INTO {target} ({", ".join(cols)}, source_file, deleted_at, loaded_at)
            SELECT {", ".join(f"s.{c}" for c in cols)}, ?, NULL, ? FROM _fr_file AS s
            WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {match})""",
        [file_name, now],
    ).fetchall()[0][0]
    deleted = con.execute(
        f"""UPDATE {target} AS t SET deleted_at = ?
            WHERE t.deleted_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM _fr_file AS s WHERE {match})
              AND {_row_key(table, "t")} NOT IN (SELECT row_key FROM _fr_kept)""",
        [now],
    ).fetchall()[0][0]
    return inserted, updated, deleted


def load(
    con: duckdb.DuckDBPyConnection,
    read: ReadFile,
    file: ExportFile,
    sha256: str,
    run_id: str,
    now: dt.datetime,
) -> dict[str, TableCounts]:
    """Load one read file and its ledger row in one transaction."""
    counts: dict[str, TableCounts] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for table in read.kind.tables:
            kept = read.quarantined_keys(table)
            # A document in quarantine keeps its lines as they were, too.
            if table is not read.kind.tables[0] and read.kind.documents:
                heads = read.quarantined_keys(read.kind.tables[0])
                kept |= _line_keys_of(con, table, heads)
            inserted, updated, deleted = _merge(
                con, table, read.tables[table.name], kept, file.name, now
            )
            con.execute(f"DELETE FROM {QUARANTINE_TABLE} WHERE table_name = ?",
                        [table.warehouse_name])  # fmt: skip
            bad = [b for b in read.bad if b.table == table.warehouse_name]
            for b in bad:
                con.execute(
                    f"INSERT INTO {QUARANTINE_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [b.table, b.row_key, b.column, b.reason, b.value, run_id, now],
                )
            keys = {b.row_key for b in bad}
            counts[table.name] = TableCounts(inserted, updated, deleted, len(keys))
        quarantined = len({(b.table, b.row_key) for b in read.bad})
        record(con, file, sha256, "loaded", run_id, rows=read.rows, quarantined=quarantined)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def _line_keys_of(con: duckdb.DuckDBPyConnection, table: FrTable, documents: set[str]) -> set[str]:
    """Row keys of the live lines of `documents` (their first key column is the document)."""
    if not documents:
        return set()
    rows = con.execute(
        f"SELECT {_row_key(table, 't')} FROM {table.warehouse_name} AS t "
        f"WHERE CAST(t.{q(table.key[0])} AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))",
        [sorted(documents)],
    ).fetchall()
    return {k for (k,) in rows}
