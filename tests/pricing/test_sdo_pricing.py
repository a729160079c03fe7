"""The stand-in engine's pricing (`sandbox.sdo.pricing.price`) over the demo company file: the
facts it reads from Sage's tables. Hand-made rows are added to a tiny demo company so that every
expected figure below is worked by hand."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal

import pytest

from resources.sage.pricing import PricingRules
from sandbox.sage_demo import generate
from sandbox.sdo.pricing import price
from sandbox.sdo.store import open_company

D = Decimal
RULES = PricingRules()


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("sdo_pricing") / "sage50-demo.sqlite"
    generate(path, size="tiny", seed=3)
    con = open_company(path)
    con.executescript(
        """
        INSERT INTO SALES_LEDGER (ACCOUNT_REF, NAME, CURRENCY, PRICING_REF, DISCOUNT_TYPE,
            DISCOUNT_RATE, DEF_TAX_CODE, OVERRIDE_TAX_CODE, ACCOUNT_ON_HOLD, INACTIVE_FLAG,
            RECORD_DELETED)
        VALUES ('HAND01', 'Hand Worked Ltd', 1, 'HANDLIST', 3, 2.5, 'T1', 0, 1, 0, 0),
               ('HANDEUR', 'Hand Worked SARL', 2, '', 0, 0, 'T0', 1, 0, 0, 0),
               ('GONE01', 'Deleted Ltd', 1, '', 0, 0, 'T1', 0, 0, 0, 1);
        INSERT INTO STOCK (STOCK_CODE, DESCRIPTION, SALES_PRICE, TAX_CODE, LAST_PURCHASE_PRICE,
            AVERAGE_COST_PRICE, DISC_B_LEVEL_1_QTY, DISC_B_LEVEL_1_RATE, DISC_B_LEVEL_2_QTY,
            DISC_B_LEVEL_2_RATE, RECORD_DELETED)
        VALUES ('HANDPEN', 'Pen', 10.00, 'T1', 4.00, 4.50, 10, 5, 50, 10, 0),
               ('HANDLAMP', 'Lamp', 40.00, 'T1', 25.00, 26.00, 0, 0, 0, 0, 0),
               ('HANDGONE', 'Gone', 1.00, 'T1', 0, 0, 0, 0, 0, 0, 1);
        INSERT INTO PRICE_LIST (TYPE, PRICING_REF, NAME, CURRENCY, HAS_STATIC_PRICES,
            RECORD_DELETED)
        VALUES ('P', 'HANDLIST', 'Hand list', 1, 0, 0);
        INSERT INTO PRICE (PRICE_ID, TYPE, PRICING_REF, STOCK_CODE, CALC_METHOD, CALC_VALUE,
            STORED_PRICE, ROUNDER_METHOD, ROUNDER_DIRECTION, ROUNDER_MULTIPLE_OF,
            ROUNDER_ADJUSTMENT, RECORD_DELETED)
        VALUES ('PHANDLISTHANDLAMP', 'P', 'HANDLIST', 'HANDLAMP', 4, 50, 0, 0, 0, 0, 0, 0),
               ('SHAND01  HANDPEN', 'S', 'HAND01', 'HANDPEN', 0, 0, 8.75, 0, 0, 0, 0, 1);
        """
    )
    yield con
    con.close()


def test_a_price_list_markup_on_cost_with_the_customer_discount(
    company: sqlite3.Connection,
) -> None:
    # HANDLIST: markup 50% on cost 25.00 = 37.50; 2 x 37.50 = 75.00; table B has no break for a
    # lamp; customer 2.5%: 75.00 x 2.5% = 1.875 -> 1.88, net 73.12; VAT 20%: 14.624 -> 14.62.
    line = price(company, "HAND01", "HANDLAMP", 2, RULES)
    assert (line.rule, line.calc_method, line.unit_price, line.discount_percent) == (
        "price_list", 4, D("37.50"), D("2.5")
    )  # fmt: skip
    assert (line.discount_amount, line.net, line.tax_code, line.tax, line.currency) == (
        D("1.88"), D("73.12"), 1, D("14.62"), "GBP"
    )  # fmt: skip


def test_a_deleted_special_price_is_not_used_and_the_quantity_table_applies(
    company: sqlite3.Connection,
) -> None:
    # The special price 8.75 is RECORD_DELETED: the sales price 10.00; table B level 2 (50 <= 60)
    # 10% + customer 2.5% = 12.5%; 60 x 10.00 = 600.00 less 75.00 = 525.00; VAT 105.00.
    line = price(company, "hand01", "handpen", 60.0, RULES)
    assert (line.rule, line.quantity_discount_percent, line.discount_percent) == (
        "sales_price", D("10"), D("12.5")
    )  # fmt: skip
    assert (line.discount_amount, line.net, line.tax) == (D("75.00"), D("525.00"), D("105.00"))


def test_a_euro_customer_whose_own_tax_code_overrides(company: sqlite3.Connection) -> None:
    # 10.00 GBP x 1.17 EUR/GBP (the demo's CURRENCY.RATE) = 11.70 EUR; 3 x 11.70 = 35.10;
    # OVERRIDE_TAX_CODE: the customer's T0, 0% VAT.
    line = price(company, "HANDEUR", "HANDPEN", 3, RULES)
    assert (line.unit_price, line.net, line.tax_code, line.tax, line.currency) == (
        D("11.70"), D("35.10"), 0, D("0.00"), "EUR"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("account", "stock_code", "missing"),
    [
        ("NOSUCH", "HANDPEN", "customer account 'NOSUCH'"),
        ("GONE01", "HANDPEN", "customer account 'GONE01'"),
        ("HAND01", "NOSUCH", "product 'NOSUCH'"),
        ("HAND01", "HANDGONE", "product 'HANDGONE'"),
    ],
)
def test_unknown_or_deleted_records_are_named(
    company: sqlite3.Connection, account: str, stock_code: str, missing: str
) -> None:
    with pytest.raises(LookupError, match=missing):
        price(company, account, stock_code, 1, RULES)
