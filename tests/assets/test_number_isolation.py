"""One bad number never stops the good rows (issue 13, item 1).

A NaN, +inf or -inf in a Sage number column (as a damaged file holds it: a float, or text such as
'NaN', 'inf', '-Infinity' that every reader turns into one), or a magnitude no staging DECIMAL
holds, is quarantined by the extract with its column and reason; the rest of the table lands and
staging builds. A value that landed before that rule became NULL in staging instead of failing
the whole table, and its record is held back from the push. Expected figures are by hand.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import duckdb

from assets import staging
from assets.lineage import field_sage_sources
from assets.sage.catalogue import BY_TABLE, number_limit
from assets.sage.convert import convert_column, rows_to_arrow
from assets.sage.validation import validate_chunk
from assets.ssm.contract import PUSHED
from assets.ssm.desired import build_desired, desired_sql
from assets.ssm.settings import SyncSettings
from assets.staging.catalogue import CUSTOMER_ACCOUNTS, PRODUCT_ITEMS, SECTIONS
from assets.staging.checks import NUMBER_INVARIANTS
from assets.staging.factory import build_table, evaluate_invariant, read_sql
from tests.assets.fixtures_warehouse import build_layers, create_sage_schema, hand_worked_company
from tests.assets.test_sage_extract import (  # noqa: F401 - `company` is a fixture
    MODIFIED,
    company,
    figures,
    insert,
    materialize,
    query,
)

CUSTOMERS = [
    {"ACCOUNT_REF": "NAN001", "NAME": "Not a number", "BALANCE": "NaN"},
    {"ACCOUNT_REF": "INF001", "NAME": "Text infinity", "BALANCE": "inf"},
    {"ACCOUNT_REF": "INF002", "NAME": "Float infinity", "CREDIT_LIMIT": math.inf},
    {"ACCOUNT_REF": "NEG001", "NAME": "Minus infinity", "BALANCE": "-Infinity"},
    {"ACCOUNT_REF": "NEG002", "NAME": "Float minus infinity", "CREDIT_LIMIT": -math.inf},
    {"ACCOUNT_REF": "BIG001", "NAME": "Too large", "BALANCE": 1e20},
    {"ACCOUNT_REF": "DISC01", "NAME": "Discount beyond a percentage", "DISCOUNT_RATE": 100000.0},
    {"ACCOUNT_REF": "EDGE01", "NAME": "At the limits", "BALANCE": -999_999_999_999.0,
     "DISCOUNT_RATE": 99_999.0},
]  # fmt: skip
PRODUCTS = [
    {"STOCK_CODE": "GOOD01", "DESCRIPTION": "Good", "SALES_PRICE": 12.5},
    {"STOCK_CODE": "NANP01", "DESCRIPTION": "NaN price", "SALES_PRICE": "NaN"},
    {"STOCK_CODE": "INFP01", "DESCRIPTION": "Infinite quantity", "QTY_IN_STOCK": math.inf},
    {"STOCK_CODE": "NEGP01", "DESCRIPTION": "Minus infinite cost", "LAST_PURCHASE_PRICE": "-inf"},
]
NOT_FINITE = "not a finite number"
QUARANTINED = [
    ("sage.sales_ledger", "BIG001", "BALANCE", "magnitude above 999,999,999,999", "1e+20"),
    ("sage.sales_ledger", "DISC01", "DISCOUNT_RATE", "magnitude above 99,999", "100000.0"),
    ("sage.sales_ledger", "INF001", "BALANCE", NOT_FINITE, "inf"),
    ("sage.sales_ledger", "INF002", "CREDIT_LIMIT", NOT_FINITE, "inf"),
    ("sage.sales_ledger", "NAN001", "BALANCE", NOT_FINITE, "nan"),
    ("sage.sales_ledger", "NEG001", "BALANCE", NOT_FINITE, "-inf"),
    ("sage.sales_ledger", "NEG002", "CREDIT_LIMIT", NOT_FINITE, "-inf"),
    ("sage.stock", "INFP01", "QTY_IN_STOCK", NOT_FINITE, "inf"),
    ("sage.stock", "NANP01", "SALES_PRICE", NOT_FINITE, "nan"),
    ("sage.stock", "NEGP01", "LAST_PURCHASE_PRICE", NOT_FINITE, "-inf"),
]
TABLES = ("SALES_LEDGER", "STOCK", "COUNTRY_CODE", "CURRENCY", "COMPANY")


def test_non_finite_and_too_large_numbers_are_quarantined_and_staging_builds(
    company: Path,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    connection_kind: dict[str, str],
) -> None:
    # Every reader hands out the text 'NaN' / 'inf' of a REAL column as the float (the SQLite
    # ODBC driver parses it as Sage's would hand out a damaged double).
    insert(company, "SALES_LEDGER", [r | {"RECORD_MODIFY_DATE": MODIFIED} for r in CUSTOMERS])
    insert(company, "STOCK", [r | {"RECORD_MODIFY_DATE": MODIFIED} for r in PRODUCTS])
    warehouse = tmp_path / "warehouse.duckdb"
    result = materialize(company, warehouse, TABLES, **connection_kind)

    # The fixture's 3 customers and EDGE01 land; 7 customers and 3 products are quarantined.
    assert figures(result, "SALES_LEDGER") == {
        "mode": "full", "rows_read": 11, "inserted": 4, "updated": 0, "undeleted": 0,
        "deleted": 0, "quarantined": 7, "rows": 4}  # fmt: skip
    assert figures(result, "STOCK")["inserted"] == 1
    assert query(warehouse, "SELECT account_ref FROM sage.sales_ledger ORDER BY 1") == [
        ("ABS001",), ("BRO001",), ("EDGE01",), ("KIN001",)]  # fmt: skip
    assert query(warehouse, "SELECT stock_code FROM sage.stock") == [("GOOD01",)]
    assert (
        query(
            warehouse,
            "SELECT table_name, row_key, column_name, reason, value FROM quarantine.rows "
            "ORDER BY 1, 2",
        )
        == QUARANTINED
    )

    # Staging builds over what landed; the values at the limits fit their DECIMAL columns.
    with duckdb.connect(str(warehouse)) as con:
        for section in (CUSTOMER_ACCOUNTS, PRODUCT_ITEMS):
            build_table(con, "staging", section, read_sql(section, staging.SQL_DIR))
        assert con.execute(
            "SELECT account_reference, balance, overall_discount FROM staging.customer_accounts "
            "WHERE account_reference = 'EDGE01'"
        ).fetchall() == [("EDGE01", -999_999_999_999, 99_999)]
        assert con.execute(
            "SELECT product_reference, sales_price FROM staging.product_items"
        ).fetchall() == [("GOOD01", 12.5)]


def _staging_decimal_scales(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Sage DOUBLE column -> the narrowest (integer digits, scale) of a staging DECIMAL it
    feeds, from the staging tables built over an empty `sage` schema."""
    narrowest: dict[str, tuple[int, int]] = {}
    for section in SECTIONS:
        build_table(con, "staging", section, read_sql(section, staging.SQL_DIR))
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'staging' AND table_name = ?",
                [section.name],
            ).fetchall()
        )
        for column in section.columns:
            decimal = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", types[column.name])
            if not decimal:
                continue
            digits = int(decimal[1]) - int(decimal[2])
            for source in column.sources:
                table, _, name = source.partition(".")
                if table in BY_TABLE and narrowest.get(source, (99, 0))[0] > digits:
                    narrowest[source] = (digits, int(decimal[2]))
    return narrowest


def test_every_number_the_extract_lets_in_fits_the_staging_decimal_it_feeds() -> None:
    with duckdb.connect() as con:
        create_sage_schema(con)
        narrowest = _staging_decimal_scales(con)
    assert narrowest["SALES_LEDGER.DISCOUNT_RATE"] == (5, 4)  # DECIMAL(9, 4) percentages
    assert narrowest["SALES_LEDGER.BALANCE"] == (16, 2)  # DECIMAL(18, 2) money
    for source, (digits, _) in narrowest.items():
        table, _, name = source.partition(".")
        column = next(c for c in BY_TABLE[table].columns if c.name == name)
        if column.duckdb_type == "DOUBLE":
            # The largest magnitude let in (a whole number: rounding never takes it past it).
            assert number_limit(column) < 10**digits, source


def test_a_lone_surrogate_in_text_is_a_bad_value_not_a_failed_extract() -> None:
    name = next(c for c in BY_TABLE["SALES_LEDGER"].columns if c.name == "NAME")
    bad: list = []
    array = convert_column(["Acme", "Broken \ud800 UTF-16"], name, bad)
    assert array.to_pylist() == ["Acme", None]
    assert [(b.row, b.column, b.reason, b.value) for b in bad] == [
        (1, "NAME", "not valid UTF-8 text", "Broken \\ud800 UTF-16")
    ]


def test_a_number_that_landed_before_the_rule_is_null_in_staging_and_held_back(
    tmp_path: Path,
) -> None:
    """A warehouse loaded before the extract quarantined NaN: staging still builds, and the
    customer and the product are held back rather than pushed with a NULL."""
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        hand_worked_company(con)
        con.execute("UPDATE sage.sales_ledger SET balance = 'NaN' WHERE account_ref = 'ACME01'")
        con.execute("UPDATE sage.stock SET sales_price = 'inf' WHERE stock_code = 'SERVICE'")
    build_layers(database)  # raised a ConversionException before
    with duckdb.connect(str(database)) as con:
        assert con.execute(
            "SELECT account_reference, balance FROM staging.customer_accounts ORDER BY 1"
        ).fetchall() == [("ACME01", None), ("EURO01", None), ("GONE01", None)]
        checks = {i.asset: i for i in NUMBER_INVARIANTS}
        assert evaluate_invariant(con, checks["staging.customer_accounts"]) == (
            1,
            [{"sage_table": "SALES_LEDGER", "row_key": "ACME01", "column_name": "BALANCE",
              "value": "nan"}],
        )  # fmt: skip
        stats = {
            c.name: build_desired(con, c, SyncSettings())
            for c in PUSHED
            if c.name in ("accounts", "products")
        }
        assert con.execute("SELECT ext_id FROM ssm.desired_accounts").fetchall() == [("EURO01",)]
        assert con.execute("SELECT ext_id FROM ssm.desired_products ORDER BY 1").fetchall() == [
            ("BANDED",),
            ("WIDGET",),
        ]
        held = con.execute(
            "SELECT resource, row_key, reason FROM quarantine.held_back ORDER BY 1"
        ).fetchall()
    reason = "a Sage number staging cannot hold (NaN, infinite or too large)"
    assert held == [
        ("accounts", "ACME01", f"{reason} (SALES_LEDGER.BALANCE = nan)"),
        ("products", "SERVICE", f"{reason} (STOCK.SALES_PRICE = inf)"),
    ]
    assert (stats["accounts"].rows, stats["accounts"].held_back) == (1, 1)
    assert (stats["products"].rows, stats["products"].held_back) == (2, 1)


def test_dates_no_warehouse_type_holds_are_bad_values_and_others_out_of_range_quarantined() -> None:
    table = BY_TABLE["SALES_LEDGER"]
    opened = next(c for c in table.columns if c.name == "DATE_ACCOUNT_OPENED")
    bad: list = []
    array = convert_column(["2015-03-01", "0000-01-01", "10000-01-01"], opened, bad)
    assert array.to_pylist() == [dt.date(2015, 3, 1), None, None]
    assert [(b.row, b.reason, b.value) for b in bad] == [
        (1, "not a valid date", "0000-01-01"),
        (2, "not a valid date", "10000-01-01"),
    ]
    rows = [
        {"ACCOUNT_REF": "ABS001", "DATE_ACCOUNT_OPENED": "9999-12-31"},
        {"ACCOUNT_REF": "KIN001", "DATE_ACCOUNT_OPENED": "1979-12-31"},
    ]
    chunk, none = rows_to_arrow(
        [tuple(r.get(c.name) for c in table.columns) for r in rows], table.columns
    )
    assert none == []
    assert {(f.row, f.reason) for f in validate_chunk(table, chunk)} == {
        (0, "date outside 1980-01-01..2100-12-31"),
        (1, "date outside 1980-01-01..2100-12-31"),
    }


# The text limits the SSM API reference documents (ssm-api-v4.md: extId 30, address1 and
# address2 180, city 200, comment 6000, value-list descriptions 70); the others are not
# documented, and a record SSM refuses goes to sync.dead_letters with SSM's message.
DOCUMENTED_LIMITS = {"extId": 30, "address1": 180, "address2": 180, "city": 200, "comment": 6000}
VALUE_LIST_DESCRIPTIONS = {"product_categories": 70, "rates": 70}
_RENDERED = {"INTEGER": 11, "SMALLINT": 6}  # the longest text of a number key


def _longest_text(sources: tuple[str, ...], joined: bool) -> int:
    """The longest text the extract lets into a field built from `sources`: joined by one
    separator each (a composite key), or the longest one (a fallback chain)."""
    lengths = []
    for source in sources:
        table, _, name = source.partition(".")
        column = next(c for c in BY_TABLE[table].columns if c.name == name)
        text = column.duckdb_type == "VARCHAR"
        lengths.append(
            BY_TABLE[table].max_length(column) if text else _RENDERED[column.duckdb_type]
        )
    return sum(lengths) + len(lengths) - 1 if joined else max(lengths)


def test_text_the_extract_lets_in_fits_what_ssm_documents() -> None:
    checked = []
    for contract in PUSHED:
        sql = desired_sql(contract, SyncSettings())
        for rule in contract.fields:
            limit = DOCUMENTED_LIMITS.get(rule.ssm)
            if rule.ssm == "descriptionEN":
                limit = VALUE_LIST_DESCRIPTIONS[contract.name]
            if limit is None or rule.column is None:
                continue
            truncated = re.search(rf"left\(.*?, {limit}\)\s+AS {rule.column}\b", sql, re.DOTALL)
            longest = _longest_text(field_sage_sources(contract, rule), rule.ssm == "extId")
            assert truncated or longest <= limit, (contract.name, rule.ssm, longest)
            checked.append((contract.name, rule.ssm))
    assert ("accounts", "address1") in checked and ("contacts", "extId") in checked
    assert ("product_categories", "descriptionEN") in checked
