"""A run whose process died never holds the queue (resources/liveness.py).

Runs are recorded on a test instance in the state under test; the real sensor `free_dead_runs`
and the schedule decide. The end-to-end case (a sync killed with its daemon and code server, and
the next sync getting through) is in tests/pipelines/test_launched.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import dagster as dg
import pytest

from pipelines import sync
from resources import liveness
from resources.warehouse import WarehouseResource
from tests.pipelines.test_scheduling import REPOSITORY, record, tick

DEAD_AFTER = liveness.DEFAULT_DEAD_AFTER_SECONDS


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def started(instance: dg.DagsterInstance, job: str, alive_seconds_ago: float | None) -> str:
    """A STARTED run of `job`, started an hour ago, whose last heartbeat was that long ago."""
    tags = {}
    if alive_seconds_ago is not None:
        tags[liveness.ALIVE_TAG] = liveness._stamp(time.time() - alive_seconds_ago)
    run = record(instance, dg.DagsterRunStatus.STARTING, job=job, tags=tags)
    instance.handle_run_event(
        run.run_id,
        dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.RUN_START.value, job_name=job, message="start"
        ),
    )
    # Back-date its start: the run storage takes the event's timestamp.
    with instance.run_storage.connect() as conn:
        conn.exec_driver_sql(
            "UPDATE runs SET start_time = ? WHERE run_id = ?", (time.time() - 3600, run.run_id)
        )
    return run.run_id


def sensor(instance: dg.DagsterInstance) -> dg.SkipReason:
    context = dg.build_sensor_context(instance=instance, repository_def=REPOSITORY)
    return sync.free_dead_runs(context)


def status(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    return run.status


def test_a_silent_run_is_failed_with_the_reason_and_a_live_one_is_left(
    instance: dg.DagsterInstance,
) -> None:
    dead = started(instance, sync.SYNC_JOB, alive_seconds_ago=DEAD_AFTER + 60)
    alive = started(instance, sync.SYNC_JOB, alive_seconds_ago=5)
    never_beat = started(instance, sync.PUSH_JOB, alive_seconds_ago=None)  # killed at once
    foreign = started(instance, "another_locations_job", alive_seconds_ago=DEAD_AFTER + 60)

    said = sensor(instance).skip_message or ""

    assert status(instance, dead) == dg.DagsterRunStatus.FAILURE
    assert status(instance, never_beat) == dg.DagsterRunStatus.FAILURE
    assert status(instance, alive) == dg.DagsterRunStatus.STARTED
    assert status(instance, foreign) == dg.DagsterRunStatus.STARTED
    assert dead[:8] in said and never_beat[:8] in said and alive[:8] not in said
    # 360 s (and a second or so for the test itself) of silence against the 300 s limit.
    assert f"run {dead[:8]} of sage_ssm_sync gave no sign of life for 36" in said
    assert "(limit 300 s, RUN_DEAD_AFTER_SECONDS)" in said
    failure = instance.get_records_for_run(dead, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert "pools are free" in (failure.records[0].event_log_entry.message or "")
    assert "every started run is alive" in (sensor(instance).skip_message or "")


def test_the_schedule_frees_a_dead_sync_instead_of_skipping_behind_it(
    instance: dg.DagsterInstance,
) -> None:
    dead = started(instance, sync.SYNC_JOB, alive_seconds_ago=DEAD_AFTER + 1)
    assert isinstance(tick(instance), dg.RunRequest)
    assert status(instance, dead) == dg.DagsterRunStatus.FAILURE


def test_the_schedule_still_skips_behind_a_live_sync(instance: dg.DagsterInstance) -> None:
    alive = started(instance, sync.SYNC_JOB, alive_seconds_ago=DEAD_AFTER - 30)
    skipped = tick(instance)
    assert isinstance(skipped, dg.SkipReason) and alive[:8] in (skipped.skip_message or "")


def test_a_running_job_beats_while_it_runs_and_stops_when_it_ends(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUN_HEARTBEAT_SECONDS", "0.05")
    seen: list[str] = []

    @dg.op(required_resource_keys={"warehouse"})
    def watch(context) -> None:  # noqa: ANN001 - Dagster reads the annotation
        for _ in range(3):
            run = context.instance.get_run_by_id(context.run_id)
            assert run is not None
            seen.append(run.tags[liveness.ALIVE_TAG])
            time.sleep(1.1)  # the tag has one-second resolution

    @dg.job
    def beating() -> None:
        watch()

    warehouse = WarehouseResource(database=":memory:")
    result = beating.execute_in_process(instance=instance, resources={"warehouse": warehouse})
    assert result.success
    assert len(set(seen)) == 3  # a new stamp each second: the thread kept beating
    # ... and it stopped with the run.
    assert [t.name for t in threading.enumerate() if t.name.startswith("heartbeat-")] == []


def test_a_run_declared_dead_stops_itself_at_its_next_beat(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = started(instance, sync.SYNC_JOB, alive_seconds_ago=0)
    exits: list[int] = []
    monkeypatch.setattr(liveness.os, "_exit", exits.append)
    beat = liveness.Heartbeat(instance, run_id, every=0.05)
    beat.start()
    liveness.fail_dead_runs(instance, [sync.SYNC_JOB], dead_after=-1)  # e.g. host suspended
    deadline = time.monotonic() + 10
    while not exits and time.monotonic() < deadline:
        time.sleep(0.05)
    beat.stop()
    assert exits[:1] == [liveness.EXIT_DECLARED_DEAD]
