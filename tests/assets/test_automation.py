"""Staging and derived follow a backfill of their partitioned `sage` sources: they are eager, the
`ssm_automation` sensor evaluates them, and a backfilled month is rebuilt and pushed at once.

The backfill is simulated with runless materialization events on an ephemeral instance and the
real definitions, so Dagster's own evaluator decides what it would request."""

from __future__ import annotations

import dagster as dg
import pytest

from assets import derived, staging
from pipelines import sync
from pipelines.definitions import defs

LAYERS = ("sage", "staging", "derived", "ssm")


@pytest.mark.parametrize(
    "asset", [*staging.defs.assets, *derived.defs.assets], ids=lambda a: a.key.to_user_string()
)
def test_staging_and_derived_assets_are_eager(asset: dg.AssetsDefinition) -> None:
    condition = asset.automation_conditions_by_key[asset.key]
    assert condition is not None and condition.get_label() == "eager"


def test_the_automation_sensor_covers_staging_derived_and_ssm() -> None:
    graph = defs.resolve_asset_graph()
    targeted = sync.push_automation.asset_selection.resolve(graph)
    wanted = dg.AssetSelection.groups("staging", "derived", "ssm").resolve(graph)
    assert targeted == wanted
    assert {k.path[0] for k in targeted} == {"staging", "derived", "ssm"}  # sage is scheduled


def test_a_backfilled_month_is_rebuilt_and_pushed_without_waiting_for_the_schedule() -> None:
    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    target = sync.push_automation.asset_selection
    # The scheduled sync ran: every table exists, sage's partitioned ones without partitions
    # (the 15-minute extract reads all months), so nearly every month is "missing" to Dagster.
    for key in graph.materializable_asset_keys:
        if key.path[0] in LAYERS:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=target)
    assert first.total_requested == 0

    # A backfill of March 2019 reloads those months of INVOICE and AUDIT_HEADER.
    for table in ("invoice", "audit_header"):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=dg.AssetKey(["sage", table]), partition="2019-03-01")
        )
    after = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=target, cursor=first.cursor
    )
    requested = {r.key.to_user_string() for r in after.results if r.true_subset.size}
    # The sections reading INVOICE or AUDIT_HEADER, what reads them, down to the push; nothing
    # whose sources did not change (customer accounts, stock, orders).
    assert requested == {
        "staging/posted_sales_invoices",
        "staging/unposted_sales_invoices",
        "staging/posted_sales_credits",
        "staging/sales_payments",
        "staging/audit_headers",
        "derived/invoice_payment_status",
        "ssm/desired_sales",
        "ssm/push_sales",
    }
