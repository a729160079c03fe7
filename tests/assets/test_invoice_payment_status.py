"""Payment status edge cases, each on its own tiny audit trail so that one case pins one rule of
`derived/sql/invoice_payment_status.sql` (each deletion filter, the paying transaction's date,
on-account money, the history anti join, the customer's terms). Expected figures are worked by
hand in the comments; header numbers are 1, 2, ... and each header's one split is 10 + header."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.assets.fixtures_warehouse import (
    allocation,
    audit_transaction,
    build_layers,
    create_sage_schema,
    insert,
    query_dicts,
)

D = Decimal
Row = Mapping[str, Any]


def payment_statuses(
    directory: Path,
    headers: Iterable[Row],
    *,
    usages: Iterable[Row] = (),
    split_changes: Mapping[int, Row] | None = None,
    customers: Iterable[Row] = ({"account_ref": "CUST01"},),
    history: Mapping[str, Iterable[Row]] | None = None,
) -> dict[str, dict[str, Any]]:
    """derived.invoice_payment_status over a company holding just these audit rows, by invoice.

    Customers pay 30 days after the invoice date unless they say otherwise."""
    headers = list(headers)
    database = directory / "trail.duckdb"
    with duckdb.connect(str(database)) as con:
        create_sage_schema(con)
        insert(con, "company", [dict(payment_due_sales=30, payment_due_from_sales=0)])
        insert(con, "currency", [dict(number=1, code="GBP", base_currency=1, rate=1.0)])
        insert(con, "sales_ledger", [dict(currency=1, **c) for c in customers])
        insert(con, "audit_header", headers)
        changes = split_changes or {}
        insert(
            con,
            "audit_split",
            [  # each header's one split, live unless split_changes marks it
                {
                    **h,
                    "split_number": 10 + h["header_number"],
                    "deleted_flag": 0,
                    "deleted_at": None,
                    **changes.get(h["header_number"], {}),
                }
                for h in headers
                if h["header_number"] is not None
            ],
        )
        insert(con, "audit_usage", usages)
        for table, rows in (history or {}).items():
            insert(con, table, rows)
    build_layers(database)
    rows = query_dicts(database, "SELECT * FROM derived.invoice_payment_status")
    return {r["invoice_number"]: r for r in rows}


def figures(status: Mapping[str, Any]) -> tuple:
    return tuple(
        status[c]
        for c in (
            "status", "amount_paid", "outstanding_amount", "allocated_amount",
            "paid_date", "last_payment_date", "payment_due_date",
        )
    )  # fmt: skip


# --- a receipt's allocation, and each way Sage marks part of it deleted -------------------------

# SI 1 '2001' CUST01 2024-05-02 gross 90; SR 2 received 2024-05-10, allocated 2024-05-12.
INVOICE_PAID = audit_transaction(1, "SI", "2001", "CUST01", "2024-05-02", 90.0, 90.0, 0.0, "Y")
INVOICE_UNPAID = audit_transaction(1, "SI", "2001", "CUST01", "2024-05-02", 90.0, 0.0, 90.0, "N")
RECEIPT = audit_transaction(2, "SR", "BACS", "CUST01", "2024-05-10", 90.0, 90.0, 0.0, "Y")
GONE = "2024-06-01 12:00:00"  # deleted_at: the row has gone from Sage


def receipt_allocation(**change: Any) -> list[dict[str, Any]]:
    return [{**u, **change} for u in allocation(101, 12, 11, 90.0, "2024-05-12 09:00:00")]


def test_a_live_allocation_pays_the_invoice(tmp_path: Path) -> None:
    # The control for the cases below: 90 allocated, paid on the receipt's date 2024-05-10,
    # due 2024-05-02 + 30 days = 2024-06-01.
    got = payment_statuses(tmp_path, [INVOICE_PAID, RECEIPT], usages=receipt_allocation())
    assert figures(got["2001"]) == (
        "paid", D("90.00"), D("0.00"), D("90.00"),
        date(2024, 5, 10), date(2024, 5, 10), date(2024, 6, 1),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("receipt", "split", "usages"),
    [
        pytest.param(RECEIPT, {}, receipt_allocation(deleted_flag=1), id="usage-flagged-deleted"),
        pytest.param(RECEIPT, {}, receipt_allocation(deleted_at=GONE), id="usage-gone"),
        pytest.param(RECEIPT, {}, receipt_allocation(amount=0.0), id="usage-unallocated"),
        pytest.param(
            {**RECEIPT, "deleted_flag": 1}, {}, receipt_allocation(), id="receipt-header-flagged"
        ),
        pytest.param(
            {**RECEIPT, "deleted_at": GONE}, {}, receipt_allocation(), id="receipt-header-gone"
        ),
        pytest.param(
            RECEIPT, {"deleted_flag": 1}, receipt_allocation(), id="receipt-split-flagged"
        ),
        pytest.param(RECEIPT, {"deleted_at": GONE}, receipt_allocation(), id="receipt-split-gone"),
    ],
)
def test_an_allocation_with_any_part_deleted_pays_nothing(
    tmp_path: Path, receipt: Row, split: Row, usages: list[Row]
) -> None:
    # As the control, with one row marked deleted (and Sage's invoice header back to unpaid):
    # no allocation and no payment date may come from the deleted part.
    got = payment_statuses(
        tmp_path, [INVOICE_UNPAID, receipt], usages=usages, split_changes={2: split}
    )
    assert figures(got["2001"]) == (
        "unpaid", D("0.00"), D("90.00"), D("0.00"), None, None, date(2024, 6, 1),
    )  # fmt: skip


@pytest.mark.parametrize(
    "mark", [{"deleted_flag": 1}, {"deleted_at": GONE}], ids=["flagged-deleted", "gone"]
)
def test_a_deleted_invoice_has_no_status(tmp_path: Path, mark: Row) -> None:
    got = payment_statuses(tmp_path, [{**INVOICE_UNPAID, **mark}])
    assert got == {}


# --- on-account money, and the cleared history --------------------------------------------------


def test_money_on_account_later_allocated_pays_on_the_day_it_came_in(tmp_path: Path) -> None:
    # SA 1: 30 received on account on 2024-04-20; SI 2 '2002' of 2024-05-01 (gross 30) is then
    # settled from it on 2024-05-03. The paid date is the paying transaction's date, so this
    # prepaid invoice is paid on 2024-04-20, before its own date. Due 2024-05-01 + 30 = 05-31.
    got = payment_statuses(
        tmp_path,
        [
            audit_transaction(1, "SA", "BACS", "CUST01", "2024-04-20", 30.0, 30.0, 0.0, "Y"),
            audit_transaction(2, "SI", "2002", "CUST01", "2024-05-01", 30.0, 30.0, 0.0, "Y"),
        ],
        usages=allocation(101, payer=11, document=12, amount=30.0, created="2024-05-03 10:00:00"),
    )
    assert list(got) == ["2002"]  # the payment on account is not a document
    assert figures(got["2002"]) == (
        "paid", D("30.00"), D("0.00"), D("30.00"),
        date(2024, 4, 20), date(2024, 4, 20), date(2024, 5, 31),
    )  # fmt: skip


CLEARED_INVOICE = {
    "audit_history_header": [
        dict(header_number=50, type="SI", inv_ref="0900", account_ref="CUST01", date="2023-03-01",
             gross_amount=240.0, deleted_flag=0),
        dict(header_number=51, type="SR", inv_ref="BACS", account_ref="CUST01", date="2023-03-20",
             gross_amount=240.0, deleted_flag=0),
    ],
    "audit_history_split": [
        dict(split_number=60, header_number=50, type="SI", gross_amount=240.0, deleted_flag=0),
        dict(split_number=61, header_number=51, type="SR", gross_amount=240.0, deleted_flag=0),
    ],
    "audit_history_usage": [
        dict(usage_number=201, split_number=61, split_crossref=60, amount=240.0, deleted_flag=0,
             record_create_date="2023-03-20 09:00:00"),
    ],
}  # fmt: skip


def test_a_live_document_without_header_number_does_not_hide_the_history(tmp_path: Path) -> None:
    # A malformed live SI with no HEADER_NUMBER: the cleared invoice 0900 still counts as paid
    # (240 on 2023-03-20, due 2023-03-01 + 30 = 2023-03-31).
    nameless = audit_transaction(None, "SI", "2003", "CUST01", "2024-05-02", 10.0, 0.0, 10.0, "N")
    got = payment_statuses(tmp_path, [nameless], history=CLEARED_INVOICE)
    assert figures(got["0900"]) == (
        "paid", D("240.00"), D("0.00"), D("240.00"),
        date(2023, 3, 20), date(2023, 3, 20), date(2023, 3, 31),
    )  # fmt: skip


def test_a_deleted_cleared_invoice_has_no_status(tmp_path: Path) -> None:
    history = dict(CLEARED_INVOICE)
    history["audit_history_header"] = [
        {**h, "deleted_flag": 1} if h["header_number"] == 50 else h
        for h in CLEARED_INVOICE["audit_history_header"]
    ]
    assert payment_statuses(tmp_path, [], history=history) == {}


# --- due dates from the customer's terms (PAYMENT_DUE_FROM 2, 3, 4), worked on the calendar -----

TERMS = {  # account: (PAYMENT_DUE_FROM, PAYMENT_DUE_DAYS)
    "BEFORE7": (2, 7),  # 7 days before the last day of the following month
    "DAY15": (3, 15),  # the 15th of the month
    "DAY31": (3, 31),  # the month's last day
    "MONTH10": (4, 10),  # 10 days from one month after the invoice date
}
DUE_DATES = [  # invoice, account, invoice date, due date worked by hand
    ("3001", "BEFORE7", "2024-01-31", date(2024, 2, 22)),  # 29 Feb (leap year) - 7
    ("3002", "DAY15", "2024-01-31", date(2024, 2, 15)),  # dated after the 15th: next month's
    ("3003", "DAY15", "2024-01-10", date(2024, 1, 15)),  # dated before it: this month's
    ("3004", "DAY31", "2024-01-31", date(2024, 1, 31)),  # dated on it: the same day
    ("3005", "DAY31", "2024-02-10", date(2024, 2, 29)),  # February has no 31st: its last day
    ("3006", "MONTH10", "2024-01-31", date(2024, 3, 10)),  # 31 Jan + 1 month = 29 Feb, + 10
]


@pytest.fixture(scope="module")
def due_dates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return payment_statuses(
        tmp_path_factory.mktemp("due"),
        [
            audit_transaction(n, "SI", invoice, account, day, 100.0, 0.0, 100.0, "N")
            for n, (invoice, account, day, _) in enumerate(DUE_DATES, start=1)
        ],
        customers=[
            dict(account_ref=a, payment_due_from=f, payment_due_days=d)
            for a, (f, d) in TERMS.items()
        ],
    )


@pytest.mark.parametrize(
    ("invoice", "expected"),
    [(i, due) for i, _, _, due in DUE_DATES],
    ids=[i for i, *_ in DUE_DATES],
)
def test_due_date_follows_the_customers_terms(
    due_dates: dict[str, dict[str, Any]], invoice: str, expected: date
) -> None:
    assert due_dates[invoice]["payment_due_date"] == expected
