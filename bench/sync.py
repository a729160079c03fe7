"""The first load and the 15-minute cycle, run through Dagster against the SSM sandbox.

One Dagster job selects every asset of the groups sage, staging, derived and ssm (the project's
`sage_ssm_sync` job when it exists, else the same selection), with the bench's own resources:
the company through the SQLite ODBC driver, a fresh DuckDB warehouse, the sandbox at a given
rate. The suite runs:

1. the initial sync (everything is new): wall time, and the push's records/s against the bound
   the API allows (rate x bulk batch size, per resource);
2. cycles after k changed Sage records, for each k: k/2 customers get a new TELEPHONE and k/2
   products a new BARCODE (fields that feed one SSM resource each), both with
   RECORD_MODIFY_DATE = now. Per cycle: wall time, rows read from Sage (the `rows_read`
   metadata of the sage assets), SSM API calls (the sandbox's own counters).

`run_sync_suite` executes the job in the bench's process (`execute_in_process`, ephemeral
instance); `run_launched_sync_suite` runs the same suite the way users run it: the project's
definitions and dagster.yaml, each run submitted to the daemon's queue and executed by a run
worker with the job's own executor (`bench.launched`), and adds per run the queue wait, the
run worker's processes and peak memory, and the time between the run's lifecycle events.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

# (Sage table, key column, changed column, SSM resource the change reaches).
CHANGES = (
    ("SALES_LEDGER", "ACCOUNT_REF", "TELEPHONE", "accounts"),
    ("STOCK", "STOCK_CODE", "BARCODE", "products"),
)


def split_k(k: int) -> dict[str, int]:
    """How many rows of each changed table a cycle with k changes modifies."""
    first = math.ceil(k / len(CHANGES))
    counts = {CHANGES[0][0]: first}
    for table, *_ in CHANGES[1:]:
        counts[table] = (k - first) // (len(CHANGES) - 1)
    return counts


def change_company(company: Path, k: int, cycle: int, offsets: dict[str, int]) -> dict[str, int]:
    """Modify k records of the company (a field + RECORD_MODIFY_DATE); rows changed per table.

    Each cycle takes the next rows in key order (`offsets`, advanced here), so no cycle
    re-modifies an earlier cycle's rows.
    """
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    changed: dict[str, int] = {}
    con = sqlite3.connect(company)
    try:
        for (table, key, column, _), n in zip(CHANGES, split_k(k).values(), strict=True):
            if n == 0:
                changed[table] = 0
                continue
            offset = offsets.get(table, 0)
            keys = [
                row[0]
                for row in con.execute(
                    f'SELECT "{key}" FROM "{table}" ORDER BY "{key}" LIMIT ? OFFSET ?',  # noqa: S608
                    (n, offset),
                )
            ]
            con.executemany(
                f'UPDATE "{table}" SET "{column}" = ?, RECORD_MODIFY_DATE = ? WHERE "{key}" = ?',  # noqa: S608
                [(f"BENCH {cycle}-{i}", now, value) for i, value in enumerate(keys)],
            )
            changed[table] = len(keys)
            offsets[table] = offset + len(keys)
        con.commit()
    finally:
        con.close()
    return changed


def _sync_job() -> Any:
    import dagster as dg

    try:
        from pipelines.sync import sync_job

        return sync_job
    except ImportError:
        return dg.define_asset_job(
            "sage_ssm_sync",
            selection=dg.AssetSelection.groups("sage", "staging", "derived", "ssm"),
        )


def bench_definitions(
    company: Path, warehouse: Path, base_url: str, public_key: str, private_key: str, rate: float
) -> Any:
    """The project's assets with the bench's resources and the sync job."""
    import dagster as dg

    from assets import derived, sage, ssm, staging
    from bench.contenders import odbc_connection_string
    from pipelines import resources
    from resources.sage import SageSourceResource
    from resources.ssm import SSMResource

    return dg.Definitions.merge(
        sage.defs,
        staging.defs,
        derived.defs,
        ssm.defs,
        dg.Definitions(
            jobs=[_sync_job()],
            resources={
                "warehouse": resources.warehouse(str(warehouse)),  # the product's settings
                "sage": SageSourceResource(odbc_connection=odbc_connection_string(company)),
                "ssm": SSMResource(
                    base_url=base_url,
                    public_key=public_key,
                    private_key=private_key,
                    requests_per_second=rate,
                ),
            },
        ),
    )


def _metadata_value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


def summarise_run(result: Any) -> dict[str, Any]:
    """Rows read from Sage, push figures per resource and failed steps, from the run's events."""
    materializations = []
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        metadata = {k: _metadata_value(v) for k, v in materialization.metadata.items()}
        materializations.append((list(materialization.asset_key.path), metadata))
    failed = [
        event.step_key for event in result.all_events if event.is_step_failure and event.step_key
    ]
    return summarise_materializations(materializations, failed)


def summarise_materializations(
    materializations: list[tuple[list[str], dict[str, Any]]], failed_steps: list[str]
) -> dict[str, Any]:
    """Rows read from Sage and push figures per resource, from (asset key path, metadata)."""
    rows_read: dict[str, int] = {}
    pushes: dict[str, dict[str, Any]] = {}
    for path, metadata in materializations:
        if path[0] == "sage" and "rows_read" in metadata:
            rows_read[path[1]] = int(metadata["rows_read"])
        if path[0] == "ssm" and path[1].startswith("push_"):
            pushes[path[1].removeprefix("push_")] = {
                key: metadata.get(key)
                for key in (
                    "created",
                    "updated",
                    "deleted",
                    "unchanged",
                    "failed",
                    "seconds",
                    "api_calls",
                    "write_calls",
                )  # fmt: skip
            }
    return {"rows_read": rows_read, "pushes": pushes, "failed_steps": sorted(failed_steps)}


@contextmanager
def _quiet_dagster() -> Any:
    import logging

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        previous = logging.getLogger("dagster").level
        logging.getLogger("dagster").setLevel(logging.WARNING)
        try:
            yield
        finally:
            logging.getLogger("dagster").setLevel(previous)


def _stats(control_url: str) -> dict[str, Any]:
    return httpx.get(control_url + "/stats", timeout=10).json()


def _api_figures(control_url: str) -> dict[str, Any]:
    """The sandbox's counters since the last reset, as the suites report them."""
    stats = _stats(control_url)
    return {
        "api_calls": stats["total"],
        "write_calls": stats["writes"],
        "rate_limited": stats["rate_limited"],
        "bulk_items": stats["bulk_items"],
        "requests": stats["requests"],
    }


def _reset_stats(control_url: str) -> None:
    httpx.delete(control_url + "/stats", timeout=10).raise_for_status()


def create_batch_sizes(base_url: str) -> dict[str, int]:
    """The client's bulk-create batch size of each pushed contract resource."""
    from assets.ssm.contract import PUSHED
    from resources.ssm.client import SSMClient

    with SSMClient(base_url, "unused", "unused") as client:  # batch_size sends nothing
        return {c.name: client.batch_size(c.ssm_resource, "create") for c in PUSHED}


def run_sync_suite(
    company: str,
    workdir: str,
    ks: list[int],
    rate: float,
    repeats: int = 1,
) -> dict[str, Any]:
    """The initial sync, then one cycle per k (each repeated `repeats` times, after k=0 runs)."""
    import dagster as dg

    from sandbox.ssm.testing import running_sandbox

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    company_path = Path(company)
    warehouse = work / "warehouse.duckdb"
    warehouse.unlink(missing_ok=True)
    out: dict[str, Any] = {"rate": rate, "cycles": []}
    with running_sandbox(work, rate=rate) as sandbox, _quiet_dagster():
        defs = bench_definitions(
            company_path,
            warehouse,
            sandbox.base_url,
            sandbox.public_key,
            sandbox.private_key,
            rate,
        )
        job = defs.resolve_job_def(_sync_job().name)
        instance = dg.DagsterInstance.ephemeral()
        run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

        def run_once() -> dict[str, Any]:
            _reset_stats(sandbox.control_url)
            started = time.perf_counter()
            result = job.execute_in_process(
                instance=instance, raise_on_error=False, run_config=run_config
            )
            seconds = time.perf_counter() - started
            return {
                "seconds": seconds,
                "success": result.success,
                **summarise_run(result),
                **_api_figures(sandbox.control_url),
            }

        out["initial"] = run_once()
        out["batch_sizes"] = create_batch_sizes(sandbox.base_url)
        out["cycles"] = _cycles(company_path, ks, repeats, run_once)
    return out


def _cycles(
    company: Path, ks: list[int], repeats: int, run_once: Callable[[], dict[str, Any]]
) -> list[dict[str, Any]]:
    """One measured run after each change of k records (each k `repeats` times)."""
    cycles = []
    cycle = 0
    previous_k = 0
    offsets: dict[str, int] = {}
    for k in ks:
        for _ in range(repeats):
            changed = change_company(company, k, cycle, offsets)
            cycle += 1
            measured = run_once()
            measured.update(k=k, changed=changed, previous_k=previous_k)
            cycles.append(measured)
            previous_k = k
    return cycles


def run_launched_sync_suite(
    company: str,
    workdir: str,
    ks: list[int],
    rate: float,
    repeats: int = 1,
) -> dict[str, Any]:
    """The same suite as `run_sync_suite`, each run launched through the daemon's queue.

    The project's own definitions (`pipelines.definitions`: its resources from the
    environment, its executor) read the company through the SQLite ODBC driver, as the
    in-process suite does. Seconds are submission -> end, what a user waits for.
    """
    from bench.contenders import odbc_connection_string
    from bench.launched import SYNC_JOB, LaunchedDagster, connector_env
    from sandbox.ssm.testing import running_sandbox

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    company_path = Path(company)
    out: dict[str, Any] = {"rate": rate, "cycles": []}
    with running_sandbox(work, rate=rate) as sandbox:
        env = connector_env(
            work,
            company_path,
            sandbox.base_url,
            sandbox.public_key,
            sandbox.private_key,
            rate,
            odbc_connection=odbc_connection_string(company_path),
        )
        with LaunchedDagster(work / "dagster", env) as dagster:
            out["startup_seconds"] = dagster.startup_seconds

            def run_once() -> dict[str, Any]:
                _reset_stats(sandbox.control_url)
                run = dagster.run(SYNC_JOB)
                materializations = [
                    (m["asset"].split("/"), m["metadata"]) for m in run.materialization_metadata
                ]
                slowest = sorted(run.step_seconds.items(), key=lambda kv: -kv[1])[:5]
                return {
                    "seconds": run.wall_seconds,
                    "success": run.status == "SUCCESS",
                    "status": run.status,
                    "run_id": run.run_id,
                    **summarise_materializations(materializations, run.failed_steps),
                    "queue_seconds": run.queue_seconds,
                    "run_seconds": run.run_seconds,
                    "phases": run.phases,
                    "steps": len(run.step_seconds),
                    "step_seconds_total": sum(run.step_seconds.values()),
                    "slowest_steps": dict(slowest),
                    "materializations": len(run.materialized),
                    "check_evaluations": len(run.checks),
                    "processes": run.processes,
                    "processes_started": run.processes_started,
                    "process_names": run.process_names,
                    "peak_rss_mib": run.peak_rss_mib,
                    **_api_figures(sandbox.control_url),
                }

            out["initial"] = run_once()
            out["batch_sizes"] = create_batch_sizes(sandbox.base_url)
            out["cycles"] = _cycles(company_path, ks, repeats, run_once)
            # Runs the harness did not launch (a sensor's): none expected, but say so if any.
            out["other_runs"] = [
                {"run_id": r.run_id, "job": r.job_name, "status": r.status.value, "tags": r.tags}
                for r in dagster.foreign_runs()
            ]
    return out
