"""Scheduling of the one-way sync: the 15-minute job, a sync after Sage backfills, dead letters.

* `sage_ssm_sync`: every asset of the groups sage, staging, derived and ssm (selected by group,
  so it follows whatever the asset list becomes), every 15 minutes, ending with
  `ssm/run_summary`. Its steps run in the run's process (pipelines/definitions.py), and the pools
  `warehouse` and `ssm_api` (limit 1, granularity `run`, dagster.yaml) let the run queue start
  only one run that uses them at a time: a second sync, a backfill or a push waits QUEUED.
* The schedule skips its tick, with the reason, while a sync is queued or running, so a slow
  sync never piles up more of them.
* `sync_after_sage_update`: when a run that loaded Sage data without pushing it succeeds (a
  backfill of months, a table materialized by hand), or a `sync_now` run, one `sage_ssm_sync`
  rebuilds staging and derived and pushes, unless a sync that has yet to start (or started after
  that run) will do it anyway. It reacts to successful runs only, so a cancelled or failed run
  never sets off a rebuild.
* `free_dead_runs`: a run whose process died together with the one that launched it (a reboot,
  a killed `dagster dev` or demo) would stay STARTED and hold the pools for ever; this sensor
  marks it failed once it has been silent too long (resources/liveness.py), and the schedule
  does the same before deciding to skip.
* `sync_now`: the one-click manual sync. `sage_ssm_sync` holds monthly-partitioned tables, so the
  UI offers a partition backfill (or warns) when it is launched directly; this unpartitioned job
  does nothing but ask, and the sensor starts the sync.
* `ssm_push`: the push alone (group ssm), on demand.
* `ssm_push_plan`: a dry run. Plans every push from the current desired state without writing
  SSM (the plan in `sync.plans`, an observation on each push asset), so it never counts as a
  push for freshness.
* `ssm_dead_letters`: re-queues or discards dead letters on request.

Every run says what it is in the tag `sync/kind`: `first` or `incremental` for a sync (set by the
schedule or the sensor, and by `ssm/run_summary` for a sync started from the UI), `push`,
`dry_run`, `dead_letters`.
"""

import time
from typing import Literal

import dagster as dg
from pydantic import Field

from assets import company
from assets.inbox.assets import QUOTE_ASSETS
from assets.ssm import ledger
from assets.ssm.apply import push_resource
from assets.ssm.assets import SSMPushSettings, push_key, report_metadata
from assets.ssm.contract import PUSHED, REVERSE
from assets.ssm.plan import desired_table
from assets.ssm.settings import SyncSettings
from assets.ssm.summary import KIND_TAG
from pipelines import settings
from resources.liveness import check_seconds, fail_dead_runs
from resources.ssm.resource import SSMResource
from resources.warehouse import WarehouseResource

SYNC_JOB = "sage_ssm_sync"
PUSH_JOB = "ssm_push"
SYNC_GROUPS = ("inbox", "sage", "staging", "derived", "ssm")
# Quotes have their own job (pipelines/quotes.py): a sync never handles a quote.
SYNC_SELECTION = dg.AssetSelection.groups(*SYNC_GROUPS) - QUOTE_ASSETS
# Runs that push: the schedule and the sensor leave them alone while one is queued or running.
PUSHING_JOBS = (SYNC_JOB, PUSH_JOB)
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
BACKFILL_TAG = "dagster/backfill"

sync_job = dg.define_asset_job(
    SYNC_JOB,
    selection=SYNC_SELECTION,
    description="Extract Sage, build staging and derived, push what changed to SSM, summarise "
    "(ssm/run_summary). Launch it from the launchpad with no config: a sync.",
    tags={KIND_TAG: "sync", **company.run_tags()},
)

push_job = dg.define_asset_job(
    PUSH_JOB,
    selection=dg.AssetSelection.groups("ssm"),
    description="Push the current desired state to SSM (ssm_push_plan for a dry run).",
    tags={KIND_TAG: "push", **company.run_tags()},
)


def pushes_in_flight(instance: dg.DagsterInstance) -> list[dg.RunRecord]:
    """Sync and push runs queued or running, oldest first."""
    records = instance.get_run_records(
        dg.RunsFilter(job_name=None, statuses=IN_FLIGHT, tags=company.run_tags()), ascending=True
    )
    return [r for r in records if r.dagster_run.job_name in PUSHING_JOBS]


def _describe(record: dg.RunRecord) -> str:
    run = record.dagster_run
    since = record.start_time or record.create_timestamp.timestamp()
    minutes = (time.time() - since) / 60
    return f"{run.job_name} run {run.run_id[:8]} is {run.status.value.lower()} ({minutes:.0f} min)"


def _kind(instance: dg.DagsterInstance) -> str:
    """`first` until a sync has succeeded on this instance (ssm/run_summary corrects it from the
    warehouse when the two disagree)."""
    done = instance.get_run_records(
        dg.RunsFilter(
            job_name=SYNC_JOB, statuses=[dg.DagsterRunStatus.SUCCESS], tags=company.run_tags()
        ),
        limit=1,
    )
    return "incremental" if done else "first"


@dg.schedule(
    name="sage_ssm_sync_every_15_minutes",
    cron_schedule=settings.sync_cron(),
    execution_timezone=settings.sync_timezone(),
    target=sync_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=f"The one-way sync on `{settings.sync_cron()}` (SSM_SYNC_CRON; every 15 minutes "
    "unless set); a tick is skipped, with the reason, while a sync or push is still queued or "
    "running, or while the company is deactivated.",
)
def sync_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    if (off := company.inactive()) is not None:
        company.mark_deactivated(settings.warehouse_path())
        return dg.SkipReason(off)
    # A sync whose process died must not make every tick skip: free it first.
    for sentence in fail_dead_runs(
        context.instance, context.repository_def.job_names, tags=company.run_tags()
    ):
        context.log.warning(sentence)
    busy = pushes_in_flight(context.instance)
    if busy:
        return dg.SkipReason(
            f"{_describe(busy[0])}: this tick is skipped; the next tick starts a sync once it "
            "is done."
        )
    tags = {KIND_TAG: _kind(context.instance)}
    since = company.deactivated_since(settings.warehouse_path())
    if since is not None:  # active again: this sync compares every record with SSM
        tags |= {company.COMPARE_TAG: company.FULL, "sync/deactivated_since": since}
    return dg.RunRequest(tags=tags)


def _sage_update_without_push(run: dg.DagsterRun) -> bool:
    """The run loaded `sage` (or rebuilt staging/derived) but did not push it all."""
    selection = run.asset_selection or frozenset()
    layers = {key.path[-2] for key in selection}  # <company>/<layer>/<name>
    pushed = {push_key(c) for c in PUSHED} <= selection
    return bool(layers & {"sage", "staging", "derived"}) and not pushed


@dg.sensor(
    name="free_dead_runs",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=check_seconds(),
    description="Marks failed a started run of this code location whose process died with the "
    "one that launched it (a reboot, a killed `dagster dev`): silent for RUN_DEAD_AFTER_SECONDS "
    "(300 s) while a live run says it is alive every RUN_HEARTBEAT_SECONDS (30 s). Its pools "
    "are then free, so the next sync, backfill or push is not blocked for ever.",
)
def free_dead_runs(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    repository = context.repository_def
    jobs = repository.job_names if repository is not None else []
    freed = fail_dead_runs(context.instance, jobs, tags=company.run_tags())
    for sentence in freed:
        context.log.warning(sentence)
    return dg.SkipReason(" ".join(freed) if freed else "every started run is alive")


SYNC_NOW_JOB = "sync_now"
NOT_STARTED = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED)


@dg.op(description="Asks for a sync: the sensor sync_after_sage_update starts sage_ssm_sync.")
def request_sync(context: dg.OpExecutionContext) -> None:
    busy = pushes_in_flight(context.instance)
    context.log.info(
        "A sync follows within a minute"
        + (f"; it waits for {_describe(busy[0])}" if busy else "")
        + " (sensor sync_after_sage_update)."
    )


@dg.job(
    name=SYNC_NOW_JOB,
    description="Sync now: one click on Launch Run starts sage_ssm_sync (through the sensor "
    "sync_after_sage_update), with no partition to pick. sage_ssm_sync holds partitioned "
    "tables, so the UI asks for a partition when it is launched directly.",
    tags={KIND_TAG: "request", **company.run_tags()},
)
def sync_now() -> None:
    request_sync()


def _covering_sync(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.RunRecord | None:
    """A sync or push that has yet to start, or started after `run` ended: it will read what
    `run` loaded (or answer its request) anyway."""
    finished = instance.get_run_record_by_id(run.run_id)
    ended = 0.0
    if finished is not None:
        ended = (
            finished.end_time
            or max(finished.create_timestamp, finished.update_timestamp).timestamp()
        )
    for record in pushes_in_flight(instance):
        status = record.dagster_run.status
        if status in NOT_STARTED or record.create_timestamp.timestamp() > ended:
            return record
    return None


@dg.run_status_sensor(
    name="sync_after_sage_update",
    run_status=dg.DagsterRunStatus.SUCCESS,
    request_job=sync_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="One sync after a run that loaded Sage data without pushing it (a backfill of "
    "months, a table materialized by hand) succeeds, or after a `sync_now` run, so the data "
    "reaches SSM without waiting for the schedule. Never after a cancelled or failed run, and "
    "not when a sync that has yet to start will do it anyway.",
)
def sync_after_sage_update(
    context: dg.RunStatusSensorContext,
) -> dg.RunRequest | dg.SkipReason:
    if (off := company.inactive()) is not None:
        return dg.SkipReason(off)
    run = context.dagster_run
    requested = run.job_name == SYNC_NOW_JOB
    if not requested and (run.job_name in PUSHING_JOBS or not _sage_update_without_push(run)):
        return dg.SkipReason(f"run {run.run_id[:8]} pushed its own data or loaded no Sage data")
    backfill = run.tags.get(BACKFILL_TAG)
    instance = context.instance
    if backfill:
        running = instance.get_run_records(
            dg.RunsFilter(tags={BACKFILL_TAG: backfill}, statuses=IN_FLIGHT), limit=1
        )
        if running:
            return dg.SkipReason(
                f"backfill {backfill} still has runs to go: its last run starts the sync"
            )
    covering = _covering_sync(instance, run)
    if covering is not None:
        return dg.SkipReason(f"{_describe(covering)} and covers run {run.run_id[:8]}")
    return dg.RunRequest(
        run_key=f"after-{backfill or run.run_id}",
        tags={KIND_TAG: _kind(instance), "sync/after_run": run.run_id},
    )


class DeadLetterRequest(dg.Config):
    """Which dead letters to act on: an entity, some extIds, or all of them (say so)."""

    action: Literal["requeue", "discard"] = Field(
        description="requeue (retried by the next push, attempts reset) or discard (skipped "
        "until its Sage record changes)"
    )
    entity: str | None = Field(
        default=None,
        description="a pushed resource (e.g. accounts) or a reverse one (client_companies, "
        "prospects, ssm_contacts: extIds are then SSM ids)",
    )
    ext_ids: list[str] = Field(default_factory=list, description="extIds to act on")
    all: bool = Field(default=False, description="act on every dead letter (of the entity)")


@dg.op(pool=company.pool("warehouse"), description="Re-queue or discard dead letters.")
def manage_dead_letters(
    context: dg.OpExecutionContext, config: DeadLetterRequest, warehouse: WarehouseResource
) -> int:
    known = [c.name for c in (*PUSHED, *REVERSE)]
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


@dg.job(
    description="Re-queue or discard dead letters (run config: action, entity, ext_ids, all).",
    tags={KIND_TAG: "dead_letters", **company.run_tags()},
)
def ssm_dead_letters() -> None:
    manage_dead_letters()


class PushPlanRequest(dg.Config):
    """Which pushes to plan (all by default)."""

    entities: list[str] = Field(
        default_factory=list, description="pushed resources to plan, e.g. accounts; empty: all"
    )


@dg.op(
    pool=company.pool("warehouse"), description="Plan the pushes without writing SSM (a dry run)."
)
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
    tags={KIND_TAG: "dry_run", **company.run_tags()},
)
def ssm_push_plan() -> None:
    plan_ssm_pushes()


defs = dg.Definitions(
    jobs=[sync_job, sync_now, push_job, ssm_dead_letters, ssm_push_plan],
    schedules=[sync_schedule],
    sensors=[sync_after_sage_update, free_dead_runs],
)
