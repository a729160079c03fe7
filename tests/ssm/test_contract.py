"""The contract page is generated from the contract, and the contract matches its SQL."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from assets.derived.catalogue import DERIVED
from assets.ssm import contract
from assets.ssm.desired import SQL_DIR
from assets.staging.catalogue import SECTIONS
from tests.ssm.staging_fixture import make_staging


def test_generated_page_is_current() -> None:
    assert contract.DOC_PATH.read_text(encoding="utf-8") == contract.render_markdown(), (
        "docs/sync-contract.md is stale: run `uv run python -m assets.ssm.contract`"
    )


def test_every_pushed_resource_has_desired_sql_reading_only_its_declared_sources() -> None:
    for c in contract.PUSHED:
        sql = (SQL_DIR / f"desired_{c.name}.sql").read_text(encoding="utf-8")
        read = set(re.findall(r"\b((?:staging|derived)\.[a-z_]+)", sql))
        assert read == set(c.sources), c.name


def test_parents_are_pushed_first_and_reverse_flow_is_listed() -> None:
    order = [c.name for c in contract.PUSHED]
    assert order.index("accounts") < order.index("contacts") < order.index("sales")
    assert order.index("products") < order.index("sales_order_lines")
    assert contract.pushed("products").parents == ("product_categories",)
    assert {c.name for c in contract.REVERSE} == {
        "client_companies",
        "prospects",
        "ssm_contacts",
        "quotations",
    }
    assert all(c.sage_fields for c in contract.REVERSE)
    assert {c.name for c in contract.CONTRACTS if not c.built} == set()


def test_sage_owned_records_are_read_only() -> None:
    for name in ("products", "sales_orders", "sales_order_lines", "sales"):
        assert contract.pushed(name).read_only_in_ssm, name
    assert not contract.pushed("contacts").read_only_in_ssm  # contacts sync both ways
    # accounts: read-only per record, a customer yes, a prospect no (tests/ssm/test_prospects.py)
    read_only = contract.pushed("accounts").field("readOnly")
    assert (read_only.column, read_only.owner) == ("read_only", contract.Owner.CONNECTOR)


def test_fixture_uses_real_tables_and_columns(tmp_path: Path) -> None:
    """The hand-made warehouse of the push tests has the staging/derived catalogues' names."""
    real = {f"staging.{t.name}": set(t.column_names) for t in SECTIONS}
    real |= {f"derived.{t.name}": set(t.column_names) for t in DERIVED}
    make_staging(tmp_path / "w.duckdb")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        rows = con.execute(
            "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns "
            "WHERE table_schema IN ('staging', 'derived')"
        ).fetchall()
    fixture: dict[str, set[str]] = {}
    for table, column in rows:
        fixture.setdefault(table, set()).add(column)
    assert set(fixture) <= set(real), sorted(set(fixture) - set(real))
    for table, columns in fixture.items():
        assert columns <= real[table], (table, sorted(columns - real[table]))
    read = {t for c in contract.PUSHED for t in c.sources}
    assert read <= set(fixture), sorted(read - set(fixture))
