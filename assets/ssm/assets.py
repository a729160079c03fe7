"""Dagster assets of the push, one pair per pushed resource of the contract.

* `ssm/value_lists`: SSM's countries, currencies, statuses, branches and users (reads only);
* `ssm/desired_<resource>`: the desired state, from `staging` (pool `warehouse`);
* `ssm/push_<resource>`: the push (pool `ssm_api`), after its desired state and its parents'
  pushes, so foreign keys resolve from the parents' ledgers.

The value lists and pushes also write the warehouse outside pool `warehouse`: the warehouse
resource's file lock makes them wait for a running extract rather than fail on DuckDB's lock.

Run-wide switches (mass deletes, the breaker) are the `ssm_push` resource's config, so one entry
of run config covers every push asset:
`{"resources": {"ssm_push": {"config": {"allow_mass_delete": true}}}}`.

A dry run is the `ssm_push_plan` job (pipelines/sync.py), not a run of these assets: it stores
the plan and records it as an observation of each push asset, so a plan never counts as a push
for the freshness policies or the automation conditions.
"""

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import dagster as dg
import duckdb
from pydantic import Field

from assets import company
from assets.lineage import desired_metadata, field_sage_sources
from assets.ssm import ledger, value_lists
from assets.ssm.apply import PushOptions, PushReport, push_resource
from assets.ssm.contract import PUSHED, SYNCED_AT, Owner, ResourceContract
from assets.ssm.desired import build_desired
from assets.ssm.plan import DeleteBreaker, desired_table
from assets.ssm.settings import SyncSettings
from resources.ssm.client import GAVE_UP
from resources.ssm.errors import SSMError
from resources.ssm.resource import SSMResource
from resources.warehouse import WarehouseResource

GROUP = "ssm"
VALUE_LISTS_KEY = company.key(GROUP, "value_lists")
# A push older than this is late (the schedule runs every 15 minutes).
PUSH_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(minutes=60), warn_window=timedelta(minutes=30)
)


class SSMPushSettings(dg.ConfigurableResource):
    """Run-wide switches of the push; override them in a run's config."""

    allow_mass_delete: bool = Field(
        default=False, description="Apply deletes even above the delete breaker's limit."
    )
    delete_share_limit: float = Field(
        default=0.05, description="The breaker trips above this share of synced records."
    )
    delete_allowance: int = Field(
        default=0,
        ge=0,
        description="Deletes per resource always allowed, whatever the share; 0 (default): the "
        "share alone applies. A small company that deletes often may set a few.",
    )

    def options(self, dry_run: bool = False) -> PushOptions:
        return PushOptions(
            dry_run=dry_run,
            allow_mass_delete=self.allow_mass_delete,
            breaker=DeleteBreaker(share=self.delete_share_limit, allowance=self.delete_allowance),
        )


def desired_key(contract: ResourceContract) -> dg.AssetKey:
    return company.key(GROUP, f"desired_{contract.name}")


def push_key(contract: ResourceContract) -> dg.AssetKey:
    return company.key(GROUP, f"push_{contract.name}")


def _source_key(table: str) -> dg.AssetKey:
    schema, name = table.split(".", 1)
    return company.key(schema, name)


def _warehouse(resource: WarehouseResource):  # noqa: ANN202 - a context-manager factory
    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        with resource.get_connection() as con:
            yield con

    return connect


def _contract_metadata(contract: ResourceContract) -> dict[str, Any]:
    return {
        "ssm_resource": contract.ssm_resource,
        "direction": contract.direction.value,
        "key": contract.key,
        "read_only": contract.read_only,
        "delete_policy": contract.delete_policy,
        "conflict_rule": contract.conflict_rule,
        "fields": dg.MetadataValue.md(
            "| SSM field | from | owner | Sage |\n|---|---|---|---|\n"
            + "\n".join(
                f"| `{f.ssm}` | {f.source_text} | {f.owner.value} | "
                + (", ".join(f"`{s}`" for s in field_sage_sources(contract, f)) or "—")
                + " |"
                for f in contract.fields
            )
            + (
                f"\n| `{SYNCED_AT}` | the time of the write | {Owner.CONNECTOR.value} | — |"
                if contract.synced_at
                else ""
            )
        ),
        "contract": dg.MetadataValue.path("docs/sync-contract.md"),
        "lineage": dg.MetadataValue.path("docs/lineage.md"),
    }


@dg.asset(
    key=VALUE_LISTS_KEY,
    group_name=GROUP,
    pool=company.pool("ssm_api"),
    kinds={"duckdb"},
    description="SSM value lists and users, matched against Sage values by the push.",
)
def ssm_value_lists(
    context: dg.AssetExecutionContext, ssm: SSMResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with ssm.get_client() as client:
        before = client.api_calls  # the run's client may have called before
        problem: str | None = None
        try:
            rows: list[value_lists.ValueListRow] | None = value_lists.fetch(client)
        except GAVE_UP as exc:
            rows, problem = None, exc.message
        calls = client.api_calls - before
    with warehouse.get_connection() as con:
        ledger.ensure_tables(con, [])
        if rows is None:
            # SSM did not answer: the lists the last run read serve this one (they rarely
            # change); without any, the pushes cannot match a value, so the step fails.
            rows = value_lists.stored(con)
            if not rows:
                raise dg.Failure(f"SSM did not answer the value lists: {problem}")
            context.log.warning(f"SSM did not answer the value lists, kept the last: {problem}")
        else:
            value_lists.store(con, rows)
            # The quote statuses are settings, not SSM's defaults: created here, in every sync,
            # since the quote sensor launches nothing until the pending status exists.
            from assets.inbox.quotes import ensure_statuses  # the inbox imports this package

            with ssm.get_client() as client:
                start = client.api_calls
                try:
                    ensure_statuses(con, client, SyncSettings.from_env())
                except SSMError as exc:
                    context.log.warning(f"Quotes cannot start: {exc.message}")
                calls += client.api_calls - start
            rows = value_lists.stored(con)
    per_list = {name: len({r[1] for r in rows if r[0] == name}) for name in value_lists.LISTS}
    context.log.info(f"SSM value lists: {per_list}")
    return dg.MaterializeResult(
        metadata={
            "items": dg.MetadataValue.json(per_list),
            "api_calls": calls,
            "fresh": problem is None,
        }
    )


def _desired_asset(contract: ResourceContract) -> dg.AssetsDefinition:
    @dg.asset(
        key=desired_key(contract),
        group_name=GROUP,
        pool=company.pool("warehouse"),
        kinds={"duckdb"},
        deps=[_source_key(t) for t in contract.sources],
        description=f"What SSM `/{contract.ssm_resource}` should hold: {contract.title}, "
        f"per the sync contract ({desired_table(contract.name)}).",
        metadata={**_contract_metadata(contract), **desired_metadata(contract)},
    )
    def desired(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        with warehouse.get_connection() as con:
            stats = build_desired(con, contract, SyncSettings.from_env(), context.run.run_id)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": stats.rows,
                "missing_key": stats.missing_key,
                "duplicate_keys": stats.duplicate_keys,
                "duplicate_sample": ", ".join(stats.duplicate_sample) or "none",
                # Records Sage holds that stay out of the push until they are right.
                "held_back": stats.held_back,
                "held_sample": "\n".join(stats.held_sample) or "none",
            }
        )

    return desired


def report_metadata(report: PushReport) -> dict[str, Any]:
    """What the UI shows for one push: the plan, the outcome and the cost."""

    def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> dg.MetadataValue:
        if not rows:
            return dg.MetadataValue.md("none")
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
        return dg.MetadataValue.md("\n".join(lines))

    return {
        "dry_run": report.dry_run,
        "status": report.status,
        **report.counts(),
        "deleted_in_ssm": report.ssm_deleted,
        "retry_later": report.retry_later,
        "deletes_held_back": report.deletes_held_back,
        "resolved_pending": report.resolved,
        "adopted": report.adopted,
        "completion_ratio": dg.MetadataValue.float(report.completion_ratio),
        "api_calls": report.api_calls,
        "write_calls": report.write_calls,
        "seconds": dg.MetadataValue.float(round(report.seconds, 3)),
        "plan": dg.MetadataValue.json(report.plan_counts),
        "failures": table(report.failures, ("extId", "operation", "SSM said")),
        "deferred_sample": table(report.deferred_sample, ("extId", "why")),
        "skipped_sample": table(report.skipped_sample, ("extId", "why")),
        "deleted_in_ssm_sample": ", ".join(report.ssm_deleted_sample) or "none",
        "notes": "; ".join(report.notes) or "none",
    }


def full_comparison(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> bool:
    """Whether this run compares every record with SSM: the company is active again after a
    pause (assets/company.py), or the run was launched with the tag sync/compare=full."""
    tagged = context.run.tags.get(company.COMPARE_TAG) == company.FULL
    return tagged or company.deactivated_since(warehouse.database) is not None


def _push_asset(contract: ResourceContract) -> dg.AssetsDefinition:
    deps = [desired_key(contract), VALUE_LISTS_KEY]
    deps += [push_key(c) for c in PUSHED if c.name in contract.parents]

    @dg.asset(
        key=push_key(contract),
        group_name=GROUP,
        pool=company.pool("ssm_api"),
        kinds={"ssm"},
        deps=deps,
        description=f"Push of {contract.title} to SSM `/{contract.ssm_resource}`: only what "
        "changed since SSM last acknowledged it (ledger "
        f"ssm.synced_{contract.name}). {contract.delete_policy}.",
        metadata=_contract_metadata(contract),
        freshness_policy=PUSH_FRESHNESS,
    )
    def push(
        context: dg.AssetExecutionContext,
        ssm: SSMResource,
        warehouse: WarehouseResource,
        ssm_push: SSMPushSettings,
    ) -> dg.MaterializeResult:
        options = ssm_push.options()
        if full_comparison(context, warehouse):
            options = dataclasses.replace(options, full_compare=True)
        with ssm.get_client() as client:
            report = push_resource(
                _warehouse(warehouse),
                client,
                contract,
                SyncSettings.from_env(),
                context.run.run_id,
                options,
            )
        metadata = report_metadata(report)
        # Neither is a step failure: the pushes after this one still run (a failed step would
        # skip them), and ssm/run_summary reports every push's figures at the run's end.
        if report.refused:
            context.log.warning(f"{contract.name}: {report.refused}")
        if report.retry_later:
            context.log.warning(
                f"{report.retry_later} {contract.name} not confirmed by SSM (it did not answer, "
                "or its answers were lost): the next run sends or looks them up again"
            )
        if report.failed:
            context.log.warning(
                f"{report.failed} {contract.name} rejected by SSM, kept in sync.dead_letters: "
                + "; ".join(f"{e}: {m}" for e, _, m in report.failures[:3])
            )
        return dg.MaterializeResult(metadata=metadata)

    return push


def _dead_letter_check(contract: ResourceContract) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=push_key(contract),
        name="no_open_dead_letters",
        description="Records SSM rejected and that are still waiting in sync.dead_letters.",
        blocking=False,
        # It creates the sync tables when missing (a write), so it queues with the other writers
        # instead of holding a run worker while it waits for the warehouse's file lock.
        pool=company.pool("warehouse"),
    )
    def check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.get_connection() as con:
            ledger.ensure_tables(con, [])
            rows = con.execute(
                "SELECT ext_id, message, attempts FROM sync.dead_letters "
                "WHERE resource = ? AND status = 'open' ORDER BY ext_id",
                [contract.name],
            ).fetchall()
        return dg.AssetCheckResult(
            passed=not rows,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "open": len(rows),
                "sample": dg.MetadataValue.md(
                    "\n".join(f"- `{e}` ({a} attempts): {m}" for e, m, a in rows[:10]) or "none"
                ),
            },
        )

    return check


DESIRED_ASSETS = [_desired_asset(c) for c in PUSHED]
PUSH_ASSETS = [_push_asset(c) for c in PUSHED]
ALL_ASSETS = [ssm_value_lists, *DESIRED_ASSETS, *PUSH_ASSETS]
ASSET_CHECKS = [_dead_letter_check(c) for c in PUSHED]
