"""The push as Dagster assets: materialized with real resources, metadata explains the push;
the dry-run and dead-letter jobs run in process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from assets import ssm as ssm_layer
from assets.ssm.assets import SSMPushSettings
from assets.ssm.summary import KIND_TAG, PushRow, attention
from pipelines import sync
from resources.ssm.resource import SSMResource
from resources.warehouse import WarehouseResource
from sandbox.ssm.testing import SandboxProcess
from tests.ssm.conftest import ssm_records, ssm_writes
from tests.ssm.harness import PRIVATE_KEY, PUBLIC_KEY, push_all

SELECTION = [
    "ssm/value_lists",
    "ssm/desired_users",
    "ssm/desired_rates",
    "ssm/desired_accounts",
    "ssm/push_users",
    "ssm/push_rates",
    "ssm/push_accounts",
]


PUSH_ACCOUNTS = dg.AssetKey(["ssm", "push_accounts"])


def _resources(warehouse: Path, sandbox: SandboxProcess) -> dict[str, object]:
    return {
        "ssm": SSMResource(
            base_url=sandbox.base_url,
            public_key=PUBLIC_KEY,
            private_key=PRIVATE_KEY,
            requests_per_second=200,
        ),
        "warehouse": WarehouseResource(database=str(warehouse)),
        "ssm_push": SSMPushSettings(),
    }


def test_push_assets_materialize_and_explain_themselves(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    assets = [*ssm_layer.defs.assets]  # type: ignore[misc]
    resources = _resources(warehouse, sandbox)
    with dg.DagsterInstance.ephemeral() as instance:
        desired = [key for key in SELECTION if "/push_" not in key]
        assert dg.materialize(
            assets, selection=desired, resources=resources, instance=instance
        ).success
        # (the value lists create the quote statuses SSM lacks: not a push)
        before = ssm_writes(sandbox)
        # A dry run observes the push assets: the plan is visible, nothing counts as pushed.
        plan = sync.ssm_push_plan.execute_in_process(
            run_config={
                "ops": {"plan_ssm_pushes": {"config": {"entities": ["users", "rates", "accounts"]}}}
            },
            resources=resources,
            instance=instance,
        )
        assert plan.success
        observed = {
            o.asset_key: o.metadata for o in plan.asset_observations_for_node("plan_ssm_pushes")
        }
        assert observed[PUSH_ACCOUNTS]["status"].value == "dry_run"
        assert observed[PUSH_ACCOUNTS]["plan"].value == {"create": 12}
        assert instance.get_latest_materialization_event(PUSH_ACCOUNTS) is None
        assert ssm_records(sandbox, "accounts") == [] and ssm_writes(sandbox) == before

        result = dg.materialize(assets, selection=SELECTION, resources=resources, instance=instance)
    assert result.success
    meta = next(
        m.metadata
        for m in result.get_asset_materialization_events()
        if m.asset_key == PUSH_ACCOUNTS
        for m in [m.event_specific_data.materialization]  # type: ignore[union-attr]
    )
    assert meta["created"].value == 12 and meta["failed"].value == 0
    assert meta["completion_ratio"].value == 1.0 and meta["api_calls"].value >= 1
    assert len(ssm_records(sandbox, "accounts")) == 12


def test_sync_definitions_load(tmp_path: Path) -> None:
    resources = dg.Definitions(
        resources={
            "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
            "ssm": SSMResource(
                base_url="http://127.0.0.1:9/api/v4", public_key="p", private_key="k"
            ),
        }
    )
    defs = dg.Definitions.merge(ssm_layer.defs, sync.defs, resources)
    # The sync pushes every resource of the contract, then sums them up (only the ssm layer is
    # merged here, so its steps are the ssm ones: ten pushes, their dead-letter checks, ...).
    steps = set(defs.resolve_job_def("sage_ssm_sync").graph.node_dict)
    pushed = ("users", "rates", "accounts", "contacts", "product_categories", "products",
              "product_rates", "sales_orders", "sales_order_lines", "sales")  # fmt: skip
    pushes = {s for s in steps if s.startswith("ssm__push_") and "dead_letters" not in s}
    assert pushes == {f"ssm__push_{name}" for name in pushed}
    assert {"ssm__value_lists", "ssm__run_summary"} <= steps
    assert list(defs.resolve_job_def("ssm_dead_letters").graph.node_dict) == ["manage_dead_letters"]
    assert defs.resolve_schedule_def("sage_ssm_sync_every_15_minutes").cron_schedule == (
        "*/15 * * * *"
    )


def test_dead_letter_job_discards_and_requeues(warehouse: Path, sandbox: SandboxProcess) -> None:
    def dead_letters() -> list[tuple[Any, ...]]:
        with duckdb.connect(str(warehouse)) as con:
            return con.execute("SELECT ext_id, status, attempts FROM sync.dead_letters").fetchall()

    def run(config: dict[str, Any]) -> int:
        result = sync.ssm_dead_letters.execute_in_process(
            run_config={"ops": {"manage_dead_letters": {"config": config}}},
            resources={"warehouse": WarehouseResource(database=str(warehouse))},
        )
        return int(result.output_for_node("manage_dead_letters"))

    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE staging.customer_accounts SET company_name = repeat('x', 300) "
            "WHERE account_reference = 'CUST005'"
        )
    push_all(warehouse, sandbox.base_url)
    push_all(warehouse, sandbox.base_url)
    assert dead_letters() == [("CUST005", "open", 2)]

    # Discarded: later pushes skip it (no write) until its Sage record changes.
    assert run({"action": "discard", "entity": "accounts", "ext_ids": ["CUST005"]}) == 1
    assert dead_letters() == [("CUST005", "discarded", 2)]
    writes = ssm_writes(sandbox)
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert (reports["accounts"].skipped, reports["accounts"].failed) == (1, 0)
    assert ssm_writes(sandbox) == writes and dead_letters() == [("CUST005", "discarded", 2)]

    # Re-queued: open again with its attempts reset, and retried by the next push.
    assert run({"action": "requeue", "entity": "accounts", "all": True}) == 1
    assert dead_letters() == [("CUST005", "open", 0)]
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert reports["accounts"].failed == 1 and dead_letters() == [("CUST005", "open", 1)]

    with pytest.raises(dg.DagsterInvalidConfigError, match="action"):
        run({"action": "delete", "all": True})


def test_the_run_summary_tables_every_push_and_names_the_run(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    assets = [*ssm_layer.defs.assets]  # type: ignore[misc]
    resources = _resources(warehouse, sandbox)
    selection = [*SELECTION, "ssm/run_summary"]

    def run(instance: dg.DagsterInstance) -> tuple[dict[str, Any], dict[str, Any], str]:
        result = dg.materialize(assets, selection=selection, resources=resources, instance=instance)
        assert result.success
        by_key = {
            e.asset_key.to_user_string(): {k: v.value for k, v in e.metadata.items()}
            for e in (
                m.event_specific_data.materialization
                for m in result.get_asset_materialization_events()
            )  # type: ignore[union-attr]
        }
        tags = instance.get_run_by_id(result.run_id).tags  # type: ignore[union-attr]
        return by_key["ssm/run_summary"], by_key, tags[KIND_TAG]

    with dg.DagsterInstance.ephemeral() as instance:
        summary, pushes, kind = run(instance)
        assert kind == "first"
        # The summary's figures are the pushes' own, summed over the resources the run pushed.
        for figure in ("created", "updated", "deleted", "unchanged", "api_calls", "write_calls"):
            assert summary[figure] == sum(m[figure] for k, m in pushes.items() if "/push_" in k), (
                figure
            )
        assert summary["created"] == 12 + pushes["ssm/push_rates"]["created"]
        table = summary["pushes"]
        assert table.splitlines()[0].startswith("| resource | desired | created |")
        assert {"| accounts |", "| rates |", "| users |"} <= {
            line[: line.index("|", 2) + 1] for line in table.splitlines()[2:]
        }
        assert summary["attention"] == "none"

        again, _, kind = run(instance)
        assert kind == "incremental"
        # Nothing changed: no write, and the one login of the run is not counted as one.
        assert again["write_calls"] == 0 and again["created"] == 0

        # A broken extract: the breaker refuses the account deletes. The other pushes still run;
        # the summary fails the run at its end, with its table.
        with duckdb.connect(str(warehouse)) as con:
            con.execute("UPDATE staging.customer_accounts SET deleted_at = now()")
        broken = dg.materialize(
            assets, selection=selection, resources=resources, instance=instance,
            raise_on_error=False,
        )  # fmt: skip
    assert not broken.success
    done = {
        e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata  # type: ignore[union-attr]
        for e in broken.get_asset_materialization_events()
    }
    assert done["ssm/push_accounts"]["status"].value == "refused"
    # CUST001's own rate (its special price) would go with it: refused too; the others run
    assert done["ssm/push_rates"]["status"].value == "refused"
    assert done["ssm/push_users"]["status"].value == "ok"
    (failure,) = [e for e in broken.all_events if e.is_step_failure]
    assert failure.step_key == "ssm__run_summary"
    error = failure.step_failure_data.user_failure_data  # type: ignore[union-attr]
    assert "accounts: deletes held back by the delete breaker" in (error.description or "")
    assert "| accounts |" in error.metadata["pushes"].value


def test_attention_names_refused_pushes_and_dead_letters() -> None:
    figures = dict.fromkeys(("desired", "created", "updated", "deleted", "unchanged"), 1)
    ok = PushRow("rates", "ok", {**figures, "deferred": 0, "failed": 0}, 0, None)
    refused = PushRow(
        "accounts", "refused", {**figures, "deferred": 0, "failed": 0}, 0, "12 of 12 deletes"
    )
    rejected = PushRow(
        "contacts", "failed_records", {**figures, "deferred": 0, "failed": 2}, 3, None
    )
    unconfirmed = PushRow(
        "sales", "retry_later", {**figures, "deferred": 0, "failed": 0}, 0, "3 records"
    )
    assert attention([ok, refused, rejected, unconfirmed]) == [
        "accounts: deletes held back by the delete breaker (12 of 12 deletes)",
        "contacts: 2 rejected this run, 3 open dead letters (job ssm_dead_letters)",
        "sales: not confirmed by SSM, sent again next run (3 records)",
    ]
