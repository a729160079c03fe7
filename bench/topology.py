"""The production topology on one machine: deploy/dagster.yaml and deploy/workspace.yaml for real.

    with PostgresCluster(workdir / "pg") as postgres, Topology(workdir, env, postgres) as topology:
        run_id = topology.launch("sage_ssm_sync")    # GraphQL `launchRun` to the webserver
        topology.wait(run_id).status                 # read from Postgres
        topology.sql("SELECT count(*) FROM runs")

What runs, each as its own process, as on separate hosts:

- PostgreSQL from Debian's packages (`initdb` / `pg_ctl` in /usr/lib/postgresql/*/bin), a cluster
  of its own on a free port, password authentication over TCP. PostgreSQL refuses to run as
  root: as root the cluster belongs to the `postgres` user (`runuser`).
- the connector's code server, `dagster code-server start -m pipelines.definitions` (what the
  Windows service runs next to Sage), with the connector's settings (SSM keys, the Sage source);
- `dagster-webserver` and `dagster-daemon run`, whose workspace is deploy/workspace.yaml (a
  `grpc_server` entry: they load the connector from the code server, never import it) and whose
  instance is deploy/dagster.yaml, copied unchanged into their DAGSTER_HOME: every setting comes
  from the environment (DAGSTER_PG_*, DAGSTER_COMPUTE_LOG_DIR, SAGE50_CODE_SERVER_*).

Runs are launched as the UI launches them (GraphQL over HTTP to the webserver), queued in
Postgres, dequeued by the daemon, and started by the code server (the default run launcher).

`python -m bench.topology` measures the no-change cycle of the small company launched through
the daemon on this topology next to the embedded default (bench.launched: SQLite instance,
python_module workspace), 3 cycles each, and prints both medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.launched import _CLEARED, _environment, _terminate, connector_env

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEPLOY = PROJECT_ROOT / "deploy"
LOCATION = "sage50_ssm"  # deploy/workspace.yaml
REPOSITORY = "__repository__"  # the one Definitions object's repository
SYNC_JOB = "sage_ssm_sync"
START_TIMEOUT = 180.0
DB_NAME = "dagster"
DB_USER = "dagster"

LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConflict { message }
    ... on UnauthorizedError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
    ... on PresetNotFoundError { message }
  }
}
"""

LOCATION_STATUS = """
query { workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


class TopologyFailed(RuntimeError):
    """A process of the topology did not start or answer; says which and its log's tail."""


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _free_port() -> int:
    from sandbox.ssm.testing import free_port

    return free_port()


# ------------------------------------------------------------------------------ PostgreSQL


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL server's bin directory, None when the package is missing."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def postgres_unavailable() -> str | None:
    """Why this machine cannot start a PostgreSQL cluster for a test (None when it can)."""
    if postgres_bin() is None:
        return (
            "PostgreSQL is not installed (apt-get install postgresql; `make test` does it as root)"
        )
    if os.geteuid() == 0:
        try:
            import pwd  # POSIX only, and only here

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to own the cluster"
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is missing"
    return None


class PostgresCluster:
    """A throw-away PostgreSQL cluster: initdb into a fresh directory, started on a free port.

    Durability is switched off (fsync, synchronous_commit): the cluster lives for one test
    session, and Dagster writes an event per step."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = Path(log_dir)
        self.port = _free_port()
        self.password = os.urandom(12).hex()
        self.bin = postgres_bin()
        self.root: Path | None = None

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def _as_owner(self, *command: str | Path) -> list[str]:
        words = [str(c) for c in command]
        return ["runuser", "-u", "postgres", "--", *words] if os.geteuid() == 0 else words

    def _run(self, *command: str | Path) -> None:
        done = subprocess.run(self._as_owner(*command), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise TopologyFailed(f"{command[0]} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")

    def __enter__(self) -> PostgresCluster:
        reason = postgres_unavailable()
        if reason:
            raise TopologyFailed(reason)
        assert self.bin is not None
        # Not under pytest's tmp_path: that is private to this user, the cluster's owner may not
        # enter it. The log is copied next to the others on stop.
        self.root = Path(tempfile.mkdtemp(prefix="sage50-ssm-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        password_file = self.root / "password"
        password_file.write_text(self.password)
        if os.geteuid() == 0:
            shutil.chown(password_file, "postgres", "postgres")
        try:
            self._run(
                self.bin / "initdb", "-D", self.data_dir, "-U", DB_USER, "--pwfile", password_file,
                "--auth-local=trust", "--auth-host=md5", "-E", "UTF8", "--no-sync",
            )  # fmt: skip
            password_file.unlink()
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            self._run(
                self.bin / "pg_ctl", "-D", self.data_dir, "-l", self.root / "postgres.log",
                "-o", options, "-w", "-t", "60", "start",
            )  # fmt: skip
            self._create_database()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connect(self, dbname: str = DB_NAME) -> Any:
        import psycopg2

        return psycopg2.connect(
            host="127.0.0.1", port=self.port, user=DB_USER, password=self.password, dbname=dbname
        )

    def _create_database(self) -> None:
        connection = self.connect("postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {DB_NAME}")
            # Dagster's storages open a connection per query (NullPool): a SCRAM handshake cost
            # ~11 ms each here, md5 a fraction of it. Still a password over TCP, as deployed.
            cursor.execute("SET password_encryption = 'md5'")
            cursor.execute(f"ALTER USER {DB_USER} PASSWORD %s", (self.password,))
        connection.close()

    @property
    def env(self) -> dict[str, str]:
        """deploy/dagster.yaml's storage settings for this cluster."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": DB_USER,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": DB_NAME,
        }

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def stop(self) -> None:
        if self.root is None:
            return
        if (self.data_dir / "postmaster.pid").exists() and self.bin is not None:
            subprocess.run(
                self._as_owner(self.bin / "pg_ctl", "-D", self.data_dir, "-m", "immediate", "stop"),
                capture_output=True,
                timeout=60,
            )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if (self.root / "postgres.log").exists():
            shutil.copyfile(self.root / "postgres.log", self.log_dir / "postgres.log")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


# ------------------------------------------------------------------------------ Dagster processes


@dataclass
class RunOutcome:
    run_id: str
    status: str
    submitted_at: float
    started_at: float | None
    ended_at: float | None

    @property
    def wall_seconds(self) -> float | None:
        """Submission -> end: what a user waits for after pressing Launch."""
        return None if self.ended_at is None else self.ended_at - self.submitted_at


class Topology:
    """Code server, webserver and daemon on deploy/dagster.yaml + deploy/workspace.yaml."""

    def __init__(
        self,
        workdir: Path,
        connector: Mapping[str, str],
        postgres: PostgresCluster,
        before_daemon: Callable[[Topology], None] | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.home = self.workdir / "home"
        self.compute_logs = self.workdir / "compute_logs"  # the share every host mounts
        self.workspace_path = self.home / "workspace.yaml"
        self.postgres = postgres
        self.code_server_port = _free_port()
        self.webserver_port = _free_port()
        self.connector = dict(connector)
        self.env: dict[str, str] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.trees: dict[str, dict[int, psutil.Process]] = {}
        self.instance: Any = None
        self._workspace: Any = None
        self._stack: list[Any] = []
        self.launched: dict[str, float] = {}
        self.startup_seconds: float | None = None
        # Instance state to set before the daemon's first iteration (e.g. a schedule's start).
        self.before_daemon = before_daemon

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    # -------------------------------------------------------------------- lifecycle

    def __enter__(self) -> Topology:
        started = time.perf_counter()
        try:
            self._prepare()
            self.start_code_server(wait=False)
            self._open_instance()  # creates the schema once, before two processes race for it
            self._wait_for_code_server()
            self._open_workspace()
            self._start("webserver", self._webserver_command(), self.dagster_env)
            if self.before_daemon is not None:
                self.before_daemon(self)
            self._start("daemon", self._daemon_command(), self.dagster_env)
            self._wait_for_webserver()
            self._wait_for_daemon()
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.perf_counter() - started
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.compute_logs.mkdir(parents=True, exist_ok=True)
        # The operator's files, unchanged: the environment says where everything is.
        shutil.copyfile(DEPLOY / "dagster.yaml", self.home / "dagster.yaml")
        shutil.copyfile(DEPLOY / "workspace.yaml", self.workspace_path)
        if "DATA_DIR" in self.connector:
            Path(self.connector["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        self.env = {
            **self.postgres.env,
            "DAGSTER_HOME": str(self.home),
            "DAGSTER_COMPUTE_LOG_DIR": str(self.compute_logs),
            "SAGE50_CODE_SERVER_HOST": "127.0.0.1",
            "SAGE50_CODE_SERVER_PORT": str(self.code_server_port),
            "PYTHONWARNINGS": "ignore",
        }
        manager = _environment(self.env, _CLEARED)
        manager.__enter__()
        self._stack.append(manager)

    @property
    def dagster_env(self) -> dict[str, str]:
        """What the Linux hosts get: the instance's settings, none of the connector's."""
        base = {k: v for k, v in os.environ.items() if k not in self.connector}
        return {**base, **self.env}

    @property
    def code_server_env(self) -> dict[str, str]:
        """What the Windows service gets: the instance's settings and the connector's."""
        return {
            **os.environ,
            **self.env,
            **self.connector,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
        }

    @staticmethod
    def _script(name: str) -> str:
        script = Path(sys.executable).parent / name
        return str(script) if script.exists() else name

    def _code_server_command(self) -> list[str]:
        return [
            self._script("dagster"), "code-server", "start", "-m", "pipelines.definitions",
            "-h", "127.0.0.1", "-p", str(self.code_server_port), "--location-name", LOCATION,
        ]  # fmt: skip

    def _webserver_command(self) -> list[str]:
        return [
            self._script("dagster-webserver"), "-w", str(self.workspace_path),
            "-h", "127.0.0.1", "-p", str(self.webserver_port),
        ]  # fmt: skip

    def _daemon_command(self) -> list[str]:
        return [self._script("dagster-daemon"), "run", "-w", str(self.workspace_path)]

    def _start(self, name: str, command: list[str], env: Mapping[str, str]) -> None:
        with self.log(name).open("ab") as log:
            self.processes[name] = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT if name == "code-server" else self.workdir,
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                # No preexec_fn: this process holds gRPC threads (its workspace), and running
                # Python code between fork and exec then crashed the child (SIGSEGV). close()
                # stops every process, on failures too.
                start_new_session=True,
            )

    def _alive(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is not None:
            raise TopologyFailed(
                f"{name} exited with {process.returncode}: {_tail(self.log(name))}"
            )

    def start_code_server(self, wait: bool = True) -> None:
        """Start the code server (again), as the Windows service manager does after a crash."""
        self._start("code-server", self._code_server_command(), self.code_server_env)
        if wait:
            self._wait_for_code_server()

    def _wait_for_code_server(self) -> None:
        from dagster._grpc.client import DagsterGrpcClient

        client = DagsterGrpcClient(port=self.code_server_port, host="127.0.0.1")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._alive("code-server")
            try:
                # Answers once the definitions are loaded (an error while they load).
                answer = client.list_repositories()
                if "ListRepositoriesResponse" in str(answer)[:200]:
                    return
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            time.sleep(0.25)
        raise TopologyFailed(f"the code server did not load: {_tail(self.log('code-server'))}")

    def _open_instance(self) -> None:
        import dagster as dg
        from dagster._core.instance.ref import InstanceRef

        self.instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home)))

    def _open_workspace(self) -> None:
        """This process's view of the workspace (the code server over gRPC, as the daemon's)."""
        from dagster._core.workspace.context import WorkspaceProcessContext
        from dagster._core.workspace.load_target import WorkspaceFileTarget

        self._workspace = WorkspaceProcessContext(
            self.instance, WorkspaceFileTarget(paths=[str(self.workspace_path)])
        )
        self._workspace.__enter__()

    def _wait_for_webserver(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._alive("webserver")
            try:
                entries = self.graphql(LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    errors = [
                        e
                        for e in entries
                        if e["locationOrLoadError"]["__typename"] == "PythonError"
                    ]
                    if errors:
                        raise TopologyFailed(f"the webserver could not load: {errors}")
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise TopologyFailed(f"the webserver did not start: {_tail(self.log('webserver'))}")

    def _wait_for_daemon(self) -> None:
        from dagster._daemon.controller import get_daemon_statuses

        required = self.instance.get_required_daemon_types()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._alive("daemon")
            statuses = get_daemon_statuses(self.instance, required, ignore_errors=True)
            if all(s.healthy for s in statuses.values()):
                return
            time.sleep(0.25)
        raise TopologyFailed(f"the daemons {required} did not start: {_tail(self.log('daemon'))}")

    def _tree(self, name: str) -> list[psutil.Process]:
        process = self.processes.get(name)
        if process is None:
            return []
        try:
            root = psutil.Process(process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill_code_server(self) -> list[int]:
        """SIGKILL the code server and everything it started (its gRPC server, run workers) at
        once: the Windows host losing power. Nothing records how its runs ended. The pids."""
        tree = self._tree("code-server")
        for process in tree:
            try:
                process.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                continue
        psutil.wait_procs(tree, timeout=10)
        self.processes.pop("code-server").wait(timeout=10)
        return [p.pid for p in tree]

    def close(self) -> None:
        """Stop every process (daemon first: it launches nothing more), then the rest."""
        for name in ("daemon", "webserver", "code-server"):
            tree = self._tree(name)
            process = self.processes.pop(name, None)
            if process is None:
                continue
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
            _terminate(tree[1:])
        if self._workspace is not None:
            self._workspace.__exit__(None, None, None)
            self._workspace = None
        if self.instance is not None:
            self.instance.dispose()
            self.instance = None
        while self._stack:
            self._stack.pop().__exit__(None, None, None)

    # -------------------------------------------------------------------- the UI's API

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One request to the webserver's GraphQL endpoint, as the UI sends it."""
        answer = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": dict(variables or {})},
            timeout=60,
        )
        answer.raise_for_status()
        body = answer.json()
        if body.get("errors"):
            raise TopologyFailed(f"GraphQL error: {body['errors'][0]}")
        return body["data"]

    def launch(
        self,
        job: str = SYNC_JOB,
        tags: Mapping[str, str] | None = None,
        run_config: Mapping[str, Any] | None = None,
    ) -> str:
        """Submit a run of `job` through the webserver; its run id."""
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "jobName": job,
            },
            "runConfigData": dict(run_config or {}),
            "executionMetadata": {
                "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]
            },
        }
        submitted = time.time()
        answer = self.graphql(LAUNCH_RUN, {"executionParams": params})["launchRun"]
        if answer["__typename"] != "LaunchRunSuccess":
            raise TopologyFailed(f"launching {job} failed: {json.dumps(answer)}")
        run_id = answer["run"]["runId"]
        self.launched[run_id] = submitted
        return run_id

    def status(self, run_id: str) -> str:
        run = self.instance.get_run_by_id(run_id)
        if run is None:
            raise TopologyFailed(f"no run {run_id}")
        return run.status.value

    def wait(self, run_id: str, timeout: float = 600.0, statuses: set[str] = frozenset()) -> str:
        """Wait until the run finished (or reached one of `statuses`); its status."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.instance.get_run_by_id(run_id)
            if run is not None and (run.is_finished or run.status.value in statuses):
                return run.status.value
            if time.monotonic() > deadline:
                raise TopologyFailed(
                    f"run {run_id} still {run.status.value if run else 'absent'} after "
                    f"{timeout:.0f} s; daemon log:\n{_tail(self.log('daemon'))}"
                )
            self._alive("daemon")
            time.sleep(0.1)

    def outcome(self, run_id: str) -> RunOutcome:
        record = self.instance.get_run_record_by_id(run_id)
        created = record.create_timestamp.timestamp()
        return RunOutcome(
            run_id=run_id,
            status=record.dagster_run.status.value,
            submitted_at=self.launched.get(run_id, created),
            started_at=record.start_time,
            ended_at=record.end_time,
        )

    def run(self, job: str = SYNC_JOB, timeout: float = 600.0) -> RunOutcome:
        run_id = self.launch(job)
        self.wait(run_id, timeout)
        return self.outcome(run_id)

    # -------------------------------------------------------------------- schedules, sensors

    def _repository(self) -> Any:
        context = self._workspace.create_request_context()
        location = context.get_code_location(LOCATION)
        return location.get_repository(REPOSITORY)

    def schedule(self, name: str) -> Any:
        return self._repository().get_schedule(name)

    def sensor(self, name: str) -> Any:
        return self._repository().get_sensor(name)

    def start_schedule_as_of(self, name: str, started_at: float) -> None:
        """Mark the schedule started at `started_at`: the daemon's next iteration evaluates
        every cron tick since then that it has not evaluated (as after a daemon restart)."""
        from dagster._core.scheduler.instigation import (
            InstigatorState,
            InstigatorStatus,
            InstigatorType,
            ScheduleInstigatorData,
        )

        schedule = self.schedule(name)
        state = InstigatorState(
            schedule.get_remote_origin(),
            InstigatorType.SCHEDULE,
            InstigatorStatus.RUNNING,
            ScheduleInstigatorData(schedule.cron_schedule, start_timestamp=started_at),
        )
        stored = self.instance.get_instigator_state(
            schedule.get_remote_origin_id(), schedule.selector_id
        )
        if stored is None:
            self.instance.add_instigator_state(state)
        else:
            self.instance.update_instigator_state(state)

    def stop_schedule(self, name: str) -> None:
        schedule = self.schedule(name)
        self.instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)

    def ticks(self, instigator: Any, after: float | None = None) -> list[Any]:
        return list(
            self.instance.get_ticks(
                instigator.get_remote_origin_id(), instigator.selector_id, after=after
            )
        )


# ------------------------------------------------------------------------------ the figure


@contextmanager
def _company_and_sandbox(work: Path, size: str) -> Iterator[tuple[Path, Any]]:
    from sandbox.sage_demo import generate
    from sandbox.ssm.testing import running_sandbox

    company = work / "company" / "sage50-demo.sqlite"
    company.parent.mkdir(parents=True, exist_ok=True)
    generate(company, size=size, seed=1)
    (work / "sandbox").mkdir(parents=True, exist_ok=True)
    with running_sandbox(work / "sandbox") as ssm:
        yield company, ssm


def _no_change_cycles(launch_and_wait: Any, cycles: int) -> list[float]:
    """The first sync (not counted), then `cycles` syncs with nothing changed: wall seconds."""
    first = launch_and_wait()
    if first[0] != "SUCCESS":
        raise TopologyFailed(f"the first sync ended {first[0]}")
    seconds = []
    for _ in range(cycles):
        status, wall = launch_and_wait()
        if status != "SUCCESS":
            raise TopologyFailed(f"a no-change cycle ended {status}")
        seconds.append(wall)
    return seconds


def measure(size: str = "small", cycles: int = 3) -> dict[str, Any]:
    """The no-change cycle, launched through the daemon, on both instances: seconds each."""
    from bench.launched import LaunchedDagster

    figures: dict[str, Any] = {"size": size, "cycles": cycles}
    with tempfile.TemporaryDirectory(prefix="bench-topology-") as tmp:
        work = Path(tmp)
        with _company_and_sandbox(work / "embedded", size) as (company, ssm):
            env = connector_env(
                work / "embedded", company, ssm.base_url, ssm.public_key, ssm.private_key, 200
            )
            with LaunchedDagster(work / "embedded" / "dagster", env) as dagster:

                def embedded() -> tuple[str, float]:
                    run = dagster.run(SYNC_JOB, timeout=1800, sample=False)
                    return run.status, run.wall_seconds or 0.0

                figures["embedded"] = _no_change_cycles(embedded, cycles)
        with _company_and_sandbox(work / "postgres", size) as (company, ssm):
            env = connector_env(
                work / "postgres", company, ssm.base_url, ssm.public_key, ssm.private_key, 200
            )
            with (
                PostgresCluster(work / "postgres" / "logs") as postgres,
                Topology(work / "postgres" / "dagster", env, postgres) as topology,
            ):

                def distributed() -> tuple[str, float]:
                    run = topology.run(SYNC_JOB, timeout=1800)
                    return run.status, run.wall_seconds or 0.0

                figures["postgres"] = _no_change_cycles(distributed, cycles)
    for name in ("embedded", "postgres"):
        figures[f"{name}_median"] = statistics.median(figures[name])
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="small", choices=["tiny", "small", "large"])
    parser.add_argument("--cycles", type=int, default=3)
    args = parser.parse_args(argv)
    figures = measure(args.size, args.cycles)
    print(
        f"no-change cycle of the {args.size} company, launched through the daemon "
        f"(median of {args.cycles}, submission to end):"
    )
    for name, label in (
        ("embedded", "embedded default (SQLite instance, python_module workspace)"),
        ("postgres", "production topology (Postgres, code server over gRPC, webserver)"),
    ):
        runs = ", ".join(f"{s:.1f}" for s in figures[name])
        print(f"  {label}: {figures[f'{name}_median']:.1f} s  ({runs})")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
