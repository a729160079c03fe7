"""The sage assets against the generated tiny demo company (sandbox.sage_demo).

Each company is generated once per module; the full copy check runs once per connection kind
(ODBC and SQLAlchemy) over all 25 tables, the quarantine check over the tables with defects."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assets.sage.catalogue import BY_TABLE
from resources.sage.source import Chunk, OdbcConnection, SqlAlchemyConnection
from resources.sage.sql import SageSelect, render
from resources.sage_schema import CRM_TABLES
from sandbox.sage_demo import generate
from tests.assets.test_sage_extract import assert_same_rows, figures, materialize, query

# Defects the per-table rules cannot see or must not flag: an orphan line is a cross-table rule
# (left to staging), and Windows-1252 characters in valid text must survive intact.
NOT_QUARANTINED = {"orphan_line", "cp1252_characters"}


@pytest.fixture(scope="module")
def tiny_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    company = tmp_path_factory.mktemp("tiny") / "tiny.sqlite"
    generate(company, size="tiny", seed=1)
    return company


@pytest.fixture(scope="module")
def tiny_bad_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    company = tmp_path_factory.mktemp("tiny-bad") / "tiny-bad.sqlite"
    generate(company, size="tiny", seed=1, with_bad_rows=True)
    return company


@pytest.mark.parametrize("via", ["sqlalchemy", "odbc", "pyodbc"])
def test_every_sage_table_matches_the_tiny_company(
    tiny_company: Path, tmp_path: Path, via: str, request: pytest.FixtureRequest
) -> None:
    driver = request.getfixturevalue("sqlite_odbc_driver") if via != "sqlalchemy" else "SQLite3"
    company = tiny_company
    warehouse = tmp_path / "warehouse.duckdb"
    result = materialize(company, warehouse, CRM_TABLES, via=via, driver=driver, chunk_rows=500)
    con = sqlite3.connect(company)
    for table in CRM_TABLES:
        (expected,) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        assert assert_same_rows(company, warehouse, table) == expected, table
        assert figures(result, table)["quarantined"] == 0, table
    con.close()
    # The reader asked for did the reading: no silent fallback to row-by-row fetching.
    readers = {
        e.materialization.metadata["reader"].value
        for e in result.get_asset_materialization_events()
    }
    assert readers == {{"odbc": "arrow-odbc"}.get(via, via)}


def test_bad_rows_are_quarantined_with_their_reason_and_the_good_rows_land(
    tiny_bad_company: Path, tmp_path: Path
) -> None:
    company = tiny_bad_company
    con = sqlite3.connect(company)
    defects = con.execute(
        "SELECT table_name, row_key, column_name, defect FROM _DEMO_DEFECTS"
    ).fetchall()
    con.close()
    # The tables with defects (every other table is covered by the copy test above).
    tables = [t for t in CRM_TABLES if any(d[0] == t for d in defects)]
    assert "SALES_LEDGER" in tables
    warehouse = tmp_path / "warehouse.duckdb"
    materialize(company, warehouse, tables, chunk_rows=500)
    quarantined: dict[tuple[str, str, str], list[str]] = {}
    for t, k, c, r in query(
        warehouse, "SELECT table_name, row_key, column_name, reason FROM quarantine.rows"
    ):
        quarantined.setdefault((t, k, c), []).append(r)
    expected_reason = {
        "duplicate_key": "duplicate key", "blank_key": "key is empty",
        "future_date": "outside 1980-01-01..2100-12-31", "negative_quantity": "negative quantity",
        "over_long_text": "longer than 60 characters", "invalid_email": "not an e-mail address",
        "raw_cp1252_bytes": "not valid UTF-8 text", "non_finite_number": "not a finite number",
        "out_of_range_number": "magnitude above",
    }  # fmt: skip
    for table, key, column, defect in defects:
        if (
            table == "SALES_DEL_ADDR"
        ):  # the manifest names REFERENCE; our key is (ACCOUNT_REF, ADDRESS_REF)
            key = f"{key[:8].strip()}/{int(key[8:])}"
        found = quarantined.get((f"sage.{table.lower()}", key, column))
        if defect in NOT_QUARANTINED:
            assert found is None, (table, key, defect)
            continue
        assert found and any(expected_reason[defect] in r for r in found), (
            table,
            key,
            column,
            defect,
            found,
        )
    # The good rows all landed: every source row not quarantined is live in the warehouse.
    assert query(
        warehouse, "SELECT count(*) FROM sage.sales_ledger WHERE account_ref = 'DUPL001'"
    ) == [(1,)]
    assert query(warehouse, "SELECT name FROM sage.sales_ledger WHERE account_ref = 'CAFE001'") == [
        ("Café Société – “Le Marché” £€ Ltd",)
    ]
    con = sqlite3.connect(company)
    (customers,) = con.execute('SELECT count(*) FROM "SALES_LEDGER"').fetchone()
    con.close()
    bad_customers = {k for t, k, _c in quarantined if t == "sage.sales_ledger"}
    # DUPL001 counts once in the source rows that land (its first row) and once in quarantine.
    assert query(warehouse, "SELECT count(*) FROM sage.sales_ledger")[0][0] == customers - len(
        bad_customers
    )


# What the Sage 50 driver accepts: one table, an explicit column list, literal values only.
_LITERAL = re.compile(r"\{(?:d|ts) '[^']*'\}|'(?:[^']|'')*'")
_SINGLE_TABLE_SELECT = re.compile(
    r'SELECT "[A-Z0-9_]+"(?:, "[A-Z0-9_]+")* FROM "(?P<table>[A-Z0-9_]+)"(?: WHERE (?P<where>.+))?',
    re.DOTALL,
)
_NOT_IN_A_WHERE = re.compile(r"\b(?:SELECT|FROM|JOIN|UNION|EXISTS|WITH)\b", re.IGNORECASE)


def assert_sage_driver_accepts(sql: str) -> str:
    """`sql` is a single-table SELECT with an explicit column list, no JOIN, no sub-query and no
    `?` parameter; returns its table. Literal values are set aside first, so a value that spells
    a keyword neither hides nor fakes one."""
    bare = _LITERAL.sub("<literal>", sql)
    shape = _SINGLE_TABLE_SELECT.fullmatch(bare)
    assert shape, f"not a single-table SELECT with a column list: {sql}"
    assert "?" not in bare and "*" not in bare, sql
    assert not _NOT_IN_A_WHERE.search(shape["where"] or ""), f"join or sub-query: {sql}"
    return shape["table"]


def test_every_query_sent_to_sage_is_one_the_driver_accepts(
    tiny_company: Path,
    tmp_path: Path,
    sqlite_odbc_driver: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every sage asset of the tiny company, in every mode (first load, incremental with a key
    scan, a month's backfill), read through ODBC as from Sage: each SQL text the connection
    sends passes the driver's rules. (SQLAlchemy gets the same text but quoted date literals.)"""
    sent: list[str] = []
    for connection_class in (OdbcConnection, SqlAlchemyConnection):
        stream = connection_class.stream

        def recording_stream(
            self: OdbcConnection | SqlAlchemyConnection,
            select: SageSelect,
            chunk_rows: int,
            _stream: Callable[..., Iterator[Chunk]] = stream,  # bound per class
        ) -> Iterator[Chunk]:
            sent.append(render(select, self.date_literal_style))  # the text stream() sends
            return _stream(self, select, chunk_rows)

        monkeypatch.setattr(connection_class, "stream", recording_stream)
    con = sqlite3.connect(tiny_company)
    (month,) = con.execute(  # the month of the median invoice: one with documents
        'SELECT substr("INVOICE_DATE", 1, 7) FROM "INVOICE" ORDER BY "INVOICE_DATE" '
        'LIMIT 1 OFFSET (SELECT count(*) / 2 FROM "INVOICE")'
    ).fetchone()
    con.close()
    warehouse = tmp_path / "warehouse.duckdb"
    run = {"warehouse": warehouse, "chunk_rows": 500, "via": "odbc", "driver": sqlite_odbc_driver}
    materialize(tiny_company, tables=CRM_TABLES, **run)  # first load: everything
    materialize(tiny_company, tables=CRM_TABLES, config={"key_scan": True}, **run)
    partitioned = [t for t in CRM_TABLES if BY_TABLE[t].partition is not None]
    materialize(
        tiny_company, tables=partitioned, months=(f"{month}-01", f"{month}-01"), **run
    )  # a backfill: date windows, and the lines of the window's documents by key
    read = {assert_sage_driver_accepts(sql) for sql in sent}
    assert read == set(CRM_TABLES)
    assert any("{ts '" in sql for sql in sent)  # the incremental read's timestamp literal
    assert any("{d '" in sql for sql in sent)  # the backfill's date window
    # The backfilled lines are read by their documents' keys, as literal ranges and lists.
    assert any('FROM "INVOICE_ITEM" WHERE ("INVOICE_NUMBER"' in sql or
               'FROM "INVOICE_ITEM" WHERE "INVOICE_NUMBER"' in sql for sql in sent)  # fmt: skip


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT * FROM "INVOICE"',
        'SELECT "A" FROM "INVOICE" i JOIN "INVOICE_ITEM" l ON i."A" = l."A"',
        'SELECT "A" FROM "INVOICE", "INVOICE_ITEM"',
        'SELECT "A" FROM "INVOICE" WHERE "A" IN (SELECT "A" FROM "INVOICE_ITEM")',
        'SELECT "A" FROM "INVOICE" WHERE "A" = ?',
    ],
)
def test_the_driver_rules_refuse_what_sage_refuses(sql: str) -> None:
    with pytest.raises(AssertionError):
        assert_sage_driver_accepts(sql)


def test_the_driver_rules_see_through_literal_values() -> None:
    sql = """SELECT "NAME" FROM "SALES_LEDGER" WHERE ("NAME" = 'x'' JOIN (SELECT ?)') OR ("RECORD_MODIFY_DATE" >= {ts '2024-05-01 10:50:00'})"""
    assert assert_sage_driver_accepts(sql) == "SALES_LEDGER"
