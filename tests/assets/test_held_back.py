"""Blocking checks guard the records they are about (issue 13, item 2).

On the hand-worked company (tests/assets/fixtures_warehouse.py), with an orphan invoice line, an
invoice whose header totals disagree with its lines, an invoice and an order with a line in
quarantine, and an orphan order line beside the good documents: the good documents reach the
desired tables, the bad ones are held back with their reasons (`ssm.held_<resource>`,
`quarantine.held_back`), a held record leaves the list once it is right, and the run summary
counts them. Every expected figure is worked out by hand from the fixture.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.ssm import ledger
from assets.ssm.contract import PUSHED
from assets.ssm.desired import build_desired
from assets.ssm.plan import DEFERRED, SKIP_HELD, build_plan
from assets.ssm.settings import SyncSettings
from assets.ssm.summary import (
    PushRow,
    QuarantineRow,
    attention,
    markdown,
    read_held_back,
    read_pushes,
    read_quarantine,
    run_summary,
)
from resources.warehouse import WarehouseResource
from tests.assets.fixtures_warehouse import build_layers, hand_worked_sage, insert

DOCUMENTS = ("sales", "sales_orders", "sales_order_lines")
NOW = dt.datetime(2024, 7, 1, 9, 0)
IN_QUARANTINE = "a part of the document is in quarantine"


def _quarantined(table: str, key: str, column: str) -> dict[str, object]:
    return dict(
        table_name=f"sage.{table}",
        row_key=key,
        column_name=column,
        reason="negative quantity",
        value="-2.0",
        run_id="extract-run",
        quarantined_at=NOW,
    )


def _break_documents(con: duckdb.DuckDBPyConnection) -> None:
    """Five bad documents beside the good ones."""
    # an invoice line without its invoice, an order line without its order
    insert(con, "invoice_item", [dict(invoice_number=1099, item_number=1, net_amount=1.0)])
    insert(con, "sop_item", [dict(order_number=5099, item_number=1, stock_code="WIDGET")])
    # unposted invoice 1010: header net 11 against its one line's 10
    con.execute("UPDATE sage.invoice SET items_net = 11.0 WHERE invoice_number = 1010")
    # invoice 1011 and order 5002 each have a line the extract quarantined
    insert(
        con,
        "rows",
        [
            _quarantined("invoice_item", "1011/2", "QUANTITY"),
            _quarantined("sop_item", "5002/3", "QTY_ORDER"),
        ],
        schema="quarantine",
    )


def _desired(database: Path, run_id: str) -> dict[str, list[str]]:
    """Build staging, derived and the documents' desired state; their extIds by resource."""
    build_layers(database)
    with duckdb.connect(str(database)) as con:
        for contract in (c for c in PUSHED if c.name in DOCUMENTS):
            build_desired(con, contract, SyncSettings(), run_id=run_id)
        return {
            name: [
                k
                for (k,) in con.execute(
                    f"SELECT ext_id FROM ssm.desired_{name} ORDER BY 1"
                ).fetchall()
            ]
            for name in DOCUMENTS
        }


def _held(database: Path) -> list[tuple[str, str, str, str]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(
            "SELECT resource, row_key, reason, run_id FROM quarantine.held_back ORDER BY 1, 2"
        ).fetchall()


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    return hand_worked_sage(tmp_path, _sales_orders, _break_documents)


def _sales_orders(con: duckdb.DuckDBPyConnection) -> None:
    """The hand-worked company's orders as Sales Orders (the fixture leaves the type empty)."""
    con.execute("UPDATE sage.sales_order SET order_or_quote = 'Sales Order'")


def test_clean_company_holds_nothing_back(tmp_path: Path) -> None:
    database = hand_worked_sage(tmp_path, _sales_orders)
    assert _desired(database, "run-1") == {
        # posted invoice 1001, credit note 1004, unposted invoices 1010 and 1011 (1012 is a
        # quote, 1013 an unposted credit note, 1014 deleted)
        "sales": ["1001", "1004", "1010", "1011"],
        "sales_orders": ["5001", "5002"],
        "sales_order_lines": ["5001/1", "5001/2", "5002/1"],  # 5002/2 is deleted
    }
    assert _held(database) == []


def test_good_documents_go_on_and_bad_ones_are_held_back_with_their_reasons(
    broken: Path,
) -> None:
    assert _desired(broken, "run-1") == {
        "sales": ["1001", "1004"],
        "sales_orders": ["5001"],
        "sales_order_lines": ["5001/1", "5001/2"],
    }
    order_5002 = f"{IN_QUARANTINE} (SOP_ITEM 5002/3 QTY_ORDER: negative quantity)"
    assert _held(broken) == [
        (
            "sales",
            "1010",
            "header totals differ from its lines "
            "(net 11.00 vs lines 10.00, tax 2.00 vs 2.00, gross 12.00 vs 12.00)",
            "run-1",
        ),
        ("sales", "1011", f"{IN_QUARANTINE} (INVOICE_ITEM 1011/2 QUANTITY: negative quantity)", "run-1"),
        ("sales", "1099", "invoice lines without their INVOICE header (line 1)", "run-1"),
        ("sales_order_lines", "5002/1", f"its sales_orders record is held back: {order_5002}", "run-1"),
        ("sales_order_lines", "5002/3", "the line is in quarantine (QTY_ORDER: negative quantity)", "run-1"),
        ("sales_order_lines", "5099/1", "line without its SALES_ORDER header", "run-1"),
        ("sales_orders", "5002", order_5002, "run-1"),
        ("sales_orders", "5099", "order lines without their SALES_ORDER header (line 1)", "run-1"),
    ]  # fmt: skip
    with duckdb.connect(str(broken), read_only=True) as con:
        # The push's list: one row per held record, all its reasons.
        assert con.execute("SELECT ext_id FROM ssm.held_sales ORDER BY 1").fetchall() == [
            ("1010",),
            ("1011",),
            ("1099",),
        ]


def test_a_held_record_leaves_the_list_once_it_is_right_and_the_others_keep_their_date(
    broken: Path,
) -> None:
    _desired(broken, "run-1")
    with duckdb.connect(str(broken)) as con:
        con.execute("UPDATE quarantine.held_back SET since = ?", [NOW])  # held since the 1st
        con.execute("UPDATE sage.invoice SET items_net = 10.0 WHERE invoice_number = 1010")
        con.execute("DELETE FROM quarantine.rows WHERE table_name = 'sage.sop_item'")
    desired = _desired(broken, "run-2")
    assert desired["sales"] == ["1001", "1004", "1010"]
    assert desired["sales_orders"] == ["5001", "5002"]
    assert desired["sales_order_lines"] == ["5001/1", "5001/2", "5002/1"]
    with duckdb.connect(str(broken), read_only=True) as con:
        assert con.execute(
            "SELECT resource, row_key, run_id, since FROM quarantine.held_back ORDER BY 1, 2"
        ).fetchall() == [
            ("sales", "1011", "run-2", NOW),
            ("sales", "1099", "run-2", NOW),
            ("sales_order_lines", "5099/1", "run-2", NOW),
            ("sales_orders", "5099", "run-2", NOW),
        ]


def _synced(con: duckdb.DuckDBPyConnection, resource: str, ext_id: str, ssm_id: int) -> None:
    """A record the connector created in SSM and SSM acknowledged, in the push's ledger."""
    ledger.ensure_tables(con, [resource])
    con.execute(
        f"INSERT INTO {ledger.ledger_table(resource)} "  # noqa: S608
        "(ext_id, ssm_id, state, content_hash, payload, created_by_connector, acknowledged_at) "
        "VALUES (?, ?, 'synced', 'old', '{}', true, ?)",
        [ext_id, ssm_id, NOW],
    )


def test_a_held_record_already_in_ssm_is_not_deleted_by_the_push(broken: Path) -> None:
    _desired(broken, "run-1")
    with duckdb.connect(str(broken)) as con:
        _synced(con, "sales", "1010", 71)  # pushed when its totals were right
        _synced(con, "sales", "1001", 70)
        sales = next(c for c in PUSHED if c.name == "sales")
        plan = build_plan(con, sales, SyncSettings(), defaults={})
    # 1010 is held back: not deleted, it keeps its last good values in SSM. (1001, 1004 wait
    # for their accounts, which this test does not push.)
    assert {op.ext_id: op.operation for op in plan.ops} == {
        "1001": DEFERRED,
        "1004": DEFERRED,
        "1010": SKIP_HELD,
    }


def test_the_run_summary_counts_held_records_and_quarantined_rows_without_failing(
    broken: Path,
) -> None:
    _desired(broken, "run-1")
    with duckdb.connect(str(broken)) as con:
        rows = read_pushes(con, "run-1")  # no push recorded: no push rows
        quarantine = read_quarantine(con, "extract-run")
        held = read_held_back(con)
    assert rows == []
    assert quarantine == [
        QuarantineRow("sage.invoice_item", rows=1, this_run=1),
        QuarantineRow("sage.sop_item", rows=1, this_run=1),
    ]
    assert held == {"sales": 3, "sales_orders": 2, "sales_order_lines": 3}
    figures = dict.fromkeys(("desired", "created", "updated", "deleted", "unchanged"), 0)
    ok = {**figures, "deferred": 0, "failed": 0, "api_calls": 0, "write_calls": 0, "seconds": 0}
    pushes = [
        PushRow("sales", "ok", {**ok, "desired": 2}, 0, None, held_back=3),
        PushRow("accounts", "ok", {**ok, "desired": 2}, 0, None),
    ]
    assert attention(pushes, quarantine, held) == [
        "sales_orders: 2 held back from the push, not created, updated or deleted "
        "(quarantine.held_back says why)",
        "sales_order_lines: 3 held back from the push, not created, updated or deleted "
        "(quarantine.held_back says why)",
        "sales: 3 held back from the push, not created, updated or deleted "
        "(quarantine.held_back says why)",
        "quarantine: 2 Sage rows failed validation and were not loaded "
        "(invoice_item 1, sop_item 1)",
    ]
    # desired 2, nothing written, no deletes held back, no dead letters, 3 records held back
    assert "| sales | 2 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 3 | 0 | 0 | 0.0 |" in markdown(pushes)


def test_the_run_summary_asset_shows_them_and_does_not_fail_the_run(broken: Path) -> None:
    _desired(broken, "run-1")
    result = dg.materialize(
        [run_summary], resources={"warehouse": WarehouseResource(database=str(broken))}
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    assert (metadata["records_held_back"], metadata["quarantined_rows"]) == (8, 2)
    assert metadata["quarantined_this_run"] == 0  # quarantined by the extract's run, not this one
    assert metadata["quarantine"].splitlines()[2:] == [
        "| sage.invoice_item | 1 | 0 |",
        "| sage.sop_item | 1 | 0 |",
    ]
    assert metadata["attention"].splitlines() == [
        "- sales_orders: 2 held back from the push, not created, updated or deleted "
        "(quarantine.held_back says why)",
        "- sales_order_lines: 3 held back from the push, not created, updated or deleted "
        "(quarantine.held_back says why)",
        "- sales: 3 held back from the push, not created, updated or deleted "
        "(quarantine.held_back says why)",
        "- quarantine: 2 Sage rows failed validation and were not loaded "
        "(invoice_item 1, sop_item 1)",
    ]
