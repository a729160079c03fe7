"""The one declarative catalogue of the Sage 50 tables the CRM needs.

Each entry says how a table is read: its logical key (sage50-uk-odbc.md §0.1 and §1), whether it is
incremental on RECORD_MODIFY_DATE or reloaded in full, how a month of it is found for a backfill,
how its deletes show in DELETED_RECORDS, and the validation rules beyond those every table gets
from its column types (key not null and unique, dates 1980-2100, text within its documented length).
The assets, their checks, the pandera schemas and the lineage are all generated from it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property

import dagster as dg

from assets import company
from resources.sage_schema import CRM_TABLES, SageColumn, table_columns

INCREMENTAL_COLUMN = "RECORD_MODIFY_DATE"

# Validation bounds for every DATE/TIMESTAMP column (Sage's own range is 1970-2099; the issue asks
# 1980-2100 so that typos such as 2130 or 1900 are caught).
EARLIEST_DATE = "1980-01-01"
LATEST_DATE = "2100-12-31"

# Flags whose meaning is documented (reference §0 "Flags are 0/1 or 'Y'/'N'"); other code columns
# carry values whose full domain nobody has confirmed, so they are not restricted.
FLAG_DOMAINS: dict[str, tuple[int | str, ...]] = {
    "INACTIVE_FLAG": (0, 1),
    "DELETED_FLAG": (0, 1),
    "ACCOUNT_ON_HOLD": (0, 1),
    "SERVICE_FLAG": (0, 1),
    "IGNORE_STK_LVL_FLAG": (0, 1),
    "POSTED_CODE": (0, 1),
    "PRINTED_CODE": (0, 1),
    "PAID_FLAG": ("Y", "N"),
}

EMAIL_COLUMNS = frozenset({"E_MAIL", "E_MAIL2", "E_MAIL3", "DIRECT_DEBITS_EMAIL", "DEL_E_MAIL"})

# The largest magnitude a Sage number may have. Staging keeps numbers as DECIMAL(18, s) with
# s <= 6 (amounts 2, unit prices and quantities 4, exchange rates 6) and percentages as
# DECIMAL(9, 4); a value beyond these (or NaN, +inf, -inf, which a damaged file can hold) is a
# broken field, not a figure, and would fail staging's cast. A test checks these against the
# staging types (tests/assets/test_number_isolation.py).
NUMBER_LIMIT = 10**12 - 1
PERCENT_LIMIT = 10**5 - 1
# The DOUBLE columns staging keeps as percentages (DECIMAL(9, 4)).
PERCENT_COLUMN = re.compile(
    r"DISCOUNT_RATE|SETTLEMENT_DISC_RATE|TAX_RATE|DISC_[A-E]_LEVEL_\d+_RATE"
)


def number_limit(column: SageColumn) -> int:
    """The largest magnitude a DOUBLE column may hold."""
    return PERCENT_LIMIT if PERCENT_COLUMN.fullmatch(column.name) else NUMBER_LIMIT


# "at most 8 characters, upper-case letters and digits, no spaces" (reference §0, SDO errors).
ACCOUNT_REF_PATTERN = r"^[A-Z0-9]{1,8}$"


@dataclass(frozen=True)
class ByDate:
    """A month of this table is the rows whose `column` falls in it."""

    column: str


@dataclass(frozen=True)
class ByParent:
    """A month of this line table is the lines of its parent's documents of that month.

    `link` is the column here that holds the parent's integer key (same name in the parent).
    """

    parent: str
    link: str


@dataclass(frozen=True)
class SageTable:
    """How one Sage table is read, kept and checked."""

    table: str
    key: tuple[str, ...]
    description: str
    incremental: bool = True
    partition: ByDate | ByParent | None = None
    # DELETED_RECORDS.TABLE_ID of this table, and the column DELETED_RECORDS.FOREIGN_REF names.
    deleted_records_id: int | None = None
    deleted_ref_column: str | None = None
    patterns: tuple[tuple[str, str], ...] = field(default=())
    # Quantities that are never negative (a credit is its own document with positive lines).
    non_negative: tuple[str, ...] = ()
    # Documented lengths known to be wrong: (column, real maximum length).
    lengths: tuple[tuple[str, int], ...] = ()

    def max_length(self, column: SageColumn) -> int | None:
        return dict(self.lengths).get(column.name, column.length)

    @property
    def name(self) -> str:
        return self.table.lower()

    @property
    def asset_key(self) -> dg.AssetKey:
        return company.key("sage", self.name)

    @property
    def source_key(self) -> dg.AssetKey:
        return company.key("sage50", self.table)

    @cached_property
    def columns(self) -> tuple[SageColumn, ...]:
        return table_columns(self.table)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def incremental_column(self) -> str | None:
        return INCREMENTAL_COLUMN if self.incremental else None


# DELETED_RECORDS.TABLE_ID -> table is UNCONFIRMED (reference §0.1 "Deletes"). The defaults follow
# SDO's FileType enum (sdoInvoiceData=1, sdoStockData=4, sdoSalesData=8, sdoSopData=25, ...), the
# most plausible guess. Override per site with SAGE_DELETED_RECORDS_TABLE_IDS, e.g.
# "SALES_LEDGER=8,STOCK=4" (an id of 0 switches a table's DELETED_RECORDS mapping off); the
# periodic key scan catches deletes whatever the mapping.
DELETED_RECORDS_IDS_VARIABLE = "SAGE_DELETED_RECORDS_TABLE_IDS"


class CatalogueSettingError(ValueError):
    """A setting the catalogue reads at import is malformed; the message names it and the fix."""


def parse_deleted_record_ids(text: str, defaults: dict[str, int]) -> dict[str, int]:
    """`defaults` overridden by the `TABLE=ID,…` pairs of `text`; tables mapped to 0 dropped."""
    ids = dict(defaults)
    for item in text.split(","):
        if not item.strip():
            continue  # "SALES_LEDGER=8," or an empty variable
        table, sign, value = (part.strip() for part in item.partition("="))
        problem = None
        if not sign or not table:
            problem = "is not TABLE=ID"
        elif table.upper() not in CRM_TABLES:
            problem = f"names {table}, which is not a Sage table the connector reads"
        elif not value.isdigit():
            problem = f"gives {value or 'no id'!r} where a whole number of 0 or more belongs"
        if problem:
            # Read at import: a bare int() traceback would hide which variable is wrong.
            raise CatalogueSettingError(
                f"{DELETED_RECORDS_IDS_VARIABLE} item {item.strip()!r} {problem}: write the "
                f"variable as comma-separated TABLE=ID pairs such as SALES_LEDGER=8,STOCK=4 "
                f"(an id of 0 switches a table off)."
            )
        ids[table.upper()] = int(value)
    return {t: i for t, i in ids.items() if i}


def _deleted_ids(defaults: dict[str, int]) -> dict[str, int]:
    return parse_deleted_record_ids(os.environ.get(DELETED_RECORDS_IDS_VARIABLE, ""), defaults)


DELETED_RECORDS_TABLE_IDS = _deleted_ids(
    {
        "INVOICE": 1,
        "INVOICE_ITEM": 3,
        "STOCK": 4,
        "STOCK_CAT": 7,
        "SALES_LEDGER": 8,
        "PURCHASE_LEDGER": 9,
        "AUDIT_HEADER": 12,
        "DEPARTMENT": 19,
        "CURRENCY": 20,
        "SALES_ORDER": 25,
        "SOP_ITEM": 27,
        "PURCHASE_ORDER": 28,
        "POP_ITEM": 30,
        "AUDIT_SPLIT": 36,
        "AUDIT_USAGE": 37,
        "PRICE_LIST": 53,
        "PRICE": 55,
        "SALES_DEL_ADDR": 57,
        "COUNTRY_CODE": 67,
        "TAX_CODE": 151,
    }
)

# FOREIGN_REF holds "the deleted row's key"; for composite keys Sage's single reference column.
_DELETED_REF_COLUMNS = {"SALES_DEL_ADDR": "REFERENCE", "PRICE": "PRICE_ID", "INVOICE_ITEM": "ITEMID",
                        "SOP_ITEM": "ITEMID", "POP_ITEM": "ITEMID"}  # fmt: skip


def _table(table: str, key: tuple[str, ...], description: str, **kwargs: object) -> SageTable:
    deleted_id = DELETED_RECORDS_TABLE_IDS.get(table)
    ref_column = _DELETED_REF_COLUMNS.get(table, key[0] if len(key) == 1 else None)
    return SageTable(
        table=table,
        key=key,
        description=description,
        deleted_records_id=deleted_id if ref_column else None,
        deleted_ref_column=ref_column if deleted_id else None,
        **kwargs,  # type: ignore[arg-type]
    )


_ACCOUNT_REF = (("ACCOUNT_REF", ACCOUNT_REF_PATTERN),)

CATALOGUE: tuple[SageTable, ...] = (
    # COMPANYID is a braced GUID (38 characters); the documented 37 reads like a C buffer size.
    _table("COMPANY", ("COMPANYID",), "The company record (one row): financial year, control accounts, captions.", lengths=(("COMPANYID", 38),)),
    _table("CURRENCY", ("NUMBER",), "Currencies; NUMBER 1 is the base currency."),
    _table("COUNTRY_CODE", ("CODE",), "Country codes (ISO 3166 alpha-2) and EU membership."),
    _table("TAX_CODE", ("TAX_CODE",), "VAT codes T0..T99 and their rates. No RECORD_* columns: reloaded in full.", incremental=False),
    _table("DEPARTMENT", ("NUMBER",), "Departments; 0 is 'Default'."),
    _table("STOCK_CAT", ("NUMBER",), "Product categories. No RECORD_* columns: reloaded in full.", incremental=False),
    _table("SALES_LEDGER", ("ACCOUNT_REF",), "Customer accounts.", patterns=_ACCOUNT_REF),
    _table("PURCHASE_LEDGER", ("ACCOUNT_REF",), "Supplier accounts.", patterns=_ACCOUNT_REF),
    _table("SALES_DEL_ADDR", ("ACCOUNT_REF", "ADDRESS_REF"), "Customer delivery addresses and contacts (ADDRESS_TYPE 0 delivery, 1 contact)."),
    _table("STOCK", ("STOCK_CODE",), "Products: prices, quantities, discount tables."),
    _table("PRICE_LIST", ("TYPE", "PRICING_REF"), "Price lists: TYPE 'P' customer, 'U' supplier."),
    _table("PRICE", ("TYPE", "PRICING_REF", "STOCK_CODE"), "Prices per list (or special price per customer, TYPE 'S') and product."),
    _table("INVOICE", ("INVOICE_NUMBER",), "Invoicing-module documents: invoices, credits, quotes, proformas.", partition=ByDate("INVOICE_DATE")),
    _table("INVOICE_ITEM", ("INVOICE_NUMBER", "ITEM_NUMBER"), "Invoice lines.", partition=ByParent("INVOICE", "INVOICE_NUMBER"), non_negative=("QUANTITY",)),
    _table("SALES_ORDER", ("ORDER_NUMBER",), "Sales orders and their status.", partition=ByDate("ORDER_DATE")),
    _table("SOP_ITEM", ("ORDER_NUMBER", "ITEM_NUMBER"), "Sales order lines.", partition=ByParent("SALES_ORDER", "ORDER_NUMBER"), non_negative=("QTY_ORDER",)),
    _table("PURCHASE_ORDER", ("ORDER_NUMBER",), "Purchase orders (for stock on order)."),
    _table("POP_ITEM", ("ORDER_NUMBER", "ITEM_NUMBER"), "Purchase order lines."),
    _table("AUDIT_HEADER", ("HEADER_NUMBER",), "Audit trail: one row per ledger transaction (SI, SC, SR, SA, ...); DELETED_FLAG kept.", partition=ByDate("DATE")),
    _table("AUDIT_SPLIT", ("SPLIT_NUMBER",), "Audit trail: transaction lines with amounts paid and outstanding.", partition=ByDate("DATE")),
    _table("AUDIT_USAGE", ("USAGE_NUMBER",), "Audit trail: allocations between splits (payments against invoices), stored twice.", partition=ByParent("AUDIT_SPLIT", "SPLIT_NUMBER")),
    # INV_REF is VARCHAR(30) in AUDIT_HEADER; the documented 8 here is a likely slip (reference §1.17).
    _table("AUDIT_HISTORY_HEADER", ("HEADER_NUMBER",), "Cleared audit trail: transaction headers.", partition=ByDate("DATE"), lengths=(("INV_REF", 30),)),
    _table("AUDIT_HISTORY_SPLIT", ("SPLIT_NUMBER",), "Cleared audit trail: transaction lines.", partition=ByDate("DATE")),
    _table("AUDIT_HISTORY_USAGE", ("USAGE_NUMBER",), "Cleared audit trail: allocations.", partition=ByParent("AUDIT_HISTORY_SPLIT", "SPLIT_NUMBER")),
    _table("DELETED_RECORDS", ("TABLE_ID", "FOREIGN_REF", "DELETION_DATE_TIME"), "Sage's log of deleted master records and documents (TABLE_ID, FOREIGN_REF)."),
)  # fmt: skip

BY_TABLE: dict[str, SageTable] = {t.table: t for t in CATALOGUE}

assert tuple(BY_TABLE) == CRM_TABLES, "the catalogue must list exactly the CRM tables, in order"
