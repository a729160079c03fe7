"""The production topology of deploy/ on this machine (bench.topology, one per session):
PostgreSQL, the connector's code server as its own process (`grpc_server` in deploy/workspace.yaml),
dagster-webserver and dagster-daemon on deploy/dagster.yaml.

1. The schedule ticks through the daemon (its quarter-hour tick evaluated by the scheduler, a run
   requested and run), the sensors tick too, and everything is in Postgres's tables.
2. The code server's host dies mid-push (the code server, its gRPC server and the run worker
   killed at once): the run stays STARTED until the service comes back and the sensor
   `free_dead_runs` marks it failed, the pools are free, the next sync succeeds and SSM holds
   every desired record once. That sync is launched through the webserver's GraphQL API
   (`launchRun`): its run, events and asset records are in Postgres, and its step logs on the
   shared compute-log folder.
"""

from __future__ import annotations

import time

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import TickStatus

from bench.topology import LOCATION, SYNC_JOB
from tests.deploy.conftest import RUN_TIMEOUT, SCHEDULE, Deployment
from tests.ssm.compare import assert_ssm_holds_desired

pytestmark = [pytest.mark.xdist_group("deploy"), pytest.mark.slow]


def _run_row(deployment: Deployment, run_id: str) -> tuple[str, str]:
    rows = deployment.postgres.sql(
        "SELECT status, pipeline_name FROM runs WHERE run_id = %s", (run_id,)
    )
    assert rows, f"run {run_id} is not in Postgres's runs table"
    return rows[0]


def _assert_in_postgres(deployment: Deployment, run_id: str) -> None:
    """The run, its events and its assets as Dagster's Postgres tables hold them."""
    assert _run_row(deployment, run_id) == ("SUCCESS", SYNC_JOB)
    events = dict(
        deployment.postgres.sql(
            "SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = %s "
            "GROUP BY dagster_event_type",
            (run_id,),
        )
    )
    kinds = dg.DagsterEventType
    assert events.get(kinds.RUN_SUCCESS.value) == 1, events  # stored as PIPELINE_SUCCESS
    assert events.get(kinds.ASSET_MATERIALIZATION.value, 0) > 50, events
    assert events.get(kinds.ASSET_CHECK_EVALUATION.value, 0) > 0, events
    keys = {
        key
        for (key,) in deployment.postgres.sql(
            "SELECT asset_key FROM asset_keys WHERE last_run_id = %s", (run_id,)
        )
    }
    assert '["ssm", "run_summary"]' in keys, sorted(keys)[:10]
    assert any(key.startswith('["sage", ') for key in keys), sorted(keys)[:10]


def test_the_schedule_and_the_sensors_tick_through_the_daemon(deployment: Deployment) -> None:
    topology = deployment.topology
    schedule = topology.schedule(SCHEDULE)
    deadline = time.monotonic() + 60
    ticks: list = []
    while not ticks and time.monotonic() < deadline:
        ticks = [t for t in topology.ticks(schedule) if t.status != TickStatus.STARTED]
        time.sleep(0.5)
    assert ticks, "the scheduler evaluated no tick of the schedule"
    # The quarter-hour tick it missed since the schedule was started (16 minutes back).
    tick = ticks[-1]
    assert tick.timestamp >= deployment.scheduled_at
    assert tick.status == TickStatus.SUCCESS, (tick.status, tick.skip_reason, tick.error)
    (scheduled_run,) = tick.run_ids
    assert topology.wait(scheduled_run, RUN_TIMEOUT) == "SUCCESS"
    run = topology.instance.get_run_by_id(scheduled_run)
    assert run.tags.get("dagster/schedule_name") == SCHEDULE
    assert run.tags.get("sync/kind") in {"first", "incremental"}
    _assert_in_postgres(deployment, scheduled_run)
    # The daemon keeps the tick in Postgres too (job_ticks), as the UI's schedule page reads it.
    stored = deployment.postgres.sql(
        "SELECT count(*) FROM job_ticks WHERE selector_id = %s", (schedule.selector_id,)
    )
    assert stored[0][0] >= 1

    # The sensors tick through the daemon as well: free_dead_runs every few seconds, and the
    # run-status sensor sync_after_sage_update (every 30 s), which saw the scheduled sync succeed.
    for name, within in (("free_dead_runs", 30), ("sync_after_sage_update", 90)):
        sensor = topology.sensor(name)
        deadline = time.monotonic() + within
        while not topology.ticks(sensor) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert topology.ticks(sensor), f"sensor {name} never ticked"
    topology.stop_schedule(SCHEDULE)  # no other quarter-hour tick during the session


def _assert_launched_through_the_webserver(deployment: Deployment, run_id: str) -> None:
    """A sync submitted through the webserver's GraphQL API (`launchRun`): its run, events and
    asset records in Postgres, its step logs on the shared compute-log folder."""
    topology = deployment.topology
    _assert_in_postgres(deployment, run_id)
    # The run worker ran on the code server's "host": its events name the location, and its
    # step logs are on the shared compute-log folder, where the webserver reads them.
    run = topology.instance.get_run_by_id(run_id)
    assert run.remote_job_origin.location_name == LOCATION
    logs = list(topology.compute_logs.glob(f"**/{run_id}/**/*.err"))
    assert logs, f"no step logs of {run_id} under {topology.compute_logs}"
    answer = topology.graphql(
        "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", {"id": run_id}
    )
    assert answer["runOrError"]["status"] == "SUCCESS"


def _pushing(topology: object, run_id: str) -> bool:
    instance = topology.instance  # type: ignore[attr-defined]
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=500
    ).records
    keys = [r.event_log_entry.dagster_event.asset_key for r in records]
    return any(key is not None and key.path[0] == "ssm" for key in keys)


def test_a_sync_survives_its_code_server_dying_and_the_next_lands_through_the_webserver(
    deployment: Deployment,
) -> None:
    topology = deployment.topology
    deployment.a_successful_sync()  # the pushes below are then a cycle's, on a built warehouse
    killed = topology.launch(SYNC_JOB)
    deadline = time.monotonic() + RUN_TIMEOUT
    while not _pushing(topology, killed):
        assert topology.status(killed) in {"QUEUED", "STARTING", "STARTED"}
        assert time.monotonic() < deadline, "the sync never reached its pushes"
        time.sleep(0.1)
    topology.kill_code_server()
    time.sleep(2)
    assert topology.status(killed) == "STARTED"  # nobody is left to say it ended

    # The Windows service manager starts the code server again; its sensor frees the run.
    topology.start_code_server()
    assert topology.wait(killed, RUN_TIMEOUT) == "FAILURE"
    failure = topology.instance.get_records_for_run(
        killed, of_type=dg.DagsterEventType.RUN_FAILURE
    ).records[0]
    assert "gave no sign of life" in (failure.event_log_entry.message or "")

    following = topology.launch(SYNC_JOB)
    assert topology.wait(following, RUN_TIMEOUT) == "SUCCESS", topology.log("daemon").read_text()[
        -3000:
    ]
    started = topology.instance.get_run_record_by_id(following).start_time
    assert failure.timestamp < started  # freed first, then the next sync took the pools
    # Nothing in flight holds the pools any more.
    in_flight = topology.instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING])
    )
    assert in_flight == []
    assert_ssm_holds_desired(deployment.warehouse, deployment.ssm)
    # That sync was launched through the webserver, as a person's click in the UI does.
    _assert_launched_through_the_webserver(deployment, following)
