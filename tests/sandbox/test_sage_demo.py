"""The demo Sage 50 company: schema fidelity, determinism, bookkeeping invariants, cases, defects."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from resources.sage_schema import CRM_TABLES, table_columns
from sandbox.sage_demo import generate, generator
from sandbox.sage_demo.__main__ import main as cli_main
from sandbox.sage_demo.defects import DEFECT_KINDS


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sage_demo") / "tiny.sqlite"
    generate(path, size="tiny", seed=7)
    return path


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sage_demo_bad") / "bad.sqlite"
    generate(path, size="tiny", seed=7, with_bad_rows=True)
    return path


@pytest.fixture
def db(tiny: Path) -> Iterator[sqlite3.Connection]:
    con = sqlite3.connect(f"file:{tiny}?mode=ro", uri=True)
    yield con
    con.close()


def one(con: sqlite3.Connection, sql: str) -> object:
    return con.execute(sql).fetchone()[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_table_has_exactly_the_catalogue_columns_in_order(db: sqlite3.Connection) -> None:
    for table in CRM_TABLES:
        got = [(r[1], r[2]) for r in db.execute(f'PRAGMA table_info("{table}")')]
        want = [(c.name, c.sqlite_type) for c in table_columns(table)]
        assert got == want, table
    assert one(db, "SELECT count(*) FROM _DEMO_DEFECTS") == 0


def test_returned_counts_match_the_file(tiny: Path, tmp_path: Path) -> None:
    counts = generate(tmp_path / "again.sqlite", size="tiny", seed=7)
    con = sqlite3.connect(tiny)
    try:
        for table in CRM_TABLES:
            assert counts[table] == one(con, f'SELECT count(*) FROM "{table}"'), table
            assert counts[table] > 0, table
    finally:
        con.close()
    assert 25 <= counts["SALES_LEDGER"] <= 40
    assert 30 <= counts["STOCK"] <= 50
    assert 120 <= counts["INVOICE"] <= 220


def test_same_seed_same_bytes_other_seed_other_bytes(tiny: Path, tmp_path: Path) -> None:
    same, other = tmp_path / "same.sqlite", tmp_path / "other.sqlite"
    generate(same, size="tiny", seed=7)
    generate(other, size="tiny", seed=8)
    assert sha256(same) == sha256(tiny)
    assert sha256(other) != sha256(tiny)


def test_writer_process_writes_the_same_bytes(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small and large hand SQLite to a child process; it must not change a byte.
    in_process = generate(tmp_path / "in_process.sqlite", size="tiny", seed=7)
    monkeypatch.setattr(generator, "WRITER_PROCESS_MIN_INVOICES", 0)
    out = tmp_path / "writer.sqlite"
    assert generate(out, size="tiny", seed=7) == in_process
    assert sha256(out) == sha256(tiny)


def test_cli_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.sqlite"
    cli_main(["--size", "tiny", "--seed", "3", "--out", str(out), "--as-of", "2025-06-30"])
    assert "INVOICE_ITEM" in capsys.readouterr().out
    con = sqlite3.connect(out)
    try:
        assert one(con, "SELECT max(INVOICE_DATE) FROM INVOICE") <= "2025-06-30"
        assert one(con, "SELECT min(INVOICE_DATE) FROM INVOICE") >= "2015-01-01"
    finally:
        con.close()


def test_dates_are_sage_text_and_within_the_window(db: sqlite3.Connection) -> None:
    assert one(db, "SELECT min(INVOICE_DATE) FROM INVOICE") >= "2016-01-01"
    assert one(db, "SELECT max(INVOICE_DATE) FROM INVOICE") <= "2026-10-31"
    # Ten years of documents, so monthly partitions from 2016 have data to backfill.
    years = {r[0] for r in db.execute("SELECT DISTINCT substr(INVOICE_DATE, 1, 4) FROM INVOICE")}
    assert len(years) >= 9
    day_re = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    stamp_re = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
    for table in CRM_TABLES:
        cols = {c.name: c.odbc_type for c in table_columns(table)}
        for name, kind in cols.items():
            if kind not in ("DATE", "TIMESTAMP"):
                continue
            pattern = day_re if kind == "DATE" else stamp_re
            for (value,) in db.execute(
                f'SELECT DISTINCT "{name}" FROM "{table}" WHERE "{name}" IS NOT NULL'
            ):
                assert pattern.match(value), (table, name, value)
        if "RECORD_MODIFY_DATE" in cols:
            assert (
                one(
                    db,
                    f'SELECT count(*) FROM "{table}" WHERE RECORD_CREATE_DATE IS NULL OR RECORD_MODIFY_DATE IS NULL',
                )
                == 0
            ), table
            bad = one(
                db,
                f"SELECT count(*) FROM \"{table}\" WHERE RECORD_MODIFY_DATE < RECORD_CREATE_DATE OR RECORD_MODIFY_DATE > '2026-10-31 23:59:59'",
            )
            assert bad == 0, table


def test_account_refs_are_sage_codes(db: sqlite3.Connection) -> None:
    refs = [
        r[0]
        for r in db.execute(
            "SELECT ACCOUNT_REF FROM SALES_LEDGER UNION ALL SELECT ACCOUNT_REF FROM PURCHASE_LEDGER"
        )
    ]
    assert refs and all(re.fullmatch(r"[A-Z0-9]{1,8}", r) for r in refs)
    assert len(refs) == len(set(refs))


def test_invoice_headers_equal_their_lines_plus_carriage(db: sqlite3.Connection) -> None:
    rows = db.execute(
        """
        SELECT i.INVOICE_NUMBER,
               round(i.ITEMS_NET - sum(l.NET_AMOUNT), 2), round(i.ITEMS_TAX - sum(l.TAX_AMOUNT), 2),
               round(i.INVOICE_NET - sum(l.NET_AMOUNT) - i.CARR_NET, 2),
               round(i.INVOICE_TAX - sum(l.TAX_AMOUNT) - i.CARR_TAX, 2),
               round(i.INVOICE_GROSS - sum(l.GROSS_AMOUNT) - i.CARR_GROSS, 2),
               round(i.INVOICE_GROSS - i.INVOICE_NET - i.INVOICE_TAX, 2),
               round(i.FOREIGN_INVOICE_GROSS - sum(l.FOREIGN_GROSS_AMOUNT) - i.FOREIGN_CARR_GROSS, 2),
               round(i.NET_AMOUNT_1 + i.NET_AMOUNT_2 + i.NET_AMOUNT_3 + i.NET_AMOUNT_4 + i.NET_AMOUNT_5 - i.INVOICE_NET, 2),
               round(i.TAX_AMOUNT_1 + i.TAX_AMOUNT_2 + i.TAX_AMOUNT_3 + i.TAX_AMOUNT_4 + i.TAX_AMOUNT_5 - i.INVOICE_TAX, 2)
        FROM INVOICE i JOIN INVOICE_ITEM l ON l.INVOICE_NUMBER = i.INVOICE_NUMBER
        GROUP BY i.INVOICE_NUMBER
        """
    ).fetchall()
    assert len(rows) == one(db, "SELECT count(*) FROM INVOICE")
    for number, *diffs in rows:
        assert all(d == 0 for d in diffs), (number, diffs)
    # Lines: net = full net - discount, gross = net + tax.
    assert (
        one(
            db,
            "SELECT count(*) FROM INVOICE_ITEM WHERE round(FULL_NET_AMOUNT - DISCOUNT_AMOUNT - NET_AMOUNT, 2) <> 0 OR round(NET_AMOUNT + TAX_AMOUNT - GROSS_AMOUNT, 2) <> 0",
        )
        == 0
    )
    assert one(db, "SELECT count(*) FROM INVOICE WHERE CARR_NET > 0") > 0


def test_order_headers_equal_their_lines(db: sqlite3.Connection) -> None:
    bad = one(
        db,
        """
        SELECT count(*) FROM (
          SELECT o.ORDER_NUMBER FROM SALES_ORDER o JOIN SOP_ITEM l ON l.ORDER_NUMBER = o.ORDER_NUMBER
          GROUP BY o.ORDER_NUMBER
          HAVING round(o.INVOICE_GROSS - sum(l.GROSS_AMOUNT) - o.CARR_GROSS, 2) <> 0
              OR round(o.FOREIGN_INVOICE_NET - sum(l.FOREIGN_NET_AMOUNT) - o.FOREIGN_CARR_NET, 2) <> 0)
        """,
    )
    assert bad == 0


def test_posted_invoices_have_one_live_si_and_unposted_none(db: sqlite3.Connection) -> None:
    posted_without_si = one(
        db,
        """
        SELECT count(*) FROM INVOICE i WHERE i.POSTED = 'Y' AND i.INVOICE_OR_CREDIT = 'Invoice'
          AND NOT EXISTS (SELECT 1 FROM AUDIT_HEADER h WHERE h.TYPE = 'SI' AND h.DELETED_FLAG = 0 AND h.INV_REF = CAST(i.INVOICE_NUMBER AS TEXT))
          AND NOT EXISTS (SELECT 1 FROM AUDIT_HISTORY_HEADER h WHERE h.TYPE = 'SI' AND h.INV_REF = CAST(i.INVOICE_NUMBER AS TEXT))
        """,
    )
    assert posted_without_si == 0
    unposted_with_si = one(
        db,
        """
        SELECT count(*) FROM INVOICE i JOIN AUDIT_HEADER h ON h.INV_REF = CAST(i.INVOICE_NUMBER AS TEXT)
        WHERE i.POSTED = '' AND h.TYPE IN ('SI', 'SC')
        """,
    )
    assert unposted_with_si == 0
    # The SI gross is the invoice gross.
    mismatched = one(
        db,
        """
        SELECT count(*) FROM INVOICE i JOIN AUDIT_HEADER h ON h.INV_REF = CAST(i.INVOICE_NUMBER AS TEXT)
        WHERE h.TYPE = 'SI' AND h.DELETED_FLAG = 0 AND round(h.GROSS_AMOUNT - i.INVOICE_GROSS, 2) <> 0
        """,
    )
    assert mismatched == 0


@pytest.mark.parametrize("prefix", ["AUDIT", "AUDIT_HISTORY"])
def test_audit_headers_are_the_sum_of_their_splits(db: sqlite3.Connection, prefix: str) -> None:
    outstanding = ", round(h.OUTSTANDING - sum(s.OUTSTANDING), 2)" if prefix == "AUDIT" else ""
    rows = db.execute(
        f"""
        SELECT h.HEADER_NUMBER, round(h.GROSS_AMOUNT - sum(s.GROSS_AMOUNT), 2),
               round(h.AMOUNT_PAID - sum(s.AMOUNT_PAID), 2), h.ITEM_COUNT - count(*),
               h.TRAN_NUMBER - min(s.TRAN_NUMBER) {outstanding}
        FROM {prefix}_HEADER h JOIN {prefix}_SPLIT s ON s.HEADER_NUMBER = h.HEADER_NUMBER
        GROUP BY h.HEADER_NUMBER
        """
    ).fetchall()
    assert rows and len(rows) == one(db, f"SELECT count(*) FROM {prefix}_HEADER")
    for header, *diffs in rows:
        assert all(d == 0 for d in diffs), (header, diffs)


def test_outstanding_is_gross_less_paid_and_paid_is_live_usage(db: sqlite3.Connection) -> None:
    assert (
        one(
            db,
            "SELECT count(*) FROM AUDIT_HEADER WHERE round(GROSS_AMOUNT - AMOUNT_PAID - OUTSTANDING, 2) <> 0",
        )
        == 0
    )
    assert (
        one(
            db,
            "SELECT count(*) FROM AUDIT_SPLIT WHERE round(GROSS_AMOUNT - AMOUNT_PAID - OUTSTANDING, 2) <> 0",
        )
        == 0
    )
    assert (
        one(
            db,
            "SELECT count(*) FROM AUDIT_HEADER WHERE (PAID_FLAG = 'Y') <> (round(OUTSTANDING, 2) = 0)",
        )
        == 0
    )
    # Every split's AMOUNT_PAID = its live allocations (each counted once: rows where it is SPLIT_NUMBER).
    for prefix in ("AUDIT", "AUDIT_HISTORY"):
        bad = one(
            db,
            f"""
            SELECT count(*) FROM {prefix}_SPLIT s
            WHERE round(s.AMOUNT_PAID - coalesce((SELECT sum(u.AMOUNT) FROM {prefix}_USAGE u
                                                  WHERE u.SPLIT_NUMBER = s.SPLIT_NUMBER AND u.DELETED_FLAG = 0), 0), 2) <> 0
            """,
        )
        assert bad == 0, prefix
    # History is all settled.
    assert (
        one(
            db,
            "SELECT count(*) FROM AUDIT_HISTORY_HEADER WHERE round(GROSS_AMOUNT - AMOUNT_PAID, 2) <> 0 OR PAID_FLAG <> 'Y'",
        )
        == 0
    )


@pytest.mark.parametrize("prefix", ["AUDIT", "AUDIT_HISTORY"])
def test_usage_rows_come_in_mirrored_pairs(db: sqlite3.Connection, prefix: str) -> None:
    unpaired = one(
        db,
        f"""
        SELECT count(*) FROM {prefix}_USAGE a
        WHERE (SELECT count(*) FROM {prefix}_USAGE b
               WHERE b.SPLIT_NUMBER = a.SPLIT_CROSSREF AND b.SPLIT_CROSSREF = a.SPLIT_NUMBER
                 AND b.AMOUNT = a.AMOUNT AND b.DELETED_FLAG = a.DELETED_FLAG) <> 1
        """,
    )
    assert unpaired == 0
    assert one(db, f"SELECT count(*) % 2 FROM {prefix}_USAGE") == 0
    dangling = one(
        db,
        f"SELECT count(*) FROM {prefix}_USAGE u WHERE NOT EXISTS (SELECT 1 FROM {prefix}_SPLIT s WHERE s.SPLIT_NUMBER = u.SPLIT_CROSSREF)",
    )
    assert dangling == 0


def test_history_is_not_also_live(db: sqlite3.Connection) -> None:
    assert (
        one(
            db,
            "SELECT count(*) FROM AUDIT_HISTORY_HEADER h JOIN AUDIT_HEADER l ON l.HEADER_NUMBER = h.HEADER_NUMBER",
        )
        == 0
    )
    assert (
        one(
            db,
            "SELECT count(*) FROM AUDIT_HISTORY_SPLIT h JOIN AUDIT_SPLIT l ON l.SPLIT_NUMBER = h.SPLIT_NUMBER",
        )
        == 0
    )
    assert (
        one(
            db,
            "SELECT count(*) FROM AUDIT_HISTORY_HEADER h JOIN AUDIT_HEADER l ON l.INV_REF = h.INV_REF AND l.TYPE = 'SI' AND h.TYPE = 'SI'",
        )
        == 0
    )
    # Cleared transactions are older than every live one that is still open from their era.
    assert one(db, "SELECT max(DATE) FROM AUDIT_HISTORY_HEADER") <= "2020-12-31"


def test_sales_ledger_balance_is_its_live_outstanding(db: sqlite3.Connection) -> None:
    rows = db.execute(
        """
        SELECT c.ACCOUNT_REF, c.BALANCE,
               coalesce((SELECT sum(CASE h.TYPE WHEN 'SI' THEN h.OUTSTANDING ELSE -h.OUTSTANDING END)
                         FROM AUDIT_HEADER h WHERE h.ACCOUNT_REF = c.ACCOUNT_REF AND h.DELETED_FLAG = 0), 0),
               c.LAST_INV_DATE,
               (SELECT max(i.INVOICE_DATE) FROM INVOICE i WHERE i.ACCOUNT_REF = c.ACCOUNT_REF AND i.POSTED = 'Y' AND i.INVOICE_OR_CREDIT = 'Invoice'),
               c.LAST_PAYMENT_DATE,
               (SELECT max(DATE) FROM (SELECT DATE FROM AUDIT_HEADER WHERE ACCOUNT_REF = c.ACCOUNT_REF AND TYPE IN ('SR', 'SA') AND DELETED_FLAG = 0
                                       UNION ALL SELECT DATE FROM AUDIT_HISTORY_HEADER WHERE ACCOUNT_REF = c.ACCOUNT_REF AND TYPE IN ('SR', 'SA')))
        FROM SALES_LEDGER c
        """
    ).fetchall()
    assert rows
    for ref, balance, outstanding, last_inv, max_inv, last_pay, max_pay in rows:
        assert round(balance - outstanding, 2) == 0, ref
        assert last_inv == max_inv, ref
        assert last_pay == max_pay, ref
    assert one(db, "SELECT count(*) FROM SALES_LEDGER WHERE BALANCE > 0") > 0


def test_stock_allocation_matches_open_orders(db: sqlite3.Connection) -> None:
    rows = db.execute(
        """
        SELECT s.STOCK_CODE, s.QTY_ALLOCATED, s.QTY_IN_STOCK, s.IGNORE_STK_LVL_FLAG,
               coalesce((SELECT sum(l.QTY_ALLOCATED) FROM SOP_ITEM l JOIN SALES_ORDER o ON o.ORDER_NUMBER = l.ORDER_NUMBER
                         WHERE l.STOCK_CODE = s.STOCK_CODE AND o.DESPATCH_STATUS_CODE <> 2 AND o.ORDER_TYPE_CODE = 0), 0)
        FROM STOCK s
        """
    ).fetchall()
    for code, allocated, in_stock, ignore, from_orders in rows:
        assert allocated == from_orders, code
        assert in_stock >= allocated, code
        if ignore:
            assert in_stock == 0 and allocated == 0, code
    assert any(r[1] > 0 for r in rows)
    # Completed orders allocate nothing and carry their invoice number.
    assert (
        one(
            db,
            "SELECT count(*) FROM SOP_ITEM l JOIN SALES_ORDER o ON o.ORDER_NUMBER = l.ORDER_NUMBER WHERE o.DESPATCH_STATUS_CODE = 2 AND l.QTY_ALLOCATED <> 0",
        )
        == 0
    )
    assert (
        one(
            db,
            "SELECT count(*) FROM SALES_ORDER o WHERE o.DESPATCH_STATUS_CODE = 2 AND NOT EXISTS (SELECT 1 FROM INVOICE i WHERE i.INVOICE_NUMBER = o.INVOICE_NUMBER_NUMERIC AND i.ORDER_NUMBER = CAST(o.ORDER_NUMBER AS TEXT))",
        )
        == 0
    )


CASES = {
    "paid invoice": "SELECT count(*) FROM AUDIT_HEADER WHERE TYPE = 'SI' AND DELETED_FLAG = 0 AND OUTSTANDING = 0 AND PAID_FLAG = 'Y'",
    "part-paid invoice": "SELECT count(*) FROM AUDIT_HEADER WHERE TYPE = 'SI' AND DELETED_FLAG = 0 AND OUTSTANDING > 0 AND AMOUNT_PAID > 0",
    "unpaid invoice": "SELECT count(*) FROM AUDIT_HEADER WHERE TYPE = 'SI' AND DELETED_FLAG = 0 AND AMOUNT_PAID = 0 AND OUTSTANDING = GROSS_AMOUNT",
    "paid then receipt deleted": """
        SELECT count(*) FROM AUDIT_HEADER si JOIN AUDIT_SPLIT s ON s.HEADER_NUMBER = si.HEADER_NUMBER
        JOIN AUDIT_USAGE u ON u.SPLIT_NUMBER = s.SPLIT_NUMBER AND u.DELETED_FLAG = 1
        JOIN AUDIT_SPLIT ps ON ps.SPLIT_NUMBER = u.SPLIT_CROSSREF JOIN AUDIT_HEADER sr ON sr.HEADER_NUMBER = ps.HEADER_NUMBER
        WHERE si.TYPE = 'SI' AND sr.TYPE = 'SR' AND sr.DELETED_FLAG = 1 AND si.OUTSTANDING = si.GROSS_AMOUNT""",
    "cleared history": """
        SELECT count(*) FROM AUDIT_HISTORY_HEADER h JOIN INVOICE i ON CAST(i.INVOICE_NUMBER AS TEXT) = h.INV_REF
        WHERE h.TYPE = 'SI' AND EXISTS (SELECT 1 FROM AUDIT_HISTORY_HEADER r WHERE r.TYPE = 'SR')""",
    "credit allocated to an invoice": """
        SELECT count(*) FROM AUDIT_USAGE u JOIN AUDIT_SPLIT s ON s.SPLIT_NUMBER = u.SPLIT_NUMBER
        WHERE u.TYPE = 'SC' AND s.TYPE = 'SI' AND u.DELETED_FLAG = 0""",
    "unallocated credit": "SELECT count(*) FROM AUDIT_HEADER WHERE TYPE = 'SC' AND DELETED_FLAG = 0 AND AMOUNT_PAID = 0",
    "SA allocated": "SELECT count(*) FROM AUDIT_HEADER WHERE TYPE = 'SA' AND DELETED_FLAG = 0 AND AMOUNT_PAID > 0",
    "SA on account": "SELECT count(*) FROM AUDIT_HEADER WHERE TYPE = 'SA' AND DELETED_FLAG = 0 AND OUTSTANDING > 0",
    "corrected (deleted) SI": """
        SELECT count(*) FROM AUDIT_HEADER d JOIN AUDIT_HEADER l ON l.INV_REF = d.INV_REF AND l.TYPE = 'SI' AND l.DELETED_FLAG = 0
        WHERE d.TYPE = 'SI' AND d.DELETED_FLAG = 1""",
    "EUR order": "SELECT count(*) FROM SALES_ORDER WHERE CURRENCY = 2 AND FOREIGN_RATE = 1.17 AND FOREIGN_INVOICE_GROSS > INVOICE_GROSS AND CARR_NET > 0",
    "USD order": "SELECT count(*) FROM SALES_ORDER WHERE CURRENCY = 3 AND FOREIGN_INVOICE_GROSS > INVOICE_GROSS",
    "quote": "SELECT count(*) FROM SALES_ORDER WHERE ORDER_TYPE_CODE = 1 AND ORDER_OR_QUOTE = 'Quotation' AND QUOTE_STATUS_ID = 1",
    "open order with allocation": "SELECT count(*) FROM SALES_ORDER WHERE ORDER_TYPE_CODE = 0 AND ALLOCATED_STATUS_CODE IN (1, 2) AND DESPATCH_STATUS_CODE <> 2",
    "part-despatched order": "SELECT count(*) FROM SALES_ORDER o JOIN SOP_ITEM l ON l.ORDER_NUMBER = o.ORDER_NUMBER WHERE o.DESPATCH_STATUS_CODE = 1 AND l.QTY_DELIVERED > 0 AND l.QTY_DELIVERED < l.QTY_ORDER",
    "unposted invoice": "SELECT count(*) FROM INVOICE WHERE POSTED = '' AND POSTED_CODE = 0 AND INVOICE_OR_CREDIT = 'Invoice'",
    "unposted credit note": "SELECT count(*) FROM INVOICE WHERE POSTED = '' AND INVOICE_OR_CREDIT = 'Credit Note'",
    "posted credit note": "SELECT count(*) FROM INVOICE WHERE POSTED = 'Y' AND INVOICE_OR_CREDIT = 'Credit Note' AND INVOICE_TYPE_CODE IN (3, 4)",
    "service invoice": "SELECT count(*) FROM INVOICE i JOIN INVOICE_ITEM l ON l.INVOICE_NUMBER = i.INVOICE_NUMBER WHERE i.INVOICE_TYPE_CODE = 2 AND l.SERVICE_FLAG = 1 AND l.TEXT <> ''",
    "S1 and M lines": "SELECT count(DISTINCT STOCK_CODE) FROM INVOICE_ITEM WHERE STOCK_CODE IN ('S1', 'M') HAVING count(DISTINCT STOCK_CODE) = 2",
    "non-stock item": "SELECT count(*) FROM STOCK WHERE IGNORE_STK_LVL_FLAG = 1 AND QTY_IN_STOCK = 0 AND STOCK_CAT = 10",
    "service item": "SELECT count(*) FROM STOCK WHERE IGNORE_STK_LVL_FLAG = 1 AND STOCK_CAT = 9 AND UNIT_OF_SALE = 'Hour'",
    "inactive item": "SELECT count(*) FROM STOCK WHERE INACTIVE_FLAG = 1",
    "bands A and C only": """
        SELECT count(*) FROM STOCK WHERE DISC_A_LEVEL_1_QTY > 0 AND DISC_C_LEVEL_1_QTY > 0
        AND DISC_B_LEVEL_1_QTY = 0 AND DISC_D_LEVEL_1_QTY = 0 AND DISC_E_LEVEL_1_QTY = 0""",
    "all five bands": "SELECT count(*) FROM STOCK WHERE DISC_A_LEVEL_2_QTY > DISC_A_LEVEL_1_QTY AND DISC_E_LEVEL_1_QTY > 0 AND DISC_B_LEVEL_3_RATE = 10",
    "customer special price": """
        SELECT count(*) FROM PRICE p JOIN SALES_LEDGER c ON c.ACCOUNT_REF = p.PRICING_REF
        WHERE p.TYPE = 'S' AND p.PRICE_ID = 'S' || substr(p.PRICING_REF || '        ', 1, 8) || p.STOCK_CODE""",
    "price list prices": """
        SELECT count(*) FROM PRICE p JOIN PRICE_LIST l ON l.TYPE = 'P' AND l.PRICING_REF = p.PRICING_REF
        JOIN SALES_LEDGER c ON c.PRICING_REF = l.PRICING_REF WHERE p.TYPE = 'P'""",
    "contact address": """
        SELECT count(*) FROM SALES_DEL_ADDR WHERE ADDRESS_TYPE = 1 AND ADDRESS_TYPE_NAME = 'Contact'
        AND E_MAIL LIKE '%_@_%.__%' AND REFERENCE = substr(ACCOUNT_REF || '        ', 1, 8) || printf('%04d', ADDRESS_REF)""",
    "delivery address": "SELECT count(*) FROM SALES_DEL_ADDR WHERE ADDRESS_TYPE = 0 AND ADDRESS_TYPE_NAME = 'Delivery' AND ADDRESS_5 <> ''",
    "deleted customer": "SELECT count(*) FROM DELETED_RECORDS d WHERE d.TABLE_ID = 8 AND NOT EXISTS (SELECT 1 FROM SALES_LEDGER c WHERE c.ACCOUNT_REF = d.FOREIGN_REF)",
    "deleted product": "SELECT count(*) FROM DELETED_RECORDS d WHERE d.TABLE_ID = 4 AND NOT EXISTS (SELECT 1 FROM STOCK s WHERE s.STOCK_CODE = d.FOREIGN_REF)",
    "deleted invoice": "SELECT count(*) FROM DELETED_RECORDS d WHERE d.TABLE_ID = 1 AND NOT EXISTS (SELECT 1 FROM INVOICE i WHERE CAST(i.INVOICE_NUMBER AS TEXT) = d.FOREIGN_REF)",
    "EUR invoice in the audit trail": "SELECT count(*) FROM AUDIT_HEADER WHERE TYPE = 'SI' AND CURRENCY = 2 AND FOREIGN_GROSS_AMOUNT > GROSS_AMOUNT",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_exists(db: sqlite3.Connection, case: str) -> None:
    assert (one(db, CASES[case]) or 0) > 0, case


def test_reps_and_reference_rows(db: sqlite3.Connection) -> None:
    reps = {r[0] for r in db.execute("SELECT DISTINCT ANALYSIS_2 FROM SALES_LEDGER")}
    assert reps <= {"", "Alice Carter", "Ben Hughes", "Chloe Patel", "Daniel Evans"}
    assert {"", "Daniel Evans", "Alice Carter"} <= reps
    assert one(db, "SELECT SALES_LABEL_2 FROM COMPANY") == "Resp. Rep"
    assert (
        one(
            db,
            "SELECT count(*) FROM INVOICE i JOIN SALES_LEDGER c ON c.ACCOUNT_REF = i.ACCOUNT_REF WHERE i.ANALYSIS_2 <> c.ANALYSIS_2",
        )
        == 0
    )
    assert db.execute("SELECT CODE, RATE, BASE_CURRENCY FROM CURRENCY ORDER BY NUMBER").fetchall() == [
        ("GBP", 1.0, 1), ("EUR", 1.17, 0), ("USD", 1.27, 0),
    ]  # fmt: skip
    taxes = dict(db.execute("SELECT TAX_CODE, TAX_RATE FROM TAX_CODE").fetchall())
    assert sorted(taxes) == [f"T{n}" for n in range(10)]
    assert (taxes["T0"], taxes["T1"], taxes["T2"], taxes["T4"], taxes["T5"], taxes["T9"]) == (
        0,
        20,
        0,
        0,
        5,
        0,
    )
    assert one(db, "SELECT EU_MEMBER FROM COUNTRY_CODE WHERE CODE = 'FR'") == 1
    assert one(db, "SELECT EU_MEMBER FROM COUNTRY_CODE WHERE CODE = 'US'") == 0
    assert db.execute(
        "SELECT STOCK_DISCOUNT_A, STOCK_DISCOUNT_E, QTY_DECIMAL_PLACE, UNIT_DECIMAL_PLACE FROM COMPANY"
    ).fetchone() == ("Discount A", "Discount E", 2, 2)
    # 20% VAT on a UK line, to the penny (half up).
    for net, tax in db.execute(
        "SELECT NET_AMOUNT, TAX_AMOUNT FROM INVOICE_ITEM WHERE TAX_CODE = 'T1' AND CAST(NET_AMOUNT * 100 AS INTEGER) % 5 = 0 LIMIT 20"
    ):
        assert tax == round(net * 0.2 + 1e-9, 2)


def test_bad_rows_manifest_names_real_defects(bad: Path) -> None:
    con = sqlite3.connect(bad)
    try:
        manifest = con.execute(
            "SELECT table_name, row_key, column_name, defect FROM _DEMO_DEFECTS"
        ).fetchall()
        assert {m[3] for m in manifest} == set(DEFECT_KINDS)
        kinds = {(t, k, c): d for t, k, c, d in manifest}
        assert one(con, "SELECT count(*) FROM SALES_LEDGER WHERE ACCOUNT_REF = 'DUPL001'") == 2
        assert one(con, "SELECT count(*) FROM SALES_LEDGER WHERE ACCOUNT_REF = ''") == 1
        assert one(con, "SELECT count(*) FROM STOCK WHERE STOCK_CODE = ''") == 1
        assert one(
            con, "SELECT RECORD_CREATE_DATE FROM SALES_LEDGER WHERE ACCOUNT_REF = 'FUTR001'"
        ).startswith("2130-")
        future = [k for (t, k, c), d in kinds.items() if t == "INVOICE" and d == "future_date"]
        assert one(
            con, f"SELECT INVOICE_DATE FROM INVOICE WHERE INVOICE_NUMBER = {future[0]}"
        ).startswith("2130-")
        neg = next(k for (t, k, c), d in kinds.items() if d == "negative_quantity").split("/")
        assert (
            one(
                con,
                f"SELECT QUANTITY FROM INVOICE_ITEM WHERE INVOICE_NUMBER = {neg[0]} AND ITEM_NUMBER = {neg[1]}",
            )
            < 0
        )
        assert len(one(con, "SELECT NAME FROM SALES_LEDGER WHERE ACCOUNT_REF = 'LONG001'")) > 60
        assert len(one(con, "SELECT DESCRIPTION FROM STOCK WHERE STOCK_CODE = 'LONGDESC1'")) > 60
        assert "@" not in one(con, "SELECT E_MAIL FROM SALES_LEDGER WHERE ACCOUNT_REF = 'MAIL001'")
        assert "@@" in one(
            con, "SELECT E_MAIL FROM SALES_DEL_ADDR WHERE REFERENCE = 'MAIL001 0001'"
        )
        for table, parent, key in (
            ("INVOICE_ITEM", "INVOICE", "INVOICE_NUMBER"),
            ("SOP_ITEM", "SALES_ORDER", "ORDER_NUMBER"),
        ):
            orphan = next(
                k for (t, k, c), d in kinds.items() if t == table and d == "orphan_line"
            ).split("/")[0]
            assert one(con, f"SELECT count(*) FROM {table} WHERE {key} = {orphan}") == 1
            assert one(con, f"SELECT count(*) FROM {parent} WHERE {key} = {orphan}") == 0
        raw = con.execute(
            "SELECT NAME, typeof(NAME) FROM SALES_LEDGER WHERE ACCOUNT_REF = 'BLOB001'"
        ).fetchone()
        assert raw[1] == "blob" and raw[0].decode("cp1252").startswith("Café René")
        with pytest.raises(UnicodeDecodeError):
            raw[0].decode("utf-8")
        assert (
            one(con, "SELECT NAME FROM SALES_LEDGER WHERE ACCOUNT_REF = 'CAFE001'")
            == "Café Société – “Le Marché” £€ Ltd"
        )
        assert "£" in one(con, "SELECT DESCRIPTION FROM STOCK WHERE STOCK_CODE = 'VOUCH01'")
        # Defects come in addition to the good data: the good part is the clean file's.
        clean_invoices = one(con, "SELECT count(*) FROM INVOICE") - 2
    finally:
        con.close()
    counts = generate(bad.with_name("plain.sqlite"), size="tiny", seed=7)
    assert counts["INVOICE"] == clean_invoices
