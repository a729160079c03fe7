"""Extract + staging + derived on the generated demo companies: every invariant holds and every
section has rows. The sage layer's own checks (quarantine) are not judged here."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets import derived, sage, staging
from assets.derived.catalogue import DERIVED
from assets.staging.catalogue import SECTIONS
from resources.sage.source import SageSourceResource
from resources.warehouse import WarehouseResource
from sandbox.sage_demo import generate


def run_pipeline(tmp_path: Path, size: str) -> tuple[dg.ExecuteInProcessResult, Path]:
    company = tmp_path / f"{size}.sqlite"
    generate(company, size=size, seed=1)
    warehouse = tmp_path / "warehouse.duckdb"
    result = dg.materialize(
        [
            *sage.defs.assets,  # type: ignore[list-item]
            *staging.defs.assets,
            *derived.defs.assets,
            *staging.defs.asset_checks,
            *derived.defs.asset_checks,
        ],
        resources={
            "sage": SageSourceResource(database_url=f"sqlite:///{company}"),
            "warehouse": WarehouseResource(database=str(warehouse)),
        },
        raise_on_error=False,
    )
    return result, warehouse


def assert_invariants_hold_and_sections_have_rows(
    result: dg.ExecuteInProcessResult, warehouse: Path
) -> None:
    ours = {"staging", "derived"}
    evaluations = [e for e in result.get_asset_check_evaluations() if e.asset_key.path[0] in ours]
    checks = (*staging.defs.asset_checks, *derived.defs.asset_checks)  # type: ignore[misc]
    assert len(evaluations) == sum(len(c.check_keys) for c in checks)
    broken = [
        (e.asset_key.to_user_string(), e.check_name, e.metadata["sample"].value)
        for e in evaluations
        if not e.passed
    ]
    assert broken == []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = {
            f"{schema}.{t.name}": con.execute(f"SELECT count(*) FROM {schema}.{t.name}").fetchall()[
                0
            ][0]
            for schema, tables in (("staging", SECTIONS), ("derived", DERIVED))
            for t in tables
        }
    assert [t for t, n in counts.items() if n == 0] == []


def test_tiny_demo_company(tmp_path: Path) -> None:
    result, warehouse = run_pipeline(tmp_path, "tiny")
    assert_invariants_hold_and_sections_have_rows(result, warehouse)


@pytest.mark.slow
def test_small_demo_company(tmp_path: Path) -> None:
    result, warehouse = run_pipeline(tmp_path, "small")
    assert_invariants_hold_and_sections_have_rows(result, warehouse)
