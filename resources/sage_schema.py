"""The Sage 50 UK/IE schema as its ODBC driver shows it: every table, column, type and length.

Loaded from `sage50_columns.tsv` (Zynk's published schema of the v23/v24 driver, 108 tables,
2,860 columns). The demo company generator and the extractor both read it, so the stand-in
database and the extract queries can never drift apart.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

COLUMNS_TSV = Path(__file__).with_name("sage50_columns.tsv")

# The tables the CRM needs (the foundation issue's list), in load order.
CRM_TABLES: tuple[str, ...] = (
    "COMPANY",
    "CURRENCY",
    "COUNTRY_CODE",
    "TAX_CODE",
    "DEPARTMENT",
    "STOCK_CAT",
    "SALES_LEDGER",
    "PURCHASE_LEDGER",
    "SALES_DEL_ADDR",
    "STOCK",
    "PRICE_LIST",
    "PRICE",
    "INVOICE",
    "INVOICE_ITEM",
    "SALES_ORDER",
    "SOP_ITEM",
    "PURCHASE_ORDER",
    "POP_ITEM",
    "AUDIT_HEADER",
    "AUDIT_SPLIT",
    "AUDIT_USAGE",
    "AUDIT_HISTORY_HEADER",
    "AUDIT_HISTORY_SPLIT",
    "AUDIT_HISTORY_USAGE",
    "DELETED_RECORDS",
)

# ODBC type -> DuckDB type. Money and quantities stay DOUBLE here, as the driver hands them out;
# they are rounded to DECIMAL(18,2) once, in `staging`.
DUCKDB_TYPES = {
    "VARCHAR": "VARCHAR",
    "LONG VARCHAR": "VARCHAR",
    "CHAR": "VARCHAR",
    "UNKNOWN(probably VARCHAR)": "VARCHAR",
    "DOUBLE": "DOUBLE",
    "INTEGER": "INTEGER",
    "SMALLINT": "SMALLINT",
    "TINYINT": "SMALLINT",  # Sage's TINYINT flags hold odd values (RECORD_DELETED = 13568 seen)
    "DATE": "DATE",
    "TIME": "TIME",
    "TIMESTAMP": "TIMESTAMP",
}

# ODBC type -> SQLite declared type, for the demo company.
SQLITE_TYPES = {
    "VARCHAR": "VARCHAR",
    "LONG VARCHAR": "TEXT",
    "CHAR": "CHAR",
    "UNKNOWN(probably VARCHAR)": "VARCHAR",
    "DOUBLE": "DOUBLE",
    "INTEGER": "INTEGER",
    "SMALLINT": "SMALLINT",
    "TINYINT": "TINYINT",
    "DATE": "DATE",
    "TIME": "TIME",
    "TIMESTAMP": "TIMESTAMP",
}


@dataclass(frozen=True)
class SageColumn:
    table: str
    ordinal: int
    name: str
    odbc_type: str
    length: int | None

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.odbc_type]

    @property
    def sqlite_type(self) -> str:
        base = SQLITE_TYPES[self.odbc_type]
        if base == "VARCHAR" and self.length:
            return f"VARCHAR({self.length})"
        return base


def _odbc_type(raw: str, column: str) -> str:
    # RECORD_CREATE/MODIFY_DATE have a blank type in the source docs (length 16 = TIMESTAMP_STRUCT).
    if not raw and column.startswith("RECORD_") and column.endswith("_DATE"):
        return "TIMESTAMP"
    return raw


@cache
def sage_columns() -> dict[str, tuple[SageColumn, ...]]:
    """Table name -> its columns in the driver's order."""
    tables: dict[str, list[SageColumn]] = {}
    with COLUMNS_TSV.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            name = row["column"]
            col = SageColumn(
                table=row["table"],
                ordinal=int(row["ordinal"]),
                name=name,
                odbc_type=_odbc_type(row["odbc_type"], name),
                length=int(row["length"]) if row["length"].strip() else None,
            )
            tables.setdefault(col.table, []).append(col)
    return {t: tuple(sorted(cols, key=lambda c: c.ordinal)) for t, cols in tables.items()}


def table_columns(table: str) -> tuple[SageColumn, ...]:
    try:
        return sage_columns()[table]
    except KeyError:
        raise KeyError(f"{table} is not a documented Sage 50 table") from None
