"""Scheduling of the one-way sync: the 15-minute job, pushes on fresh staging data, dead letters.

* `sage_ssm_sync`: every asset of the groups sage, staging, derived and ssm (selected by group,
  so it follows whatever the asset list becomes), every 15 minutes. SSM calls run in pool
  `ssm_api` and warehouse writes in pool `warehouse` (both limit 1, dagster.yaml), so a
  backfill and the schedule can overlap without exceeding the API's rate or DuckDB's writer.
* `ssm_push`: the push alone (group ssm), on demand.
* `ssm_push_plan`: a dry run. Plans every push from the current desired state without writing
  SSM (the plan in `sync.plans`, an observation on each push asset), so it never counts as a
  push for freshness or automation.
* `ssm_automation`: evaluates the automation conditions of staging, derived and ssm (eager), so
  a backfilled month of a `sage` table is rebuilt into staging and derived and pushed without
  waiting for the next tick (the scheduled run itself triggers nothing twice: eager ignores
  upstream updates made by a run that also targeted the asset).
* `ssm_dead_letters`: re-queues or discards dead letters on request.
"""

from typing import Literal

import dagster as dg
from pydantic import Field

from assets.ssm import ledger
from assets.ssm.apply import push_resource
from assets.ssm.assets import SSMPushSettings, push_key, report_metadata
from assets.ssm.contract import PUSHED
from assets.ssm.plan import desired_table
from assets.ssm.settings import SyncSettings
from resources.ssm.resource import SSMResource
from resources.warehouse import WarehouseResource

SYNC_JOB = "sage_ssm_sync"
SYNC_GROUPS = ("sage", "staging", "derived", "ssm")

sync_job = dg.define_asset_job(
    SYNC_JOB,
    selection=dg.AssetSelection.groups(*SYNC_GROUPS),
    description="Extract Sage, build staging and derived, push what changed to SSM.",
    run_tags={"sync/kind": "incremental"},
)

push_job = dg.define_asset_job(
    "ssm_push",
    selection=dg.AssetSelection.groups("ssm"),
    description="Push the current desired state to SSM (ssm_push_plan for a dry run).",
    run_tags={"sync/kind": "push"},
)

sync_schedule = dg.ScheduleDefinition(
    name="sage_ssm_sync_every_15_minutes",
    cron_schedule="*/15 * * * *",
    target=sync_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The one-way sync every 15 minutes, as the connector promises.",
)

AUTOMATED_GROUPS = ("staging", "derived", "ssm")

push_automation = dg.AutomationConditionSensorDefinition(
    "ssm_automation",
    target=dg.AssetSelection.groups(*AUTOMATED_GROUPS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    run_tags={"sync/kind": "automation"},
    description=(
        "Rebuilds staging and derived and pushes as soon as new Sage data lands outside the "
        "schedule, e.g. a backfilled month (staging, derived and the push assets are eager)."
    ),
)


class DeadLetterRequest(dg.Config):
    """Which dead letters to act on: an entity, some extIds, or all of them (say so)."""

    action: Literal["requeue", "discard"] = Field(
        description="requeue (retried by the next push, attempts reset) or discard (skipped "
        "until its Sage record changes)"
    )
    entity: str | None = Field(default=None, description="a pushed resource, e.g. accounts")
    ext_ids: list[str] = Field(default_factory=list, description="extIds to act on")
    all: bool = Field(default=False, description="act on every dead letter (of the entity)")


@dg.op(pool="warehouse", description="Re-queue or discard dead letters.")
def manage_dead_letters(
    context: dg.OpExecutionContext, config: DeadLetterRequest, warehouse: WarehouseResource
) -> int:
    known = [c.name for c in PUSHED]
    if config.entity is not None and config.entity not in known:
        raise dg.Failure(f"Unknown entity {config.entity!r}; use one of: {', '.join(known)}.")
    if not config.ext_ids and not config.all:
        raise dg.Failure(
            "Say which dead letters: give ext_ids, or all=true (with an entity to narrow it)."
        )
    with warehouse.get_connection() as con:
        ledger.ensure_tables(con, [])
        count = ledger.manage_dead_letters(con, config.action, config.entity, config.ext_ids)
    context.log.info(f"{config.action}: {count} dead letters")
    context.add_output_metadata({"dead_letters": count, "action": config.action})
    return count


@dg.job(description="Re-queue or discard dead letters (run config: action, entity, ext_ids, all).")
def ssm_dead_letters() -> None:
    manage_dead_letters()


class PushPlanRequest(dg.Config):
    """Which pushes to plan (all by default)."""

    entities: list[str] = Field(
        default_factory=list, description="pushed resources to plan, e.g. accounts; empty: all"
    )


@dg.op(pool="warehouse", description="Plan the pushes without writing SSM (a dry run).")
def plan_ssm_pushes(
    context: dg.OpExecutionContext,
    config: PushPlanRequest,
    ssm: SSMResource,
    warehouse: WarehouseResource,
    ssm_push: SSMPushSettings,
) -> None:
    known = [c.name for c in PUSHED]
    unknown = sorted(set(config.entities) - set(known))
    if unknown:
        raise dg.Failure(f"Unknown entities {unknown}; use some of: {', '.join(known)}.")
    contracts = [c for c in PUSHED if not config.entities or c.name in config.entities]
    with warehouse.get_connection() as con:
        tables = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()")
        built = {name for (name,) in tables.fetchall()}
    missing = [desired_table(c.name) for c in contracts if desired_table(c.name) not in built]
    if missing:
        raise dg.Failure(
            f"No desired state to plan from ({', '.join(missing)}): run sage_ssm_sync, or "
            "materialize the ssm/desired_* assets, first."
        )
    settings = SyncSettings.from_env()
    # A dry run sends nothing: the client never even logs in.
    with ssm.get_client() as client:
        for contract in contracts:
            report = push_resource(
                warehouse.get_connection, client, contract, settings, context.run.run_id,
                ssm_push.options(dry_run=True),
            )  # fmt: skip
            # An observation, not a materialization: a plan is not a push.
            context.log_event(
                dg.AssetObservation(asset_key=push_key(contract), metadata=report_metadata(report))
            )
            context.log.info(f"{contract.name}: {report.plan_counts or 'nothing to do'}")


@dg.job(
    description="Dry run: plan every push from the current desired state (sync.plans) and "
    "record it on the push assets as an observation; nothing is written to SSM.",
    tags={"sync/kind": "dry_run"},
)
def ssm_push_plan() -> None:
    plan_ssm_pushes()


defs = dg.Definitions(
    jobs=[sync_job, push_job, ssm_dead_letters, ssm_push_plan],
    schedules=[sync_schedule],
    sensors=[push_automation],
)
