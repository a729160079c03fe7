"""Scheduling of the one-way sync: the 15-minute job, pushes on fresh staging data, dead letters.

* `sage_ssm_sync`: every asset of the groups sage, staging, derived and ssm (selected by group,
  so it follows whatever the asset list becomes), every 15 minutes. SSM calls run in pool
  `ssm_api` and warehouse writes in pool `warehouse` (both limit 1, dagster.yaml), so a
  backfill and the schedule can overlap without exceeding the API's rate or DuckDB's writer.
* `ssm_push`: the push alone (group ssm), for on-demand and dry runs.
* `ssm_automation`: evaluates the assets' automation conditions (eager on the push assets), so
  new staging data is pushed without waiting for the next tick.
* `ssm_dead_letters`: re-queues or discards dead letters on request.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets.ssm import ledger
from assets.ssm.contract import PUSHED

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
    description="Push the current desired state to SSM (set ssm_push.dry_run for a plan only).",
    run_tags={"sync/kind": "push"},
)

sync_schedule = dg.ScheduleDefinition(
    name="sage_ssm_sync_every_15_minutes",
    cron_schedule="*/15 * * * *",
    target=sync_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The one-way sync every 15 minutes, as the connector promises.",
)

push_automation = dg.AutomationConditionSensorDefinition(
    "ssm_automation",
    target=dg.AssetSelection.groups("ssm"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    run_tags={"sync/kind": "automation"},
    description="Pushes as soon as new staging data lands (the push assets are eager).",
)


class DeadLetterRequest(dg.Config):
    """Which dead letters to act on: an entity, some extIds, or all of them (say so)."""

    action: str = Field(description="requeue (retry from the next push, attempts reset) or discard")
    entity: str | None = Field(default=None, description="a pushed resource, e.g. accounts")
    ext_ids: list[str] = Field(default_factory=list, description="extIds to act on")
    all: bool = Field(default=False, description="act on every dead letter (of the entity)")


@dg.op(pool="warehouse", description="Re-queue or discard dead letters.")
def manage_dead_letters(
    context: dg.OpExecutionContext, config: DeadLetterRequest, warehouse: DuckDBResource
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


defs = dg.Definitions(
    jobs=[sync_job, push_job, ssm_dead_letters],
    schedules=[sync_schedule],
    sensors=[push_automation],
)
