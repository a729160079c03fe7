"""`make demo`: the whole sync against the embedded defaults, then a summary of what landed.

1. generate the demo Sage 50 company (SQLite) if it is absent;
2. start the SSM sandbox server in the background if nothing answers at SSM_BASE_URL;
3. run the sync job in this process against the project's Dagster instance (the one `dagster dev`
   opens in the project root: data/dagster, so the runs show in the UI), twice: the second run
   shows that an unchanged Sage costs no write call. The console shows each run's progress per
   layer; every Dagster event of the run goes to DATA_DIR/logs/demo-<run id>.log (and to the
   instance, as for any run);
4. print row counts per layer, what each push did in each run (from the push assets'
   materialization metadata) and what SSM now holds.

`python -m pipelines.demo --prepare` does steps 1–2 and checks that the instance opens (used by
`make dev`). What is missing or unwritable stops it with one sentence, not a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import dagster as dg
import duckdb
import httpx

from pipelines import settings
from pipelines.instance import open_instance

SYNC_JOB = "sage_ssm_sync"
LAYERS = ("sage", "quarantine", "staging", "derived", "ssm", "sync")


def ensure_demo_company(size: str) -> None:
    path = settings.demo_company_path()
    if path.exists() or "SAGE_ODBC_CONNECTION" in os.environ or "SAGE_DATABASE_URL" in os.environ:
        return
    from sandbox.sage_demo import generate

    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    counts = generate(path, size=size, seed=1)
    print(
        f"generated the {size} demo Sage 50 company at {path} "
        f"({sum(counts.values()):,} rows in {time.perf_counter() - started:.1f} s)"
    )


def _answers(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def ensure_ssm_sandbox() -> int | None:
    """Start `python -m sandbox.ssm` detached when the configured SSM URL is a silent localhost.

    Returns the process id of the sandbox it started (None when it started nothing).
    """
    local = settings.local_ssm_address()
    if local is None or _answers(*local):
        return None
    host, port = local
    log = settings.data_dir() / "ssm-sandbox.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "sandbox.ssm",
        "--host",
        host,
        "--port",
        str(port),
        "--db",
        str(settings.data_dir() / "ssm-sandbox.sqlite"),
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=out, start_new_session=True)
    for _ in range(100):
        if _answers(host, port):
            print(
                f"started the SSM sandbox at http://{host}:{port}/ (pid {process.pid}, log: {log})"
            )
            (settings.data_dir() / "ssm-sandbox.pid").write_text(f"{process.pid}\n")
            return process.pid
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"The SSM sandbox did not start on {host}:{port}; see {log}.")


@dataclass
class SyncRun:
    """One run of the sync job: its outcome and what each push asset reported."""

    label: str
    run_id: str
    success: bool
    seconds: float
    pushes: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    ssm_calls: int | None = None  # as the sandbox counted them (None: not the sandbox)
    ssm_writes: int | None = None  # POST/PUT/PATCH/DELETE other than /login
    log_path: Path | None = None  # every Dagster event of the run


def run_sync(instance: dg.DagsterInstance, label: str) -> SyncRun:
    from pipelines.definitions import defs

    return run_job(defs.resolve_job_def(SYNC_JOB), instance, label, settings.data_dir() / "logs")


def run_job(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    label: str,
    log_dir: Path,
    out: TextIO | None = None,
) -> SyncRun:
    """Run `job` in this process, showing its progress per layer on `out` (stdout) instead of
    Dagster's console log, and writing every event of the run to `log_dir`/demo-<run id>.log.

    The instance stores every event as for any run (the UI shows the run in full): only the
    job's console logger is turned down, through the run config.
    """
    run_id = str(uuid.uuid4())
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"demo-{run_id}.log"
    out = out or sys.stdout
    run_config = (
        {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
        if "console" in job.loggers
        else {}
    )
    print(f"{label} sync run {run_id}: every event in {log_path}", file=out, flush=True)
    before = sandbox_stats()
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        progress = RunProgress(job, log, out)
        instance.add_event_listener(run_id, progress.on_event)
        result = job.execute_in_process(
            run_config=run_config, instance=instance, run_id=run_id, raise_on_error=False
        )
        progress.finish()
    run = SyncRun(label, run_id, result.success, time.perf_counter() - started, log_path=log_path)
    after = sandbox_stats()
    if before is not None and after is not None:
        run.ssm_calls = int(after["total"]) - int(before["total"])
        run.ssm_writes = int(after["writes"]) - int(before["writes"])
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization  # type: ignore[union-attr]
        path = materialization.asset_key.path
        if len(path) == 2 and path[0] == "ssm" and path[1].startswith("push_"):
            run.pushes[path[1].removeprefix("push_")] = {
                key: value.value for key, value in materialization.metadata.items()
            }
    run.failures = failure_sentences(result.all_events)
    return run


def _innermost_sentence(error: Any) -> str:
    """The message of the innermost cause of a serialized error, without its class's module."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    message = str(error.message).strip().splitlines()[0] if error.message else error.cls_name
    head, colon, rest = message.partition(": ")
    return f"{head.rsplit('.', 1)[-1]}: {rest}" if colon and " " not in head else message


def failure_sentences(events: list[dg.DagsterEvent]) -> list[str]:
    """One line per failed step (its error's innermost message), else the run's failure."""
    steps = [
        f"{event.step_key}: {_innermost_sentence(event.step_failure_data.error)}"
        for event in events
        if event.is_step_failure and event.step_failure_data.error is not None
    ]
    if steps:
        return steps
    return [str(event.message) for event in events if event.is_failure]


class RunProgress:
    """Follows one run's events (an instance event listener): a line per layer (asset group) as
    it completes, a live line of every layer's count on a terminal, each warning or error message
    in one line (failed steps are summed up after the run), and every event written to the run's
    log file."""

    def __init__(self, job: dg.JobDefinition, log: TextIO, out: TextIO) -> None:
        graph = job.asset_layer.asset_graph
        self.group = {key: graph.get(key).group_name for key in job.asset_layer.selected_asset_keys}
        totals = Counter(self.group.values())
        order = {layer: i for i, layer in enumerate(LAYERS)}
        self.totals = dict(sorted(totals.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))
        self.done: dict[str, set[dg.AssetKey]] = {layer: set() for layer in self.totals}
        self.reported: set[str] = set()
        self.log, self.out = log, out
        self.live = out.isatty()
        self.shown = 0  # characters of the live line on screen
        self.started = time.perf_counter()
        self.problem: str | None = None

    def on_event(self, entry: dg.EventLogEntry) -> None:
        # A display must never break the sync: a failure here is reported once, at the end.
        try:
            self._write(entry)
            self._show(entry)
        except Exception as exc:  # noqa: BLE001
            self.problem = self.problem or f"{type(exc).__name__}: {exc}"

    def _write(self, entry: dg.EventLogEntry) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.timestamp))
        event = entry.dagster_event
        kind = event.event_type_value if event is not None else "LOG"
        level = logging.getLevelName(entry.level)
        message = str(entry.message).rstrip().replace("\n", "\n    ")
        self.log.write(f"{stamp} {level:<7} {entry.step_key or '-'} {kind} - {message}\n")
        error = getattr(event.event_specific_data, "error", None) if event is not None else None
        if error is not None:
            self.log.write("    " + error.to_string().rstrip().replace("\n", "\n    ") + "\n")
        self.log.flush()

    def _show(self, entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        if entry.level >= 30 and not (event is not None and event.is_failure):
            first_line = str(entry.message).strip().splitlines()[0]
            self._print(
                f"  {logging.getLevelName(entry.level)} {entry.step_key or ''}: {first_line}"
            )
        if event is None or not event.is_step_materialization:
            return
        key = event.asset_key
        layer = self.group.get(key) if key is not None else None
        if layer is None:
            return
        self.done[layer].add(key)
        if len(self.done[layer]) == self.totals[layer]:
            self._layer_line(layer)
        elif self.live:
            self._live()

    def _layer_line(self, layer: str) -> None:
        self.reported.add(layer)
        total = self.totals[layer]
        counted = f"{len(self.done[layer])}/{total}"
        self._print(f"  {layer:<10}{counted:>7} assets {time.perf_counter() - self.started:7.1f} s")

    def _live(self) -> None:
        counts = ", ".join(
            f"{layer} {len(self.done[layer])}/{total}" for layer, total in self.totals.items()
        )
        line = f"  {counts}  ({time.perf_counter() - self.started:.0f} s)"
        self.out.write("\r" + line.ljust(self.shown))
        self.out.flush()
        self.shown = len(line)

    def _print(self, line: str) -> None:
        if self.shown:
            self.out.write("\r" + " " * self.shown + "\r")
            self.shown = 0
        print(line, file=self.out, flush=True)
        if self.live and len(self.reported) < len(self.totals):
            self._live()

    def finish(self) -> None:
        """Layers the run left incomplete (a failure, skipped assets), then any display problem."""
        for layer in self.totals:
            if layer not in self.reported:
                self._layer_line(layer)
        if self.problem:
            self._print(f"  (progress display stopped: {self.problem})")


def layer_rows() -> list[tuple[str, int, int]]:
    """(layer, tables, rows) of the warehouse's schemas."""
    con = duckdb.connect(settings.warehouse_path(), read_only=True)
    try:
        tables = con.execute(
            f"""
            SELECT schema_name, table_name FROM duckdb_tables()
            WHERE schema_name IN ({", ".join("?" * len(LAYERS))})
            """,  # noqa: S608
            list(LAYERS),
        ).fetchall()
        totals: dict[str, list[int]] = {layer: [0, 0] for layer in LAYERS}
        for schema, table in tables:
            (count,) = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()  # type: ignore[misc]  # noqa: S608
            totals[schema][0] += 1
            totals[schema][1] += int(count)
    finally:
        con.close()
    return [(layer, t, r) for layer, (t, r) in totals.items() if t]


def _sandbox_get(page: str) -> Any:
    """A page of the sandbox's control API (`/sandbox/...`); None when SSM is not the sandbox."""
    if settings.local_ssm_address() is None:
        return None
    root = settings.ssm_base_url().split("/api/")[0]
    try:
        answer = httpx.get(f"{root}/sandbox/{page}", timeout=30)
        answer.raise_for_status()
    except httpx.HTTPError:
        return None
    return answer.json()


def sandbox_stats() -> dict[str, Any] | None:
    """The sandbox's request counters (`total`, `writes`, ...)."""
    return _sandbox_get("stats")


def sandbox_counts() -> dict[str, int] | None:
    """Live records per SSM resource, from the sandbox's state page."""
    state = _sandbox_get("state")
    if state is None:
        return None
    return {
        resource: sum(1 for r in records if not r.get("deleted"))
        for resource, records in state.items()
    }


def print_summary(runs: list[SyncRun]) -> None:
    from assets.ssm.contract import PUSHED

    print(f"\nwarehouse {settings.warehouse_path()}")
    print(f"  {'layer':<12}{'tables':>8}{'rows':>12}")
    for layer, tables, rows in layer_rows():
        print(f"  {layer:<12}{tables:>8}{rows:>12,}")

    held = sandbox_counts()
    counts = ("created", "updated", "deleted", "unchanged", "failed")
    width = 10 * len(counts)
    print("\nSSM, per pushed resource (from each run's push metadata; in SSM: live records)")
    print(f"  {'':<20}{'':>8}" + "".join(f" | {r.label + ' run':^{width}}" for r in runs))
    print(
        f"  {'resource':<20}{'desired':>8}"
        + "".join(" | " + "".join(f"{c:>10}" for c in counts) for _ in runs)
        + f" | {'in SSM':>7}"
    )
    for contract in PUSHED:
        desired = runs[-1].pushes.get(contract.name, {}).get("desired", "-")
        line = f"  {contract.name:<20}{desired:>8}"
        for run in runs:
            push = run.pushes.get(contract.name, {})
            line += " | " + "".join(f"{push.get(c, '-'):>10}" for c in counts)
        in_ssm = "-" if held is None else str(held.get(contract.ssm_resource, 0))
        print(line + f" | {in_ssm + ('*' if contract.match_only else ''):>7}")
    print("  * users are matched to the tenant's users, never created (SSM_CREATE_USERS=false)")
    print("  in SSM counts every live record of the resource, the tenant's own included")
    print()
    for run in runs:
        calls = (
            f"{run.ssm_calls} SSM API calls, {run.ssm_writes} writes (sandbox counters)"
            if run.ssm_calls is not None
            else f"{sum(int(p.get('api_calls', 0)) for p in run.pushes.values())} SSM API calls "
            "by the pushes"
        )
        print(f"{run.label} run {run.run_id}: {run.seconds:.1f} s, {calls}")


def demo(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    ensure_demo_company(args.size)
    sandbox_pid = ensure_ssm_sandbox()
    runs: list[SyncRun] = []
    with open_instance() as instance:
        where = Path(instance.root_directory).resolve()
        if args.prepare:
            print(f"the Dagster instance is {where}")
            return
        for label in ("initial", "repeat"):
            run = run_sync(instance, label)
            runs.append(run)
            status = "succeeded" if run.success else "FAILED"
            print(f"{label} sync run {run.run_id} {status} in {run.seconds:.1f} s")
            if not run.success:
                for message in run.failures:
                    print(f"  {message}")
                print(f"every event of the run: {run.log_path}")
                raise SystemExit(1)
    print_summary(runs)
    print(f"\ndemo done in {time.perf_counter() - started:.1f} s")
    print(f"the runs are in the Dagster instance {where}: `make dev` or `dagster dev` shows them")
    for run in runs:
        print(f"  {run.label} run, every event: {run.log_path}")
    if sandbox_pid is not None:
        print(
            f"the SSM sandbox keeps running for `make dev` at {settings.ssm_base_url()} "
            f"(pid {sandbox_pid}); stop it with `kill {sandbox_pid}`"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--prepare", action="store_true", help="only generate, start and check the instance"
    )
    parser.add_argument("--size", default=os.environ.get("DEMO_SIZE", "small"))
    args = parser.parse_args()
    try:
        demo(args)
    except OSError as exc:  # what the demo writes under DATA_DIR: the company, logs, sandbox state
        if exc.filename is None:
            raise
        raise SystemExit(
            f"Cannot write {exc.filename} ({exc.strerror}): make DATA_DIR ({settings.data_dir()}) "
            "a writable directory, or set DATA_DIR to one."
        ) from None


if __name__ == "__main__":
    main()
