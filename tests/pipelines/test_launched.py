"""`sage_ssm_sync` as users run it: submitted to the queue, taken by `dagster-daemon`, executed
by a run worker with the job's own executor, on the project's dagster.yaml (`bench.launched`).

1. The first sync as launched succeeds, materializes every asset and evaluates every check of
   the job (as `execute_in_process` of it does), and all its steps run in one run worker
   process that the daemon's code server started.
2. Two syncs requested at once: one runs while the other waits QUEUED, never both at once, and
   the queued one says why (its pools, their limit 1, the daemon's "blocked" log line); then it
   runs and both succeed.
3. A sync cancelled mid-run ends CANCELED; no sensor launches anything about it (every running
   sensor ticks at least once after the cancel, and no run appears that the test did not
   launch). Then a sync killed mid-push together with the daemon and code server (a power cut)
   is marked failed by the sensor `free_dead_runs`, and the next sync succeeds with SSM holding
   every desired record once.

The three share one daemon (module fixture) and run in that order, but each stands alone: a
sync on an empty warehouse is a first sync. No timing is asserted. A fast test checks that the
harness keeps the project's instance in its own directory, whatever dagster.yaml names.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from bench.launched import (
    PROJECT_ROOT,
    SYNC_JOB,
    LaunchedDagster,
    LaunchedRun,
    connector_env,
    instance_yaml,
    workspace_yaml,
)
from pipelines.definitions import defs
from sandbox.sage_demo import generate
from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.ssm.compare import assert_ssm_holds_desired

pytestmark = pytest.mark.xdist_group("launched")

RUN_TIMEOUT = 900.0  # seconds; generous for a loaded 2-core machine
POOLS = {"warehouse", "ssm_api"}  # dagster.yaml: limit 1 each, granularity run
ACTIVE = {"STARTING", "STARTED", "CANCELING"}


# Heartbeats every second, dead after 15 s of silence (defaults 30 s and 300 s), so the test of a
# killed sync need not wait five minutes; 15 s is still many missed beats for a live run.
LIVENESS = {
    "RUN_HEARTBEAT_SECONDS": "1",
    "RUN_DEAD_AFTER_SECONDS": "15",
    "RUN_DEAD_CHECK_SECONDS": "3",
}


@dataclass
class Launched:
    dagster: LaunchedDagster
    company: Path
    ssm: SandboxProcess
    warehouse: Path


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("company") / "sage50-demo.sqlite"
    generate(path, size="tiny", seed=1)
    return path


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory, company: Path) -> Iterator[Launched]:
    work = tmp_path_factory.mktemp("launched")
    with running_sandbox(work) as ssm:
        env = connector_env(work, company, ssm.base_url, ssm.public_key, ssm.private_key, 200)
        with LaunchedDagster(work / "dagster", {**env, **LIVENESS}) as dagster:
            yield Launched(dagster, company, ssm, Path(env["WAREHOUSE_PATH"]))


def test_the_harness_keeps_the_project_instance_in_its_own_directory(tmp_path: Path) -> None:
    """The project's dagster.yaml as the harness writes it: every store under the harness's
    instance directory, whether the file names a relative directory or an env variable."""
    instance_dir = tmp_path / "instance"
    text, env = instance_yaml((PROJECT_ROOT / "dagster.yaml").read_text(), instance_dir)
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(text)
    from dagster._core.instance.ref import InstanceRef

    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        ref = InstanceRef.from_dir(str(home))
    for data in (ref.run_storage_data, ref.event_storage_data, ref.compute_logs_data):
        assert str(instance_dir) in data.config_yaml, data.config_yaml
    # Both spellings of the instance directory, and the workspace's working directory.
    relative, _ = instance_yaml("storage:\n  sqlite:\n    base_dir: data/dagster\n", instance_dir)
    assert str(instance_dir / "data/dagster") in relative
    _, named = instance_yaml("storage:\n  sqlite:\n    base_dir:\n      env: X_DIR\n", instance_dir)
    assert named == {"X_DIR": str(instance_dir)}
    workspace = workspace_yaml((PROJECT_ROOT / "workspace.yaml").read_text(), PROJECT_ROOT)
    assert f"working_directory: {PROJECT_ROOT}" in workspace


def _of_the_job() -> tuple[set[str], set[tuple[str, str]]]:
    """Every asset key and (asset, check) of the job's definition: what `execute_in_process` of
    it materializes and evaluates (tests/test_end_to_end.py holds every in-process sync to it)."""
    graph = defs.resolve_job_def(SYNC_JOB).asset_layer.asset_graph
    assets = {"/".join(key.path) for key in graph.executable_asset_keys}
    checks = {("/".join(key.asset_key.path), key.name) for key in graph.asset_check_keys}
    return assets, checks


def _explain(dagster: LaunchedDagster, run: LaunchedRun) -> str:
    return f"{run.status}, failed steps {run.failed_steps}; daemon log:\n{dagster.daemon_tail()}"


@pytest.mark.slow
def test_first_sync_as_launched_does_what_in_process_does_in_one_worker(
    launched: Launched,
) -> None:
    dagster = launched.dagster
    run = dagster.wait(dagster.launch(SYNC_JOB), timeout=RUN_TIMEOUT)
    assets, checks = _of_the_job()
    assert run.status == "SUCCESS", _explain(dagster, run)
    assert run.asset_keys == assets
    assert run.check_keys == checks
    assert all(c["passed"] for c in run.checks), [c for c in run.checks if not c["passed"]]

    # The daemon's code server started the run worker (not this process's workspace).
    assert run.worker_pid is not None and dagster.daemon_pid in run.worker_ancestors
    # Every step ran in the worker: the only other Python process in its tree is Dagster's
    # compute-log watcher (the multiprocess executor would start one process per step).
    pythons = {
        pid: name
        for pid, name in run.process_table.items()
        if name.startswith("python") and "watch_orphans" not in name
    }
    assert list(pythons) == [run.worker_pid], run.process_table
    assert run.processes_started is not None
    assert run.processes_started < len(run.step_seconds), run.process_table


@pytest.mark.slow
def test_two_syncs_requested_at_once_run_one_after_the_other(launched: Launched) -> None:
    dagster = launched.dagster
    first, second = dagster.launch(SYNC_JOB), dagster.launch(SYNC_JOB)
    waiting: str | None = None  # the run seen QUEUED while the other was STARTED
    queue_state: dict | None = None
    blocked: list[str] = []
    deadline = time.monotonic() + 2 * RUN_TIMEOUT
    while time.monotonic() < deadline:
        statuses = {first: dagster.status(first), second: dagster.status(second)}
        assert not all(s in ACTIVE for s in statuses.values()), statuses
        if sorted(statuses.values()) == ["QUEUED", "STARTED"] and waiting is None:
            waiting = next(r for r, s in statuses.items() if s == "QUEUED")
            queue_state = dagster.queue_state(waiting)
        if waiting is not None and statuses[waiting] == "QUEUED" and not blocked:
            blocked = dagster.blocked_messages(waiting)
        if all(s in {"SUCCESS", "FAILURE", "CANCELED"} for s in statuses.values()):
            break
        time.sleep(0.2)
    runs = sorted((dagster.wait(first), dagster.wait(second)), key=lambda r: r.started_at or 0)
    assert [r.status for r in runs] == ["SUCCESS", "SUCCESS"], [_explain(dagster, r) for r in runs]
    # From the run records: the second started only after the first had ended.
    assert runs[0].ended_at is not None and runs[1].started_at is not None
    assert runs[0].ended_at <= runs[1].started_at
    assert waiting is not None, "never saw one sync QUEUED while the other was STARTED"
    assert waiting == runs[1].run_id

    # Why it waited, as the UI shows it: the run's pools, each limited to 1 run at a time.
    assert queue_state is not None
    run = queue_state["runOrError"]
    assert run["status"] == "QUEUED"
    assert set(run["allPools"]) >= POOLS
    instance = queue_state["instance"]
    assert instance["poolConfig"]["poolGranularity"] == "run"
    limits = {c["concurrencyKey"]: c["limit"] for c in instance["concurrencyLimits"]}
    assert {pool: limits.get(pool) for pool in POOLS} == dict.fromkeys(POOLS, 1)
    # ... and the daemon's own word for it.
    assert blocked and "blocked by global concurrency limits" in blocked[0], blocked


def _steps_in_plan(dagster: LaunchedDagster, run_id: str) -> int:
    run = dagster.instance.get_run_by_id(run_id)
    snapshot = dagster.instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    return len(snapshot.steps)


def _pushing(dagster: LaunchedDagster, run_id: str) -> bool:
    """The run has pushed at least one resource to SSM (and may be pushing the next)."""
    done = dagster.instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=500
    ).records
    keys = [r.event_log_entry.dagster_event.asset_key for r in done]  # type: ignore[union-attr]
    return any(key is not None and key.path[0] == "ssm" for key in keys)


@pytest.mark.slow
def test_a_cancelled_sync_and_a_killed_one_never_block_the_next(launched: Launched) -> None:
    """Two interruptions, then a sync that gets through without anyone freeing anything.

    1. A sync cancelled mid-run ends CANCELED and sets off nothing.
    2. A power cut mid-push: the daemon, its code server and the run worker die together, so
       nobody records the run's end; the sensor `free_dead_runs` marks it failed once it has
       been silent too long (15 s here), and the next sync starts.
    SSM then holds every desired record once."""
    dagster = launched.dagster
    run_id = dagster.launch(SYNC_JOB)
    deadline = time.monotonic() + RUN_TIMEOUT
    while not dagster.instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1
    ).records:
        assert dagster.status(run_id) in {"QUEUED", "STARTING", "STARTED"}
        assert time.monotonic() < deadline, dagster.daemon_tail()
        time.sleep(0.1)
    dagster.cancel(run_id)
    cancelled = dagster.wait(run_id, timeout=RUN_TIMEOUT)
    assert cancelled.status == "CANCELED", _explain(dagster, cancelled)
    assert cancelled.materialized  # it was under way ...
    assert len(cancelled.step_seconds) < _steps_in_plan(dagster, run_id)  # ... and stopped
    assert cancelled.ended_at is not None

    killed = dagster.launch(SYNC_JOB)
    deadline = time.monotonic() + RUN_TIMEOUT
    while not _pushing(dagster, killed):
        assert dagster.status(killed) in {"QUEUED", "STARTING", "STARTED"}, dagster.daemon_tail()
        assert time.monotonic() < deadline, dagster.daemon_tail()
        time.sleep(0.1)
    # Every running sensor has ticked since the cancel, and launched nothing about it.
    sensors = dagster.running_sensors()
    ticks = dagster.sensor_ticks_after(cancelled.ended_at)
    dagster.kill_daemon()
    assert dagster.status(killed) == "STARTED"  # what Dagster alone would show for ever

    dagster.restart_daemon()
    following = dagster.run(SYNC_JOB, timeout=RUN_TIMEOUT)

    assert following.status == "SUCCESS", _explain(dagster, following)
    assert dagster.status(killed) == "FAILURE"
    failure = dagster.instance.get_records_for_run(
        killed, of_type=dg.DagsterEventType.RUN_FAILURE
    ).records[0]
    assert "gave no sign of life" in (failure.event_log_entry.message or "")
    assert failure.timestamp < (following.started_at or 0)  # freed first, then started
    assert_ssm_holds_desired(launched.warehouse, launched.ssm)

    if not all(ticks.values()):  # the kill came first: look again now
        window = max((s.min_interval_seconds for s in sensors), default=0) + 60
        deadline = time.monotonic() + window
        while not all(ticks.values()) and time.monotonic() < deadline:
            time.sleep(1)
            ticks = dagster.sensor_ticks_after(cancelled.ended_at)
    assert all(ticks.values()), ticks
    # No sensor launched a sync of its own (the reverse flow's sensors may launch their small
    # jobs, which never push: they read what reps changed in SSM).
    foreign = [
        (r.run_id, r.job_name, r.status.value, r.tags)
        for r in dagster.foreign_runs()
        if r.job_name not in {"ssm_to_sage", "ssm_quotes"}
    ]
    assert foreign == []
