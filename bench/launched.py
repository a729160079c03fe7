"""Run the connector the way users run it: launched through the Dagster daemon's run queue.

    env = connector_env(tmp_path, company, ssm.base_url, ssm.public_key, ssm.private_key, 200)
    with LaunchedDagster(tmp_path / "dagster", env) as dagster:
        run = dagster.run("sage_ssm_sync")   # submit to the queue, wait, measure
        run.status, run.queue_seconds, run.processes, run.asset_keys, run.check_keys

What it sets up in `workdir` (nothing in the project's `data/`):

- `home/`: DAGSTER_HOME with the project's own `dagster.yaml`, read when the harness starts so
  the instance follows whatever the file says: a relative `base_dir` (today `data/dagster`,
  which Dagster resolves against each process's working directory) is made absolute under
  `home/instance` in the copy, and an environment variable named for a directory
  (`base_dir: {env: DAGSTER_INSTANCE_DIR}`, as it was) is set to `home/instance`.
- `workspace.yaml`: the project's own `workspace.yaml` (python_module `pipelines.definitions`,
  location `sage50_ssm`) with its working directory made absolute (the project root).
- `dagster-daemon run -w workspace.yaml` as a real process (scheduler, sensors, backfills, the
  run queue, ...), with the environment the resources read (`connector_env`). Its schedules are
  stopped before it starts (`schedules=False`, the default), so a quarter-hour tick never adds
  a run to a test or a measurement; its sensors keep the state their definitions give them.

How a run is launched (`launch`): the GraphQL mutation the UI sends when you press *Launch run*
(`launchPipelineExecution`), executed in this process by dagster-graphql's own schema against a
workspace of the same `workspace.yaml` (with its own code server, as the webserver has). Its
resolver creates the run from the code server's job snapshot and calls `instance.submit_run`:
the instance's run coordinator, the QueuedRunCoordinator (the default, not overridden by
`dagster.yaml`), stores RUN_ENQUEUED and nothing else. The daemon's QueuedRunCoordinatorDaemon
dequeues it when `max_concurrent_runs`, the tag limits and the pools (`granularity: run`) allow,
and the instance's DefaultRunLauncher asks the *daemon's* code server (gRPC `StartRun`) to spawn
the run worker, which executes the job with the job's own executor. `dagster job launch` does
the same submit (create_run + submit_run) but loads a fresh code server per call; the UI keeps
one, as this harness does. `cancel` sends the UI's `terminateRun` mutation (the run coordinator's
`cancel_run` -> DefaultRunLauncher.terminate -> gRPC `CancelExecution` -> the run worker).

What `wait` returns (`LaunchedRun`): status, submission -> end wall time, the queue wait
(created -> started, from the run record), the run's duration (started -> ended), a breakdown
of the time between those events from the event log, the asset materializations and check
evaluations of the run, and the run worker's process tree (the worker is found by the pid in its
"Started process for run" event and sampled with psutil every 0.1 s): how many processes at
most, which, and the peak resident memory of the tree.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SYNC_JOB = "sage_ssm_sync"
SAMPLE_SECONDS = 0.1
DAEMON_START_TIMEOUT = 180.0

LAUNCH_MUTATION = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConflict { message }
    ... on UnauthorizedError { message }
    ... on PresetNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
  }
}
"""

TERMINATE_MUTATION = """
mutation TerminateRun($runId: String!) {
  terminateRun(runId: $runId) {
    __typename
    ... on TerminateRunSuccess { run { runId status } }
    ... on TerminateRunFailure { message }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""

# What the UI's queued-run dialog reads: the run's pools and the instance's queue and pool limits.
QUEUE_QUERY = """
query QueueState($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status allPools rootConcurrencyKeys tags { key value } }
  }
  instance {
    runQueueConfig { maxConcurrentRuns tagConcurrencyLimitsYaml }
    poolConfig { poolGranularity defaultPoolLimit }
    concurrencyLimits { concurrencyKey limit slotCount usingDefaultLimit }
  }
}
"""


class LaunchFailed(RuntimeError):
    """The daemon, the workspace or a launch did not do what it should; says what and why."""


# ------------------------------------------------------------------------------ environment


def connector_env(
    workdir: Path,
    company: Path,
    base_url: str,
    public_key: str,
    private_key: str,
    rate: float,
    *,
    odbc_connection: str | None = None,
) -> dict[str, str]:
    """The settings `pipelines.resources` reads, for one company, warehouse and SSM sandbox.

    With `odbc_connection` the company is read through ODBC (SAGE_ODBC_CONNECTION), else
    through SQLAlchemy's sqlite (SAGE_DATABASE_URL).
    """
    env = {
        "DATA_DIR": str(workdir / "data"),
        "WAREHOUSE_PATH": str(workdir / "data" / "warehouse.duckdb"),
        "SSM_BASE_URL": base_url,
        "SSM_PUBLIC_KEY": public_key,
        "SSM_PRIVATE_KEY": private_key,
        "SSM_REQUESTS_PER_SECOND": f"{rate:g}",
    }
    if odbc_connection:
        env["SAGE_ODBC_CONNECTION"] = odbc_connection
    else:
        env["SAGE_DATABASE_URL"] = f"sqlite:///{company}"
    return env


# Settings of the checkout's environment that must not leak into the harness's processes.
_CLEARED = ("SAGE_ODBC_CONNECTION", "SAGE_DATABASE_URL", "DAGSTER_HOME")


def instance_yaml(text: str, instance_dir: Path) -> tuple[str, dict[str, str]]:
    """The project's dagster.yaml for an instance in `instance_dir`, and the env it needs.

    Every `{env: NAME}` under a `*dir` key gets NAME = `instance_dir`; a literal relative
    `base_dir` becomes `instance_dir / value` (else each process would resolve it against its
    own working directory). Anything else in the file is kept as it is.
    """
    config = yaml.safe_load(text) or {}
    env: dict[str, str] = {}
    rewritten = False

    def walk(node: Any) -> None:
        nonlocal rewritten
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).endswith("dir"):
                    if isinstance(value, dict) and set(value) == {"env"}:
                        if value["env"] != "DAGSTER_HOME":
                            env[str(value["env"])] = str(instance_dir)
                    elif isinstance(value, str) and not Path(value).is_absolute():
                        node[key] = str(instance_dir / value)
                        rewritten = True
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(config)
    return (yaml.safe_dump(config, sort_keys=False) if rewritten else text), env


def workspace_yaml(text: str, project_root: Path) -> str:
    """The project's workspace.yaml with relative working directories made absolute."""
    config = yaml.safe_load(text)
    for entry in config.get("load_from", []):
        for target in entry.values():
            if isinstance(target, dict):
                directory = target.get("working_directory")
                if directory is None or not Path(directory).is_absolute():
                    target["working_directory"] = str((project_root / (directory or ".")).resolve())
    return yaml.safe_dump(config, sort_keys=False)


@contextmanager
def _environment(values: Mapping[str, str], cleared: tuple[str, ...]) -> Iterator[None]:
    """Set `values` (and unset `cleared`) in os.environ, restoring everything afterwards."""
    saved = {name: os.environ.get(name) for name in (*values, *cleared)}
    for name in cleared:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ------------------------------------------------------------------------------ one run


@dataclass
class LaunchedRun:
    """One run as launched: what the run record and the event log say, and its processes."""

    run_id: str
    job_name: str
    status: str
    tags: dict[str, str]
    submitted_at: float  # epoch s, when the launch request was sent
    created_at: float | None
    started_at: float | None
    ended_at: float | None
    phases: dict[str, float]  # seconds between the run's lifecycle events, in order
    materialized: list[str]  # asset keys ("sage/customer"), in event order, repeats kept
    checks: list[dict[str, Any]]  # {"asset", "check", "passed"}
    materialization_metadata: list[dict[str, Any]]  # {"asset": ..., "metadata": {...}}
    failed_steps: list[str]
    step_seconds: dict[str, float]  # STEP_START -> STEP_SUCCESS/FAILURE, per step
    worker_pid: int | None = None
    processes: int | None = None  # most processes seen at once: the run worker + descendants
    processes_started: int | None = None  # distinct processes seen in the tree over the run
    process_names: list[str] = field(default_factory=list)
    process_table: dict[int, str] = field(default_factory=dict)  # pid -> what it runs
    worker_ancestors: list[int] = field(default_factory=list)  # pids: code server, daemon, ...
    peak_rss_mib: float | None = None  # of the run worker's tree (sampled sum, or its VmHWM)
    samples: int = 0

    @property
    def wall_seconds(self) -> float | None:
        """Submission -> end: what a user waits for after pressing *Launch run*."""
        return None if self.ended_at is None else self.ended_at - self.submitted_at

    @property
    def queue_seconds(self) -> float | None:
        """Created -> started (the run record): queue, daemon poll, launch, worker start-up."""
        if self.created_at is None or self.started_at is None:
            return None
        return self.started_at - self.created_at

    @property
    def run_seconds(self) -> float | None:
        """Started -> ended (the run record)."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @property
    def asset_keys(self) -> set[str]:
        return set(self.materialized)

    @property
    def check_keys(self) -> set[tuple[str, str]]:
        return {(c["asset"], c["check"]) for c in self.checks}

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "wall_seconds": self.wall_seconds,
            "queue_seconds": self.queue_seconds,
            "run_seconds": self.run_seconds,
        }


def _key(asset_key: Any) -> str:
    return "/".join(asset_key.path)


def _metadata_value(entry: Any) -> Any:
    value = getattr(entry, "value", entry)
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def _pid_of(entry: Any) -> int | None:
    event = entry.dagster_event
    metadata = getattr(event.event_specific_data, "metadata", None) or {}
    if "pid" in metadata:
        return int(metadata["pid"].value)
    found = re.search(r"pid: (\d+)", entry.message or "")
    return int(found.group(1)) if found else None


def _phases(entries: list[Any], created_at: float | None) -> dict[str, float]:
    """Seconds between the lifecycle events of a run, in the order they happen.

    queued: created -> the daemon takes it (RUN_STARTING; the daemon polls the queue every
    `dequeue_interval_seconds` and waits for free pools); launch: -> the run worker's first
    event (gRPC StartRun, process spawn, instance load); load: -> RUN_START (the worker imports
    the code location and builds the job); setup: -> first step start (plan, resources);
    steps: -> last step end; finish: -> the run's end event.
    """
    from dagster import DagsterEventType as T

    first: dict[str, float] = {}
    last_step_end = None
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type
        stamp = entry.timestamp
        if kind == T.ENGINE_EVENT and "worker" not in first and _pid_of(entry) is not None:
            first["worker"] = stamp
        elif kind in (T.RUN_STARTING, T.RUN_START, T.STEP_START, T.RUN_ENQUEUED):
            first.setdefault(kind.value, stamp)
        elif kind in (T.STEP_SUCCESS, T.STEP_FAILURE):
            last_step_end = stamp
        elif kind in (T.RUN_SUCCESS, T.RUN_FAILURE, T.RUN_CANCELED):
            first.setdefault("end", stamp)
    marks = [
        ("created", created_at),
        ("queued", first.get(T.RUN_STARTING.value)),
        ("launch", first.get("worker")),
        ("load", first.get(T.RUN_START.value)),
        ("setup", first.get(T.STEP_START.value)),
        ("steps", last_step_end),
        ("finish", first.get("end")),
    ]
    phases: dict[str, float] = {}
    previous = None
    for name, stamp in marks:
        if stamp is None:
            continue
        if previous is not None:
            phases[name] = stamp - previous
        previous = stamp
    return phases


class _TreeSampler(threading.Thread):
    """Finds a run's worker pid in the event log, then samples its process tree until it ends."""

    def __init__(self, instance_ref: Any, run_id: str) -> None:
        super().__init__(name=f"sampler-{run_id[:8]}", daemon=True)
        self.instance_ref = instance_ref
        self.run_id = run_id
        self.stop = threading.Event()
        self.pid: int | None = None
        self.processes = 0
        self.started: dict[tuple[int, float], str] = {}  # (pid, create time) -> what it runs
        self.ancestors: list[int] = []  # the worker's parent, grandparent, ...
        self.names: set[str] = set()
        self.peak_rss = 0
        self.samples = 0

    def run(self) -> None:
        import dagster as dg

        with dg.DagsterInstance.from_ref(self.instance_ref) as instance:
            while not self.stop.is_set() and self.pid is None:
                # The worker names itself ("Executing steps in process (pid: N)"); an earlier
                # engine event may come from the process that launched it.
                for entry in instance.all_logs(
                    self.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT
                ):
                    if (entry.message or "").startswith("Executing steps in process"):
                        self.pid = _pid_of(entry)
                        break
                else:
                    run = instance.get_run_by_id(self.run_id)
                    if run is not None and run.is_finished:
                        return
                    time.sleep(SAMPLE_SECONDS)
        if self.pid is None:
            return
        try:
            worker = psutil.Process(self.pid)
            self.ancestors = [parent.pid for parent in worker.parents()]
        except psutil.NoSuchProcess:
            return
        while not self.stop.is_set():
            try:
                if worker.status() == psutil.STATUS_ZOMBIE:
                    break
                tree = [worker, *worker.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            rss = 0
            alive = 0
            for process in tree:
                try:
                    rss += process.memory_info().rss
                    key = (process.pid, process.create_time())
                    if key not in self.started:
                        self.started[key] = _describe(process)
                        self.names.add(self.started[key])
                    alive += 1
                except psutil.NoSuchProcess:
                    continue
            self.processes = max(self.processes, alive)
            self.peak_rss = max(self.peak_rss, rss, _high_water_mark(self.pid))
            self.samples += 1
            time.sleep(SAMPLE_SECONDS)


def _describe(process: psutil.Process) -> str:
    """A short, stable name: the executable and what it runs (`python -m X`, `-c spawn_main`)."""
    try:
        cmdline = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return process.name()
    name = Path(cmdline[0]).name if cmdline else process.name()
    if "-m" in cmdline:
        return f"{name} -m {cmdline[cmdline.index('-m') + 1]}"
    if "-c" in cmdline:
        code = cmdline[cmdline.index("-c") + 1]
        return f"{name} -c {'multiprocessing spawn' if 'spawn_main' in code else code[:40]}"
    return " ".join([name, *(Path(arg).name if "/" in arg else arg for arg in cmdline[1:2])])


def _high_water_mark(pid: int) -> int:
    """The process's peak resident set (VmHWM) in bytes, 0 when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# ------------------------------------------------------------------------------ the harness


class LaunchedDagster:
    """A Dagster instance, workspace and daemon on `workdir`, and runs launched into its queue."""

    def __init__(
        self,
        workdir: Path,
        env: Mapping[str, str],
        *,
        schedules: bool = False,
        project_root: Path = PROJECT_ROOT,
        daemon_log_level: str = "info",
        workspace: str | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.project_root = project_root
        self.home = self.workdir / "home"
        self.instance_dir = self.home / "instance"
        self.workspace_path = self.workdir / "workspace.yaml"
        self.daemon_log = self.workdir / "daemon.log"
        self.schedules = schedules
        self.daemon_log_level = daemon_log_level
        # The workspace's text (default: the project's workspace.yaml); several companies give
        # the one `python -m pipelines.companies workspace` writes.
        self._workspace_text = workspace
        self.env: dict[str, str] = {}
        self._given_env = dict(env)
        self.launched: dict[str, float] = {}  # run id -> submission time
        self._samplers: dict[str, _TreeSampler] = {}
        self._daemon: subprocess.Popen[bytes] | None = None
        self._daemon_tree: dict[int, psutil.Process] = {}
        self._stack: list[Any] = []
        self.instance: Any = None
        self._workspace: Any = None
        self._schema: Any = None
        self.startup_seconds: float | None = None

    # -------------------------------------------------------------------- lifecycle

    def __enter__(self) -> LaunchedDagster:
        started = time.perf_counter()
        try:
            self._prepare()
            self._open_workspace()
            if not self.schedules:
                # Before the daemon starts: its scheduler never sees them running.
                self.stop_schedules()
            self._start_daemon()
            self._wait_for_daemon()
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.perf_counter() - started
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _prepare(self) -> None:
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        text = (self.project_root / "dagster.yaml").read_text()
        config, instance_env = instance_yaml(text, self.instance_dir)
        (self.home / "dagster.yaml").write_text(config)
        text = self._workspace_text or (self.project_root / "workspace.yaml").read_text()
        self.workspace_path.write_text(workspace_yaml(text, self.project_root))
        if "DATA_DIR" in self._given_env:
            Path(self._given_env["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        self.env = {
            **self._given_env,
            **instance_env,
            "DAGSTER_HOME": str(self.home),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(self.project_root), os.environ.get("PYTHONPATH", "")) if p
            ),
            "PYTHONWARNINGS": "ignore",
        }
        # This process's instance and workspace (and the code server it starts) read the same
        # settings as the daemon's processes, for as long as the harness is open.
        manager = _environment(self.env, _CLEARED)
        manager.__enter__()
        self._stack.append(manager)
        import dagster as dg
        from dagster._core.instance.ref import InstanceRef

        self.instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home)))

    def _daemon_command(self) -> list[str]:
        script = Path(sys.executable).parent / "dagster-daemon"
        head = [str(script)] if script.exists() else [sys.executable, "-m", "dagster._daemon"]
        return [
            *head,
            "run",
            "-w",
            str(self.workspace_path),
            "--log-level",
            self.daemon_log_level,
        ]

    def _start_daemon(self) -> None:
        with self.daemon_log.open("ab") as log:
            self._daemon = subprocess.Popen(
                self._daemon_command(),
                cwd=self.workdir,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C reaches this process, whose `close` stops the daemon
                # in order; and on Linux the daemon gets SIGTERM if this process dies first.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def _open_workspace(self) -> None:
        from dagster._core.workspace.context import WorkspaceProcessContext
        from dagster._core.workspace.load_target import WorkspaceFileTarget

        self._workspace = WorkspaceProcessContext(
            self.instance,
            WorkspaceFileTarget(paths=[str(self.workspace_path)]),
            code_server_log_level="warning",
        )
        self._workspace.__enter__()
        context = self._workspace.create_request_context()
        errors = {
            name: entry.load_error
            for name, entry in context.get_code_location_entries().items()
            if entry.load_error is not None
        }
        if errors:
            raise LaunchFailed(f"the workspace did not load: {errors}")

    def _wait_for_daemon(self) -> None:
        from dagster._daemon.controller import get_daemon_statuses

        required = self.instance.get_required_daemon_types()
        deadline = time.monotonic() + DAEMON_START_TIMEOUT
        while time.monotonic() < deadline:
            assert self._daemon is not None
            if self._daemon.poll() is not None:
                raise LaunchFailed(
                    f"dagster-daemon exited with {self._daemon.returncode}: {self.daemon_tail()}"
                )
            statuses = get_daemon_statuses(self.instance, required, ignore_errors=True)
            if all(s.healthy for s in statuses.values()):
                self._daemon_tree = self._descendants(self._daemon.pid)
                return
            time.sleep(0.25)
        raise LaunchFailed(
            f"the daemons {required} did not all heartbeat within {DAEMON_START_TIMEOUT:.0f} s: "
            + self.daemon_tail()
        )

    def daemon_tail(self, chars: int = 3000) -> str:
        return (
            self.daemon_log.read_text(errors="replace")[-chars:] if self.daemon_log.exists() else ""
        )

    @staticmethod
    def _descendants(pid: int) -> dict[int, psutil.Process]:
        try:
            return {p.pid: p for p in psutil.Process(pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return {}

    def close(self) -> None:
        """Stop the daemon (and every process it started), the workspace, restore the env."""
        for sampler in self._samplers.values():
            sampler.stop.set()
        if self._daemon is not None:
            tree = {**self._daemon_tree, **self._descendants(self._daemon.pid)}
            if self._daemon.poll() is None:
                self._daemon.send_signal(signal.SIGTERM)
                try:
                    self._daemon.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._daemon.kill()
                    self._daemon.wait(timeout=10)
            # Code servers exit on their own a while after the daemon's heartbeats stop, and a run
            # worker would finish its run: stop them now, by the pids this daemon started.
            _terminate(list(tree.values()))
            self._daemon = None
        if self._workspace is not None:
            try:
                self._workspace.__exit__(None, None, None)
            finally:
                self._workspace = None
        if self.instance is not None:
            self.instance.dispose()
            self.instance = None
        while self._stack:
            self._stack.pop().__exit__(None, None, None)

    # -------------------------------------------------------------------- GraphQL, as the UI

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a GraphQL document of the UI's API against this workspace (one request)."""
        if self._schema is None:
            from dagster_graphql.schema import create_schema

            self._schema = create_schema()
        context = self._workspace.create_request_context()
        result = asyncio.run(
            self._schema.execute_async(query, context_value=context, variable_values=variables)
        )
        if result.errors:
            raise LaunchFailed(f"GraphQL error: {result.errors[0]}")
        return result.data

    def _location(self, wanted: str | None = None) -> tuple[str, str]:
        """(code location, repository) of the project's definitions: the first location, or
        the one named (one company's, when there are several)."""
        context = self._workspace.create_request_context()
        for name in context.code_location_names:
            if wanted is None or name == wanted:
                location = context.get_code_location(name)
                return name, next(iter(location.get_repositories()))
        raise LaunchFailed(f"the workspace has no code location {wanted or ''}".strip())

    def stop_schedules(self) -> list[str]:
        """Stop every schedule of the workspace (their stored state overrides default RUNNING)."""
        stopped = []
        context = self._workspace.create_request_context()
        for name in context.code_location_names:
            for repo in context.get_code_location(name).get_repositories().values():
                for schedule in repo.get_schedules():
                    self.instance.stop_schedule(
                        schedule.get_remote_origin_id(), schedule.selector_id, schedule
                    )
                    stopped.append(schedule.name)
        return stopped

    def running_sensors(self) -> list[Any]:
        """The workspace's sensors whose state (stored, else default) is RUNNING."""
        out = []
        context = self._workspace.create_request_context()
        for name in context.code_location_names:
            for repo in context.get_code_location(name).get_repositories().values():
                for sensor in repo.get_sensors():
                    stored = self.instance.get_instigator_state(
                        sensor.get_remote_origin_id(), sensor.selector_id
                    )
                    if sensor.get_current_instigator_state(stored).is_running:
                        out.append(sensor)
        return out

    def sensor_ticks_after(self, after: float) -> dict[str, int]:
        """Per running sensor: how many of its ticks started after `after` (epoch s)."""
        return {
            sensor.name: len(
                self.instance.get_ticks(
                    sensor.get_remote_origin_id(), sensor.selector_id, after=after
                )
            )
            for sensor in self.running_sensors()
        }

    # -------------------------------------------------------------------- runs

    def launch(
        self,
        job: str = SYNC_JOB,
        *,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        sample: bool = True,
        location: str | None = None,
    ) -> str:
        """Submit a run of `job` to the queue as the UI does; its run id (QUEUED or later)."""
        location, repository = self._location(location)
        params = {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": repository,
                "jobName": job,
            },
            "runConfigData": dict(run_config or {}),
            "executionMetadata": {
                "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]
            },
        }
        submitted = time.time()
        answer = self.graphql(LAUNCH_MUTATION, {"executionParams": params})
        launched = answer["launchPipelineExecution"]
        if launched["__typename"] != "LaunchRunSuccess":
            raise LaunchFailed(f"launching {job} failed: {json.dumps(launched)}")
        run_id = launched["run"]["runId"]
        self.launched[run_id] = submitted
        if sample:
            sampler = _TreeSampler(self.instance.get_ref(), run_id)
            sampler.start()
            self._samplers[run_id] = sampler
        return run_id

    def cancel(self, run_id: str) -> str:
        """Terminate a run as the UI's *Terminate* does; the mutation's answer type."""
        answer = self.graphql(TERMINATE_MUTATION, {"runId": run_id})["terminateRun"]
        if answer["__typename"] != "TerminateRunSuccess":
            raise LaunchFailed(f"terminating {run_id} failed: {json.dumps(answer)}")
        return answer["__typename"]

    def status(self, run_id: str) -> str:
        run = self.instance.get_run_by_id(run_id)
        if run is None:
            raise LaunchFailed(f"no run {run_id}")
        return run.status.value

    def tags(self, run_id: str) -> dict[str, str]:
        run = self.instance.get_run_by_id(run_id)
        if run is None:
            raise LaunchFailed(f"no run {run_id}")
        return dict(run.tags)

    def queue_state(self, run_id: str) -> dict[str, Any]:
        """What the UI shows about a queued run: its pools, the queue's and the pools' limits."""
        return self.graphql(QUEUE_QUERY, {"runId": run_id})

    def blocked_messages(self, run_id: str) -> list[str]:
        """The daemon's log lines saying why it keeps `run_id` in the queue."""
        return [line for line in self.daemon_tail(10**8).splitlines() if f"Run {run_id} is" in line]

    def all_runs(self) -> list[Any]:
        return list(self.instance.get_runs())

    def foreign_runs(self) -> list[Any]:
        """Runs in the instance that this harness did not launch (sensors, schedules, ...)."""
        return [r for r in self.all_runs() if r.run_id not in self.launched]

    def wait_for(
        self,
        run_id: str,
        statuses: set[str],
        timeout: float = 600.0,
        poll: float = 0.1,
    ) -> str:
        """Wait until the run's status is one of `statuses` (or the run finished); the status."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.instance.get_run_by_id(run_id)
            if run is not None and (run.status.value in statuses or run.is_finished):
                return run.status.value
            if time.monotonic() > deadline:
                raise LaunchFailed(
                    f"run {run_id} still {run.status.value if run else 'absent'} after "
                    f"{timeout:.0f} s; daemon log:\n{self.daemon_tail()}"
                )
            if self._daemon is not None and self._daemon.poll() is not None:
                raise LaunchFailed(f"dagster-daemon exited: {self.daemon_tail()}")
            time.sleep(poll)

    def wait(self, run_id: str, timeout: float = 3600.0) -> LaunchedRun:
        """Wait for the run to finish; what it did and cost."""
        self.wait_for(run_id, set(), timeout=timeout)
        sampler = self._samplers.pop(run_id, None)
        if sampler is not None:
            sampler.join(timeout=30)
            sampler.stop.set()
        return self.describe(run_id, sampler)

    def run(self, job: str = SYNC_JOB, timeout: float = 3600.0, **launch: Any) -> LaunchedRun:
        """Launch `job` through the queue and wait for it."""
        return self.wait(self.launch(job, **launch), timeout=timeout)

    def describe(self, run_id: str, sampler: _TreeSampler | None = None) -> LaunchedRun:
        import dagster as dg

        record = self.instance.get_run_record_by_id(run_id)
        if record is None:
            raise LaunchFailed(f"no run {run_id}")
        run = record.dagster_run
        entries = list(self.instance.all_logs(run_id))
        materialized: list[str] = []
        metadata: list[dict[str, Any]] = []
        checks: list[dict[str, Any]] = []
        failed: list[str] = []
        step_started: dict[str, float] = {}
        step_seconds: dict[str, float] = {}
        for entry in entries:
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START and event.step_key:
                step_started[event.step_key] = entry.timestamp
            elif event.step_key in step_started and event.event_type in (
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            ):
                step_seconds[event.step_key] = entry.timestamp - step_started[event.step_key]
            if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.event_specific_data.materialization
                key = _key(materialization.asset_key)
                materialized.append(key)
                metadata.append(
                    {
                        "asset": key,
                        "partition": materialization.partition,
                        "metadata": {
                            k: _metadata_value(v) for k, v in materialization.metadata.items()
                        },
                    }
                )
            elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = event.event_specific_data
                checks.append(
                    {
                        "asset": _key(evaluation.asset_key),
                        "check": evaluation.check_name,
                        "passed": evaluation.passed,
                    }
                )
            elif event.event_type == dg.DagsterEventType.STEP_FAILURE and event.step_key:
                failed.append(event.step_key)
        created = record.create_timestamp.timestamp() if record.create_timestamp else None
        return LaunchedRun(
            run_id=run_id,
            job_name=run.job_name,
            status=run.status.value,
            tags=dict(run.tags),
            submitted_at=self.launched.get(run_id, created or 0.0),
            created_at=created,
            started_at=record.start_time,
            ended_at=record.end_time,
            phases=_phases(entries, created),
            materialized=materialized,
            checks=checks,
            materialization_metadata=metadata,
            failed_steps=sorted(failed),
            step_seconds=step_seconds,
            worker_pid=sampler.pid if sampler else None,
            processes=sampler.processes if sampler and sampler.samples else None,
            processes_started=len(sampler.started) if sampler and sampler.samples else None,
            process_names=sorted(sampler.names) if sampler else [],
            process_table={pid: name for (pid, _), name in sampler.started.items()}
            if sampler
            else {},
            worker_ancestors=list(sampler.ancestors) if sampler else [],
            peak_rss_mib=(sampler.peak_rss / 2**20) if sampler and sampler.samples else None,
            samples=sampler.samples if sampler else 0,
        )

    @property
    def daemon_pid(self) -> int | None:
        return None if self._daemon is None else self._daemon.pid

    def kill_daemon(self) -> list[int]:
        """SIGKILL the daemon and every process it started (code server, run workers) at once, as
        a power cut or a reboot would: nothing gets to record how its runs ended. The pids."""
        assert self._daemon is not None
        tree = [psutil.Process(self._daemon.pid), *self._descendants(self._daemon.pid).values()]
        for process in tree:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                continue
        psutil.wait_procs(tree, timeout=10)
        self._daemon.wait(timeout=10)
        self._daemon = None
        return [p.pid for p in tree]

    def restart_daemon(self) -> None:
        """Start the daemon again on the same instance and workspace (after `kill_daemon`)."""
        self._start_daemon()
        self._wait_for_daemon()


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux's PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _terminate(processes: list[psutil.Process], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, to processes seen earlier (psutil refuses a reused pid)."""
    signalled = []
    for process in processes:
        try:
            process.terminate()
            signalled.append(process)
        except psutil.NoSuchProcess:
            continue
    processes = signalled
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(alive, timeout=timeout)
