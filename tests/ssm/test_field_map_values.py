"""The field map's values issue 19 added, on the tiny demo company, against the Sage rows.

One Sage company file (the tiny demo company, seed 1, with a few rows edited as Sage would:
an overall discount, a product picture), one extract + staging + derived build, one push into
a sandbox; each test reads what SSM holds and works the expected value out of the Sage rows of
the company file (SQLite, the ODBC names), not out of the warehouse.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from assets import derived, sage, staging
from assets.ssm.settings import SyncSettings
from resources.sage.source import SageSourceResource
from resources.warehouse import WarehouseResource
from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.ssm.conftest import ssm_records
from tests.ssm.harness import push_all

DISCOUNTED = "BEA001"  # given a 5 % overall discount in Sage
PICTURED = "BOOK001"  # given a picture in Sage
# Customers with special prices (PRICE type S), put on the GBP price list TRADE in Sage: BRI002
# trades in pounds, QUA002 in euros (TRADE's prices are converted to euros for it).
SPECIAL_ON_TRADE = ("BRI002", "QUA002")


@dataclass(frozen=True)
class Synced:
    company: Path
    ssm: SandboxProcess


@pytest.fixture(scope="module")
def synced(
    tiny_company_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Synced]:
    root = tmp_path_factory.mktemp("field-map-values")
    company = root / tiny_company_template.name
    shutil.copyfile(tiny_company_template, company)
    with sqlite3.connect(company) as con:
        con.execute("UPDATE SALES_LEDGER SET DISCOUNT_RATE = 5 WHERE ACCOUNT_REF = ?", [DISCOUNTED])
        con.execute(
            "UPDATE STOCK SET WEB_IMAGE_FILE = 'book001.jpg' WHERE STOCK_CODE = ?", [PICTURED]
        )
        con.executemany(
            "UPDATE SALES_LEDGER SET PRICING_REF = 'TRADE' WHERE ACCOUNT_REF = ?",
            [[code] for code in SPECIAL_ON_TRADE],
        )
    warehouse = root / "warehouse.duckdb"
    result = dg.materialize(
        [*sage.defs.assets, *staging.defs.assets, *derived.defs.assets],  # type: ignore[list-item]
        resources={
            "sage": SageSourceResource(database_url=f"sqlite:///{company}"),
            "warehouse": WarehouseResource(database=str(warehouse)),
        },
    )
    assert result.success
    with running_sandbox(root, rate=200) as ssm:
        # The customers' rates with their price list's other prices (SSM_SPECIAL_RATES_WITH_LIST).
        settings = SyncSettings(special_rates_with_list=True)
        reports, _, _ = push_all(warehouse, ssm.base_url, settings=settings)
        assert all(not r.failures for r in reports.values()), {
            n: r.failures for n, r in reports.items() if r.failures
        }
        yield Synced(company, ssm)


def _sage(synced: Synced, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(synced.company) as con:
        return con.execute(sql, args).fetchall()


def _by_ext_id(synced: Synced, resource: str) -> dict[str, dict[str, Any]]:
    return {str(r["extId"]): r for r in ssm_records(synced.ssm, resource)}


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_customers_terms_discounts_tax_and_rate(synced: Synced) -> None:
    accounts = _by_ext_id(synced, "accounts")
    rows = _sage(
        synced,
        """
        SELECT sl.ACCOUNT_REF, coalesce(sl.PAYMENT_DUE_DAYS, co.PAYMENT_DUE_SALES),
               sl.SETTLEMENT_DUE_DAYS, sl.DISCOUNT_RATE, sl.DEF_TAX_CODE, sl.DISCOUNT_TYPE,
               sl.OVERRIDE_TAX_CODE, cur.RATE, cur.CODE
        FROM SALES_LEDGER sl LEFT JOIN CURRENCY cur ON cur.NUMBER = sl.CURRENCY
        CROSS JOIN (SELECT * FROM COMPANY LIMIT 1) co
        """,
    )
    assert len(rows) == len(accounts) == 30
    for code, due, settlement, discount, tax, kind, override, rate, currency in rows:
        account = accounts[code]
        assert account["Z_PaymentTerms"] == due, code
        assert account["Z_SettlementDays"] == settlement, code
        assert Decimal(str(account["Z_OverallDiscount"])) == Decimal(str(discount)), code
        assert account["Z_DefaultTaxCode"] == tax, code
        assert account["Z_DiscountType"] == kind, code
        assert account["Z_OverrideTaxCode"] is (override == 1), code
        assert Decimal(str(account["Z_CurrencyRate"])) == Decimal(str(rate)), code
        assert account["Z_Currency"] == currency, code
    # Hand-worked: ATL001 pays in 60 days, 10 settlement days; BEA001 has the 5 % discount;
    # ANC001 trades in euros at 1.17 with T4 overriding the products' VAT codes.
    assert (accounts["ATL001"]["Z_PaymentTerms"], accounts["ATL001"]["Z_SettlementDays"]) == (
        60,
        10,
    )
    assert Decimal(str(accounts[DISCOUNTED]["Z_OverallDiscount"])) == 5
    anc = accounts["ANC001"]
    assert (anc["Z_Currency"], Decimal(str(anc["Z_CurrencyRate"])), anc["Z_DefaultTaxCode"]) == (
        "EUR",
        Decimal("1.17"),
        "T4",
    )
    assert anc["Z_OverrideTaxCode"] is True


def test_an_inactive_customer_has_the_inactive_status(synced: Synced) -> None:
    accounts = _by_ext_id(synced, "accounts")
    inactive = {
        r[0] for r in _sage(synced, "SELECT ACCOUNT_REF FROM SALES_LEDGER WHERE INACTIVE_FLAG = 1")
    }
    assert inactive == {"CED001"}
    statuses = {
        s["id"]: s.get("descriptionEN") or s.get("description")
        for s in ssm_records(synced.ssm, "accountStatuses")
    }
    for code, account in accounts.items():
        expected = "Inactive" if code in inactive else "Client"
        assert statuses[_id(account["statusId"])] == expected, code
        assert account["Z_Inactive"] is (code in inactive), code
    # created once, with the connector's first push that needed it
    assert list(statuses.values()).count("Inactive") == 1


def test_products_costs_base_price_and_picture(synced: Synced) -> None:
    products = _by_ext_id(synced, "products")
    rows = _sage(
        synced,
        "SELECT STOCK_CODE, AVERAGE_COST_PRICE, LAST_PURCHASE_PRICE, LAST_DISC_PURCHASE_PRICE, "
        "SALES_PRICE, WEB_IMAGE_FILE FROM STOCK",
    )
    assert rows
    for code, average, last, last_discounted, price, image in rows:
        product = products[code]
        assert Decimal(str(product["cost"])) == Decimal(str(average)).quantize(Decimal("0.0001"))
        assert Decimal(str(product["Z_LastPurchasePrice"])) == Decimal(str(last)).quantize(
            Decimal("0.0001")
        )
        assert Decimal(str(product["Z_LastDiscountedPurchasePrice"])) == Decimal(
            str(last_discounted)
        ).quantize(Decimal("0.0001"))
        assert product["Z_BasePrice"] == product["price"]
        assert Decimal(str(product["price"])) == Decimal(str(price)).quantize(Decimal("0.0001"))
        assert product.get("Z_ImageFile") == (image or None), code
    # Hand-worked: BOOK001 costs 12.72 on average (and last), sells at 20.99 net.
    book = products[PICTURED]
    assert (book["cost"], book["Z_BasePrice"], book["Z_ImageFile"]) == (12.72, 20.99, "book001.jpg")


def test_free_text_lines_reach_ssm_under_their_special_code(synced: Synced) -> None:
    products = _by_ext_id(synced, "products")
    orders = _by_ext_id(synced, "salesorders")
    lines = ssm_records(synced.ssm, "salesordersLines")
    message = products["M"]
    assert message["model"] == "Message line (free text)" and message["readOnly"] is True
    free = [
        (order, item, description)
        for order, item, description in _sage(
            synced,
            "SELECT ORDER_NUMBER, ITEM_NUMBER, DESCRIPTION FROM SOP_ITEM WHERE STOCK_CODE = 'M'",
        )
        if str(order) in orders
    ]
    assert free, "the tiny company's pushed orders have message lines"
    for order, item, description in free:
        sent = [
            line
            for line in lines
            if _id(line.get("salesOrderId") or line.get("salesorderId")) == orders[str(order)]["id"]
            and line["order"] == item
        ]
        assert len(sent) == 1, (order, item)
        assert _id(sent[0]["productId"]) == message["id"]
        assert sent[0]["description"] == description
        assert _money(sent[0]["total"]) == 0
    # Hand-worked: order 2's line 7 says "Thank you for your order".
    assert (2, 7, "Thank you for your order") in free


def test_invoices_in_both_currencies_with_the_paid_date(synced: Synced) -> None:
    sales = _by_ext_id(synced, "sales")
    rows = _sage(
        synced,
        "SELECT i.INVOICE_NUMBER, i.INVOICE_GROSS, i.FOREIGN_INVOICE_GROSS, cur.CODE "
        "FROM INVOICE i LEFT JOIN CURRENCY cur ON cur.NUMBER = i.CURRENCY "
        "WHERE i.INVOICE_OR_CREDIT = 'Invoice'",
    )
    foreign = 0
    for number, base, document, currency in rows:
        sale = sales.get(str(number))
        if sale is None:  # held back or of a deleted account
            continue
        assert _money(sale["total"]) == _money(base), number
        assert _money(sale["Z_TotalInCurrency"]) == _money(document), number
        assert sale["Z_Currency"] == currency, number
        foreign += currency != "GBP"
    assert foreign > 0
    # Hand-worked: EUR invoice 2 is 4,179.76 in pounds and 4,890.32 in euros.
    assert (_money(sales["2"]["total"]), _money(sales["2"]["Z_TotalInCurrency"])) == (
        Decimal("4179.76"),
        Decimal("4890.32"),
    )
    paid = _sage(
        synced,
        """
        SELECT doc.INV_REF, max(payer.DATE)
        FROM AUDIT_HEADER doc
        JOIN AUDIT_SPLIT ds ON ds.HEADER_NUMBER = doc.HEADER_NUMBER
        JOIN AUDIT_USAGE u ON u.SPLIT_CROSSREF = ds.SPLIT_NUMBER AND u.AMOUNT <> 0
        JOIN AUDIT_SPLIT ps ON ps.SPLIT_NUMBER = u.SPLIT_NUMBER
        JOIN AUDIT_HEADER payer ON payer.HEADER_NUMBER = ps.HEADER_NUMBER
        WHERE doc.TYPE = 'SI' AND doc.OUTSTANDING = 0
          AND coalesce(doc.DELETED_FLAG, 0) = 0 AND coalesce(u.DELETED_FLAG, 0) = 0
        GROUP BY doc.INV_REF
        """,
    )
    checked = 0
    for number, date in paid:
        sale = sales.get(str(number).strip())
        if sale is None or sale["Z_PaymentStatus"] != "Paid":
            continue
        assert str(sale["Z_PaidDate"])[:10] == str(date)[:10], number
        checked += 1
    assert checked > 0
    unpaid = [s for s in sales.values() if s["Z_PaymentStatus"] != "Paid"]
    assert unpaid and all(s.get("Z_PaidDate") is None for s in unpaid)


def test_invoices_of_a_repless_account_name_the_admin_user(synced: Synced) -> None:
    sales = _by_ext_id(synced, "sales")
    repless = {
        r[0]
        for r in _sage(
            synced, "SELECT ACCOUNT_REF FROM SALES_LEDGER WHERE trim(coalesce(ANALYSIS_2, '')) = ''"
        )
    }
    admin = next(u for u in ssm_records(synced.ssm, "users") if u["id"] == 1)
    theirs = [s for s in sales.values() if s["accountExtId"] in repless]
    assert theirs, "the tiny company has rep-less accounts with invoices"
    # the admin user has no extId in the sandbox: its full name, never the setting's "1"
    expected = f"{admin['name']} {admin['lastName']}"
    assert {s["salesRepExtId"] for s in theirs} == {expected}


def _rates_by_ext_id(synced: Synced) -> dict[str, dict[str, Any]]:
    return {str(r["extId"]): r for r in ssm_records(synced.ssm, "rates") if r.get("extId")}


def _prices_of(synced: Synced, rate: dict[str, Any]) -> dict[str, Decimal]:
    """The product rates of an SSM rate: stock code -> sale price."""
    codes = {p["id"]: p["extId"] for p in ssm_records(synced.ssm, "products")}
    return {
        codes[_id(r["productId"])]: _money(r["salePrice"])
        for r in ssm_records(synced.ssm, "productRates")
        if _id(r["rateId"]) == rate["id"]
    }


def test_customer_special_prices_in_one_rate_per_customer(synced: Synced) -> None:
    rates = _rates_by_ext_id(synced)
    accounts = _by_ext_id(synced, "accounts")
    special = _sage(
        synced,
        "SELECT PRICING_REF, STOCK_CODE, STORED_PRICE FROM PRICE WHERE TYPE = 'S' "
        "AND coalesce(RECORD_DELETED, 0) = 0",
    )
    customers = {code for code, _, _ in special}
    assert customers == {"ACO001", "BRI002", "QUA002", "STE002"}
    # one rate per customer with special prices beside the three price lists; its account's
    # rateId is that rate, the others keep their price list (or none)
    assert set(rates) == {"TRADE", "WHOLESAL", "EUROPE"} | {f"SPECIAL:{c}" for c in customers}
    for code, account in accounts.items():
        own = rates.get(f"SPECIAL:{code}")
        expected = own or rates.get(account.get("Z_PriceList") or "")
        assert _id(account.get("rateId")) == (expected["id"] if expected else None), code
    for code in customers:
        prices = _prices_of(synced, rates[f"SPECIAL:{code}"])
        for customer, stock_code, price in special:
            if customer == code:
                assert prices[stock_code] == _money(price), (code, stock_code)

    # Hand-worked, BRI002 (pounds, on TRADE): its 5 special prices win over TRADE's (SAFE002
    # 92.95, not TRADE's 95.39 = 105.99 less 10 %), and TRADE's other 30 products come from
    # the list (PAPER001 20.69 = 22.99 less 10 %): 35 prices in one rate.
    bristol = rates["SPECIAL:BRI002"]
    assert bristol["descriptionEN"] == "Special prices BRI002: Bristol Supplies LLP"
    assert accounts["BRI002"]["Z_PriceList"] == "TRADE"
    prices = _prices_of(synced, bristol)
    assert len(prices) == 35
    assert {code: prices[code] for code in ("SAFE002", "PC003", "PAPER001")} == {
        "SAFE002": Decimal("92.95"),
        "PC003": Decimal("1670.56"),
        "PAPER001": Decimal("20.69"),
    }
    assert _prices_of(synced, rates["TRADE"])["SAFE002"] == Decimal("95.39")
    # QUA002 trades in euros (1.17 per pound): its two special prices, and TRADE's 33 others
    # converted as Sage does (PAPER001: 20.69 x 1.17 = 24.2073, 24.21).
    euro = _prices_of(synced, rates["SPECIAL:QUA002"])
    assert len(euro) == 35
    assert {code: euro[code] for code in ("CARR002", "PC007", "PAPER001")} == {
        "CARR002": Decimal("7.44"),
        "PC007": Decimal("1539.77"),
        "PAPER001": Decimal("24.21"),
    }
    # ACO001 has no price list: its two special prices alone.
    assert _prices_of(synced, rates["SPECIAL:ACO001"]) == {
        "FURN003": Decimal("166.64"),
        "BOOK004": Decimal("65.27"),
    }
