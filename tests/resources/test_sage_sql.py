"""The Sage SQL text: literal escaping, shape of queries, key ranges."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from resources.sage.source import OdbcConnection, SqlAlchemyConnection
from resources.sage.sql import (
    AllOf,
    AnyOf,
    Between,
    Compare,
    InList,
    IsNull,
    SageSelect,
    identifier,
    key_runs,
    literal,
    render,
)
from tests.resources.test_sage_source import rows_of

INJECTION = "x' OR '1'='1"


def test_literals_are_typed_and_escaped() -> None:
    assert literal("O'Brien & Sons") == "'O''Brien & Sons'"
    assert literal(INJECTION) == "'x'' OR ''1''=''1'"
    assert literal(42) == "42"
    assert literal(1.5) == "1.5"
    assert literal(dt.date(2024, 2, 29)) == "{d '2024-02-29'}"
    assert literal(dt.datetime(2024, 5, 1, 9, 5, 7)) == "{ts '2024-05-01 09:05:07'}"
    assert literal(dt.date(2024, 2, 29), "quoted") == "'2024-02-29'"
    assert literal(dt.datetime(2024, 5, 1, 9, 5, 7), "quoted") == "'2024-05-01 09:05:07'"


@pytest.mark.parametrize(
    ("value", "error"),
    [(True, TypeError), (float("nan"), ValueError), (float("inf"), ValueError), (b"x", TypeError),
     (None, TypeError), ("a\x00b", ValueError)],
)  # fmt: skip
def test_literal_refuses_what_is_not_a_sage_value(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        literal(value)  # type: ignore[arg-type]


def test_identifiers_must_be_sage_names() -> None:
    assert identifier("RECORD_MODIFY_DATE") == '"RECORD_MODIFY_DATE"'
    for bad in ['A"B', "a", "A B", "A;DROP", ""]:
        with pytest.raises(ValueError):
            identifier(bad)


def test_render_single_table_select_with_literal_where() -> None:
    since = dt.datetime(2024, 5, 1, 9, 50)
    select = SageSelect(
        "INVOICE",
        ("INVOICE_NUMBER", "INVOICE_DATE"),
        AnyOf((Compare("RECORD_MODIFY_DATE", ">=", since), IsNull("RECORD_MODIFY_DATE"))),
    )
    assert render(select) == (
        'SELECT "INVOICE_NUMBER", "INVOICE_DATE" FROM "INVOICE" WHERE '
        '("RECORD_MODIFY_DATE" >= {ts \'2024-05-01 09:50:00\'}) OR ("RECORD_MODIFY_DATE" IS NULL)'
    )
    month = AllOf(
        (Compare("DATE", ">=", dt.date(2024, 1, 1)), Compare("DATE", "<", dt.date(2024, 2, 1)))
    )
    assert render(SageSelect("AUDIT_HEADER", ("HEADER_NUMBER",), month), "quoted") == (
        'SELECT "HEADER_NUMBER" FROM "AUDIT_HEADER" WHERE '
        "(\"DATE\" >= '2024-01-01') AND (\"DATE\" < '2024-02-01')"
    )
    with pytest.raises(ValueError):
        SageSelect("INVOICE", ())


def test_key_runs_collapse_consecutive_keys_into_ranges() -> None:
    conditions = key_runs([9, 1, 2, 3, 5, 7, 8, 10, 3], "INVOICE_NUMBER")
    # 1-3 and 7-10 are runs of three or more; 5 stays single.
    assert conditions == [
        AnyOf((Between("INVOICE_NUMBER", 1, 3), Between("INVOICE_NUMBER", 7, 10))),
        InList("INVOICE_NUMBER", (5,)),
    ]
    assert render(SageSelect("INVOICE_ITEM", ("ITEMID",), conditions[1])) == (
        'SELECT "ITEMID" FROM "INVOICE_ITEM" WHERE "INVOICE_NUMBER" IN (5)'
    )
    assert key_runs([], "X") == []
    singles = key_runs(list(range(0, 20, 2)), "X", max_terms=4)
    assert [len(c.values) for c in singles] == [4, 4, 2]  # type: ignore[union-attr]


def _accounts_db(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute('CREATE TABLE "SALES_LEDGER" ("ACCOUNT_REF" VARCHAR(8), "NAME" VARCHAR(60))')
    con.executemany(
        'INSERT INTO "SALES_LEDGER" VALUES (?, ?)',
        [("ABS001", "A.B.S. Garages"), ("O'BR01", "O'Brien"), ("KIN001", "Kinnerton")],
    )
    con.commit()
    con.close()
    return path


def _rows(connection: object, select: SageSelect) -> list[tuple]:
    return [r for chunk in connection.stream(select, 10) for r in rows_of(chunk)]  # type: ignore[attr-defined]


def test_a_quote_in_a_value_cannot_change_the_query(tmp_path: Path) -> None:
    db = _accounts_db(tmp_path / "company.sqlite")
    connection = SqlAlchemyConnection(f"sqlite:///{db}")
    try:
        injected = SageSelect(
            "SALES_LEDGER", ("ACCOUNT_REF",), Compare("ACCOUNT_REF", "=", INJECTION)
        )
        assert _rows(connection, injected) == []  # not every row
        quoted = SageSelect("SALES_LEDGER", ("NAME",), InList("ACCOUNT_REF", ("O'BR01", INJECTION)))
        assert _rows(connection, quoted) == [("O'Brien",)]
    finally:
        connection.close()


def test_a_quote_in_a_value_cannot_change_the_query_through_odbc(
    tmp_path: Path, sqlite_odbc_driver: str
) -> None:
    db = _accounts_db(tmp_path / "company.sqlite")
    connection = OdbcConnection(f"Driver={sqlite_odbc_driver};Database={db}")
    try:
        injected = SageSelect(
            "SALES_LEDGER", ("ACCOUNT_REF",), Compare("ACCOUNT_REF", "=", INJECTION)
        )
        assert _rows(connection, injected) == []
        quoted = SageSelect("SALES_LEDGER", ("NAME",), Compare("ACCOUNT_REF", "=", "O'BR01"))
        assert _rows(connection, quoted) == [("O'Brien",)]
    finally:
        connection.close()
