"""Invariant checks: they pass on consistent data, and name the offending keys on broken data.
One test runs the Dagster wiring end to end: a failing check reports (WARN) and names the records
it holds back, and what is downstream is built for the others."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets import derived, staging
from assets.derived.checks import INVARIANTS as DERIVED_INVARIANTS
from assets.staging.catalogue import SECTIONS
from assets.staging.checks import INVARIANTS as STAGING_INVARIANTS
from assets.staging.checks import NUMBER_INVARIANTS
from assets.staging.factory import Invariant, build_table, evaluate_invariant, read_sql
from tests.assets.fixtures_warehouse import (
    hand_worked_company,
    hand_worked_warehouse,
    insert,
    warehouse_at,
)


@pytest.fixture(scope="module")
def clean_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hand_worked_warehouse(tmp_path_factory.mktemp("invariants"))


def invariant(name: str, asset: str) -> Invariant:
    return next(
        i for i in (*STAGING_INVARIANTS, *DERIVED_INVARIANTS) if (i.name, i.asset) == (name, asset)
    )


def broken_copy(
    clean: Path, tmp_path: Path, breakage: Callable[[duckdb.DuckDBPyConnection], None]
) -> duckdb.DuckDBPyConnection:
    """The clean warehouse with one thing broken in `sage`, staging rebuilt over it."""
    database = tmp_path / "broken.duckdb"
    shutil.copy(clean, database)
    con = duckdb.connect(str(database))
    breakage(con)
    for section in SECTIONS:
        build_table(con, "staging", section, read_sql(section, staging.SQL_DIR))
    return con


@pytest.mark.parametrize(
    "check",
    [*STAGING_INVARIANTS, *NUMBER_INVARIANTS, *DERIVED_INVARIANTS],
    ids=lambda i: f"{i.asset}:{i.name}",
)
def test_every_invariant_holds_on_the_hand_worked_company(
    check: Invariant, clean_warehouse: Path
) -> None:
    with duckdb.connect(str(clean_warehouse), read_only=True) as con:
        assert evaluate_invariant(con, check) == (0, [])


def test_header_totals_that_disagree_with_lines_are_reported(
    clean_warehouse: Path, tmp_path: Path
) -> None:
    con = broken_copy(
        clean_warehouse,
        tmp_path,
        lambda c: c.execute("UPDATE sage.invoice SET items_net = 99.0 WHERE invoice_number = 1001"),
    )
    failing, sample = evaluate_invariant(
        con, invariant("header_totals_equal_lines", "staging.posted_sales_invoices")
    )
    assert failing == 1
    assert sample[0]["invoice_number"] == 1001
    assert sample[0]["items_net"] == "99.00" and sample[0]["lines_net"] == "100.00"


def test_lines_without_their_header_are_reported(clean_warehouse: Path, tmp_path: Path) -> None:
    def orphans(c: duckdb.DuckDBPyConnection) -> None:
        insert(c, "invoice_item", [dict(invoice_number=1099, item_number=1, net_amount=1.0)])
        insert(c, "sop_item", [dict(order_number=5099, item_number=3, net_amount=1.0)])
        insert(c, "pop_item", [dict(order_number=7099, item_number=2, net_amount=1.0)])
        insert(c, "audit_split", [dict(split_number=999, header_number=998, type="SI")])

    con = broken_copy(clean_warehouse, tmp_path, orphans)
    expected = {
        ("every_line_has_its_invoice", "staging.posted_sales_invoices"): {
            "invoice_number": 1099,
            "item_number": 1,
        },
        ("every_line_has_its_order", "staging.sales_order_lines"): {
            "order_number": 5099,
            "line_number": 3,
        },
        ("every_line_has_its_order", "staging.purchase_orders"): {
            "order_number": 7099,
            "line_number": 2,
        },
        ("every_split_has_its_header", "staging.audit_splits"): {
            "split_number": 999,
            "header_number": 998,
            "type": "SI",
            "invoice_reference": None,
        },
    }
    for (name, asset), keys in expected.items():
        assert evaluate_invariant(con, invariant(name, asset)) == (1, [keys])


def test_a_failing_check_holds_back_its_document_and_the_derived_tables_build(
    tmp_path: Path,
) -> None:
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        hand_worked_company(con)
        insert(con, "sop_item", [dict(order_number=5099, item_number=1, net_amount=1.0)])
    selected = {"sales_order_headers", "sales_order_lines", "sales_order_totals"}
    assets = [a for a in (*staging.defs.assets, *derived.defs.assets) if a.key.path[-1] in selected]
    checks = [
        c
        for c in (*staging.defs.asset_checks, *derived.defs.asset_checks)
        if next(iter(c.check_keys)).asset_key.path[-1] in selected
    ]
    result = dg.materialize(
        [*assets, *checks],
        raise_on_error=False,
        resources={"warehouse": warehouse_at(database)},
    )
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    failed = evaluations[("sales_order_lines", "every_line_has_its_order")]
    assert not failed.passed
    assert failed.severity == dg.AssetCheckSeverity.WARN
    assert failed.metadata["failing_count"].value == 1
    assert failed.metadata["sample"].value == [{"order_number": 5099, "line_number": 1}]
    assert failed.metadata["held_back"].value == 2
    assert failed.metadata["held_back_sample"].value == {
        "sales_orders": ["5099"],
        "sales_order_lines": ["5099/1"],
    }
    assert result.success
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {"sales_order_headers", "sales_order_lines", "sales_order_totals"}


def test_materialization_reports_rows_schema_and_lineage(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        hand_worked_company(con)
    customer_accounts = next(
        a for a in staging.defs.assets if a.key.path[-1] == "customer_accounts"
    )
    result = dg.materialize([customer_accounts], resources={"warehouse": warehouse_at(database)})
    [event] = result.get_asset_materialization_events()
    metadata = event.event_specific_data.materialization.metadata
    assert metadata["dagster/row_count"].value == 3
    lineage = metadata["dagster/column_lineage"].value
    assert lineage.deps_by_column["account_reference"] == [
        dg.TableColumnDep(
            asset_key=dg.AssetKey(["sage", "sales_ledger"]), column_name="account_ref"
        )
    ]
    assert lineage.deps_by_column["currency_code"] == [
        dg.TableColumnDep(asset_key=dg.AssetKey(["sage", "currency"]), column_name="code")
    ]
    schema = {c.name: c.type for c in metadata["dagster/column_schema"].value.columns}
    assert schema["balance"] == "DECIMAL(18,2)"
