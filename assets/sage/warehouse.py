"""DuckDB SQL of the `sage` layer: tables, staging, merge, soft deletes, watermarks, quarantine.

Identifiers come from the catalogue (documented Sage names), never from data; values from data
are bound as parameters. Hence the file-wide S608 waiver: every f-string here splices identifiers.
"""
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

import duckdb

from assets.sage.catalogue import BY_TABLE, ByDate, ByParent, SageTable

STATE_TABLE = "sage._watermarks"
QUARANTINE_TABLE = "quarantine.rows"
# SSM records held back from the push (a document whose parts disagree or are in quarantine),
# written by the desired state (assets/ssm/desired.py); a record leaves it once it is right.
HELD_BACK_TABLE = "quarantine.held_back"


def q(name: str) -> str:
    """A DuckDB identifier (lower-case Sage names such as "date" or "type" need quoting)."""
    return '"' + name.lower().replace('"', '""') + '"'


def target(table: SageTable) -> str:
    return f"sage.{q(table.name)}"


def row_key_sql(table: SageTable, alias: str) -> str:
    """The text that names a row in quarantine: its key values joined by '/' (as the demo's
    defect manifest writes them)."""
    parts = [f"CAST({alias}.{q(k)} AS VARCHAR)" for k in table.key]
    return parts[0] if len(parts) == 1 else f"concat_ws('/', {', '.join(parts)})"


def _key_match(table: SageTable, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{q(k)} = {right}.{q(k)}" for k in table.key)


def ensure_tables(db: duckdb.DuckDBPyConnection, table: SageTable) -> None:
    """Create the schemas, the state and quarantine tables and `table`'s own table if missing.

    One catalogue query finds what exists, so an extract into a ready warehouse issues no DDL
    (each DDL statement is a commit of its own)."""
    found: dict[tuple[str, str], set[str]] = {}
    for schema, name, column in db.execute(
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() AND ((schema_name = 'sage' "
        "AND table_name IN (?, '_watermarks')) OR (schema_name = 'quarantine' "
        "AND table_name IN ('rows', 'held_back')))",
        [table.name],
    ).fetchall():
        found.setdefault((schema, name), set()).add(column)
    quarantine = {("quarantine", "rows"), ("quarantine", "held_back")}
    if ("sage", "_watermarks") not in found or not quarantine <= found.keys():
        db.execute("CREATE SCHEMA IF NOT EXISTS sage")
        db.execute(
            f"""CREATE TABLE IF NOT EXISTS {STATE_TABLE} (
                table_name VARCHAR PRIMARY KEY,
                watermark TIMESTAMP,
                runs_since_key_scan INTEGER NOT NULL DEFAULT 0,
                last_key_scan_at TIMESTAMP,
                updated_at TIMESTAMP)"""
        )
        create_quarantine(db)
    existing = found.get(("sage", table.name))
    if existing is None:
        columns = ", ".join(f"{q(c.name)} {c.duckdb_type}" for c in table.columns)
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {target(table)} "
            f"({columns}, deleted_at TIMESTAMP, loaded_at TIMESTAMP)"
        )
        return
    # A column added to the catalogue after the table was created is added, not a failure.
    for c in table.columns:
        if c.name.lower() not in existing:
            db.execute(f"ALTER TABLE {target(table)} ADD COLUMN {q(c.name)} {c.duckdb_type}")


def create_quarantine(db: duckdb.DuckDBPyConnection) -> None:
    """The quarantine schema: Sage rows that failed validation, SSM records held back."""
    db.execute("CREATE SCHEMA IF NOT EXISTS quarantine")
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS {QUARANTINE_TABLE} (
            table_name VARCHAR NOT NULL, row_key VARCHAR, column_name VARCHAR, reason VARCHAR NOT NULL,
            value VARCHAR, run_id VARCHAR, quarantined_at TIMESTAMP NOT NULL)"""
    )
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS {HELD_BACK_TABLE} (
            layer VARCHAR NOT NULL, resource VARCHAR NOT NULL, row_key VARCHAR NOT NULL,
            reason VARCHAR NOT NULL, run_id VARCHAR, since TIMESTAMP NOT NULL)"""
    )


def ensure_quarantine(db: duckdb.DuckDBPyConnection) -> None:
    """`create_quarantine` when a table of it is missing: no DDL (each a commit of its own, and
    refused on a read-only connection) when both are there."""
    (found,) = db.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'quarantine' AND table_name IN ('rows', 'held_back')"
    ).fetchall()[0]
    if found < 2:
        create_quarantine(db)


def create_staging(db: duckdb.DuckDBPyConnection, table: SageTable) -> None:
    """Temp tables of one extract: every row read (`_row` in read order, `_bad` if quarantined),
    the keys of a key scan, the quarantine details, and the parent keys of a backfilled window;
    for a partitioned table the month columns of the rows written (`_touched`), for a line table
    the dates of parents read from Sage (`_parent_dates`)."""
    columns = ", ".join(f"{q(c.name)} {c.duckdb_type}" for c in table.columns)
    db.execute(f"CREATE OR REPLACE TEMP TABLE _stage ({columns}, _row BIGINT, _bad BOOLEAN)")
    keys = ", ".join(f"{q(k)} {_type(table, k)}" for k in table.key)
    db.execute(f"CREATE OR REPLACE TEMP TABLE _seen ({keys})")
    db.execute(
        "CREATE OR REPLACE TEMP TABLE _failures "
        "(_row BIGINT, column_name VARCHAR, reason VARCHAR, value VARCHAR)"
    )
    db.execute("CREATE OR REPLACE TEMP TABLE _parent_keys (k BIGINT)")
    column = month_column(table)
    if column is not None:
        # Named like the column, so the table's month SQL reads it too.
        db.execute(f"CREATE OR REPLACE TEMP TABLE _touched ({q(column)} {_type(table, column)})")
    if isinstance(table.partition, ByParent):
        parent = BY_TABLE[table.partition.parent]
        columns = ", ".join(
            f"{q(c)} {_type(parent, c)}" for c in parent_date_columns(table.partition)
        )
        db.execute(f"CREATE OR REPLACE TEMP TABLE _parent_dates ({columns})")


def _type(table: SageTable, column: str) -> str:
    return next(c.duckdb_type for c in table.columns if c.name == column)


def read_state(db: duckdb.DuckDBPyConnection, table: SageTable) -> tuple[dt.datetime | None, int]:
    rows = db.execute(
        f"SELECT watermark, runs_since_key_scan FROM {STATE_TABLE} WHERE table_name = ?",
        [table.name],
    ).fetchall()
    return (rows[0][0], rows[0][1]) if rows else (None, 0)


def mark_cross_chunk_duplicates(db: duckdb.DuckDBPyConnection, table: SageTable) -> int:
    """Quarantine all but the first read row of a key that came in several chunks."""
    keys = ", ".join(q(k) for k in table.key)
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE _dupes AS
            SELECT _row FROM (
                SELECT _row, row_number() OVER (PARTITION BY {keys} ORDER BY _row) AS n
                FROM _stage WHERE NOT _bad) WHERE n > 1"""
    )
    count = db.execute("SELECT count(*) FROM _dupes").fetchall()[0][0]
    if count:
        db.execute("UPDATE _stage SET _bad = true WHERE _row IN (SELECT _row FROM _dupes)")
        db.execute(
            """INSERT INTO _failures SELECT _row, ?, 'duplicate key', NULL
                FROM _dupes""",
            [table.key[0]],
        )
    return count


def latest_modified(db: duckdb.DuckDBPyConnection, limit: dt.datetime) -> dt.datetime | None:
    """The latest RECORD_MODIFY_DATE among the staged rows that passed their rules, ignoring any
    beyond `limit` (a bad clock must never become the watermark)."""
    return db.execute(
        "SELECT max(record_modify_date) FROM _stage WHERE NOT _bad AND record_modify_date <= ?",
        [limit],
    ).fetchall()[0][0]


def merge(
    db: duckdb.DuckDBPyConnection, table: SageTable, now: dt.datetime
) -> tuple[int, int, int]:
    """Upsert the good staged rows by key; (inserted, updated, undeleted). Unchanged rows are
    left alone, so the lookback's re-reads count as nothing."""
    tgt = target(table)
    cols = [q(c.name) for c in table.columns]
    col_list = ", ".join(cols)
    match = _key_match(table, "t", "s")
    changed = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in cols)
    month = month_column(table)
    was = f"t.{q(month)}" if month else "NULL"
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE _changed AS
            SELECT s.*, t.deleted_at IS NOT NULL AS _undelete, {was} AS _was FROM _stage s
            JOIN {tgt} t ON {match}
            WHERE NOT s._bad AND (t.deleted_at IS NOT NULL OR {changed})"""
    )
    updated, undeleted = db.execute(
        "SELECT count(*), count(*) FILTER (WHERE _undelete) FROM _changed"
    ).fetchall()[0]
    if updated:
        assignments = ", ".join(f"{c} = s.{c}" for c in cols)
        db.execute(
            f"""UPDATE {tgt} AS t SET {assignments}, deleted_at = NULL, loaded_at = ?
                FROM _changed s WHERE {match}""",
            [now],
        )
        if month:  # a row whose date moved changed both months
            db.execute(
                f"INSERT INTO _touched SELECT _was FROM _changed "
                f"UNION ALL SELECT {q(month)} FROM _changed"
            )
    inserted = _written(
        db,
        table,
        f"""INSERT INTO {tgt} ({col_list}, deleted_at, loaded_at)
            SELECT {", ".join(f"s.{c}" for c in cols)}, NULL, ? FROM _stage s
            WHERE NOT s._bad AND NOT EXISTS (SELECT 1 FROM {tgt} t WHERE {match})""",
        [now],
        alias="",
    )
    return inserted, updated, undeleted


# ------------------------------------------------------------------------------------ first load
# Into an empty table there is nothing to compare with: good rows go straight into the table
# (one copy instead of staging then merging), and only the bad ones are staged for quarantine.


def is_empty(db: duckdb.DuckDBPyConnection, table: SageTable) -> bool:
    return not db.execute(f"SELECT EXISTS (SELECT 1 FROM {target(table)})").fetchall()[0][0]


def load_rows(
    db: duckdb.DuckDBPyConnection, table: SageTable, relation: str, now: dt.datetime
) -> None:
    """Append the rows of `relation` (the table's columns, in order) as live rows."""
    cols = ", ".join(q(c.name) for c in table.columns)
    db.execute(
        f"INSERT INTO {target(table)} ({cols}, deleted_at, loaded_at) "
        f"SELECT {cols}, NULL, ? FROM {relation}",
        [now],
    )


def unload_duplicates(db: duckdb.DuckDBPyConnection, table: SageTable) -> int:
    """First load: keep the first loaded row of each key (the lowest rowid, i.e. read order) and
    move the others to `_stage` as bad rows with a 'duplicate key' failure."""
    keys = ", ".join(q(k) for k in table.key)
    cols = ", ".join(q(c.name) for c in table.columns)
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE _dupes AS
            SELECT rowid AS id FROM (
                SELECT rowid, row_number() OVER (PARTITION BY {keys} ORDER BY rowid) AS n
                FROM {target(table)}) WHERE n > 1"""
    )
    count = db.execute("SELECT count(*) FROM _dupes").fetchall()[0][0]
    if count:
        # Negative read positions: they never meet the positions of the staged bad rows.
        db.execute(
            f"""INSERT INTO _stage SELECT {cols}, -1 - rowid, true FROM {target(table)}
                WHERE rowid IN (SELECT id FROM _dupes)"""
        )
        db.execute(
            """INSERT INTO _failures SELECT -1 - id, ?, 'duplicate key', NULL FROM _dupes""",
            [table.key[0]],
        )
        db.execute(f"DELETE FROM {target(table)} WHERE rowid IN (SELECT id FROM _dupes)")
    return count


def latest_loaded_modified(
    db: duckdb.DuckDBPyConnection, table: SageTable, limit: dt.datetime
) -> dt.datetime | None:
    """`latest_modified` of a first load, whose good rows are in the table itself."""
    return db.execute(
        f"SELECT max(record_modify_date) FROM {target(table)} WHERE record_modify_date <= ?",
        [limit],
    ).fetchall()[0][0]


def apply_deleted_records(
    db: duckdb.DuckDBPyConnection, table: SageTable, deleted_records: SageTable, now: dt.datetime
) -> int:
    """Soft-delete rows that DELETED_RECORDS names (unless Sage touched them after the deletion,
    i.e. the key was created again)."""
    if table.deleted_records_id is None or table.deleted_ref_column is None:
        return 0
    if not _exists(db, deleted_records):
        return 0
    tgt = target(table)
    ref = q(table.deleted_ref_column)
    modified = "t.record_modify_date" if table.incremental else "NULL"
    return _written(
        db,
        table,
        f"""UPDATE {tgt} AS t SET deleted_at = coalesce(d.deletion_time, ?)
            FROM (SELECT trim(r.foreign_ref) AS ref, max(r.deletion_date_time) AS deletion_time
                  FROM {target(deleted_records)} r
                  WHERE r.table_id = ? AND r.deleted_at IS NULL GROUP BY 1) d
            WHERE t.deleted_at IS NULL AND trim(CAST(t.{ref} AS VARCHAR)) = d.ref
              AND ({modified} IS NULL OR d.deletion_time IS NULL OR {modified} <= d.deletion_time)""",
        [now, table.deleted_records_id],
    )


def date_scope(column: str, start: dt.date, end: dt.date) -> str:
    """Warehouse rows (alias t) dated in [start, end)."""
    return (
        f"t.{q(column)} >= DATE '{start.isoformat()}' AND t.{q(column)} < DATE '{end.isoformat()}'"
    )


def parent_scope(link: str) -> str:
    """Warehouse rows (alias t) of the parent keys loaded into _parent_keys."""
    return f"t.{q(link)} IN (SELECT k FROM _parent_keys)"


ALL_ROWS = "true"


def mark_vanished(
    db: duckdb.DuckDBPyConnection, table: SageTable, scope_sql: str, now: dt.datetime
) -> int:
    """Soft-delete live rows within `scope_sql` (over alias t) whose key was not seen: neither
    staged (good or bad) nor listed by a key scan in `_seen`; their quarantine entries go too."""
    match = _key_match(table, "t", "s")
    vanished = _written(
        db,
        table,
        f"""UPDATE {target(table)} AS t SET deleted_at = ?
            WHERE t.deleted_at IS NULL AND ({scope_sql})
              AND NOT EXISTS (SELECT 1 FROM _stage s WHERE {match})
              AND NOT EXISTS (SELECT 1 FROM _seen s WHERE {match})""",
        [now],
    )
    # Here rather than in the extract: every read that covers a whole scope ends up here.
    forget_vanished_quarantine(db, table, scope_sql)
    return vanished


def forget_vanished_quarantine(
    db: duckdb.DuckDBPyConnection, table: SageTable, scope_sql: str
) -> int:
    """Delete quarantine entries of `table` whose key this extract did not see (neither staged
    nor in `_seen`) although it read the whole of `scope_sql`: Sage deleted those rows, so
    their entries would otherwise keep the quarantine check warning forever.

    Within a backfill window only keys known to lie in it (a warehouse row in the window) are
    cleared: a bad row that never landed has no date here, and waits for the next key scan.
    """
    staged = row_key_sql(table, "s")
    in_scope = (
        "true"
        if scope_sql == ALL_ROWS
        else f"""EXISTS (SELECT 1 FROM {target(table)} t WHERE ({scope_sql})
                   AND {row_key_sql(table, "t")} = r.row_key)"""
    )
    return db.execute(
        f"""DELETE FROM {QUARANTINE_TABLE} AS r WHERE r.table_name = ? AND {in_scope}
              AND NOT EXISTS (SELECT 1 FROM _stage s WHERE {staged} IS NOT DISTINCT FROM r.row_key)
              AND NOT EXISTS (SELECT 1 FROM _seen s WHERE {staged} IS NOT DISTINCT FROM r.row_key)""",
        [f"sage.{table.name}"],
    ).fetchall()[0][0]


def record_quarantine(
    db: duckdb.DuckDBPyConnection, table: SageTable, run_id: str, now: dt.datetime
) -> int:
    """Move this extract's failures into quarantine.rows; clear entries of keys that landed."""
    name = f"sage.{table.name}"
    key = row_key_sql(table, "s")
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE _quarantined AS
            SELECT DISTINCT {key} AS row_key, upper(f.column_name) AS column_name, f.reason, f.value
            FROM _failures f JOIN _stage s USING (_row)"""
    )
    # Keys that landed this time (or were re-read clean) are no longer in quarantine; a row that
    # fails again replaces its earlier entries rather than piling up one per run.
    db.execute(
        f"""DELETE FROM {QUARANTINE_TABLE} AS r WHERE r.table_name = ? AND (
              r.row_key IN (SELECT {key} FROM _stage s WHERE NOT s._bad)
              OR EXISTS (SELECT 1 FROM _quarantined n WHERE n.row_key IS NOT DISTINCT FROM r.row_key))""",
        [name],
    )
    return db.execute(
        f"""INSERT INTO {QUARANTINE_TABLE}
            SELECT ?, row_key, column_name, reason, value, ?, ? FROM _quarantined""",
        [name, run_id, now],
    ).fetchall()[0][0]


def save_state(
    db: duckdb.DuckDBPyConnection,
    table: SageTable,
    watermark: dt.datetime | None,
    key_scanned: bool,
    now: dt.datetime,
) -> None:
    db.execute(
        f"""INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (table_name) DO UPDATE SET
              watermark = CASE WHEN excluded.watermark IS NULL THEN watermark
                               WHEN watermark IS NULL THEN excluded.watermark
                               ELSE greatest(watermark, excluded.watermark) END,
              runs_since_key_scan = CASE WHEN ? THEN 0 ELSE runs_since_key_scan + 1 END,
              last_key_scan_at = coalesce(excluded.last_key_scan_at, last_key_scan_at),
              updated_at = excluded.updated_at""",
        [table.name, watermark, 0, now if key_scanned else None, now, key_scanned],
    )


def counts(db: duckdb.DuckDBPyConnection, table: SageTable) -> tuple[int, int]:
    """(live rows, soft-deleted rows) of `table`."""
    return db.execute(
        f"SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL) "
        f"FROM {target(table)}"
    ).fetchall()[0]


def quarantined_keys(db: duckdb.DuckDBPyConnection, table: SageTable) -> int:
    return db.execute(
        f"SELECT count(DISTINCT coalesce(row_key, '')) FROM {QUARANTINE_TABLE} WHERE table_name = ?",
        [f"sage.{table.name}"],
    ).fetchall()[0][0]


def duplicate_keys(db: duckdb.DuckDBPyConnection, table: SageTable) -> int:
    keys = ", ".join(q(k) for k in table.key)
    return db.execute(
        f"SELECT count(*) FROM (SELECT {keys} FROM {target(table)} GROUP BY {keys} HAVING count(*) > 1)"
    ).fetchall()[0][0]


def insert_keys(db: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str]) -> None:
    db.execute(f"INSERT INTO _seen SELECT {', '.join(q(c) for c in columns)} FROM {relation}")


# --------------------------------------------------------------------------------- document months
# A partitioned table's rows fall in months: a document by its date, a line by its parent
# document's date (from the parent's table in the warehouse, or, for parents not loaded yet, read
# from Sage into `_parent_dates`). Every statement that writes rows of such a table puts the month
# column of each row it wrote (old and new value of an update) into `_touched`, so the extract can
# say which months it changed without comparing the table before and after.


def month_column(table: SageTable) -> str | None:
    """The column that places a row in a month: its date, or the key of its parent document."""
    if isinstance(table.partition, ByDate):
        return table.partition.column
    if isinstance(table.partition, ByParent):
        return table.partition.link
    return None


def _written(
    db: duckdb.DuckDBPyConnection,
    table: SageTable,
    sql: str,
    params: list[object],
    *,
    alias: str = "t",
) -> int:
    """Run the INSERT or UPDATE `sql` of `table` (target aliased `alias`, "" for none); the
    number of rows it wrote. For a partitioned table their month column goes into `_touched`."""
    column = month_column(table)
    if column is None:
        return db.execute(sql, params).fetchall()[0][0]
    returned = f"{alias}.{q(column)}" if alias else q(column)
    written = db.execute(f"{sql} RETURNING {returned}", params).fetchall()
    if written:
        db.execute("INSERT INTO _touched SELECT unnest(?)", [[v for (v,) in written]])
    return len(written)


def parent_date_columns(how: ByParent) -> tuple[str, str]:
    """The parent document's key (the line's link) and the date that places it in a month."""
    parent = BY_TABLE[how.parent]
    if not isinstance(parent.partition, ByDate):
        raise ValueError(f"{how.parent} must be partitioned by a date to have lines by month")
    return how.link, parent.partition.column


def _parent_dates(db: duckdb.DuckDBPyConnection, how: ByParent) -> tuple[str, str]:
    """(SQL of the parent documents' keys and dates, the date column): the parent's table in the
    warehouse, plus the dates `_parent_dates` holds for parents not in it yet."""
    link, date = parent_date_columns(how)
    columns = f"{q(link)}, {q(date)}"
    rows = f"SELECT {columns} FROM _parent_dates"
    parent = BY_TABLE[how.parent]
    if _exists(db, parent):
        rows = f"SELECT {columns} FROM {target(parent)} UNION ALL {rows}"
    return f"({rows})", q(date)


def _months_of(db: duckdb.DuckDBPyConnection, table: SageTable, rows: str) -> tuple[str, str]:
    """(FROM clause over `rows` as t, SQL of a row's month) for rows of `table`: its own table or
    `_touched`."""
    if isinstance(table.partition, ByDate):
        return f"{rows} t", f"date_trunc('month', t.{q(table.partition.column)})::DATE"
    if not isinstance(table.partition, ByParent):
        raise ValueError(f"{table.table} is not partitioned by month")
    parents, date = _parent_dates(db, table.partition)
    link = q(table.partition.link)
    return (
        f"{rows} t JOIN {parents} p ON p.{link} = t.{link}",
        f"date_trunc('month', p.{date})::DATE",
    )


def unplaced_links(db: duckdb.DuckDBPyConnection, table: SageTable, changed: bool) -> list[int]:
    """Parent keys of a line table's rows (of the rows this extract wrote if `changed`) whose
    parent document is neither in the warehouse nor in `_parent_dates`: their dates are missing."""
    if not isinstance(table.partition, ByParent):
        return []
    parents, _ = _parent_dates(db, table.partition)
    link = q(table.partition.link)
    found = db.execute(
        f"SELECT DISTINCT t.{link} FROM {'_touched' if changed else target(table)} t "
        f"WHERE t.{link} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {parents} p WHERE p.{link} = t.{link})"
    )
    return [k for (k,) in found.fetchall()]


def changed_months(db: duckdb.DuckDBPyConnection, table: SageTable) -> set[dt.date]:
    """The months of the rows this extract wrote (both months of a row whose date moved)."""
    rows, month = _months_of(db, table, "_touched")
    months = db.execute(f"SELECT DISTINCT {month} FROM {rows} WHERE {month} IS NOT NULL")
    return {m for (m,) in months.fetchall()}


def live_rows_by_month(
    db: duckdb.DuckDBPyConnection, table: SageTable, months: Collection[dt.date] | None = None
) -> dict[dt.date, int]:
    """Live rows of each of `months` (0 if none), or of every month that has rows when None, in
    one GROUP BY. Rows without a date (or without a known parent) are in no month."""
    if months is not None and not months:
        return {}
    counted = dict.fromkeys(months or (), 0)
    rows, month = _months_of(db, table, target(table))
    where, params = f"{month} IS NOT NULL", []
    if months is not None:
        where, params = f"{month} IN (SELECT unnest(?::DATE[]))", [sorted(months)]
    live = db.execute(
        f"SELECT {month} AS m, count(*) FILTER (WHERE t.deleted_at IS NULL) FROM {rows} "
        f"WHERE {where} GROUP BY m",
        params,
    )
    counted.update(live.fetchall())
    return counted


def _exists(db: duckdb.DuckDBPyConnection, table: SageTable) -> bool:
    found = db.execute(
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = 'sage' "
        "AND table_name = ?)",
        [table.name],
    )
    return bool(found.fetchall()[0][0])


def add_parent_dates(db: duckdb.DuckDBPyConnection, how: ByParent, relation: str) -> None:
    """Keep the (key, date) rows of `relation`, read from Sage, for parents not in `_parent_dates`
    yet (the first of a key Sage repeats)."""
    link, date = (q(c) for c in parent_date_columns(how))
    db.execute(
        f"""INSERT INTO _parent_dates SELECT DISTINCT ON ({link}) {link}, {date} FROM {relation} r
            WHERE r.{link} IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM _parent_dates d WHERE d.{link} = r.{link})"""
    )
