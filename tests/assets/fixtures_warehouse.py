"""A `sage` schema built by hand for the staging and derived tests.

Every CRM table is created from `resources/sage_schema.py` exactly as the extractor's convention
fixes it (lower-case documented columns, DuckDB types, plus `deleted_at` and `loaded_at`), so the
tests read the same shape the extractor writes. Rows are written by hand: columns not given are
NULL, as Sage hands out empty values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from assets.sage.warehouse import create_quarantine
from resources.sage_schema import CRM_TABLES, table_columns
from resources.warehouse import WarehouseResource


def create_sage_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS sage")
    for table in CRM_TABLES:
        columns = [f'"{c.name.lower()}" {c.duckdb_type}' for c in table_columns(table)]
        columns += ["deleted_at TIMESTAMP", "loaded_at TIMESTAMP DEFAULT now()"]
        con.execute(f"CREATE TABLE IF NOT EXISTS sage.{table.lower()} ({', '.join(columns)})")


def insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    schema: str = "sage",
) -> None:
    for row in rows:
        names = list(row)
        placeholders = ", ".join("?" for _ in names)
        con.execute(
            f"INSERT INTO {schema}.{table} ({', '.join(names)}) VALUES ({placeholders})",
            list(row.values()),
        )


def audit_transaction(
    n: int | None,
    typ: str,
    ref: str | None,
    account: str,
    date: str,
    gross: float,
    paid: float,
    outstanding: float,
    flag: str,
    deleted_flag: int = 0,
) -> dict[str, Any]:
    """An AUDIT_HEADER row; with a `split_number` added, its one AUDIT_SPLIT line."""
    return dict(
        header_number=n,
        tran_number=n,
        type=typ,
        inv_ref=ref,
        account_ref=account,
        date=date,
        gross_amount=gross,
        amount_paid=paid,
        outstanding=outstanding,
        paid_flag=flag,
        deleted_flag=deleted_flag,
    )


def allocation(
    first_usage: int,
    payer: int,
    document: int,
    amount: float,
    created: str,
    deleted_flag: int = 0,
) -> list[dict[str, Any]]:
    """The two AUDIT_USAGE rows of one allocation of split `payer` to split `document`: Sage
    stores each allocation twice, once from each side. USAGE.DATE is unreliable (1999 here)."""
    common = dict(
        amount=amount,
        deleted_flag=deleted_flag,
        record_create_date=created,
        date="1999-12-31",
        type="SR",
    )
    return [
        dict(common, usage_number=first_usage, split_number=payer, split_crossref=document),
        dict(common, usage_number=first_usage + 1, split_number=document, split_crossref=payer),
    ]


def warehouse_at(path: Path) -> WarehouseResource:
    return WarehouseResource(database=str(path))


def materialize(assets: list[Any], database: Path) -> dg.ExecuteInProcessResult:
    """Run assets (and their checks) against the DuckDB file; raises on a failed step."""
    return dg.materialize(assets, resources={"warehouse": warehouse_at(database)})


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def query_dicts(database: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(database), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def hand_worked_company(con: duckdb.DuckDBPyConnection) -> None:
    """A small Sage company whose every expected figure is worked out by hand in the tests.

    Audit trail (header / split numbers):
      SI 1 '1001' ACME01 2024-01-10 gross 120, paid by SR 2 (50, 2024-01-20) and SR 3 (70, 2024-02-05),
           allocated on 2024-02-28 and 2024-02-10 (USAGE.RECORD_CREATE_DATE)
      SI 4 '1002' ACME01 2024-03-01 gross 200, part-paid by SR 5 (80, 2024-03-15)
      SI 6 '1003' EURO01 2024-01-15 gross 60, settled by credit SC 7 '1004' (60, 2024-01-25)
      SI 8 '1005' ACME01 2024-04-02 gross 90, its receipt SR 9 (2024-04-10) since deleted
      SA 10 ACME01 30 on account, unallocated
      history: SI 50 '0900' ACME01 2023-03-01 gross 240, paid by SR 52 (100, created 2023-03-10)
               and SR 51 (140, created 2023-03-20)
    Every allocation is stored twice in AUDIT_USAGE, once from each side, as Sage does.
    Price lists: RETAIL (GBP, calculated), TRADE (EUR, static), EXPORT (EUR, calculated); EUR is
    1.15 per pound.
    """
    create_sage_schema(con)
    create_quarantine(con)  # as the first extract leaves it: empty
    deleted = "2024-06-01 12:00:00"
    insert(
        con,
        "company",
        [
            dict(
                name="Hand Worked Ltd",
                country_code="GB",
                vat_reg_number="GB123456789",
                payment_due_sales=30,
                payment_due_from_sales=0,
                unit_decimal_place=2,
                qty_decimal_place=2,
                stock_discount_a="Trade",
                stock_discount_b="",
                stock_discount_c="Wholesale",
            )
        ],
    )
    insert(
        con,
        "currency",
        [
            dict(number=1, code="GBP", name="Pound Sterling", base_currency=1, rate=1.0),
            dict(number=2, code="EUR", name="Euro", base_currency=0, rate=1.15),
        ],
    )
    insert(
        con,
        "country_code",
        [
            dict(code="GB", name="United Kingdom", eu_member=0),
            dict(code="FR", name="France", eu_member=1),
        ],
    )
    insert(
        con,
        "sales_ledger",
        [
            dict(
                account_ref="ACME01",
                name="Acme Ltd",
                address_1="1 High St",
                address_5="AB1 2CD",
                country_code="GB",
                currency=1,
                account_on_hold=1,
                inactive_flag=0,
                balance=310.004999,
                credit_limit=1000.0,
                analysis_2="George",
                payment_due_days=30,
                payment_due_from=0,
                pricing_ref="RETAIL",
            ),
            dict(
                account_ref="EURO01",
                name="Euro SARL",
                country_code="FR",
                currency=2,
                account_on_hold=0,
                inactive_flag=1,
                payment_due_days=14,
                payment_due_from=1,
            ),
            dict(account_ref="GONE01", name="Gone Ltd", currency=1, deleted_at=deleted),
        ],
    )
    insert(
        con,
        "sales_del_addr",
        [
            dict(
                reference="ACME01  0001",
                account_ref="ACME01",
                address_ref=1,
                address_type=0,
                address_type_name="Delivery",
                name="Warehouse",
            ),
            dict(
                reference="ACME01  0002",
                account_ref="ACME01",
                address_ref=2,
                address_type=1,
                address_type_name="Contact",
                contact_name="Jane Smith",
                e_mail="jane@acme.test",
            ),
            dict(
                reference="ACME01  0003",
                account_ref="ACME01",
                address_ref=3,
                address_type=1,
                address_type_name="Contact",
                contact_name="Old Contact",
                deleted_at=deleted,
            ),
        ],
    )
    insert(
        con,
        "stock",
        [
            dict(
                stock_code="WIDGET",
                description="Widget",
                qty_in_stock=25.0,
                qty_allocated=7.0,
                qty_on_order=10.0,
                ignore_stk_lvl_flag=0,
                sales_price=12.0,
                last_purchase_price=6.0,
                stock_cat=1,
                stock_cat_name="Widgets",
            ),
            dict(
                stock_code="SERVICE",
                description="Installation",
                qty_in_stock=0.0,
                qty_allocated=0.0,
                qty_on_order=0.0,
                ignore_stk_lvl_flag=1,
                sales_price=40.0,
                stock_cat=7,
                stock_cat_name="Services",
            ),
            dict(
                stock_code="BANDED",
                description="Banded item",
                qty_in_stock=3.0,
                qty_allocated=0.0,
                ignore_stk_lvl_flag=0,
                sales_price=20.0,
                last_purchase_price=10.0,
                disc_a_level_1_qty=10.0,
                disc_a_level_1_rate=5.0,
                disc_a_level_2_qty=50.0,
                disc_a_level_2_rate=10.0,
                disc_b_level_1_qty=0.0,
                disc_b_level_1_rate=0.0,
                disc_c_level_1_qty=100.0,
                disc_c_level_1_rate=15.0,
                stock_cat=1,
            ),
        ],
    )
    insert(con, "stock_cat", [dict(number=1, name="Widgets")])
    insert(
        con,
        "tax_code",
        [
            dict(
                tax_code="T0",
                tax_code_id=0,
                description="Zero rated",
                tax_rate=0.0,
                euro_sales=0,
                euro_purchase=0,
            ),
            dict(
                tax_code="T1",
                tax_code_id=1,
                description="Standard",
                tax_rate=20.0,
                euro_sales=0,
                euro_purchase=0,
            ),
            dict(
                tax_code="T4",
                tax_code_id=4,
                description="EC sales",
                tax_rate=0.0,
                euro_sales=1,
                euro_purchase=0,
            ),
            dict(
                tax_code="T7",
                tax_code_id=7,
                description="EC purchases",
                tax_rate=0.0,
                euro_sales=0,
                euro_purchase=1,
            ),
        ],
    )
    insert(
        con,
        "price_list",
        [
            dict(type="P", pricing_ref="TRADE", name="Trade", currency=2, has_static_prices=1),
            dict(type="P", pricing_ref="RETAIL", name="Retail", currency=1, has_static_prices=0),
            dict(type="P", pricing_ref="EXPORT", name="Export", currency=2, has_static_prices=0),
        ],
    )
    insert(
        con,
        "price",
        [
            # customer special prices
            dict(
                price_id="SACME01   WIDGET",
                type="S",
                pricing_ref="ACME01",
                stock_code="WIDGET",
                calc_method=0,
                calc_value=0.0,
                stored_price=8.5,
            ),
            dict(
                price_id="SACME01   BANDED",
                type="S",
                pricing_ref="ACME01",
                stock_code="BANDED",
                calc_method=2,
                calc_value=10.0,
                stored_price=17.0,
            ),
            dict(
                price_id="SEURO01   WIDGET",
                type="S",
                pricing_ref="EURO01",
                stock_code="WIDGET",
                calc_method=1,
                calc_value=0.0,
                stored_price=0.0,
            ),
            # named lists: TRADE is static, RETAIL is calculated
            dict(
                price_id="PTRADE    WIDGET",
                type="P",
                pricing_ref="TRADE",
                stock_code="WIDGET",
                calc_method=4,
                calc_value=50.0,
                stored_price=11.25,
            ),
            dict(
                price_id="PRETAIL   WIDGET",
                type="P",
                pricing_ref="RETAIL",
                stock_code="WIDGET",
                calc_method=4,
                calc_value=50.0,
                stored_price=7.0,
            ),
            dict(
                price_id="PRETAIL   BANDED",
                type="P",
                pricing_ref="RETAIL",
                stock_code="BANDED",
                calc_method=5,
                calc_value=2.5,
                stored_price=0.0,
            ),
            # EXPORT is a calculated list in EUR: a stale stored price, and a fixed price
            dict(
                price_id="PEXPORT   WIDGET",
                type="P",
                pricing_ref="EXPORT",
                stock_code="WIDGET",
                calc_method=4,
                calc_value=50.0,
                stored_price=99.0,
            ),
            dict(
                price_id="PEXPORT   BANDED",
                type="P",
                pricing_ref="EXPORT",
                stock_code="BANDED",
                calc_method=0,
                calc_value=0.0,
                stored_price=21.5,
            ),
            # a supplier price: only in price_records
            dict(
                price_id="USUPP     WIDGET",
                type="U",
                pricing_ref="SUPP",
                stock_code="WIDGET",
                calc_method=0,
                stored_price=5.0,
            ),
        ],
    )
    inv = dict(
        currency=1,
        posted="Y",
        invoice_or_credit="Invoice",
        carr_net=0.0,
        carr_tax=0.0,
        carr_gross=0.0,
    )
    insert(
        con,
        "invoice",
        [
            {
                **inv,
                "invoice_number": 1001,
                "account_ref": "ACME01",
                "invoice_date": "2024-01-10",
                "items_net": 100.0,
                "items_tax": 20.0,
                "items_gross": 120.0,
                "invoice_net": 100.0,
                "invoice_tax": 20.0,
                "invoice_gross": 120.0,
            },
            {
                **inv,
                "invoice_number": 1004,
                "account_ref": "EURO01",
                "invoice_date": "2024-01-25",
                "invoice_or_credit": "Credit Note",
                "currency": 2,
                "items_net": 50.0,
                "items_tax": 10.0,
                "items_gross": 60.0,
            },
            {
                **inv,
                "invoice_number": 1010,
                "account_ref": "ACME01",
                "posted": None,
                "items_net": 10.0,
                "items_tax": 2.0,
                "items_gross": 12.0,
            },
            {
                **inv,
                "invoice_number": 1011,
                "account_ref": "ACME01",
                "posted": "",
                "items_net": 10.0,
                "items_tax": 2.0,
                "items_gross": 12.0,
            },
            {
                **inv,
                "invoice_number": 1012,
                "account_ref": "ACME01",
                "posted": None,
                "invoice_or_credit": "Quote",
                "items_net": 10.0,
                "items_tax": 2.0,
                "items_gross": 12.0,
            },
            {
                **inv,
                "invoice_number": 1013,
                "account_ref": "ACME01",
                "posted": None,
                "invoice_or_credit": "Credit Note",
                "items_net": 10.0,
                "items_tax": 2.0,
                "items_gross": 12.0,
            },
            {
                **inv,
                "invoice_number": 1014,
                "account_ref": "ACME01",
                "deleted_at": deleted,
                "items_net": 10.0,
                "items_tax": 2.0,
                "items_gross": 12.0,
            },
        ],
    )
    line = dict(
        item_number=1, stock_code="WIDGET", net_amount=10.0, tax_amount=2.0, gross_amount=12.0
    )
    insert(
        con,
        "invoice_item",
        [
            {
                **line,
                "invoice_number": 1001,
                "net_amount": 59.999999999,
                "tax_amount": 12.0,
                "gross_amount": 72.0,
                "unit_price": 12.0,
                "quantity": 5.0,
            },
            {
                **line,
                "invoice_number": 1001,
                "item_number": 2,
                "stock_code": "BANDED",
                "net_amount": 40.0,
                "tax_amount": 8.0,
                "gross_amount": 48.0,
            },
            {
                **line,
                "invoice_number": 1004,
                "net_amount": 50.0,
                "tax_amount": 10.0,
                "gross_amount": 60.0,
            },
            {**line, "invoice_number": 1010},
            {**line, "invoice_number": 1011},
            {**line, "invoice_number": 1012},
            {**line, "invoice_number": 1013},
            {**line, "invoice_number": 1014},
        ],
    )
    insert(
        con,
        "sales_order",
        [
            # EUR order with carriage: lines 100 + 50 net base, carriage 10 (foreign: 115 + 57.50 + 11.50)
            dict(
                order_number=5001,
                account_ref="EURO01",
                order_date="2024-02-01",
                currency=2,
                carr_net=10.0,
                carr_tax=2.0,
                carr_gross=12.0,
                foreign_carr_net=11.5,
                foreign_carr_tax=2.3,
                foreign_carr_gross=13.8,
                invoice_net=160.0,
                invoice_tax=32.0,
                invoice_gross=192.0,
                foreign_invoice_net=184.0,
                foreign_invoice_tax=36.8,
                foreign_invoice_gross=220.8,
            ),
            dict(
                order_number=5002,
                account_ref="ACME01",
                order_date="2024-02-03",
                currency=1,
                carr_net=0.0,
                carr_tax=0.0,
                carr_gross=0.0,
                foreign_carr_net=0.0,
                foreign_carr_tax=0.0,
                foreign_carr_gross=0.0,
                invoice_net=10.0,
                invoice_tax=2.0,
                invoice_gross=12.0,
                foreign_invoice_net=10.0,
                foreign_invoice_tax=2.0,
                foreign_invoice_gross=12.0,
            ),
        ],
    )
    insert(
        con,
        "sop_item",
        [
            dict(
                order_number=5001,
                item_number=1,
                stock_code="WIDGET",
                qty_order=10.0,
                net_amount=100.0,
                tax_amount=20.0,
                gross_amount=120.0,
                foreign_net_amount=115.0,
                foreign_tax_amount=23.0,
                foreign_gross_amount=138.0,
            ),
            dict(
                order_number=5001,
                item_number=2,
                stock_code="BANDED",
                qty_order=2.0,
                net_amount=50.0,
                tax_amount=10.0,
                gross_amount=60.0,
                foreign_net_amount=57.5,
                foreign_tax_amount=11.5,
                foreign_gross_amount=69.0,
            ),
            dict(
                order_number=5002,
                item_number=1,
                stock_code="WIDGET",
                qty_order=1.0,
                net_amount=10.0,
                tax_amount=2.0,
                gross_amount=12.0,
                foreign_net_amount=10.0,
                foreign_tax_amount=2.0,
                foreign_gross_amount=12.0,
            ),
            dict(
                order_number=5002,
                item_number=2,
                stock_code="WIDGET",
                qty_order=1.0,
                net_amount=5.0,
                tax_amount=1.0,
                gross_amount=6.0,
                foreign_net_amount=5.0,
                foreign_tax_amount=1.0,
                foreign_gross_amount=6.0,
                deleted_at=deleted,
            ),
        ],
    )
    insert(
        con,
        "purchase_order",
        [
            dict(
                order_number=7001,
                account_ref="SUPP01",
                delivery_status_code=2,
                posted="Y",
                currency=1,
            ),
            dict(
                order_number=7002,
                account_ref="SUPP01",
                delivery_status_code=2,
                posted=None,
                currency=1,
            ),
            dict(
                order_number=7003,
                account_ref="SUPP01",
                delivery_status_code=1,
                posted=None,
                currency=1,
            ),
        ],
    )
    insert(
        con,
        "pop_item",
        [
            dict(
                order_number=n, item_number=1, stock_code="WIDGET", net_amount=6.0, gross_amount=7.2
            )
            for n in (7001, 7002, 7003)
        ],
    )
    insert(con, "purchase_ledger", [dict(account_ref="SUPP01", name="Supplier Ltd", currency=1)])

    insert(
        con,
        "audit_header",
        [
            audit_transaction(1, "SI", "1001", "ACME01", "2024-01-10", 120.0, 120.0, 0.0, "Y"),
            audit_transaction(2, "SR", "BACS", "ACME01", "2024-01-20", 50.0, 50.0, 0.0, "Y"),
            audit_transaction(3, "SR", "BACS", "ACME01", "2024-02-05", 70.0, 70.0, 0.0, "Y"),
            audit_transaction(4, "SI", "1002", "ACME01", "2024-03-01", 200.0, 80.0, 120.0, "N"),
            audit_transaction(5, "SR", "CHQ", "ACME01", "2024-03-15", 80.0, 80.0, 0.0, "Y"),
            audit_transaction(6, "SI", "1003", "EURO01", "2024-01-15", 60.0, 60.0, 0.0, "Y"),
            audit_transaction(7, "SC", "1004", "EURO01", "2024-01-25", 60.0, 60.0, 0.0, "Y"),
            audit_transaction(8, "SI", "1005", "ACME01", "2024-04-02", 90.0, 0.0, 90.0, "N"),
            audit_transaction(
                9, "SR", "BACS", "ACME01", "2024-04-10", 90.0, 90.0, 0.0, "Y", deleted_flag=1
            ),
            audit_transaction(10, "SA", "BACS", "ACME01", "2024-04-20", 30.0, 0.0, 30.0, "N"),
        ],
    )
    insert(
        con,
        "audit_split",
        [
            {**audit_transaction(h, t, r, a, d, g, p, o, f, x), "split_number": 10 + h}
            for h, t, r, a, d, g, p, o, f, x in (
                (1, "SI", "1001", "ACME01", "2024-01-10", 120.0, 120.0, 0.0, "Y", 0),
                (2, "SR", "BACS", "ACME01", "2024-01-20", 50.0, 50.0, 0.0, "Y", 0),
                (3, "SR", "BACS", "ACME01", "2024-02-05", 70.0, 70.0, 0.0, "Y", 0),
                (4, "SI", "1002", "ACME01", "2024-03-01", 200.0, 80.0, 120.0, "N", 0),
                (5, "SR", "CHQ", "ACME01", "2024-03-15", 80.0, 80.0, 0.0, "Y", 0),
                (6, "SI", "1003", "EURO01", "2024-01-15", 60.0, 60.0, 0.0, "Y", 0),
                (7, "SC", "1004", "EURO01", "2024-01-25", 60.0, 60.0, 0.0, "Y", 0),
                (8, "SI", "1005", "ACME01", "2024-04-02", 90.0, 0.0, 90.0, "N", 0),
                (9, "SR", "BACS", "ACME01", "2024-04-10", 90.0, 90.0, 0.0, "Y", 1),
                (10, "SA", "BACS", "ACME01", "2024-04-20", 30.0, 0.0, 30.0, "N", 0),
            )
        ],
    )

    insert(
        con,
        "audit_usage",
        [
            # Allocated later than received, in the other order: the paid date must come from
            # the receipts' own dates (2024-01-20, 2024-02-05), not from these.
            *allocation(101, payer=12, document=11, amount=50.0, created="2024-02-28 16:00:00"),
            *allocation(103, payer=13, document=11, amount=70.0, created="2024-02-10 09:00:00"),
            *allocation(105, payer=15, document=14, amount=80.0, created="2024-03-15 10:00:00"),
            *allocation(107, payer=17, document=16, amount=60.0, created="2024-01-25 10:00:00"),
            *allocation(
                109,
                payer=19,
                document=18,
                amount=90.0,
                created="2024-04-10 10:00:00",
                deleted_flag=1,
            ),
        ],
    )
    insert(
        con,
        "audit_history_header",
        [
            dict(
                header_number=50,
                type="SI",
                inv_ref="0900",
                account_ref="ACME01",
                date="2023-03-01",
                gross_amount=240.0,
                deleted_flag=0,
            ),
            dict(
                header_number=51,
                type="SR",
                inv_ref="BACS",
                account_ref="ACME01",
                date="2023-03-20",
                gross_amount=140.0,
                deleted_flag=0,
            ),
            dict(
                header_number=52,
                type="SR",
                inv_ref="BACS",
                account_ref="ACME01",
                date="2023-03-10",
                gross_amount=100.0,
                deleted_flag=0,
            ),
        ],
    )
    insert(
        con,
        "audit_history_split",
        [
            dict(split_number=60, header_number=50, type="SI", gross_amount=240.0, deleted_flag=0),
            dict(split_number=61, header_number=51, type="SR", gross_amount=140.0, deleted_flag=0),
            dict(split_number=62, header_number=52, type="SR", gross_amount=100.0, deleted_flag=0),
        ],
    )
    insert(
        con,
        "audit_history_usage",
        [
            dict(
                usage_number=201,
                split_number=62,
                split_crossref=60,
                amount=100.0,
                deleted_flag=0,
                record_create_date="2023-03-10 09:00:00",
            ),
            dict(
                usage_number=202,
                split_number=60,
                split_crossref=62,
                amount=100.0,
                deleted_flag=0,
                record_create_date="2023-03-10 09:00:00",
            ),
            dict(
                usage_number=203,
                split_number=61,
                split_crossref=60,
                amount=140.0,
                deleted_flag=0,
                record_create_date="2023-03-20 09:00:00",
            ),
            dict(
                usage_number=204,
                split_number=60,
                split_crossref=61,
                amount=140.0,
                deleted_flag=0,
                record_create_date="2023-03-20 09:00:00",
            ),
        ],
    )


def build_layers(database: Path) -> None:
    """Build every staging section, then every derived table, with the assets' own code path."""
    from assets import derived, staging
    from assets.derived.catalogue import DERIVED
    from assets.staging.catalogue import SECTIONS
    from assets.staging.factory import build_table, read_sql

    with duckdb.connect(str(database)) as con:
        for table in SECTIONS:
            build_table(con, "staging", table, read_sql(table, staging.SQL_DIR))
        for table in DERIVED:
            build_table(con, "derived", table, read_sql(table, derived.SQL_DIR))


def hand_worked_sage(
    directory: Path, *changes: Callable[[duckdb.DuckDBPyConnection], None]
) -> Path:
    """A DuckDB file holding the hand-worked company's `sage` tables, with `changes` applied."""
    database = directory / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        hand_worked_company(con)
        for change in changes:
            change(con)
    return database


def hand_worked_warehouse(directory: Path) -> Path:
    """A DuckDB file holding the hand-worked company with staging and derived built over it."""
    database = hand_worked_sage(directory)
    build_layers(database)
    return database
