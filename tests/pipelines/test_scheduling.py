"""What starts a sync: the 15-minute schedule (never beside another sync) and the sensor that pushes
the data of a backfill (once, and never after a cancelled run).

Runs are recorded on an ephemeral instance in the state under test; the real schedule and sensor
of `pipelines.definitions` decide what they would launch.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import dagster as dg
import pytest
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from assets.ssm.summary import KIND_TAG
from pipelines import sync
from pipelines.definitions import defs

SAGE_MONTHS = frozenset(
    dg.AssetKey(["sage", t]) for t in ("invoice", "invoice_item", "audit_header", "audit_split")
)
LOCATION = RemoteRepositoryOrigin(
    InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="pipelines.definitions")),
    "__repository__",
)
REPOSITORY = defs.get_repository_def()
SYNC_SELECTION = frozenset(sync.SYNC_SELECTION.resolve(defs.resolve_asset_graph()))


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:  # schedules need an instance they can re-open
        yield instance


def record(
    instance: dg.DagsterInstance,
    status: dg.DagsterRunStatus,
    job: str = sync.SYNC_JOB,
    selection: frozenset[dg.AssetKey] | None = SYNC_SELECTION,
    tags: dict[str, str] | None = None,
) -> dg.DagsterRun:
    run = dg.DagsterRun(
        job_name=job,
        run_id=str(uuid.uuid4()),
        status=status,
        asset_selection=selection,
        tags=tags or {},
        remote_job_origin=RemoteJobOrigin(LOCATION, job),  # a queued run names its location
    )
    instance.add_run(run)
    return run


def tick(instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    context = dg.build_schedule_context(instance=instance, repository_def=REPOSITORY)
    return sync.sync_schedule(context)


def test_the_first_scheduled_sync_is_tagged_first_and_later_ones_incremental(
    instance: dg.DagsterInstance,
) -> None:
    first = tick(instance)
    assert isinstance(first, dg.RunRequest) and first.tags[KIND_TAG] == "first"
    record(instance, dg.DagsterRunStatus.SUCCESS)
    later = tick(instance)
    assert isinstance(later, dg.RunRequest) and later.tags[KIND_TAG] == "incremental"


@pytest.mark.parametrize(
    "status",
    [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING],
)
def test_the_schedule_skips_while_a_sync_is_queued_or_running(
    instance: dg.DagsterInstance, status: dg.DagsterRunStatus
) -> None:
    busy = record(instance, status)
    skipped = tick(instance)
    assert isinstance(skipped, dg.SkipReason)
    assert busy.run_id[:8] in (skipped.skip_message or "")
    assert status.value.lower() in (skipped.skip_message or "")


def test_the_schedule_runs_again_once_the_sync_ended(instance: dg.DagsterInstance) -> None:
    record(instance, dg.DagsterRunStatus.CANCELED)
    record(instance, dg.DagsterRunStatus.FAILURE)
    assert isinstance(tick(instance), dg.RunRequest)


def sensor_tick(instance: dg.DagsterInstance, run: dg.DagsterRun) -> object:
    context = dg.build_run_status_sensor_context(
        sensor_name=sync.sync_after_sage_update.name,
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name=run.job_name
        ),
    )
    return sync.sync_after_sage_update(context)


def test_a_successful_backfill_is_followed_by_one_sync(instance: dg.DagsterInstance) -> None:
    backfill = record(
        instance,
        dg.DagsterRunStatus.SUCCESS,
        job="__ASSET_JOB",
        selection=SAGE_MONTHS,
        tags={"dagster/backfill": "abcdefgh"},
    )
    request = sensor_tick(instance, backfill)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == "after-abcdefgh"  # one sync per backfill, however often evaluated
    assert request.tags["sync/after_run"] == backfill.run_id


def test_the_backfill_sync_waits_for_the_backfills_last_run(instance: dg.DagsterInstance) -> None:
    tags = {"dagster/backfill": "ijklmnop"}
    done = record(instance, dg.DagsterRunStatus.SUCCESS, "__ASSET_JOB", SAGE_MONTHS, tags)
    record(instance, dg.DagsterRunStatus.QUEUED, "__ASSET_JOB", SAGE_MONTHS, tags)
    skipped = sensor_tick(instance, done)
    assert isinstance(skipped, dg.SkipReason) and "ijklmnop" in (skipped.skip_message or "")


def test_no_sync_when_a_later_sync_already_covers_the_data(instance: dg.DagsterInstance) -> None:
    loaded = record(instance, dg.DagsterRunStatus.SUCCESS, "__ASSET_JOB", SAGE_MONTHS)
    queued = record(instance, dg.DagsterRunStatus.QUEUED)
    skipped = sensor_tick(instance, loaded)
    assert isinstance(skipped, dg.SkipReason) and queued.run_id[:8] in (skipped.skip_message or "")


def test_runs_that_pushed_or_loaded_nothing_from_sage_start_nothing(
    instance: dg.DagsterInstance,
) -> None:
    sync_run = record(instance, dg.DagsterRunStatus.SUCCESS)
    pushes = frozenset(k for k in SYNC_SELECTION if k.path[0] == "ssm")
    push_run = record(instance, dg.DagsterRunStatus.SUCCESS, sync.PUSH_JOB, pushes)
    dead_letters = record(instance, dg.DagsterRunStatus.SUCCESS, "ssm_dead_letters", None)
    for run in (sync_run, push_run, dead_letters):
        assert isinstance(sensor_tick(instance, run), dg.SkipReason), run.job_name


def test_sync_now_starts_a_sync_behind_a_running_one_but_not_beside_a_queued_one(
    instance: dg.DagsterInstance,
) -> None:
    running = record(instance, dg.DagsterRunStatus.STARTED)
    asked = record(instance, dg.DagsterRunStatus.SUCCESS, sync.SYNC_NOW_JOB, None)
    request = sensor_tick(instance, asked)
    # The running sync may have read Sage before the click: a new one queues behind it.
    assert isinstance(request, dg.RunRequest) and request.run_key == f"after-{asked.run_id}"
    instance.report_run_canceled(running)
    queued = record(instance, dg.DagsterRunStatus.QUEUED)
    again = record(instance, dg.DagsterRunStatus.SUCCESS, sync.SYNC_NOW_JOB, None)
    skipped = sensor_tick(instance, again)
    assert isinstance(skipped, dg.SkipReason) and queued.run_id[:8] in (skipped.skip_message or "")


def test_sync_now_is_one_click_without_a_partition(instance: dg.DagsterInstance) -> None:
    job = defs.resolve_job_def(sync.SYNC_NOW_JOB)
    assert job.partitions_def is None
    assert job.execute_in_process(instance=instance).success  # no config to fill in
    assert defs.resolve_job_def(sync.SYNC_JOB).partitions_def is not None  # why it exists


def test_no_asset_starts_itself() -> None:
    """Only the schedule and the sensor start runs: no automation condition would rebuild, beside
    a live sync, what it is about to build."""
    graph = defs.resolve_asset_graph()
    conditions = {
        key.to_user_string(): graph.get(key).automation_condition
        for key in graph.materializable_asset_keys
    }
    assert {k: c for k, c in conditions.items() if c is not None} == {}
