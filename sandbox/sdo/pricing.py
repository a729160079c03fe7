"""The stand-in SDO engine's pricing: Sage 50 UK's rules (`resources.sage.pricing`) over the demo
company's tables, which are Sage's ODBC tables (SALES_LEDGER, STOCK, PRICE, PRICE_LIST,
CURRENCY, TAX_CODE).

    price(con, "BIR001", "PAPER001", 10, PricingRules.from_env()) -> PricedLine

A row whose RECORD_DELETED is 1 counts as gone, like a row no longer in its table. Text tax codes
('T1') become Sage's code numbers through TAX_CODE.TAX_CODE_ID, as SDO numbers them.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from resources.sage.pricing import (
    DISCOUNT_TABLES,
    Currency,
    Customer,
    PricedLine,
    PriceRecord,
    PricingRules,
    Product,
    price_line,
)


def _dec(value: object) -> Decimal:
    """A stored number as the exact decimal of its shortest text (the driver's doubles)."""
    return Decimal(str(value)) if value is not None else Decimal(0)


def _rows(con: sqlite3.Connection, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
    cursor = con.cursor()
    cursor.row_factory = sqlite3.Row  # whatever the connection's own row factory is
    return cursor.execute(sql, params).fetchall()


def _tax_numbers(con: sqlite3.Connection) -> tuple[dict[str, int], dict[int, Decimal]]:
    """TAX_CODE: code text -> number, and number -> rate %."""
    numbers: dict[str, int] = {}
    rates: dict[int, Decimal] = {}
    for row in _rows(con, "SELECT TAX_CODE, TAX_CODE_ID, TAX_RATE FROM TAX_CODE"):
        number = int(row["TAX_CODE_ID"])
        numbers[str(row["TAX_CODE"]).strip().upper()] = number
        rates[number] = _dec(row["TAX_RATE"])
    return numbers, rates


def _tax_number(value: object, numbers: dict[str, int]) -> int:
    """'T1' (ODBC) or 1 (SDO) -> 1."""
    text = str(value if value is not None else "").strip().upper()
    if text in numbers:
        return numbers[text]
    digits = text.removeprefix("T")
    if digits.isdigit():
        return int(digits)
    raise LookupError(f"tax code {value!r} is not in Sage's TAX_CODE table")


def load_customer(con: sqlite3.Connection, account_ref: str, numbers: dict[str, int]) -> Customer:
    found = _rows(
        con,
        "SELECT ACCOUNT_REF, CURRENCY, PRICING_REF, DISCOUNT_TYPE, DISCOUNT_RATE, DEF_TAX_CODE, "
        "OVERRIDE_TAX_CODE, ACCOUNT_ON_HOLD, INACTIVE_FLAG FROM SALES_LEDGER "
        "WHERE upper(ACCOUNT_REF) = upper(?) AND coalesce(RECORD_DELETED, 0) <> 1",
        (account_ref.strip(),),
    )
    if not found:
        raise LookupError(f"customer account {account_ref!r} is not in Sage (SALES_LEDGER)")
    row = found[0]
    return Customer(
        account_ref=row["ACCOUNT_REF"],
        currency=int(row["CURRENCY"]) if row["CURRENCY"] is not None else None,
        pricing_ref=(row["PRICING_REF"] or "").strip(),
        discount_type=int(row["DISCOUNT_TYPE"] or 0),
        discount_rate=_dec(row["DISCOUNT_RATE"]),
        def_tax_code=_tax_number(row["DEF_TAX_CODE"] or "T1", numbers),
        override_tax_code=bool(row["OVERRIDE_TAX_CODE"]),
        account_on_hold=bool(row["ACCOUNT_ON_HOLD"]),
        inactive_flag=bool(row["INACTIVE_FLAG"]),
    )


def load_product(con: sqlite3.Connection, stock_code: str, numbers: dict[str, int]) -> Product:
    levels = [
        f"DISC_{t}_LEVEL_{n}_{kind}" for t in DISCOUNT_TABLES for n in range(1, 11)
        for kind in ("QTY", "RATE")
    ]  # fmt: skip
    # Column names from the constants above, never input.
    sql = (
        f"SELECT STOCK_CODE, {', '.join(levels)}, "  # noqa: S608
        "SALES_PRICE, TAX_CODE, LAST_PURCHASE_PRICE, AVERAGE_COST_PRICE FROM STOCK "
        "WHERE upper(STOCK_CODE) = upper(?) AND coalesce(RECORD_DELETED, 0) <> 1"
    )
    found = _rows(con, sql, (stock_code.strip(),))
    if not found:
        raise LookupError(f"product {stock_code!r} is not in Sage (STOCK): unknown or deleted")
    row = found[0]
    return Product(
        stock_code=row["STOCK_CODE"],
        sales_price=_dec(row["SALES_PRICE"]),
        tax_code=_tax_number(row["TAX_CODE"] or "T1", numbers),
        last_purchase_price=_dec(row["LAST_PURCHASE_PRICE"]),
        average_cost_price=_dec(row["AVERAGE_COST_PRICE"]),
        discount_levels={
            t: tuple(
                (_dec(row[f"DISC_{t}_LEVEL_{n}_QTY"]), _dec(row[f"DISC_{t}_LEVEL_{n}_RATE"]))
                for n in range(1, 11)
            )
            for t in DISCOUNT_TABLES
        },
    )


def load_prices(con: sqlite3.Connection, customer: Customer, stock_code: str) -> list[PriceRecord]:
    """The live PRICE rows that can price this line: the customer's special price and its price
    list's row (a list that is itself deleted prices nothing)."""
    rows = _rows(
        con,
        "SELECT p.TYPE, p.PRICING_REF, p.STOCK_CODE, p.CALC_METHOD, p.CALC_VALUE, p.STORED_PRICE, "
        "p.ROUNDER_METHOD, p.ROUNDER_DIRECTION, p.ROUNDER_MULTIPLE_OF, p.ROUNDER_ADJUSTMENT, "
        "pl.HAS_STATIC_PRICES, pl.CURRENCY AS LIST_CURRENCY "
        "FROM PRICE AS p LEFT JOIN PRICE_LIST AS pl "
        "ON pl.TYPE = p.TYPE AND pl.PRICING_REF = p.PRICING_REF "
        "AND coalesce(pl.RECORD_DELETED, 0) <> 1 "
        "WHERE upper(p.STOCK_CODE) = upper(?) AND coalesce(p.RECORD_DELETED, 0) <> 1 "
        "AND ((p.TYPE = 'S' AND upper(p.PRICING_REF) = upper(?)) "
        "OR (p.TYPE = 'P' AND upper(p.PRICING_REF) = upper(?) AND pl.PRICING_REF IS NOT NULL))",
        (stock_code.strip(), customer.account_ref, customer.pricing_ref or "\x00"),
    )
    return [
        PriceRecord(
            type=row["TYPE"],
            pricing_ref=row["PRICING_REF"],
            stock_code=row["STOCK_CODE"],
            calc_method=int(row["CALC_METHOD"] or 0),
            calc_value=_dec(row["CALC_VALUE"]),
            stored_price=_dec(row["STORED_PRICE"]),
            rounder_method=int(row["ROUNDER_METHOD"] or 0),
            rounder_direction=int(row["ROUNDER_DIRECTION"] or 0),
            rounder_multiple_of=_dec(row["ROUNDER_MULTIPLE_OF"]),
            rounder_adjustment=_dec(row["ROUNDER_ADJUSTMENT"]),
            has_static_prices=bool(row["HAS_STATIC_PRICES"]),
            list_currency=int(row["LIST_CURRENCY"]) if row["LIST_CURRENCY"] is not None else None,
        )
        for row in rows
    ]


def load_currencies(con: sqlite3.Connection) -> dict[int, Currency]:
    return {
        int(row["NUMBER"]): Currency(
            number=int(row["NUMBER"]),
            code=row["CODE"],
            exchange_rate=_dec(row["RATE"]),
            base_currency=bool(row["BASE_CURRENCY"]),
        )
        for row in _rows(
            con,
            "SELECT NUMBER, CODE, RATE, BASE_CURRENCY FROM CURRENCY "
            "WHERE coalesce(RECORD_DELETED, 0) <> 1",
        )
    }


def price(
    con: sqlite3.Connection,
    account_ref: str,
    stock_code: str,
    quantity: float | Decimal,
    rules: PricingRules,
) -> PricedLine:
    """Price `quantity` of `stock_code` for `account_ref` from the demo company, as Sage would.

    Raises LookupError naming what is missing: an unknown account, an unknown or deleted
    product, a tax code or currency Sage does not have."""
    numbers, tax_rates = _tax_numbers(con)
    customer = load_customer(con, account_ref, numbers)
    product = load_product(con, stock_code, numbers)
    return price_line(
        customer,
        product,
        Decimal(str(quantity)),
        load_prices(con, customer, product.stock_code),
        tax_rates,
        load_currencies(con),
        rules,
    )


__all__ = ["load_currencies", "load_customer", "load_prices", "load_product", "price"]
