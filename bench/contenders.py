"""The three ways of loading every `sage` table of a company into DuckDB that the bench compares.

* `raw_driver`: the limit the issue names. A bare pyodbc `fetchmany` loop over the connector's
  own queries (the same SQL text, the same ODBC driver, the same chunk size), keeping nothing.
* `raw_bulk_driver`: the driver's limit with block fetches. A bare loop over the connector's
  arrow-odbc block fetches (`BulkReader.fetch`: the same transit buffer, dates bound as text) of
  the same queries, keeping nothing: what the connector's default reader costs before any
  conversion, validation or DuckDB work.
* `connector`: the connector's extractor (`assets.sage.extract.extract_table`, what each
  `sage/<table>` asset runs) in full mode, through ODBC with its default reader, into a fresh
  DuckDB file opened with the product's warehouse settings (lock, memory limit).
* `dlt_sql_database`: the peer. dlt's `sql_database` source with the pyarrow backend into
  DuckDB, the way a data engineer would load the same tables with dlt. dlt reads through
  SQLAlchemy (there is no SQLAlchemy dialect for the Sage ODBC driver), so here it reads the
  SQLite file with Python's sqlite3 module, no ODBC layer: a head start for the peer.

Each returns rows loaded and seconds spent loading (imports and process start excluded, so the
three are timed on the same work); the caller runs each in its own process for peak memory.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

CHUNK_ROWS = 5000
# The SQLite ODBC driver materialises a whole result set in memory (sqlite3_get_table) unless
# StepAPI=1, which makes it step row by row like the Sage driver's server-side cursor: without
# it a fetchmany loop over the large company's INVOICE_ITEM alone peaks at ~1.7 GB of driver
# buffers. Every contender that uses ODBC gets the same connection string.
ODBC_OPTIONS = "StepAPI=1"


def odbc_connection_string(company: Path, driver: str = "SQLite3") -> str:
    return f"Driver={driver};Database={company};{ODBC_OPTIONS}"


def _tables() -> list[Any]:
    """The catalogue, DELETED_RECORDS first (the assets extract it before the tables it names)."""
    from assets.sage.catalogue import CATALOGUE

    return sorted(CATALOGUE, key=lambda t: t.table != "DELETED_RECORDS")


def full_queries(odbc_escape: bool = True) -> list[tuple[str, str]]:
    """(table, SQL) of a first full extract: exactly the text the connector sends the driver."""
    from resources.sage.sql import SageSelect, render

    style = "odbc_escape" if odbc_escape else "quoted"
    return [(t.table, render(SageSelect(t.table, t.column_names), style)) for t in _tables()]


def raw_driver(company: Path, chunk_rows: int = CHUNK_ROWS) -> dict[str, Any]:
    import pyodbc

    rows_by_table: dict[str, int] = {}
    started = time.perf_counter()
    connection = pyodbc.connect(odbc_connection_string(company), autocommit=True)
    try:
        for table, sql in full_queries():
            cursor = connection.cursor()
            cursor.execute(sql)
            n = 0
            while rows := cursor.fetchmany(chunk_rows):
                n += len(rows)
            cursor.close()
            rows_by_table[table] = n
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    return {"rows": sum(rows_by_table.values()), "seconds": seconds, "rows_by_table": rows_by_table}


def raw_bulk_driver(company: Path, chunk_rows: int = CHUNK_ROWS) -> dict[str, Any]:
    from resources.sage.source import BulkReader

    rows_by_table: dict[str, int] = {}
    started = time.perf_counter()
    reader = BulkReader(
        odbc_connection_string(company),
        dates_as_text=True,
        wide_text=False,
        login_timeout_seconds=30,
    )
    for table, sql in full_queries():
        rows_by_table[table] = sum(batch.num_rows for batch in reader.fetch(sql, chunk_rows))
    reader.close()
    seconds = time.perf_counter() - started
    return {"rows": sum(rows_by_table.values()), "seconds": seconds, "rows_by_table": rows_by_table}


def connector(company: Path, warehouse: Path, chunk_rows: int = CHUNK_ROWS) -> dict[str, Any]:
    from assets.sage.extract import ExtractPlan, extract_table
    from pipelines import resources
    from resources.sage.source import SageSourceResource

    warehouse.parent.mkdir(parents=True, exist_ok=True)
    warehouse.unlink(missing_ok=True)
    source = SageSourceResource(
        odbc_connection=odbc_connection_string(company), chunk_rows=chunk_rows
    )
    plan = ExtractPlan("full", chunk_rows=chunk_rows)
    rows_by_table: dict[str, int] = {}
    quarantined = 0
    started = time.perf_counter()
    with source.connect() as sage, resources.warehouse(str(warehouse)).get_connection() as db:
        for table in _tables():
            result = extract_table(table, sage, db, plan, run_id="bench")
            rows_by_table[table.table] = result.rows_read
            quarantined += result.quarantined
        db.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    return {
        "rows": sum(rows_by_table.values()),
        "seconds": seconds,
        "rows_by_table": rows_by_table,
        "quarantined": quarantined,
        "warehouse_mib": warehouse.stat().st_size / 2**20,
    }


def dlt_sql_database(company: Path, workdir: Path, chunk_rows: int = CHUNK_ROWS) -> dict[str, Any]:
    import dlt
    import duckdb
    from dlt.sources.sql_database import sql_database

    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "dlt.duckdb"
    warehouse.unlink(missing_ok=True)
    names = [t.table for t in _tables()]
    started = time.perf_counter()
    source = sql_database(
        f"sqlite:///{company}", table_names=names, backend="pyarrow", chunk_size=chunk_rows
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench_sage",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name="sage",
        pipelines_dir=str(workdir / "pipelines"),
    )
    pipeline.run(source, write_disposition="replace")
    seconds = time.perf_counter() - started
    with duckdb.connect(str(warehouse), read_only=True) as db:
        rows_by_table = {
            name: db.execute(f'SELECT count(*) FROM sage."{name.lower()}"').fetchone()[0]  # noqa: S608
            for name in names
        }
    return {
        "rows": sum(rows_by_table.values()),
        "seconds": seconds,
        "rows_by_table": rows_by_table,
        "warehouse_mib": warehouse.stat().st_size / 2**20,
    }
