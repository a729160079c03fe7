"""`staging` is edition-neutral: a Sage 50 FR source writes the staging tables as the README's
table says (UK-only columns null, no audit splits or usages, one audit_headers row per document),
and derived and the SSM desired state built over it hold sensible, hand-checked values.

The staging tables are created by building every section over an empty `sage` schema (so they
have exactly the types the UK path writes); `sage` is then dropped, so nothing downstream can
read it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assets import derived, staging
from assets.derived.catalogue import DERIVED
from assets.derived.checks import INVARIANTS as DERIVED_INVARIANTS
from assets.ssm.contract import PUSHED
from assets.ssm.desired import build_desired
from assets.ssm.settings import SyncSettings
from assets.staging.catalogue import SECTIONS
from assets.staging.checks import INVARIANTS as STAGING_INVARIANTS
from assets.staging.factory import build_table, evaluate_invariant, read_sql
from tests.assets.fixtures_warehouse import create_sage_schema, insert

D = Decimal


def write_french_staging(con: duckdb.DuckDBPyConnection) -> None:
    """What a FR dossier exports: one customer, two products, two invoices, a credit note, an
    order; in EUR, the dossier's currency. Columns FR has no equivalent for stay null."""

    def rows(table: str, *values: dict[str, object]) -> None:
        insert(con, table, values, schema="staging")

    # fmt: off
    rows("currencies", dict(currency_code="EUR", currency_name="Euro", decimal_places=2,
         exchange_rate=1, accounts_id=1, multiplier=0, home_currency=True, rounding_method=1))
    rows("customer_accounts", dict(
        account_reference="DUPONT", company_name="Dupont SA", address_line_1="12 rue de la Paix",
        address_line_3="Paris", postcode="75002", country="France", country_code="FR",
        email="compta@dupont.test", vat_registration_number="FR12345678901",
        currency_code="EUR", closed_inactive=False, analysis_2="Marie Curie",
        # the README's defaults for what FR lacks
        on_stop=False, settlement_discount=0, overall_discount=0, discount_type=0,
        override_tax_code=False, payment_due_days=30, payment_due_from=0,
    ))
    rows("product_categories", dict(category_code="1", category_description="Mobilier"))
    rows(
        "product_items",
        dict(product_reference="CHAISE", description="Chaise", sales_price=50, tax_code="T1",
             is_stocked=True, inactive_flag=False, product_category="1",
             unit_decimal_places=2, qty_decimal_places=2),
        dict(product_reference="POSE", description="Installation", sales_price=80,
             tax_code="T1", is_stocked=False, inactive_flag=False, product_category="1",
             unit_decimal_places=2, qty_decimal_places=2),
    )
    rows(
        "stock_levels",
        dict(product_reference="CHAISE", warehouse_code="DEP1", quantity_in_stock=12,
             quantity_allocated=5, is_stocked=True),
        dict(product_reference="POSE", is_stocked=False),
    )
    rows(
        "vat_rates",
        dict(tax_code="T1", tax_description="TVA 20 %", tax_rate=20, eu_sales_flag=False,
             eu_purchase_flag=False),
        dict(tax_code="T0", tax_description="Exonéré", tax_rate=0, eu_sales_flag=False,
             eu_purchase_flag=False),
    )
    # Facture 1 (2 chairs, 120 TTC) and Facture 2 (installation, 96 TTC); Avoir 3 (a chair back).
    invoice = dict(account_reference="DUPONT", currency_code="EUR", carriage_net=0,
                   carriage_tax=0, carriage_gross=0)
    rows(
        "posted_sales_invoices",
        {**invoice, "invoice_number": 1, "line_number": 1, "product_reference": "CHAISE",
         "quantity": 2, "unit_price": 50, "line_net_value": 100, "line_tax_base": 20,
         "line_gross_base": 120, "invoice_date": date(2024, 3, 5), "items_net": 100,
         "items_tax": 20, "items_gross": 120, "total_net": 100, "total_tax": 20,
         "total_gross": 120, "payment_due_date": date(2024, 4, 4)},
        {**invoice, "invoice_number": 2, "line_number": 1, "product_reference": "POSE",
         "quantity": 1, "unit_price": 80, "line_net_value": 80, "line_tax_base": 16,
         "line_gross_base": 96, "invoice_date": date(2024, 3, 20), "items_net": 80,
         "items_tax": 16, "items_gross": 96, "total_net": 80, "total_tax": 16,
         "total_gross": 96, "payment_due_date": date(2024, 4, 19)},
    )
    rows("posted_sales_credits", {
        **invoice, "invoice_number_credit_note_no": 3, "line_number": 1,
        "product_reference": "CHAISE", "quantity": 1, "unit_price_base": 50,
        "line_net_value": 50, "line_net_base": 50, "line_tax_base": 10, "line_gross_base": 60,
        "credit_date": date(2024, 3, 25), "items_net": 50, "items_tax": 10, "items_gross": 60,
        "total_net": 50, "total_tax": 10, "total_gross": 60,
    })
    # One audit_headers row per document, amounts from "Soldée" / "Reste dû"; header_number is
    # the source's stable number per document. DELETED_FLAG, PAID_FLAG, DUE_DATE: null.
    audit = dict(account_reference="DUPONT")
    rows(
        "audit_headers",
        {**audit, "header_number": 1, "invoice_reference": "1", "type": "SI",
         "date": date(2024, 3, 5), "gross_amount": 120, "amount_paid": 120, "outstanding": 0},
        {**audit, "header_number": 2, "invoice_reference": "2", "type": "SI",
         "date": date(2024, 3, 20), "gross_amount": 96, "amount_paid": 36, "outstanding": 60},
        {**audit, "header_number": 3, "invoice_reference": "3", "type": "SC",
         "date": date(2024, 3, 25), "gross_amount": 60, "amount_paid": 0, "outstanding": 60},
    )
    # Commande 10: 2 chairs + 10 carriage HT; its "sage" totals are the document's own.
    money = dict(net=110, tax=22, gross=132)
    rows("sales_order_headers", dict(
        order_number_accounts_id=10, order_date=date(2024, 3, 1), customer_account="DUPONT",
        order_type="Sales Order", currency_code="EUR", allocated_status=0,
        carriage_net_base=10, carriage_tax_base=2, carriage_gross_base=12,
        carriage_net_foreign=10, carriage_tax_foreign=2, carriage_gross_foreign=12,
        **{f"sage_{k}_value_{c}": v for k, v in money.items() for c in ("base", "foreign")},
    ))
    rows("sales_order_lines", dict(
        order_number=10, line_number=1, product_reference="CHAISE", quantity_ordered=2,
        account_reference="DUPONT", currency_code="EUR", order_date=date(2024, 3, 1),
        line_net_amount_base=100, line_tax_amount_base=20, line_gross_amount_base=120,
        line_net_amount_foreign=100, line_tax_amount_foreign=20, line_gross_amount_foreign=120,
        allocated_status=0,
    ))
    rows("contacts", dict(account_reference="DUPONT", address_ref=1, contact_name="Jean Dupont",
                          email="jean@dupont.test"))
    # fmt: on


@pytest.fixture(scope="module")
def french(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    database = Path(tmp_path_factory.mktemp("fr")) / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        create_sage_schema(con)
        for section in SECTIONS:
            build_table(con, "staging", section, read_sql(section, staging.SQL_DIR))
        con.execute("DROP SCHEMA sage CASCADE")  # a FR source has no `sage` tables
        write_french_staging(con)
        for table in DERIVED:
            build_table(con, "derived", table, read_sql(table, derived.SQL_DIR))
        for contract in PUSHED:
            build_desired(con, contract, SyncSettings())
    with duckdb.connect(str(database), read_only=True) as con:
        yield con


def test_payment_status_comes_from_one_audit_header_per_document(
    french: duckdb.DuckDBPyConnection,
) -> None:
    got = french.execute(
        """
        SELECT invoice_number, type, status, amount_paid, outstanding_amount, allocated_amount,
               paid_date, last_payment_date, payment_due_date
        FROM derived.invoice_payment_status ORDER BY 1
        """
    ).fetchall()
    # No audit trail: nothing allocated, no paid date, even for the settled invoice. Due 30 days
    # after the invoice date (the README's default terms); none for a credit note.
    assert got == [
        ("1", "SI", "paid", D("120.00"), D("0.00"), D("0.00"), None, None, date(2024, 4, 4)),
        ("2", "SI", "part-paid", D("36.00"), D("60.00"), D("0.00"), None, None, date(2024, 4, 19)),
        ("3", "SC", "unpaid", D("0.00"), D("60.00"), D("0.00"), None, None, None),
    ]  # fmt: skip


def test_stock_order_totals_and_vat_need_no_uk_column(french: duckdb.DuckDBPyConnection) -> None:
    assert french.execute(
        "SELECT product_reference, physical_stock, free_stock FROM derived.stock ORDER BY 1"
    ).fetchall() == [("CHAISE", D("12.0000"), D("7.0000")), ("POSE", None, None)]
    # 100 + 10 carriage net, 20 + 2 tax, 120 + 12 gross, in EUR both ways
    assert french.execute(
        """
        SELECT base_net_value, base_tax_value, base_gross_value, foreign_gross_value
        FROM derived.sales_order_totals
        """
    ).fetchall() == [(D("110.00"), D("22.00"), D("132.00"), D("132.00"))]
    assert french.execute("SELECT count(*) FROM derived.discount_matrix").fetchall() == [(0,)]
    assert french.execute("SELECT count(*) FROM derived.price_lists").fetchall() == [(0,)]
    assert set(
        french.execute("SELECT tax_code, country_type, transaction_type FROM derived.vat_rates")
        .fetchall()
    ) == {
        ("T1", "Home", "Sales"), ("T1", "Home", "Purchase"),
        ("T0", "Home", "Sales"), ("T0", "Home", "Purchase"),
        ("T0", "Non-EC", "Sales"), ("T0", "Non-EC", "Purchase"),
    }  # fmt: skip


def test_every_invariant_that_reads_no_sage_table_holds(
    french: duckdb.DuckDBPyConnection,
) -> None:
    checks = [i for i in (*STAGING_INVARIANTS, *DERIVED_INVARIANTS) if "sage." not in i.offenders]
    assert len(checks) >= 7
    broken = [(i.asset, i.name, evaluate_invariant(french, i)) for i in checks]
    assert [b for b in broken if b[2][0]] == []


def test_the_desired_state_is_built_from_the_french_staging(
    french: duckdb.DuckDBPyConnection,
) -> None:
    assert french.execute(
        """
        SELECT ext_id, document_type, total, payment_status, outstanding, due_date
        FROM ssm.desired_sales ORDER BY 1
        """
    ).fetchall() == [
        ("1", "Invoice", D("120.00"), "Paid", D("0.00"), date(2024, 4, 4)),
        ("2", "Invoice", D("96.00"), "Part paid", D("60.00"), date(2024, 4, 19)),
        ("3", "Credit Note", D("-60.00"), "Unpaid", D("60.00"), None),
    ]  # fmt: skip
    assert french.execute(
        "SELECT ext_id, sales_rep, currency_code, balance FROM ssm.desired_accounts"
    ).fetchall() == [("DUPONT", "Marie Curie", "EUR", None)]
    assert french.execute(
        "SELECT ext_id, stock, tax_rate FROM ssm.desired_products ORDER BY 1"
    ).fetchall() == [("CHAISE", D("7.0000"), D("20.0000")), ("POSE", None, D("20.0000"))]
    assert french.execute("SELECT ext_id, total FROM ssm.desired_sales_orders").fetchall() == [
        ("10", D("132.00"))
    ]
