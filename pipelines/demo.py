"""`make demo`: the whole sync against the embedded defaults, then a summary of what landed.

1. generate the demo Sage 50 company (SQLite) if it is absent;
2. start the SSM sandbox server in the background if nothing answers at SSM_BASE_URL;
3. run the sync job in this process against the project's Dagster instance (`DAGSTER_HOME`, so
   the runs show in `make dev`; without it, a local instance under `DATA_DIR/dagster`), twice:
   the second run shows that an unchanged Sage costs no write call;
4. print row counts per layer, what each push did in each run (from the push assets'
   materialization metadata) and what SSM now holds.

`python -m pipelines.demo --prepare` does steps 1–2 only (used by `make dev`).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import dagster as dg
import duckdb
import httpx

from pipelines import settings

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


def _local_sandbox() -> tuple[str, int] | None:
    """(host, port) when SSM_BASE_URL points at this machine (the sandbox), else None."""
    url = urlparse(settings.ssm_base_url())
    host, port = url.hostname or "127.0.0.1", url.port or 80
    return (host, port) if host in {"127.0.0.1", "localhost"} else None


def ensure_ssm_sandbox() -> int | None:
    """Start `python -m sandbox.ssm` detached when the configured SSM URL is a silent localhost.

    Returns the process id of the sandbox it started (None when it started nothing).
    """
    local = _local_sandbox()
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


def demo_instance() -> dg.DagsterInstance:
    """The project's instance (DAGSTER_HOME, as `make demo`/`make dev` set it), else a local
    persistent one under DATA_DIR/dagster, so `python -m pipelines.demo` runs on its own."""
    if os.environ.get("DAGSTER_HOME"):
        # dagster.yaml keeps the instance under DAGSTER_INSTANCE_DIR (the Makefile sets it).
        os.environ.setdefault("DAGSTER_INSTANCE_DIR", str(settings.data_dir() / "dagster"))
        return dg.DagsterInstance.get()
    home = settings.data_dir() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.local_temp(
        tempdir=str(home), overrides={"telemetry": {"enabled": False}}
    )


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


def run_sync(instance: dg.DagsterInstance, label: str) -> SyncRun:
    from pipelines.definitions import defs

    job = defs.resolve_job_def(SYNC_JOB)
    before = sandbox_stats()
    started = time.perf_counter()
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    run = SyncRun(label, result.run_id, result.success, time.perf_counter() - started)
    after = sandbox_stats()
    if before is not None and after is not None:
        run.ssm_calls = int(after["total"]) - int(before["total"])
        run.ssm_writes = int(after["writes"]) - int(before["writes"])
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization  # type: ignore[union-attr]
        group, name = materialization.asset_key.path
        if group == "ssm" and name.startswith("push_"):
            run.pushes[name.removeprefix("push_")] = {
                key: value.value for key, value in materialization.metadata.items()
            }
    run.failures = [str(e.message) for e in result.all_events if e.is_failure]
    return run


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
    if _local_sandbox() is None:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help="only generate and start")
    parser.add_argument("--size", default=os.environ.get("DEMO_SIZE", "small"))
    args = parser.parse_args()

    started = time.perf_counter()
    ensure_demo_company(args.size)
    sandbox_pid = ensure_ssm_sandbox()
    if args.prepare:
        return
    runs: list[SyncRun] = []
    with demo_instance() as instance:
        for label in ("initial", "repeat"):
            run = run_sync(instance, label)
            runs.append(run)
            status = "succeeded" if run.success else "FAILED"
            print(f"{label} sync run {run.run_id} {status} in {run.seconds:.1f} s")
            if not run.success:
                for message in run.failures:
                    print(f"  {message}")
                raise SystemExit(1)
    print_summary(runs)
    print(f"\ndemo done in {time.perf_counter() - started:.1f} s")
    if sandbox_pid is not None:
        print(
            f"the SSM sandbox keeps running for `make dev` at {settings.ssm_base_url()} "
            f"(pid {sandbox_pid}); stop it with `kill {sandbox_pid}`"
        )


if __name__ == "__main__":
    main()
