"""The staging catalogue and its sections, on empty tables and on a hand-worked company."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest

from assets import staging
from assets.sage.catalogue import CATALOGUE as SAGE_TABLES
from assets.staging.catalogue import SECTIONS
from assets.staging.factory import SqlTable, build_table, read_sql, referenced_tables, upstream_key
from resources.sage_schema import table_columns
from tests.assets.fixtures_warehouse import create_sage_schema, hand_worked_warehouse

EXPECTED_SECTIONS = {
    "customer_accounts", "supplier_accounts", "product_items", "currencies", "stock_levels",
    "sales_order_lines", "sales_order_headers", "posted_sales_invoices", "unposted_sales_invoices",
    "posted_sales_credits", "purchase_orders", "posted_purchase_invoices",
    "unposted_purchase_invoices", "discount_matrix", "sales_payments", "sales_payments_history",
    "customer_price_lists", "named_price_lists", "price_list_metadata", "price_records",
    "product_categories", "vat_rates", "vat_countries", "audit_headers", "audit_splits",
    "audit_usages", "contacts",
}  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    database = hand_worked_warehouse(tmp_path_factory.mktemp("staging"))
    with duckdb.connect(str(database), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def empty_sage() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as con:
        create_sage_schema(con)
        yield con


def test_the_catalogue_holds_exactly_the_sections_the_push_codes_against() -> None:
    assert {s.name for s in SECTIONS} == EXPECTED_SECTIONS


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.name)
def test_section_sql_yields_exactly_the_declared_columns_and_no_doubles(
    section: SqlTable, empty_sage: duckdb.DuckDBPyConnection
) -> None:
    con = empty_sage
    build_table(con, "staging", section, read_sql(section, staging.SQL_DIR))
    described = con.execute(f"DESCRIBE staging.{section.name}").fetchall()
    assert tuple(row[0] for row in described) == section.column_names
    # Money and quantities are decimals from staging on: no binary double survives.
    assert [row[0] for row in described if row[1] == "DOUBLE"] == []
    assert "deleted_at" in section.column_names


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.name)
def test_section_lineage_names_real_sage_columns_of_declared_tables(section: SqlTable) -> None:
    for column in section.columns:
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", column.name), column.name
        for source in column.sources:
            table, name = source.split(".")
            assert table in section.reads, f"{column.name}: {table} not in reads"
            documented = {c.name for c in table_columns(table)} | {"DELETED_AT"}
            assert name in documented, f"{column.name}: {source} is not a Sage column"
    sql_tables = referenced_tables(read_sql(section, staging.SQL_DIR))
    assert sql_tables == {f"sage.{t.lower()}" for t in section.reads}
    assert all(upstream_key(t).path[0] == "sage" for t in section.reads)


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.name)
def test_document_date_is_declared_exactly_by_sections_of_partitioned_sources(
    section: SqlTable,
) -> None:
    partitioned = {t.table for t in SAGE_TABLES if t.partition is not None}
    reads_partitioned = bool(partitioned & set(section.reads))
    assert (section.document_date is not None) == reads_partitioned
    if section.document_date:
        assert section.document_date in section.column_names


def test_document_dates_follow_the_sources_months(warehouse: duckdb.DuckDBPyConnection) -> None:
    # The split's own date (the month the extract files it under), not USAGE.DATE (1999).
    assert rows(
        warehouse,
        "SELECT usage_number, split_date FROM staging.audit_usages WHERE usage_number IN (101, 102) ORDER BY 1",
    ) == [(101, date(2024, 1, 20)), (102, date(2024, 1, 10))]
    assert rows(
        warehouse, "SELECT invoice_date FROM staging.sales_payments WHERE split_number = 11"
    ) == [(date(2024, 1, 10),)]


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_sales_invoice_sections_apply_the_maps_filters(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    posted = rows(
        warehouse, "SELECT DISTINCT invoice_number FROM staging.posted_sales_invoices ORDER BY 1"
    )
    unposted = rows(
        warehouse, "SELECT DISTINCT invoice_number FROM staging.unposted_sales_invoices ORDER BY 1"
    )
    credits = rows(
        warehouse, "SELECT DISTINCT invoice_number_credit_note_no FROM staging.posted_sales_credits"
    )
    # 1012 is a quote and 1013 an unposted credit note: in none of the three.
    assert posted == [(1001,), (1014,)]
    assert unposted == [(1010,), (1011,)]
    assert credits == [(1004,)]


def test_soft_deleted_rows_stay_visible_with_their_deletion_time(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    deleted = datetime(2024, 6, 1, 12, 0)
    assert rows(
        warehouse,
        "SELECT deleted_at FROM staging.posted_sales_invoices WHERE invoice_number = 1014",
    ) == [(deleted,)]
    assert rows(
        warehouse,
        "SELECT deleted_at FROM staging.customer_accounts WHERE account_reference = 'GONE01'",
    ) == [(deleted,)]
    assert rows(
        warehouse,
        "SELECT deleted_at FROM staging.sales_order_lines WHERE order_number = 5002 ORDER BY line_number",
    ) == [(None,), (deleted,)]


def test_money_is_rounded_once_on_the_way_in(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        warehouse,
        "SELECT line_net_value FROM staging.posted_sales_invoices WHERE invoice_number = 1001 AND line_number = 1",
    ) == [(Decimal("60.00"),)]
    assert rows(
        warehouse,
        "SELECT balance FROM staging.customer_accounts WHERE account_reference = 'ACME01'",
    ) == [(Decimal("310.00"),)]


def test_customer_accounts_carry_flags_lookups_and_analysis_fields(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    got = rows(
        warehouse,
        """
        SELECT account_reference, on_stop, closed_inactive, country, currency_code, currency_rate,
               analysis_2, payment_due_days, payment_due_from
        FROM staging.customer_accounts ORDER BY 1""",
    )
    assert got == [
        ("ACME01", True, False, "United Kingdom", "GBP", Decimal("1.000000"), "George", 30, 0),
        ("EURO01", False, True, "France", "EUR", Decimal("1.150000"), None, 14, 1),
        # no terms of its own: the company's 30 days from the invoice date
        ("GONE01", False, False, None, "GBP", Decimal("1.000000"), None, 30, 0),
    ]


def test_purchase_invoice_sections_take_fully_delivered_orders_by_posted_state(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    assert rows(
        warehouse, "SELECT order_number, posted_flag FROM staging.posted_purchase_invoices"
    ) == [(7001, True)]
    assert rows(
        warehouse, "SELECT order_number, posted_flag FROM staging.unposted_purchase_invoices"
    ) == [(7002, False)]
    assert rows(warehouse, "SELECT order_number FROM staging.purchase_orders ORDER BY 1") == [
        (7001,),
        (7002,),
        (7003,),
    ]


def test_contacts_are_only_contact_addresses(warehouse: duckdb.DuckDBPyConnection) -> None:
    got = rows(
        warehouse,
        "SELECT account_reference, address_ref, contact_name, deleted_at IS NOT NULL FROM staging.contacts ORDER BY 2",
    )
    assert got == [("ACME01", 2, "Jane Smith", False), ("ACME01", 3, "Old Contact", True)]


def test_price_list_sections_take_their_currency_from_customer_or_list(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    special = rows(
        warehouse,
        "SELECT price_list_code, product_reference, selling_price, currency_code, type FROM staging.customer_price_lists ORDER BY 1, 2",
    )
    assert special == [
        ("ACME01", "BANDED", Decimal("17.0000"), "GBP", "S"),
        ("ACME01", "WIDGET", Decimal("8.5000"), "GBP", "S"),
        ("EURO01", "WIDGET", Decimal("0.0000"), "EUR", "S"),
    ]
    named = rows(
        warehouse,
        "SELECT price_list_code, product_reference, currency_code FROM staging.named_price_lists ORDER BY 1, 2",
    )
    assert named == [
        ("EXPORT", "BANDED", "EUR"),
        ("EXPORT", "WIDGET", "EUR"),
        ("RETAIL", "BANDED", "GBP"),
        ("RETAIL", "WIDGET", "GBP"),
        ("TRADE", "WIDGET", "EUR"),
    ]
    assert rows(warehouse, "SELECT count(*) FROM staging.price_records") == [(9,)]


def test_history_paid_date_is_the_latest_allocation(warehouse: duckdb.DuckDBPyConnection) -> None:
    got = rows(
        warehouse,
        "SELECT invoice_number, line_number, paid_date, paid_flag FROM staging.sales_payments_history WHERE type = 'SI'",
    )
    assert got == [("0900", 60, datetime(2023, 3, 20).date(), True)]


def test_discount_matrix_has_one_row_per_product_and_band(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    assert rows(warehouse, "SELECT count(*) FROM staging.discount_matrix") == [(15,)]
    got = rows(
        warehouse,
        """
        SELECT discount_group, discount_group_name, quantity_break_1, discount_rate_1, quantity_break_2
        FROM staging.discount_matrix WHERE discount_matrix_product_ref = 'BANDED' ORDER BY 1""",
    )
    assert got[0] == ("A", "Trade", Decimal("10.0000"), Decimal("5.0000"), Decimal("50.0000"))
    # a blank company name falls back to Sage's default caption
    assert got[1][:2] == ("B", "Discount B")
    assert got[2][:4] == ("C", "Wholesale", Decimal("100.0000"), Decimal("15.0000"))


def test_vat_countries_and_categories(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        warehouse, "SELECT * EXCLUDE (deleted_at) FROM staging.vat_countries ORDER BY 1"
    ) == [
        ("FR", "France", False, True, False),
        ("GB", "United Kingdom", True, False, True),
    ]
    assert rows(
        warehouse,
        "SELECT category_code, category_description FROM staging.product_categories ORDER BY 1",
    ) == [
        ("1", "Widgets"),
        ("7", "Services"),
    ]


def test_products_and_stock_levels_say_whether_stock_applies(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    got = rows(
        warehouse,
        "SELECT product_reference, is_stocked, sales_price FROM staging.product_items ORDER BY 1",
    )
    assert got == [
        ("BANDED", True, Decimal("20.0000")),
        ("SERVICE", False, Decimal("40.0000")),
        ("WIDGET", True, Decimal("12.0000")),
    ]
