"""The push as Dagster assets: materialized with real resources, metadata explains the push."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import ssm as ssm_layer
from assets.ssm.assets import SSMPushSettings
from pipelines import sync
from resources.ssm.resource import SSMResource
from sandbox.ssm.testing import SandboxProcess
from tests.ssm.conftest import ssm_records
from tests.ssm.harness import PRIVATE_KEY, PUBLIC_KEY

SELECTION = [
    "ssm/value_lists",
    "ssm/desired_users",
    "ssm/desired_rates",
    "ssm/desired_accounts",
    "ssm/push_users",
    "ssm/push_rates",
    "ssm/push_accounts",
]


def _resources(warehouse: Path, sandbox: SandboxProcess, dry_run: bool) -> dict[str, object]:
    return {
        "ssm": SSMResource(
            base_url=sandbox.base_url,
            public_key=PUBLIC_KEY,
            private_key=PRIVATE_KEY,
            requests_per_second=200,
        ),
        "warehouse": DuckDBResource(database=str(warehouse)),
        "ssm_push": SSMPushSettings(dry_run=dry_run),
    }


def test_push_assets_materialize_and_explain_themselves(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    assets = [*ssm_layer.defs.assets]  # type: ignore[misc]
    dry = dg.materialize(
        assets, selection=SELECTION, resources=_resources(warehouse, sandbox, dry_run=True)
    )
    assert dry.success and ssm_records(sandbox, "accounts") == []
    result = dg.materialize(
        assets, selection=SELECTION, resources=_resources(warehouse, sandbox, dry_run=False)
    )
    assert result.success
    meta = next(
        m.metadata
        for m in result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey(["ssm", "push_accounts"])
        for m in [m.event_specific_data.materialization]  # type: ignore[union-attr]
    )
    assert meta["created"].value == 12 and meta["failed"].value == 0
    assert meta["completion_ratio"].value == 1.0 and meta["api_calls"].value >= 1
    assert len(ssm_records(sandbox, "accounts")) == 12


def test_sync_definitions_load(tmp_path: Path) -> None:
    resources = dg.Definitions(
        resources={
            "warehouse": DuckDBResource(database=str(tmp_path / "w.duckdb")),
            "ssm": SSMResource(
                base_url="http://127.0.0.1:9/api/v4", public_key="p", private_key="k"
            ),
        }
    )
    defs = dg.Definitions.merge(ssm_layer.defs, sync.defs, resources)
    assert defs.resolve_job_def("sage_ssm_sync") is not None
    job = defs.resolve_job_def("ssm_dead_letters")
    assert job.name == "ssm_dead_letters"
    assert defs.resolve_schedule_def("sage_ssm_sync_every_15_minutes").cron_schedule == (
        "*/15 * * * *"
    )
