"""One quotation read back through the real (SQLite) ODBC driver over the demo company: what
the stand-in SDO posted, exactly, with only that order's rows read."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from resources.sage.quotes import read_quotation
from resources.sage.source import OdbcConnection, SageSourceResource
from resources.sage.sql import Compare, SageSelect
from resources.sage.writer import RetryPolicy, SageWriter

FAST = RetryPolicy(attempts=2, first_wait_seconds=0.001, max_wait_seconds=0.002)


def one(company: Path, sql: str, params: tuple[Any, ...] = ()) -> Any:
    con = sqlite3.connect(company)
    try:
        return con.execute(sql, params).fetchone()
    finally:
        con.close()


def post(company: Path, currency: int) -> tuple[int, list[dict[str, Any]], str]:
    ref = one(company, "SELECT min(ACCOUNT_REF) FROM SALES_LEDGER WHERE CURRENCY = ?", (currency,))[
        0
    ]
    codes = [r for (r,) in sqlite3.connect(company).execute("SELECT STOCK_CODE FROM STOCK LIMIT 3")]
    with SageWriter("python:sandbox.sdo:SDOEngine", str(company), "SSMSYNC", "", retry=FAST) as w:
        lines = w.price_quote(ref, [(c, Decimal(n)) for n, c in enumerate(codes, start=2)])
        number = w.post_quote(
            ref, f"SSM:{currency}", lines, order_date=dt.date(2026, 11, 30), taken_by="Chloe"
        )
    return number, lines, ref


@pytest.mark.parametrize("reader", ["arrow-odbc", "pyodbc"])
@pytest.mark.parametrize("currency", [1, 2])
def test_a_posted_quotation_reads_back_as_sage_stored_it(
    company: Path, sqlite_odbc_driver: str, reader: str, currency: int
) -> None:
    number, lines, ref = post(company, currency)
    connection = OdbcConnection(f"Driver={sqlite_odbc_driver};Database={company}", reader=reader)
    try:
        quote = read_quotation(connection, number)
    finally:
        connection.close()
    assert quote is not None and connection.reader == reader
    assert (quote.order_number, quote.account_ref, quote.cust_order_number) == (
        number,
        ref,
        f"SSM:{currency}",
    )
    assert quote.order_date == dt.date(2026, 11, 30)
    assert (quote.order_or_quote, quote.is_quotation, quote.quote_status_id) == (
        "Quotation",
        True,
        1,
    )
    assert (quote.currency, quote.currency_number) == (("GBP", 1) if currency == 1 else ("EUR", 2))
    assert quote.foreign_rate == (Decimal("1.0") if currency == 1 else Decimal("1.17"))
    assert [x.item_number for x in quote.lines] == [1, 2, 3]
    for got, priced in zip(quote.lines, lines, strict=True):
        assert (got.stock_code, got.description, got.quantity) == (
            priced["stock_code"],
            priced["description"],
            priced["quantity"],
        )
        assert got.foreign_unit_price == priced["unit_price"]
        assert got.foreign_net_amount == priced["net"] and got.foreign_tax_amount == priced["tax"]
        assert got.tax_code == f"T{priced['tax_code']}"
    assert quote.foreign_net == sum((x.foreign_net_amount for x in quote.lines), Decimal(0))
    assert quote.net == sum((x.net_amount for x in quote.lines), Decimal(0))
    assert quote.foreign_gross == quote.foreign_net + quote.foreign_tax
    if currency == 1:
        assert (
            quote.net == quote.foreign_net and quote.lines[0].unit_price == lines[0]["unit_price"]
        )
    else:
        assert quote.net < quote.foreign_net


def test_only_that_orders_rows_are_read_and_a_missing_order_is_none(
    company: Path, sqlite_odbc_driver: str
) -> None:
    number, _lines, _ref = post(company, 1)
    resource = SageSourceResource(odbc_connection=f"Driver={sqlite_odbc_driver};Database={company}")
    selects: list[SageSelect] = []
    with resource.connect() as connection:
        stream = connection.stream

        def spy(select: SageSelect, chunk_rows: int) -> Any:
            selects.append(select)
            return stream(select, chunk_rows)

        connection.stream = spy  # type: ignore[method-assign]
        assert read_quotation(connection, number) is not None
        assert read_quotation(connection, 10**6) is None
        with pytest.raises(TypeError):
            read_quotation(connection, "1; DROP TABLE SOP_ITEM")  # type: ignore[arg-type]
    assert [(s.table, s.where) for s in selects] == [
        ("SALES_ORDER", Compare("ORDER_NUMBER", "=", number)),
        ("SOP_ITEM", Compare("ORDER_NUMBER", "=", number)),
        ("CURRENCY", Compare("NUMBER", "=", 1)),
        ("SALES_ORDER", Compare("ORDER_NUMBER", "=", 10**6)),
    ]


def test_a_generated_quotation_reads_back_with_its_lines_in_item_order(
    company: Path, sqlite_odbc_driver: str
) -> None:
    number, count = one(
        company,
        "SELECT o.ORDER_NUMBER, count(*) FROM SALES_ORDER o JOIN SOP_ITEM i "
        "ON i.ORDER_NUMBER = o.ORDER_NUMBER WHERE o.ORDER_TYPE_CODE = 1 "
        "GROUP BY o.ORDER_NUMBER ORDER BY 2 DESC LIMIT 1",
    )
    connection = OdbcConnection(f"Driver={sqlite_odbc_driver};Database={company}")
    try:
        quote = read_quotation(connection, number)
    finally:
        connection.close()
    assert quote is not None and quote.is_quotation and len(quote.lines) == count > 1
    head = one(
        company,
        "SELECT INVOICE_GROSS, FOREIGN_INVOICE_GROSS FROM SALES_ORDER WHERE ORDER_NUMBER = ?",
        (number,),
    )
    assert (quote.gross, quote.foreign_gross) == tuple(Decimal(str(v)) for v in head)
    assert [x.item_number for x in quote.lines] == list(range(1, count + 1))
