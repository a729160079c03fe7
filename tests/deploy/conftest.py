"""One production topology for the whole session (test_topology.py and test_ui.py share it):
PostgreSQL, the connector's code server, dagster-webserver and dagster-daemon on deploy/'s files,
the tiny demo company and the SSM sandbox as a process. Logs land in the session's temporary
folder (`deploy-topology*`); every process is stopped at the end, failed tests or not.

The sync schedule is marked started 16 minutes ago before the daemon starts, so the daemon's
first scheduler iteration evaluates the quarter-hour tick it missed: the session's first sync is
the schedule's (a tick through the daemon, and the first sync that every later test builds on)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.launched import connector_env
from bench.topology import PostgresCluster, Topology, TopologyFailed, postgres_unavailable
from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.conftest import IN_CI

SCHEDULE = "sage_ssm_sync_every_15_minutes"
RUN_TIMEOUT = 600.0

# As in tests/pipelines/test_launched.py: a silent run is dead after 15 s (300 s by default), so
# the killed-host test need not wait five minutes.
LIVENESS = {
    "RUN_HEARTBEAT_SECONDS": "1",
    "RUN_DEAD_AFTER_SECONDS": "15",
    "RUN_DEAD_CHECK_SECONDS": "3",
}


@dataclass
class Deployment:
    topology: Topology
    postgres: PostgresCluster
    ssm: SandboxProcess
    warehouse: Path
    logs: Path
    scheduled_at: float  # when the schedule was marked started (16 minutes back)

    def a_successful_sync(self, timeout: float = RUN_TIMEOUT) -> str:
        """The id of a sync that succeeded on this instance, waiting for one in flight."""
        import dagster as dg

        instance = self.topology.instance
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = instance.get_run_records(
                dg.RunsFilter(job_name="sage_ssm_sync", statuses=[dg.DagsterRunStatus.SUCCESS]),
                limit=1,
            )
            if done:
                return done[0].dagster_run.run_id
            time.sleep(0.5)
        raise TopologyFailed(f"no sync succeeded within {timeout:.0f} s")


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    reason = postgres_unavailable()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    from sandbox.sage_demo import generate

    work = tmp_path_factory.mktemp("deploy-topology")
    company = work / "sage50-demo.sqlite"
    generate(company, size="tiny", seed=1)
    with running_sandbox(work) as ssm, PostgresCluster(work) as postgres:
        env = connector_env(work, company, ssm.base_url, ssm.public_key, ssm.private_key, 200)
        scheduled_at = time.time() - 16 * 60
        with Topology(
            work / "dagster",
            {**env, **LIVENESS},
            postgres,
            before_daemon=lambda topology: topology.start_schedule_as_of(SCHEDULE, scheduled_at),
        ) as topology:
            yield Deployment(
                topology, postgres, ssm, Path(env["WAREHOUSE_PATH"]), work, scheduled_at
            )
