"""The sage assets on a hand-written company: initial load, incremental changes, late rows,
deletes, backfills, quarantine and the errors that stop a run. Expected figures are by hand."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

import assets.sage as sage_layer
from assets.sage.catalogue import BY_TABLE
from resources.sage import SageSourceResource
from resources.sage_schema import CRM_TABLES, table_columns
from resources.warehouse import WarehouseResource

MODIFIED = "2024-05-01 11:00:00"  # the latest RECORD_MODIFY_DATE of the fixture: the watermark

ROWS: dict[str, list[dict[str, Any]]] = {
    "SALES_LEDGER": [
        {"ACCOUNT_REF": "ABS001", "NAME": "A.B.S. Garages", "E_MAIL": "accounts@abs.example",
         "DATE_ACCOUNT_OPENED": "2015-03-01", "BALANCE": 120.5, "RECORD_MODIFY_DATE": "2024-05-01 10:00:00"},
        {"ACCOUNT_REF": "KIN001", "NAME": "Kinnerton's", "RECORD_MODIFY_DATE": "2024-05-01 10:05:00"},
        {"ACCOUNT_REF": "BRO001", "NAME": "Bronson", "RECORD_MODIFY_DATE": MODIFIED},
    ],
    "INVOICE": [
        {"INVOICE_NUMBER": 1, "INVOICE_DATE": "2024-01-15", "ACCOUNT_REF": "ABS001", "INVOICE_GROSS": 120.0, "RECORD_MODIFY_DATE": MODIFIED},
        {"INVOICE_NUMBER": 2, "INVOICE_DATE": "2024-02-10", "ACCOUNT_REF": "ABS001", "INVOICE_GROSS": 60.0, "RECORD_MODIFY_DATE": MODIFIED},
        {"INVOICE_NUMBER": 3, "INVOICE_DATE": "2024-03-05", "ACCOUNT_REF": "KIN001", "INVOICE_GROSS": 24.0, "RECORD_MODIFY_DATE": MODIFIED},
        {"INVOICE_NUMBER": 4, "INVOICE_DATE": "2019-06-30", "ACCOUNT_REF": "BRO001", "INVOICE_GROSS": 99.0, "RECORD_MODIFY_DATE": "2019-07-01 09:00:00"},
    ],
    "INVOICE_ITEM": [
        {"INVOICE_NUMBER": 1, "ITEM_NUMBER": 1, "ITEMID": 11, "RECORD_MODIFY_DATE": MODIFIED},
        {"INVOICE_NUMBER": 1, "ITEM_NUMBER": 2, "ITEMID": 12, "TEXT": "it's two", "RECORD_MODIFY_DATE": MODIFIED},
        {"INVOICE_NUMBER": 2, "ITEM_NUMBER": 1, "ITEMID": 21, "RECORD_MODIFY_DATE": MODIFIED},
        {"INVOICE_NUMBER": 3, "ITEM_NUMBER": 1, "ITEMID": 31, "RECORD_MODIFY_DATE": MODIFIED},
        {"INVOICE_NUMBER": 4, "ITEM_NUMBER": 1, "ITEMID": 41, "RECORD_MODIFY_DATE": "2019-07-01 09:00:00"},
    ],
    "TAX_CODE": [
        {"TAX_CODE": "T0", "TAX_CODE_ID": 0, "DESCRIPTION": "Zero rated", "TAX_RATE": 0.0},
        {"TAX_CODE": "T1", "TAX_CODE_ID": 1, "DESCRIPTION": "Standard", "TAX_RATE": 20.0},
    ],
}  # fmt: skip


def insert(db: Path, table: str, rows: Iterable[dict[str, Any]]) -> None:
    con = sqlite3.connect(db)
    for row in rows:
        names = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        con.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', list(row.values()))
    con.commit()
    con.close()


def execute(db: Path, sql: str, params: tuple = ()) -> None:
    con = sqlite3.connect(db)
    con.execute(sql, params)
    con.commit()
    con.close()


@pytest.fixture
def company(tmp_path: Path) -> Path:
    """Every CRM table with the catalogue's columns; a few hand-written rows in four of them."""
    db = tmp_path / "company.sqlite"
    con = sqlite3.connect(db)
    for table in CRM_TABLES:
        columns = ", ".join(f'"{c.name}" {c.sqlite_type}' for c in table_columns(table))
        con.execute(f'CREATE TABLE "{table}" ({columns})')
    con.close()
    for table, rows in ROWS.items():
        insert(db, table, rows)
    return db


def source(db: Path, via: str, driver: str = "SQLite3", chunk_rows: int = 2) -> SageSourceResource:
    if via in ("odbc", "pyodbc"):  # the default reader (arrow-odbc), or pyodbc row by row
        return SageSourceResource(
            odbc_connection=f"Driver={driver};Database={db}",
            chunk_rows=chunk_rows,
            odbc_reader="pyodbc" if via == "pyodbc" else "auto",
        )
    return SageSourceResource(database_url=f"sqlite:///{db}", chunk_rows=chunk_rows)


def materialize(
    db: Path,
    warehouse: Path,
    tables: Iterable[str],
    *,
    via: str = "sqlalchemy",
    driver: str = "SQLite3",
    months: tuple[str, str] | None = None,
    config: dict[str, Any] | None = None,
    raise_on_error: bool = True,
    chunk_rows: int = 2,
) -> dg.ExecuteInProcessResult:
    """Materialize the sage assets of `tables` (a partition range when `months` is given)."""
    selection = [BY_TABLE[t].asset_key for t in tables]
    tags = None
    if months:
        tags = {"dagster/asset_partition_range_start": months[0],
                "dagster/asset_partition_range_end": months[1]}  # fmt: skip
    run_config = None
    if config:
        run_config = {"ops": {f"sage__{t.lower()}": {"config": config} for t in tables}}
    return dg.materialize(
        sage_layer.defs.assets,  # type: ignore[arg-type]
        selection=selection,
        resources={
            "sage": source(db, via, driver, chunk_rows),
            "warehouse": WarehouseResource(database=str(warehouse)),
        },
        tags=tags,
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


def figures(result: dg.ExecuteInProcessResult, table: str) -> dict[str, Any]:
    """The inserted/updated/deleted/... metadata of `table`'s (last) materialization."""
    key = BY_TABLE[table].asset_key
    events = [e.materialization for e in result.get_asset_materialization_events()]
    metadata = [m.metadata for m in events if m.asset_key == key][-1]
    names = ("mode", "rows_read", "inserted", "updated", "undeleted", "deleted", "quarantined")
    return {n: metadata[n].value for n in names} | {"rows": metadata["dagster/row_count"].value}


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _normal(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def assert_same_rows(db: Path, warehouse: Path, table: str) -> int:
    """Every source row of `table` is in the warehouse, value for value, and nothing else is live."""
    spec = BY_TABLE[table]
    names = [c.name for c in spec.columns]
    order = ", ".join(f'"{k}"' for k in spec.key)
    con = sqlite3.connect(db)
    expected = [tuple(_normal(v) for v in row) for row in con.execute(
        f'SELECT {", ".join(chr(34) + n + chr(34) for n in names)} FROM "{table}" ORDER BY {order}')]  # fmt: skip
    con.close()
    lower = ", ".join(f'"{n.lower()}"' for n in names)
    actual = [
        tuple(_normal(v) for v in row)
        for row in query(
            warehouse,
            f"SELECT {lower} FROM sage.{spec.name} WHERE deleted_at IS NULL ORDER BY {order.lower()}",
        )
    ]
    assert actual == expected, table
    return len(actual)


TABLES = ("DELETED_RECORDS", "SALES_LEDGER", "INVOICE", "INVOICE_ITEM", "TAX_CODE")


@pytest.mark.parametrize("via", ["sqlalchemy", "odbc", "pyodbc"])
def test_initial_load_copies_every_row(
    company: Path, tmp_path: Path, via: str, request: pytest.FixtureRequest
) -> None:
    driver = request.getfixturevalue("sqlite_odbc_driver") if via != "sqlalchemy" else "SQLite3"
    warehouse = tmp_path / "warehouse.duckdb"
    result = materialize(company, warehouse, TABLES, via=via, driver=driver)
    assert figures(result, "SALES_LEDGER") == {
        "mode": "full", "rows_read": 3, "inserted": 3, "updated": 0, "undeleted": 0,
        "deleted": 0, "quarantined": 0, "rows": 3}  # fmt: skip
    assert figures(result, "INVOICE_ITEM")["inserted"] == 5
    for table in TABLES:
        assert assert_same_rows(company, warehouse, table) == len(ROWS.get(table, []))
    assert query(
        warehouse, "SELECT table_name, watermark FROM sage._watermarks WHERE table_name = 'invoice'"
    ) == [("invoice", dt.datetime(2024, 5, 1, 11, 0))]
    checks = {
        (c.asset_key.path[-1], c.check_name): c.passed for c in result.get_asset_check_evaluations()
    }
    assert checks[("sales_ledger", "unique_key")] and checks[("sales_ledger", "quarantined_rows")]


def test_incremental_run_changes_exactly_what_changed(
    company: Path, tmp_path: Path, connection_kind: dict[str, str]
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    materialize(company, warehouse, TABLES, **connection_kind)
    later = "2024-06-01 09:00:00"
    execute(company, 'UPDATE "SALES_LEDGER" SET "NAME" = ?, "RECORD_MODIFY_DATE" = ? WHERE "ACCOUNT_REF" = ?',
            ("A.B.S. Garages Ltd", later, "ABS001"))  # fmt: skip
    insert(
        company,
        "SALES_LEDGER",
        [{"ACCOUNT_REF": "DUN001", "NAME": "Dunwoody", "RECORD_MODIFY_DATE": later}],
    )
    execute(company, 'DELETE FROM "SALES_LEDGER" WHERE "ACCOUNT_REF" = ?', ("KIN001",))
    insert(company, "DELETED_RECORDS", [{"TABLE_ID": 8, "FOREIGN_REF": "KIN001",
           "DELETION_DATE_TIME": later, "RECORD_MODIFY_DATE": later}])  # fmt: skip

    result = materialize(company, warehouse, TABLES, **connection_kind)
    # Read: ABS001 and DUN001 (changed), BRO001 (at the watermark, inside the lookback: unchanged).
    assert figures(result, "SALES_LEDGER") == {
        "mode": "incremental", "rows_read": 3, "inserted": 1, "updated": 1, "undeleted": 0,
        "deleted": 1, "quarantined": 0, "rows": 3}  # fmt: skip
    assert figures(result, "DELETED_RECORDS")["inserted"] == 1
    # The lookback (10:50 onwards) re-reads the 3 invoices and 4 lines modified at 11:00 and
    # changes none of them; TAX_CODE has no RECORD_MODIFY_DATE: read in full, unchanged.
    unchanged = {"inserted": 0, "updated": 0, "undeleted": 0, "deleted": 0, "quarantined": 0}
    assert figures(result, "INVOICE") == {
        "mode": "incremental", "rows_read": 3, **unchanged, "rows": 4}  # fmt: skip
    assert figures(result, "INVOICE_ITEM") == {
        "mode": "incremental", "rows_read": 4, **unchanged, "rows": 5}  # fmt: skip
    assert figures(result, "TAX_CODE") == {"mode": "full", "rows_read": 2, **unchanged, "rows": 2}
    assert query(
        warehouse, "SELECT account_ref, name, deleted_at FROM sage.sales_ledger ORDER BY 1"
    ) == [
        ("ABS001", "A.B.S. Garages Ltd", None),
        ("BRO001", "Bronson", None),
        ("DUN001", "Dunwoody", None),
        ("KIN001", "Kinnerton's", dt.datetime(2024, 6, 1, 9, 0)),  # kept, marked deleted
    ]
    # Nothing changed since: the lookback (from 08:50 on 1 June) re-reads ABS001 and DUN001,
    # modified at 09:00, but changes neither.
    again = materialize(company, warehouse, ["SALES_LEDGER"], **connection_kind)
    assert figures(again, "SALES_LEDGER") == {
        "mode": "incremental", "rows_read": 2, "inserted": 0, "updated": 0, "undeleted": 0,
        "deleted": 0, "quarantined": 0, "rows": 3}  # fmt: skip


def test_late_row_inside_the_lookback_is_caught(
    company: Path, tmp_path: Path, connection_kind: dict[str, str]
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    # watermark 11:00, lookback 10 minutes
    materialize(company, warehouse, ["SALES_LEDGER"], **connection_kind)
    insert(company, "SALES_LEDGER", [
        {"ACCOUNT_REF": "LATE01", "NAME": "Committed late", "RECORD_MODIFY_DATE": "2024-05-01 10:55:00"},
        {"ACCOUNT_REF": "OLD001", "NAME": "Outside the lookback", "RECORD_MODIFY_DATE": "2024-05-01 10:40:00"},
    ])  # fmt: skip
    result = materialize(company, warehouse, ["SALES_LEDGER"], **connection_kind)
    assert figures(result, "SALES_LEDGER")["inserted"] == 1
    refs = {r[0] for r in query(warehouse, "SELECT account_ref FROM sage.sales_ledger")}
    assert "LATE01" in refs and "OLD001" not in refs
    # A wider lookback, given as run config, reaches it.
    wider = materialize(
        company, warehouse, ["SALES_LEDGER"], config={"lookback_minutes": 30}, **connection_kind
    )
    assert figures(wider, "SALES_LEDGER")["inserted"] == 1


def test_change_to_an_old_document_is_caught_by_the_unpartitioned_run(
    company: Path, tmp_path: Path, connection_kind: dict[str, str]
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    materialize(company, warehouse, ["INVOICE"], **connection_kind)
    execute(company, 'UPDATE "INVOICE" SET "INVOICE_GROSS" = 0, "RECORD_MODIFY_DATE" = ? '
            'WHERE "INVOICE_NUMBER" = 4', ("2024-06-02 08:00:00",))  # fmt: skip
    result = materialize(company, warehouse, ["INVOICE"], **connection_kind)
    assert figures(result, "INVOICE")["updated"] == 1
    assert query(warehouse, "SELECT invoice_gross FROM sage.invoice WHERE invoice_number = 4") == [
        (0.0,)
    ]


def test_backfill_of_two_months_loads_exactly_those_months(
    company: Path, tmp_path: Path, connection_kind: dict[str, str]
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    result = materialize(
        company,
        warehouse,
        ["INVOICE", "INVOICE_ITEM"],
        months=("2024-01-01", "2024-02-01"),
        **connection_kind,
    )
    assert query(warehouse, "SELECT invoice_number FROM sage.invoice ORDER BY 1") == [(1,), (2,)]
    assert query(warehouse, "SELECT invoice_number, item_number FROM sage.invoice_item ORDER BY 1, 2") == [
        (1, 1), (1, 2), (2, 1)]  # fmt: skip
    partitions = sorted(
        e.materialization.partition for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == BY_TABLE["INVOICE"].asset_key
    )  # fmt: skip
    assert partitions == ["2024-01-01", "2024-02-01"]
    assert figures(result, "INVOICE")["mode"] == "window"
    # A backfill reads by document date and sets no watermark: the next run still starts in full.
    assert (
        query(warehouse, "SELECT watermark FROM sage._watermarks WHERE table_name = 'invoice'")
        == []
    )
    # A line deleted in Sage vanishes from its month's reload.
    execute(company, 'DELETE FROM "INVOICE_ITEM" WHERE "ITEMID" = 12')
    again = materialize(
        company, warehouse, ["INVOICE_ITEM"], months=("2024-01-01", "2024-01-01"), **connection_kind
    )
    assert figures(again, "INVOICE_ITEM")["deleted"] == 1


def test_key_scan_marks_vanished_rows_and_a_returning_row_is_undeleted(
    company: Path, tmp_path: Path, connection_kind: dict[str, str]
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    materialize(company, warehouse, ["SALES_LEDGER"], **connection_kind)
    execute(company, 'DELETE FROM "SALES_LEDGER" WHERE "ACCOUNT_REF" = ?', ("BRO001",))
    unseen = materialize(company, warehouse, ["SALES_LEDGER"], **connection_kind)
    assert figures(unseen, "SALES_LEDGER")["deleted"] == 0  # no DELETED_RECORDS row, no scan due
    scanned = materialize(
        company, warehouse, ["SALES_LEDGER"], config={"key_scan": True}, **connection_kind
    )
    assert figures(scanned, "SALES_LEDGER")["deleted"] == 1
    insert(company, "SALES_LEDGER", [{"ACCOUNT_REF": "BRO001", "NAME": "Bronson again",
                                      "RECORD_MODIFY_DATE": "2024-06-03 10:00:00"}])  # fmt: skip
    back = materialize(company, warehouse, ["SALES_LEDGER"], **connection_kind)
    # Read from 10:50 on 1 May (the watermark minus the lookback): BRO001 alone, back again.
    assert figures(back, "SALES_LEDGER") == {
        "mode": "incremental", "rows_read": 1, "inserted": 0, "updated": 1, "undeleted": 1,
        "deleted": 0, "quarantined": 0, "rows": 3}  # fmt: skip


def test_full_reload_table_soft_deletes_vanished_keys(
    company: Path, tmp_path: Path, connection_kind: dict[str, str]
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    materialize(company, warehouse, ["TAX_CODE"], **connection_kind)
    execute(company, 'DELETE FROM "TAX_CODE" WHERE "TAX_CODE" = ?', ("T0",))
    result = materialize(company, warehouse, ["TAX_CODE"], **connection_kind)
    assert figures(result, "TAX_CODE")["deleted"] == 1
    assert query(warehouse, "SELECT tax_code FROM sage.tax_code WHERE deleted_at IS NOT NULL") == [
        ("T0",)
    ]


def test_bad_rows_go_to_quarantine_and_the_good_rows_land(
    company: Path, tmp_path: Path, connection_kind: dict[str, str]
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    insert(company, "SALES_LEDGER", [
        {"ACCOUNT_REF": "BAD001", "NAME": "Bad date", "DATE_ACCOUNT_OPENED": "2019-02-30", "RECORD_MODIFY_DATE": MODIFIED},
        {"ACCOUNT_REF": "BAD002", "NAME": "Bad mail", "E_MAIL": "not an address", "RECORD_MODIFY_DATE": MODIFIED},
        {"ACCOUNT_REF": "BAD003", "NAME": "x" * 61, "RECORD_MODIFY_DATE": MODIFIED},
        {"ACCOUNT_REF": "BAD004", "NAME": "Typo year", "LAST_INV_DATE": "2130-04-15", "RECORD_MODIFY_DATE": MODIFIED},
        {"ACCOUNT_REF": "BAD005", "INACTIVE_FLAG": 7, "RECORD_MODIFY_DATE": MODIFIED},
        {"ACCOUNT_REF": None, "NAME": "No key", "RECORD_MODIFY_DATE": MODIFIED},
        {"ACCOUNT_REF": "ABS001", "NAME": "Duplicate", "RECORD_MODIFY_DATE": MODIFIED},
        {"ACCOUNT_REF": "BAD006", "NAME": "Text in a number", "BALANCE": "lots", "RECORD_MODIFY_DATE": MODIFIED},
    ])  # fmt: skip
    result = materialize(company, warehouse, ["SALES_LEDGER"], **connection_kind)
    # Text in a number column exists only in a SQLite stand-in (Sage's columns are typed): read
    # as a number, the SQLite ODBC driver hands over NULL for it, to pyodbc and arrow-odbc alike.
    via_odbc = connection_kind["via"] != "sqlalchemy"
    live = [("ABS001", "A.B.S. Garages"), ("BRO001", "Bronson"), ("KIN001", "Kinnerton's")]
    if via_odbc:
        live.insert(1, ("BAD006", "Text in a number"))
    assert figures(result, "SALES_LEDGER")["inserted"] == len(live)
    assert query(warehouse, "SELECT account_ref, name FROM sage.sales_ledger ORDER BY 1") == live
    if via_odbc:
        assert query(
            warehouse, "SELECT balance FROM sage.sales_ledger WHERE account_ref = 'BAD006'"
        ) == [(None,)]
    quarantined = [
        ("ABS001", "ACCOUNT_REF", "duplicate key", None),
        ("BAD001", "DATE_ACCOUNT_OPENED", "not a valid date", "2019-02-30"),
        ("BAD002", "E_MAIL", "not an e-mail address", "not an address"),
        ("BAD003", "NAME", "longer than 60 characters", "x" * 61),
        ("BAD004", "LAST_INV_DATE", "date outside 1980-01-01..2100-12-31", "2130-04-15"),
        ("BAD005", "INACTIVE_FLAG", "flag not in (0, 1)", "7"),
        ("BAD006", "BALANCE", "not a number", "lots"),
        (None, "ACCOUNT_REF", "key is empty", None),
    ]
    assert query(
        warehouse, "SELECT row_key, column_name, reason, value FROM quarantine.rows "
        "WHERE table_name = 'sage.sales_ledger' ORDER BY 1 NULLS LAST, 2"
    ) == [q for q in quarantined if not (via_odbc and q[0] == "BAD006")]  # fmt: skip
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["quarantined_rows"].passed
    assert checks["quarantined_rows"].severity == dg.AssetCheckSeverity.WARN
    assert checks["unique_key"].passed
    # A fixed row lands and leaves quarantine.
    execute(company, 'UPDATE "SALES_LEDGER" SET "E_MAIL" = ?, "RECORD_MODIFY_DATE" = ? WHERE "ACCOUNT_REF" = ?',
            ("bad@two.example", "2024-06-01 09:00:00", "BAD002"))  # fmt: skip
    fixed = materialize(company, warehouse, ["SALES_LEDGER"], **connection_kind)
    assert figures(fixed, "SALES_LEDGER")["inserted"] == 1
    assert query(warehouse, "SELECT count(*) FROM quarantine.rows WHERE row_key = 'BAD002'") == [
        (0,)
    ]


def quarantined_keys(warehouse: Path, table: str) -> list[str | None]:
    return [
        key
        for (key,) in query(
            warehouse,
            f"SELECT row_key FROM quarantine.rows WHERE table_name = 'sage.{table}' ORDER BY 1",
        )
    ]


def test_quarantine_forgets_rows_deleted_in_sage_at_a_key_scan_and_a_full_reload(
    company: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    insert(company, "SALES_LEDGER", [
        {"ACCOUNT_REF": "BAD001", "NAME": "Bad mail", "E_MAIL": "not an address", "RECORD_MODIFY_DATE": MODIFIED},
        {"ACCOUNT_REF": "BAD002", "NAME": "x" * 61, "RECORD_MODIFY_DATE": MODIFIED},
    ])  # fmt: skip
    materialize(company, warehouse, ["SALES_LEDGER"])
    assert quarantined_keys(warehouse, "sales_ledger") == ["BAD001", "BAD002"]
    execute(company, 'DELETE FROM "SALES_LEDGER" WHERE "ACCOUNT_REF" = ?', ("BAD001",))
    # An incremental read cannot tell a deleted row from an unchanged one: the entry stays.
    materialize(company, warehouse, ["SALES_LEDGER"])
    assert quarantined_keys(warehouse, "sales_ledger") == ["BAD001", "BAD002"]
    # The key scan lists every key Sage still has: BAD001 is gone, BAD002 is still there (bad).
    scanned = materialize(company, warehouse, ["SALES_LEDGER"], config={"key_scan": True})
    assert quarantined_keys(warehouse, "sales_ledger") == ["BAD002"]
    checks = {c.check_name: c.passed for c in scanned.get_asset_check_evaluations()}
    assert not checks["quarantined_rows"]
    execute(company, 'DELETE FROM "SALES_LEDGER" WHERE "ACCOUNT_REF" = ?', ("BAD002",))
    reloaded = materialize(company, warehouse, ["SALES_LEDGER"], config={"full_refresh": True})
    assert quarantined_keys(warehouse, "sales_ledger") == []
    checks = {c.check_name: c.passed for c in reloaded.get_asset_check_evaluations()}
    assert checks["quarantined_rows"]


def test_backfill_forgets_quarantined_documents_of_its_months_only(
    company: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    materialize(company, warehouse, ["INVOICE"])
    # Invoices 1 (January) and 2 (February) are edited into bad rows; their good versions stay.
    execute(company, 'UPDATE "INVOICE" SET "NOTES_1" = ?, "RECORD_MODIFY_DATE" = ? '
            'WHERE "INVOICE_NUMBER" IN (1, 2)', ("x" * 61, "2024-06-01 09:00:00"))  # fmt: skip
    materialize(company, warehouse, ["INVOICE"])
    assert quarantined_keys(warehouse, "invoice") == ["1", "2"]
    execute(company, 'DELETE FROM "INVOICE" WHERE "INVOICE_NUMBER" = 1')
    january = materialize(company, warehouse, ["INVOICE"], months=("2024-01-01", "2024-01-01"))
    assert figures(january, "INVOICE")["deleted"] == 1
    # January was read whole, so invoice 1's entry goes; February was not read, so 2's stays.
    assert quarantined_keys(warehouse, "invoice") == ["2"]


def test_missing_table_stops_the_run_with_one_sentence(company: Path, tmp_path: Path) -> None:
    execute(company, 'DROP TABLE "TAX_CODE"')
    result = materialize(company, tmp_path / "w.duckdb", ["TAX_CODE"], raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message
    assert "has no table TAX_CODE: check that the connection points at a Sage 50" in message
