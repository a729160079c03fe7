"""The stand-in's sales-order objects on a tiny demo company: a SopPost quotation written as the
demo generator writes one (base and foreign amounts, VAT per line), SDO's refusals, faults aimed
at SopPost, SopData's search, and the invoice calculator answering what the pricing rules say."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from resources.sage.pricing import PricingRules
from sandbox.sdo import com_error, faults
from sandbox.sdo.pricing import price
from tests.sandbox.test_sdo_engine import connect, rows


def account(company: Path, currency: int) -> str:
    return rows(
        company,
        "SELECT min(ACCOUNT_REF) FROM SALES_LEDGER WHERE CURRENCY = ? AND ACCOUNT_ON_HOLD = 0",
        (currency,),
    )[0][0]


def products(company: Path, n: int = 2) -> list[str]:
    return [
        r[0]
        for r in rows(
            company, "SELECT STOCK_CODE FROM STOCK WHERE TAX_CODE = 'T1' ORDER BY 1 LIMIT ?", (n,)
        )
    ]


def quote(workspace: Any, ref: str, lines: list[dict[str, object]], **header: object) -> Any:
    sop = workspace.CreateObject("SOPPost")  # the spelling working code uses
    fields = {"ACCOUNT_REF": ref, "ORDER_TYPE": 9, "QUOTE_STATUS": 1, **header}
    for name, value in fields.items():
        sop.Header.Fields.Item(name).Value = value
    for line in lines:
        item = sop.Items.Add()
        for name, value in line.items():
            item.Fields.Item(name).Value = value
    return sop


def line(code: str, qty: float = 4, price_: float = 12.5, **values: object) -> dict[str, object]:
    return {"STOCK_CODE": code, "QTY_ORDER": qty, "UNIT_PRICE": price_, "TAX_CODE": 1, **values}


def test_a_quotation_is_written_as_the_generator_writes_one(company: Path) -> None:
    engine, ws = connect(company)
    ref, (a, b) = account(company, 1), products(company)
    before = rows(
        company, "SELECT (SELECT max(ORDER_NUMBER) FROM SALES_ORDER), max(ITEMID) FROM SOP_ITEM"
    )[0]
    sop = quote(
        ws,
        ref,
        [line(a, 3, 10.01), line(b, 2, 99.99, DISCOUNT_RATE=10, DISCOUNT_AMOUNT=20.0)],
        CUST_ORDER_NUMBER="SSM:1",
        ORDER_DATE="2026-11-30",
    )
    assert sop.GetNextNumber() == before[0] + 1
    assert sop.Update(), engine.LastError.Text
    number = sop.Header.Fields.Item("ORDER_NUMBER").Value
    assert number == before[0] + 1

    (head,) = rows(company, "SELECT * FROM SALES_ORDER WHERE ORDER_NUMBER = ?", (number,))
    assert (head["ORDER_TYPE_CODE"], head["ORDER_OR_QUOTE"]) == (1, "Quotation")
    assert (head["QUOTE_STATUS_ID"], head["QUOTE_STATUS"]) == (1, "Open")
    assert (head["ORDER_DATE"], head["QUOTE_EXPIRY_DATE"]) == ("2026-11-30", "2026-12-30")
    assert (head["CURRENCY"], head["FOREIGN_RATE"], head["CUST_ORDER_NUMBER"]) == (1, 1.0, "SSM:1")
    # Net 30.03 + 179.98 (199.98 less the 20.00 given); VAT 20 % of each line rounded per line
    # (6.01 + 36.00), not of the total (42.00).
    assert (head["ITEMS_NET"], head["ITEMS_TAX"], head["INVOICE_GROSS"]) == (210.01, 42.01, 252.02)
    assert (head["TAX_RATE_1"], head["NET_AMOUNT_1"], head["TAX_AMOUNT_1"]) == (20.0, 210.01, 42.01)
    assert head["RECORD_CREATE_DATE"] == head["RECORD_MODIFY_DATE"] is not None
    items = rows(company, "SELECT * FROM SOP_ITEM WHERE ORDER_NUMBER = ? ORDER BY 2", (number,))
    assert [(i["ITEM_NUMBER"], i["STOCK_CODE"], i["ITEMID"]) for i in items] == [
        (1, a, before[1] + 1),
        (2, b, before[1] + 2),
    ]
    assert [(i["NET_AMOUNT"], i["TAX_AMOUNT"], i["TAX_CODE"], i["TAX_CODE_ID"]) for i in items] == [
        (30.03, 6.01, "T1", 1),
        (179.98, 36.0, "T1", 1),
    ]
    assert items[1]["FULL_NET_AMOUNT"] == 199.98 and items[1]["DISCOUNT_AMOUNT"] == 20.0
    assert (
        items[0]["DESCRIPTION"]
        == rows(company, "SELECT DESCRIPTION FROM STOCK WHERE STOCK_CODE = ?", (a,))[0][0]
    )
    # Every column a generated quotation fills is filled (the extract reads these tables).
    generated = rows(company, "SELECT * FROM SALES_ORDER WHERE ORDER_TYPE_CODE = 1 LIMIT 1")[0]
    filled = {k for k in generated.keys() if generated[k] is not None}
    assert filled - {k for k in head.keys() if head[k] is not None} == set()
    ws.Disconnect()


def test_a_foreign_quotation_converts_each_amount_at_the_rate(company: Path) -> None:
    engine, ws = connect(company)
    ref, (a, _b) = account(company, 2), products(company)
    sop = quote(ws, ref, [line(a, 3, 11.7)], CURRENCY=1, CURRENCY_USED=1, FOREIGN_RATE=1.17)
    assert sop.Update(), engine.LastError.Text
    number = sop.Header.Fields.Item("ORDER_NUMBER").Value
    (head,) = rows(company, "SELECT * FROM SALES_ORDER WHERE ORDER_NUMBER = ?", (number,))
    (item,) = rows(company, "SELECT * FROM SOP_ITEM WHERE ORDER_NUMBER = ?", (number,))
    assert (head["CURRENCY"], head["FOREIGN_RATE"]) == (2, 1.17)
    # The given amounts are the customer's (EUR); base = EUR / 1.17, half up, per line.
    assert (item["FOREIGN_UNIT_PRICE"], item["UNIT_PRICE"]) == (11.7, 10.0)
    assert (item["FOREIGN_NET_AMOUNT"], item["NET_AMOUNT"]) == (35.1, 30.0)
    assert (item["FOREIGN_TAX_AMOUNT"], item["TAX_AMOUNT"]) == (7.02, 6.0)
    assert (head["FOREIGN_INVOICE_GROSS"], head["INVOICE_GROSS"]) == (42.12, 36.0)
    # Without a rate, the order takes the currency's.
    sop = quote(ws, ref, [line(a)])
    assert sop.Update()
    number = sop.Header.Fields.Item("ORDER_NUMBER").Value
    assert (
        rows(company, "SELECT FOREIGN_RATE FROM SALES_ORDER WHERE ORDER_NUMBER = ?", (number,))[0][
            0
        ]
        == rows(company, "SELECT RATE FROM CURRENCY WHERE NUMBER = 2")[0][0]
    )
    ws.Disconnect()


def test_tax_flag_1_keeps_the_tax_given(company: Path) -> None:
    engine, ws = connect(company)
    ref, (a, _b) = account(company, 1), products(company)
    sop = quote(ws, ref, [line(a, 1, 10.0, NET_AMOUNT=10.0, TAX_AMOUNT=1.99, TAX_FLAG=1)])
    assert sop.Update(), engine.LastError.Text
    number = sop.Header.Fields.Item("ORDER_NUMBER").Value
    assert (
        rows(company, "SELECT TAX_AMOUNT FROM SOP_ITEM WHERE ORDER_NUMBER = ?", (number,))[0][0]
        == 1.99
    )
    ws.Disconnect()


@pytest.mark.parametrize(
    ("header", "lines", "code"),
    [
        ({"ACCOUNT_REF": ""}, None, 63),
        ({"ACCOUNT_REF": "NOSUCH"}, None, 17),
        ({}, [line("NO-SUCH-PRODUCT")], 17),
        ({}, [line("{a}", 0)], 18),
        ({}, [line("{a}", -2)], 18),
        ({}, [line("{a}", TAX_CODE=77)], 18),
        ({}, [], 18),
        ({"ORDER_TYPE": 6}, None, 18),
        ({"CURRENCY": 1}, None, 34),
        ({"FOREIGN_RATE": 1.2}, None, 35),
        ({"ORDER_NUMBER": 5}, None, 19),
        ({"ORDER_DATE": "30/11/2026"}, None, 87),
        ({"ADDRESS_1": "x" * 61}, None, 83),
        ({"CUST_ORDER_NUMBER": "x" * 61}, None, 18),
    ],
)
def test_update_refuses_bad_data_with_sdo_codes_and_writes_nothing(
    company: Path, header: dict[str, object], lines: list[dict[str, object]] | None, code: int
) -> None:
    engine, ws = connect(company)
    ref, (a, _b) = account(company, 1), products(company)
    header = {"ACCOUNT_REF": ref, **header}
    lines = [
        {k: (a if v == "{a}" else v) for k, v in x.items()}
        for x in (lines if lines is not None else [line(a)])
    ]
    before = rows(company, "SELECT count(*) FROM SALES_ORDER")[0][0]
    sop = quote(ws, header.pop("ACCOUNT_REF"), lines, **header)  # type: ignore[arg-type]
    assert not sop.Update()
    assert engine.LastError.Code == code, engine.LastError.Text
    assert rows(company, "SELECT count(*) FROM SALES_ORDER")[0][0] == before
    ws.Disconnect()


def test_an_account_on_hold_or_inactive_may_be_quoted(company: Path) -> None:
    """Permissive like SDO is believed to be: refusing it is the caller's decision."""
    engine, ws = connect(company)
    ref, (a, _b) = account(company, 1), products(company)
    con = sqlite3.connect(company)
    con.execute(
        "UPDATE SALES_LEDGER SET ACCOUNT_ON_HOLD = 1, INACTIVE_FLAG = 1 WHERE ACCOUNT_REF = ?",
        (ref,),
    )
    con.commit()
    con.close()
    assert quote(ws, ref, [line(a)]).Update(), engine.LastError.Text
    ws.Disconnect()


def test_faults_aimed_at_sop_post_leave_customer_writes_alone(company: Path) -> None:
    engine, ws = connect(company)
    ref, (a, _b) = account(company, 1), products(company)
    faults.inject(company, "update", 48, record="SopPost")
    customer = ws.CreateObject("SalesRecord")
    assert customer.AddNew()
    customer.Fields.Item("ACCOUNT_REF").Value = "NEWCU001"
    customer.Fields.Item("NAME").Value = "New Ltd"
    assert customer.Update(), engine.LastError.Text
    before = rows(company, "SELECT count(*) FROM SALES_ORDER")[0][0]
    assert not quote(ws, ref, [line(a)]).Update() and engine.LastError.Code == 48
    assert rows(company, "SELECT count(*) FROM SALES_ORDER")[0][0] == before
    assert quote(ws, ref, [line(a)]).Update()
    with pytest.raises(ValueError, match="record must be one of"):
        faults.inject(company, "update", 48, record="SopItem")
    ws.Disconnect()


def test_update_then_disconnect_commits_the_quote_then_the_workspace_is_dead(
    company: Path,
) -> None:
    engine, ws = connect(company)
    ref, (a, _b) = account(company, 1), products(company)
    faults.inject(company, "update_then_disconnect", 91, account_ref=ref, record="SopPost")
    with pytest.raises(com_error):
        quote(ws, ref, [line(a)], CUST_ORDER_NUMBER="SSM:lost").Update()
    assert engine.LastError.Code == 91
    assert len(rows(company, "SELECT 1 FROM SALES_ORDER WHERE CUST_ORDER_NUMBER = 'SSM:lost'")) == 1
    with pytest.raises(com_error):
        ws.CreateObject("SopData")


def test_sop_data_finds_orders_by_a_field(company: Path) -> None:
    engine, ws = connect(company)
    ref, (a, _b) = account(company, 1), products(company)
    numbers = []
    for _ in range(2):
        sop = quote(ws, ref, [line(a)], CUST_ORDER_NUMBER="SSM:7")
        assert sop.Update()
        numbers.append(sop.Header.Fields.Item("ORDER_NUMBER").Value)
    data = ws.CreateObject("SopData")
    found = []
    ok = data.FindFirst("CUST_ORDER_NUMBER", "SSM:7")
    while ok:
        found.append((data.Fields.Item("ORDER_NUMBER").Value, data.Fields.Item("ORDER_TYPE").Value))
        ok = data.FindNext("CUST_ORDER_NUMBER", "SSM:7")
    assert found == [(numbers[0], 9), (numbers[1], 9)]
    assert not data.FindFirst("CUST_ORDER_NUMBER", "SSM:none")
    assert data.Read(numbers[1]) and data.Fields.Item("QUOTE_STATUS").Value == 1
    assert data.Fields.Item("CURRENCY").Value == 0  # 0-based, as on SalesRecord
    ws.Disconnect()


def test_invoice_calculator_answers_what_the_pricing_rules_say(company: Path) -> None:
    engine, ws = connect(company)
    con = sqlite3.connect(company)
    con.row_factory = sqlite3.Row
    rules = PricingRules.from_env({})
    for ref in (account(company, 1), account(company, 2)):
        invoice = ws.CreateInvoice()
        invoice.CustomerReference = ref
        lines = []
        for code, qty in zip(products(company, 3), (1, 10, 100), strict=True):
            expected = price(con, ref, code, qty, rules)
            got = invoice.AddItem(code, float(qty), 0.0, 0.0, 0.0, expected.tax_code, 0)
            assert (got.StockCode, got.ListUnitPrice, got.ActualUnitPrice) == (
                expected.stock_code,
                float(expected.list_unit_price),
                float(expected.unit_price),
            )
            assert (got.DiscountPercent, got.DiscountAmount, got.NetTotal, got.TaxTotal) == (
                float(expected.discount_percent),
                float(expected.discount_amount),
                float(expected.net),
                float(expected.tax),
            )
            lines.append(expected)
        gross = sum((x.net + x.tax for x in lines), Decimal(0))
        assert invoice.Recalculate() == float(gross) == invoice.GrossTotal
        assert ws.CreateObject("Pricing").CustomerUnitPrice(ref, lines[0].stock_code) == float(
            lines[0].list_unit_price
        )
    # Another tax code is taxed at its rate; an entered price is used as given.
    invoice = ws.CreateInvoice()
    invoice.CustomerReference = account(company, 1)
    code = products(company, 1)[0]
    entered = invoice.AddItem(code, 3.0, 10.0, 10.0, 0.0, 5, 1)
    assert (entered.ActualUnitPrice, entered.DiscountAmount, entered.NetTotal) == (10.0, 3.0, 27.0)
    assert entered.TaxTotal == 1.35  # T5, 5 %
    con.close()
    ws.Disconnect()


def test_invoice_calculator_raises_sdo_17_for_an_unknown_product_or_customer(
    company: Path,
) -> None:
    engine, ws = connect(company)
    invoice = ws.CreateInvoice()
    invoice.CustomerReference = account(company, 1)
    with pytest.raises(com_error, match="NO-SUCH"):
        invoice.AddItem("NO-SUCH", 1.0, 0.0, 0.0, 0.0, 1, 0)
    assert engine.LastError.Code == 17
    invoice.CustomerReference = "NOSUCH"
    with pytest.raises(com_error):
        invoice.AddItem(products(company, 1)[0], 1.0, 0.0, 0.0, 0.0, 1, 0)
    assert engine.LastError.Code == 17
    with pytest.raises(com_error):
        ws.CreateObject("Pricing").CustomerUnitPrice("NOSUCH", products(company, 1)[0])
    ws.Disconnect()


def test_stock_record_and_currency_data_read_as_sdo_names_them(company: Path) -> None:
    engine, ws = connect(company)
    code = products(company, 1)[0]
    stock = ws.CreateObject("StockRecord")
    stock.Fields.Item("STOCK_CODE").Value = code.lower()
    assert stock.Find(False) and stock.Fields.Item("TAX_CODE").Value == 1
    assert not stock.AddNew() and engine.LastError.Code == 19
    rates = ws.CreateObject("CurrencyData")
    assert rates.Read(2) and rates.Fields.Item("EXCHANGE_RATE").Value == 1.17
    ws.Disconnect()
