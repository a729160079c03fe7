"""Derived values on the hand-worked company: every expected figure below is worked by hand
from the rows in `fixtures_warehouse.hand_worked_company` (see its docstring)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from tests.assets.fixtures_warehouse import hand_worked_warehouse

D = Decimal


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    database = hand_worked_warehouse(tmp_path_factory.mktemp("derived"))
    with duckdb.connect(str(database), read_only=True) as con:
        yield con


def payment(con: duckdb.DuckDBPyConnection, invoice: str) -> tuple:
    return con.execute(
        """
        SELECT status, gross_amount, amount_paid, outstanding_amount, allocated_amount,
               paid_date, last_payment_date, payment_due_date
        FROM derived.invoice_payment_status WHERE invoice_number = ?
        """,
        [invoice],
    ).fetchall()[0]


def test_invoice_paid_by_two_receipts(warehouse: duckdb.DuckDBPyConnection) -> None:
    # 50 + 70 = 120, each allocation counted once (not 240); paid on the later receipt's own date
    # (2024-02-05), not on when the allocations were entered (2024-02-28 and 2024-02-10);
    # due 30 days after 2024-01-10.
    assert payment(warehouse, "1001") == (
        "paid", D("120.00"), D("120.00"), D("0.00"), D("120.00"),
        date(2024, 2, 5), date(2024, 2, 5), date(2024, 2, 9),
    )  # fmt: skip


def test_part_paid_invoice_has_no_paid_date(warehouse: duckdb.DuckDBPyConnection) -> None:
    # 80 of 200 received on 2024-03-15; due 2024-03-01 + 30 days = 2024-03-31.
    assert payment(warehouse, "1002") == (
        "part-paid", D("200.00"), D("80.00"), D("120.00"), D("80.00"),
        None, date(2024, 3, 15), date(2024, 3, 31),
    )  # fmt: skip


def test_credit_note_allocated_to_an_invoice(warehouse: duckdb.DuckDBPyConnection) -> None:
    # EURO01 pays 14 days from the 1st of the following month: 2024-02-01 + 14 = 2024-02-15.
    assert payment(warehouse, "1003") == (
        "paid", D("60.00"), D("60.00"), D("0.00"), D("60.00"),
        date(2024, 1, 25), date(2024, 1, 25), date(2024, 2, 15),
    )  # fmt: skip
    # The credit note is used up by the invoice of 2024-01-15; a credit has no due date.
    assert payment(warehouse, "1004") == (
        "paid", D("60.00"), D("60.00"), D("0.00"), D("60.00"),
        date(2024, 1, 15), date(2024, 1, 15), None,
    )  # fmt: skip


def test_invoice_whose_receipt_was_deleted_is_unpaid(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert payment(warehouse, "1005") == (
        "unpaid", D("90.00"), D("0.00"), D("90.00"), D("0.00"),
        None, None, date(2024, 5, 2),
    )  # fmt: skip


def test_invoice_cleared_into_history_is_paid(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Paid by 100 (created 2023-03-10) and 140 (created 2023-03-20): the latest date wins.
    assert payment(warehouse, "0900") == (
        "paid", D("240.00"), D("240.00"), D("0.00"), D("240.00"),
        date(2023, 3, 20), date(2023, 3, 20), date(2023, 3, 31),
    )  # fmt: skip
    source = warehouse.execute(
        "SELECT source FROM derived.invoice_payment_status WHERE invoice_number = '0900'"
    ).fetchall()
    assert source == [("audit_history",)]


def test_only_sales_invoices_and_credits_get_a_status(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Receipts and the unallocated payment on account (SA, header 10) are not documents.
    got = warehouse.execute(
        "SELECT header_number, type FROM derived.invoice_payment_status ORDER BY 1"
    ).fetchall()
    assert got == [(1, "SI"), (4, "SI"), (6, "SI"), (7, "SC"), (8, "SI"), (50, "SI")]


def test_stock_is_null_where_it_does_not_apply(warehouse: duckdb.DuckDBPyConnection) -> None:
    got = warehouse.execute(
        "SELECT product_reference, physical_stock, free_stock FROM derived.stock ORDER BY 1"
    ).fetchall()
    assert got == [
        ("BANDED", D("3.0000"), D("3.0000")),
        ("SERVICE", None, None),  # service item: a dash in SSM, not zero
        ("WIDGET", D("25.0000"), D("18.0000")),  # 25 in stock - 7 allocated
    ]


def test_foreign_currency_order_totals_include_carriage(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    got = warehouse.execute(
        """
        SELECT base_net_value, base_tax_value, base_gross_value,
               foreign_net_value, foreign_tax_value, foreign_gross_value, currency_code, line_count
        FROM derived.sales_order_totals WHERE order_number_accounts_id = 5001
        """
    ).fetchall()
    # base: 100 + 50 + 10 carriage; foreign: 115 + 57.50 + 11.50 carriage
    assert got == [
        (D("160.00"), D("32.00"), D("192.00"), D("184.00"), D("36.80"), D("220.80"), "EUR", 2)
    ]


def test_deleted_order_lines_do_not_count(warehouse: duckdb.DuckDBPyConnection) -> None:
    got = warehouse.execute(
        "SELECT base_gross_value, line_count FROM derived.sales_order_totals "
        "WHERE order_number_accounts_id = 5002"
    ).fetchall()
    assert got == [(D("12.00"), 1)]


def test_discount_matrix_has_one_row_per_band_with_its_levels(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    # BANDED: band A has two levels, C one; B's levels are all 0 and D, E empty: no row.
    got = warehouse.execute(
        """
        SELECT product_reference, discount_group, discount_group_name, quantity_breaks
        FROM derived.discount_matrix ORDER BY 1, 2
        """
    ).fetchall()
    assert got == [
        ("BANDED", "A", "Trade", [
            {"quantity": D("10.0000"), "discount": D("5.0000")},
            {"quantity": D("50.0000"), "discount": D("10.0000")},
        ]),
        ("BANDED", "C", "Wholesale", [{"quantity": D("100.0000"), "discount": D("15.0000")}]),
    ]  # fmt: skip
    [(levels_type,)] = warehouse.execute(
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_name = 'discount_matrix' AND table_schema = 'derived' "
        "AND column_name = 'quantity_breaks'"
    ).fetchall()
    assert levels_type == "STRUCT(quantity DECIMAL(18,4), discount DECIMAL(9,4))[]"


def test_customer_special_and_named_list_prices(warehouse: duckdb.DuckDBPyConnection) -> None:
    got = warehouse.execute(
        """
        SELECT type, price_list_code, product_reference, currency_code, selling_price, price_source
        FROM derived.price_lists ORDER BY 1, 2, 3
        """
    ).fetchall()
    assert got == [
        ("P", "EXPORT", "BANDED", "EUR", D("21.5000"), "stored"),  # fixed price, already in EUR
        ("P", "EXPORT", "WIDGET", "EUR", D("10.3500"), "calculated"),  # see the test below
        ("P", "RETAIL", "BANDED", "GBP", D("12.5000"), "calculated"),  # cost 10 + 2.50
        ("P", "RETAIL", "WIDGET", "GBP", D("9.0000"), "calculated"),  # cost 6 + 50 %
        ("P", "TRADE", "WIDGET", "EUR", D("11.2500"), "stored"),  # static list
        ("S", "ACME01", "BANDED", "GBP", D("18.0000"), "calculated"),  # 20 - 10 %
        ("S", "ACME01", "WIDGET", "GBP", D("8.5000"), "stored"),  # fixed price
        ("S", "EURO01", "WIDGET", "EUR", D("13.8000"), "calculated"),  # 12.00 GBP x 1.15
    ]


def test_calculated_prices_of_a_foreign_list_are_converted_at_its_rate(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    # EXPORT is a EUR list, not static. WIDGET: markup 50 % on cost 6.00 GBP = 9.00 GBP, at
    # 1.15 EUR per pound = 10.35 EUR; its stale STORED_PRICE 99 is not the price. BANDED is a
    # Fixed Price, stored by Sage in the list's currency: 21.50 EUR as it is.
    got = warehouse.execute(
        """
        SELECT product_reference, currency_code, selling_price
        FROM derived.price_lists WHERE price_list_code = 'EXPORT' ORDER BY 1
        """
    ).fetchall()
    assert got == [("BANDED", "EUR", D("21.5000")), ("WIDGET", "EUR", D("10.3500"))]


def test_vat_rates_by_country_and_transaction_type(warehouse: duckdb.DuckDBPyConnection) -> None:
    got = set(
        warehouse.execute(
            "SELECT tax_code, country_type, transaction_type FROM derived.vat_rates"
        ).fetchall()
    )
    assert got == {
        ("T0", "Home", "Sales"), ("T0", "Home", "Purchase"),
        ("T0", "Non-EC", "Sales"), ("T0", "Non-EC", "Purchase"),
        ("T1", "Home", "Sales"), ("T1", "Home", "Purchase"),
        ("T4", "EC", "Sales"), ("T7", "EC", "Purchase"),
    }  # fmt: skip
