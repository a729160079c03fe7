"""The monthly partitions of the `sage` document tables tell the truth, on a real Dagster instance
and the tiny demo company: the 15-minute (unpartitioned) run marks the months it loaded or changed,
a backfill the months of its range, each with that month's own live row count. Expected counts
come straight from the Sage SQLite file (a line's month is its parent document's)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

import assets.sage as sage_layer
from assets.partitions import document_months
from assets.sage.catalogue import BY_TABLE, CATALOGUE, ByDate, ByParent
from assets.sage.extract import ExtractPlan, extract_table
from resources.warehouse import WarehouseResource
from sandbox.sage_demo import generate
from tests.assets.test_sage_extract import execute, insert, source

PARTITIONED = [t.table for t in CATALOGUE if t.partition is not None]
KEYS = document_months.get_partition_keys()


@pytest.fixture(scope="module")
def demo_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    company = tmp_path_factory.mktemp("tiny") / "tiny.sqlite"
    generate(company, size="tiny", seed=1)
    return company


@pytest.fixture
def company(demo_company: Path, tmp_path: Path) -> Path:
    """A copy of the tiny company that a test may change."""
    return Path(shutil.copy(demo_company, tmp_path / "company.sqlite"))


def sync(
    company: Path,
    warehouse: Path,
    instance: dg.DagsterInstance,
    tables: Iterable[str],
    months: tuple[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of the sage assets of `tables`: unpartitioned, or a backfill of `months`."""
    tags = None
    if months:
        tags = {"dagster/asset_partition_range_start": months[0],
                "dagster/asset_partition_range_end": months[1]}  # fmt: skip
    return dg.materialize(
        sage_layer.defs.assets,  # type: ignore[arg-type]
        selection=[BY_TABLE[t].asset_key for t in tables],
        resources={
            "sage": source(company, "sqlalchemy", chunk_rows=500),
            "warehouse": WarehouseResource(database=str(warehouse)),
        },
        instance=instance,
        tags=tags,
    )


def sage_months(company: Path, table: str) -> dict[str, int]:
    """Rows of `table` in Sage per partition (by month of the document, or of the line's parent
    document); months that are no partition are left out, months without rows too."""
    spec = BY_TABLE[table]
    if isinstance(spec.partition, ByDate):
        date, rows = f't."{spec.partition.column}"', f'"{table}" t'
    else:
        assert isinstance(spec.partition, ByParent)
        parent = BY_TABLE[spec.partition.parent]
        assert isinstance(parent.partition, ByDate)
        link = spec.partition.link
        date = f'p."{parent.partition.column}"'
        rows = f'"{table}" t JOIN "{parent.table}" p ON p."{link}" = t."{link}"'
    con = sqlite3.connect(company)
    found = con.execute(
        f"SELECT substr({date}, 1, 7) || '-01', count(*) FROM {rows} "
        f"WHERE {date} IS NOT NULL GROUP BY 1"
    ).fetchall()
    con.close()
    return {month: n for month, n in found if month in KEYS}


def partition_counts(result: dg.ExecuteInProcessResult, table: str) -> dict[str, int]:
    """The row count of each partition materialization of `table` in this run."""
    key = BY_TABLE[table].asset_key
    return {
        m.partition: m.metadata["dagster/row_count"].value
        for m in (e.materialization for e in result.get_asset_materialization_events())
        if m.asset_key == key and m.partition is not None
    }


def latest_counts(instance: dg.DagsterInstance, table: str) -> dict[str, int]:
    """What the partitions tab shows: each partition's latest materialization's row count."""
    records = instance.fetch_materializations(BY_TABLE[table].asset_key, limit=10_000).records
    latest: dict[str, int] = {}
    for record in records:  # newest first
        m = record.asset_materialization
        assert m is not None
        if m.partition is not None and m.partition not in latest:
            latest[m.partition] = m.metadata["dagster/row_count"].value
    return latest


def test_after_a_full_sync_every_month_reports_its_own_row_count(
    company: Path, tmp_path: Path
) -> None:
    # Documents outside the partitions: before SAGE_HISTORY_START, after the last partition and
    # without a date, each with a line. They load, and belong to no month.
    odd = {900001: "2015-06-15", 900002: "2099-06-15", 900003: None}
    insert(company, "INVOICE", [
        {"INVOICE_NUMBER": n, "INVOICE_DATE": d, "RECORD_MODIFY_DATE": "2020-01-01 00:00:00"}
        for n, d in odd.items()])  # fmt: skip
    insert(company, "INVOICE_ITEM", [
        {"INVOICE_NUMBER": n, "ITEM_NUMBER": 1, "ITEMID": n, "RECORD_MODIFY_DATE": "2020-01-01 00:00:00"}
        for n in odd])  # fmt: skip
    instance = dg.DagsterInstance.ephemeral()
    result = sync(company, tmp_path / "w.duckdb", instance, ["DELETED_RECORDS", *PARTITIONED])

    for table in PARTITIONED:
        expected = dict.fromkeys(KEYS, 0) | sage_months(company, table)
        assert sum(expected.values()) > 0, table
        # Every month was read: every partition is materialized, months without rows with 0.
        assert set(instance.get_materialized_partitions(BY_TABLE[table].asset_key)) == set(KEYS)
        assert partition_counts(result, table) == expected, table
        assert latest_counts(instance, table) == expected, table
        # The run's own, unpartitioned materialization comes last (the asset overview shows the
        # latest one) and counts the whole table, months outside the partitions included.
        latest = instance.get_latest_materialization_event(BY_TABLE[table].asset_key)
        assert latest is not None and latest.asset_materialization is not None
        assert latest.asset_materialization.partition is None
        (rows,) = sqlite3.connect(company).execute(f'SELECT count(*) FROM "{table}"').fetchone()
        assert latest.asset_materialization.metadata["dagster/row_count"].value == rows, table
        if table in ("INVOICE", "INVOICE_ITEM"):  # the odd documents and their lines: no month
            assert sum(partition_counts(result, table).values()) == rows - len(odd), table


def test_an_incremental_run_marks_exactly_the_months_whose_rows_it_changed(
    company: Path, tmp_path: Path
) -> None:
    tables = ["DELETED_RECORDS", "INVOICE", "INVOICE_ITEM", "SALES_ORDER", "AUDIT_SPLIT"]
    instance = dg.DagsterInstance.ephemeral()
    warehouse = tmp_path / "w.duckdb"
    sync(company, warehouse, instance, tables)

    con = sqlite3.connect(company)
    (later,) = con.execute(
        "SELECT datetime(max(RECORD_MODIFY_DATE), '+1 hour') FROM (" + " UNION ALL ".join(
            f"SELECT RECORD_MODIFY_DATE FROM {t}" for t in tables) + ")"
    ).fetchone()  # fmt: skip
    # Two months with at least two invoices that have lines: X in month A; Y and W in month B.
    by_month: dict[str, list[int]] = {}
    for number, month in con.execute(
        "SELECT i.INVOICE_NUMBER, substr(i.INVOICE_DATE, 1, 7) || '-01' FROM INVOICE i "
        "WHERE i.INVOICE_DATE >= '2017-01-01' AND EXISTS (SELECT 1 FROM INVOICE_ITEM l "
        "WHERE l.INVOICE_NUMBER = i.INVOICE_NUMBER) ORDER BY i.INVOICE_NUMBER"
    ):
        by_month.setdefault(month, []).append(number)
    (month_a, (x, *_)), (month_b, (y, w, *_)) = [
        (m, n) for m, n in sorted(by_month.items()) if len(n) >= 2][:2]  # fmt: skip
    y_lines = [
        i for (i,) in con.execute("SELECT ITEMID FROM INVOICE_ITEM WHERE INVOICE_NUMBER = ?", (y,))
    ]
    (next_item, next_id) = con.execute(
        "SELECT max(ITEM_NUMBER) + 1, (SELECT max(ITEMID) + 1 FROM INVOICE_ITEM) "
        "FROM INVOICE_ITEM WHERE INVOICE_NUMBER = ?", (x,)).fetchone()  # fmt: skip
    con.close()

    # Month A: invoice X edited, a line added to it. Month B: invoice Y deleted with its lines
    # (Sage logs them in DELETED_RECORDS), a line of invoice W edited.
    execute(company, "UPDATE INVOICE SET NOTES_1 = 'edited', RECORD_MODIFY_DATE = ? "
            "WHERE INVOICE_NUMBER = ?", (later, x))  # fmt: skip
    insert(company, "INVOICE_ITEM", [{"INVOICE_NUMBER": x, "ITEM_NUMBER": next_item,
           "ITEMID": next_id, "RECORD_MODIFY_DATE": later}])  # fmt: skip
    execute(company, "DELETE FROM INVOICE WHERE INVOICE_NUMBER = ?", (y,))
    execute(company, "DELETE FROM INVOICE_ITEM WHERE INVOICE_NUMBER = ?", (y,))
    insert(company, "DELETED_RECORDS", [
        {"TABLE_ID": table_id, "FOREIGN_REF": str(ref), "DELETION_DATE_TIME": later,
         "RECORD_MODIFY_DATE": later}
        for table_id, ref in [(1, y), *((3, i) for i in y_lines)]])  # fmt: skip
    execute(company, "UPDATE INVOICE_ITEM SET TEXT = 'edited', RECORD_MODIFY_DATE = ? "
            "WHERE INVOICE_NUMBER = ? AND ITEM_NUMBER = 1", (later, w))  # fmt: skip

    result = sync(company, warehouse, instance, tables)
    for table in ("INVOICE", "INVOICE_ITEM"):
        counts = sage_months(company, table)
        assert partition_counts(result, table) == {
            month_a: counts[month_a], month_b: counts.get(month_b, 0)}, table  # fmt: skip
        assert latest_counts(instance, table)[month_b] == counts.get(month_b, 0)
    # The lookback re-read rows of other months unchanged: no month of them is marked, and
    # tables where nothing changed mark none.
    for table in ("SALES_ORDER", "AUDIT_SPLIT"):
        assert partition_counts(result, table) == {}, table
    figures = {
        e.materialization.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.materialization.partition is None
    }
    assert figures["invoice"]["months_changed"].value == 2
    assert (figures["invoice"]["updated"].value, figures["invoice"]["deleted"].value) == (1, 1)
    assert figures["invoice_item"]["deleted"].value == len(y_lines)


def test_a_backfill_gives_each_month_of_its_range_its_own_row_count(
    company: Path, tmp_path: Path
) -> None:
    invoices = sage_months(company, "INVOICE")
    # The first three consecutive months that all have invoices.
    start = next(i for i in range(len(KEYS) - 2) if all(k in invoices for k in KEYS[i : i + 3]))
    window = KEYS[start : start + 3]
    tables = ["INVOICE", "INVOICE_ITEM", "AUDIT_SPLIT", "AUDIT_USAGE"]
    instance = dg.DagsterInstance.ephemeral()
    result = sync(company, tmp_path / "w.duckdb", instance, tables, months=(window[0], window[-1]))
    for table in tables:
        counts = sage_months(company, table)
        expected = {k: counts.get(k, 0) for k in window}
        assert partition_counts(result, table) == expected, table
        assert set(instance.get_materialized_partitions(BY_TABLE[table].asset_key)) == set(window)
    assert len(set(partition_counts(result, "INVOICE_ITEM").values())) > 1  # not one figure


def test_a_line_table_loaded_before_its_parent_takes_the_months_from_sage(
    company: Path, tmp_path: Path
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    result = sync(company, tmp_path / "w.duckdb", instance, ["SOP_ITEM"])  # no SALES_ORDER yet
    assert partition_counts(result, "SOP_ITEM") == dict.fromkeys(KEYS, 0) | sage_months(
        company, "SOP_ITEM"
    )


def test_a_document_moved_to_another_month_changes_both_months(
    company: Path, tmp_path: Path
) -> None:
    spec = BY_TABLE["INVOICE"]
    con = sqlite3.connect(company)
    number, date, later = con.execute(
        "SELECT INVOICE_NUMBER, INVOICE_DATE, (SELECT datetime(max(RECORD_MODIFY_DATE), '+1 hour') "
        "FROM INVOICE) FROM INVOICE WHERE INVOICE_DATE >= '2020-01-01' ORDER BY 1 LIMIT 1"
    ).fetchone()
    con.close()
    old, new = date[:7] + "-01", "2021-06-01" if date[:7] != "2021-06" else "2021-07-01"
    with duckdb.connect(str(tmp_path / "w.duckdb")) as db:
        with source(company, "sqlalchemy").connect() as sage:
            extract_table(spec, sage, db, ExtractPlan("incremental"), run_id="first")
            execute(company, "UPDATE INVOICE SET INVOICE_DATE = ?, RECORD_MODIFY_DATE = ? "
                    "WHERE INVOICE_NUMBER = ?", (new[:8] + "15", later, number))  # fmt: skip
            result = extract_table(spec, sage, db, ExtractPlan("incremental"), run_id="second")
    counts = sage_months(company, "INVOICE")
    moved = {dt.date.fromisoformat(old), dt.date.fromisoformat(new)}
    assert (result.mode, result.updated, result.changed_months) == ("incremental", 1, moved)
    assert {m.isoformat(): n for m, n in result.month_rows.items()} == {
        old: counts.get(old, 0), new: counts[new]}  # fmt: skip
