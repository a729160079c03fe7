"""How the sync converges when SSM misbehaves: runs and wall time until SSM holds the desired
state, under issue 13's fault mix, next to the same sync against a well-behaved SSM.

`run_fault_suite` takes a demo company and runs the project's sync job in process (as
`bench.sync` does: the company through the SQLite ODBC driver, a fresh DuckDB warehouse, the SSM
sandbox as a process at the plan's rate) twice over:

1. fault-free: one run, the reference;
2. under the fault mix (20 % of calls answered 5xx, 10 % of writes committed with their answer
   lost, 10 % answered 429; seeded, so it repeats): run after run, on a fresh warehouse and
   sandbox, until SSM holds the desired state (or `max_runs`).

Per run: wall seconds, whether it succeeded and which steps failed, SSM API calls (the sandbox's
own counters), faults drawn, records left for the next run, and whether SSM now holds the
desired state (every desired record once, nothing else, no create left pending). For the
creates whose answer was lost (`sync.changes` outcome `unknown`) of the resources without extId
(order lines, product rates), the list calls spent finding them: their GETs beyond the fault-free
run's, per lost create.

`python -m bench.faults [--size small] [--rate 4] [--seed 13] [--max-runs 4] [--out FILE]`
prints the figures as JSON (and writes them to FILE).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

# Issue 13's trial: the sandbox's fault shares (its command-line flags, `_` for `-`).
FAULT_MIX = {"fault_5xx": 0.2, "fault_lost_answer": 0.1, "fault_429": 0.1}
SSM_RATE = 4.0  # requests/s of the entry SSM plan
# The resources whose records have no extId: a lost create is found by its lookup fields.
WITHOUT_EXT_ID = {"sales_order_lines": "salesordersLines", "product_rates": "productRates"}


def run_fault_suite(
    company: str, workdir: str, rate: float = SSM_RATE, seed: int = 13, max_runs: int = 4
) -> dict[str, Any]:
    """The fault-free sync and the faulted syncs until converged; a dict of figures."""
    work = Path(workdir)
    clean = _runs_until_converged(Path(company), work / "fault-free", rate, {}, 1)
    faulted = _runs_until_converged(
        Path(company), work / "faults", rate, {**FAULT_MIX, "fault_seed": seed}, max_runs
    )
    return {
        "rate": rate,
        "fault_mix": FAULT_MIX,
        "seed": seed,
        "fault_free": clean,
        "faults": faulted,
        "lost_creates": _lost_create_costs(clean, faulted),
    }


def _runs_until_converged(
    company: Path, work: Path, rate: float, faults: dict[str, Any], max_runs: int
) -> dict[str, Any]:
    import dagster as dg

    from bench.sync import _api_figures, _quiet_dagster, _reset_stats, _sync_job, bench_definitions
    from sandbox.ssm.testing import running_sandbox

    if work.exists():
        shutil.rmtree(work)  # a fresh warehouse and an empty SSM, whatever ran here before
    work.mkdir(parents=True)
    warehouse = work / "warehouse.duckdb"
    runs: list[dict[str, Any]] = []
    with running_sandbox(work, rate=rate, **faults) as sandbox, _quiet_dagster():
        defs = bench_definitions(
            company, warehouse, sandbox.base_url, sandbox.public_key, sandbox.private_key, rate
        )
        job = defs.resolve_job_def(_sync_job().name)
        instance = dg.DagsterInstance.ephemeral()
        run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        for _ in range(max_runs):
            _reset_stats(sandbox.control_url)
            started = time.perf_counter()
            result = job.execute_in_process(
                instance=instance, raise_on_error=False, run_config=run_config
            )
            seconds = time.perf_counter() - started
            api = _api_figures(sandbox.control_url)
            run = {
                "seconds": round(seconds, 1),
                "success": result.success,
                "failed_steps": sorted(
                    {e.step_key for e in result.all_events if e.is_step_failure and e.step_key}
                ),
                "api_calls": api["api_calls"],
                "write_calls": api["write_calls"],
                "rate_limited": api["rate_limited"],
                "faults": httpx.get(sandbox.control_url + "/stats", timeout=10).json()["faults"],
                "lookup_calls": {
                    name: api["requests"].get(f"GET /{resource}", 0)
                    for name, resource in WITHOUT_EXT_ID.items()
                },
                **_pushes(warehouse, result.run_id),
                "unconverged": _unconverged(warehouse, sandbox.control_url),
            }
            runs.append(run)
            if not run["unconverged"]:
                break
    converged = not runs[-1]["unconverged"]
    return {
        "runs": runs,
        "runs_to_converge": len(runs) if converged else None,
        "seconds_to_converge": round(sum(r["seconds"] for r in runs), 1) if converged else None,
        "api_calls": sum(r["api_calls"] for r in runs),
        "failed_steps": sum(len(r["failed_steps"]) for r in runs),
    }


def _pushes(warehouse: Path, run_id: str) -> dict[str, Any]:
    """What the run's pushes recorded: records left for the next run, statuses, lost creates."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        statuses = dict(
            con.execute(
                "SELECT resource, status FROM sync.runs WHERE run_id = ? ORDER BY resource",
                [run_id],
            ).fetchall()
        )
        (retry_later,) = con.execute(
            "SELECT coalesce(sum(retry_later), 0) FROM sync.runs WHERE run_id = ?", [run_id]
        ).fetchone()  # type: ignore[misc]
        lost = dict(
            con.execute(
                "SELECT resource, count(DISTINCT ext_id) FROM sync.changes WHERE run_id = ? "
                "AND operation = 'create' AND outcome = 'unknown' GROUP BY 1",
                [run_id],
            ).fetchall()
        )
    return {
        "statuses": {r: s for r, s in statuses.items() if s != "ok"},
        "retry_later": int(retry_later),
        "lost_creates": lost,
    }


def _unconverged(warehouse: Path, control_url: str) -> dict[str, str]:
    """Per pushed resource, how SSM differs from the desired state (empty: it holds it)."""
    from assets.ssm.apply import lookup_key
    from assets.ssm.contract import PUSHED

    problems: dict[str, str] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for contract in PUSHED:
            if contract.match_only:
                continue  # users are matched, never written
            (desired,) = con.execute(f"SELECT count(*) FROM ssm.desired_{contract.name}").fetchone()  # type: ignore[misc]  # noqa: S608
            (unsettled,) = con.execute(
                f"SELECT count(*) FROM ssm.synced_{contract.name} "  # noqa: S608
                "WHERE state = 'pending_create'"
            ).fetchone()  # type: ignore[misc]
            state = httpx.get(
                control_url + "/state", params={"resource": contract.ssm_resource}, timeout=60
            ).json()
            # Records without the connector's key (the sandbox's seeded price list) are not its.
            live = [
                key
                for r in next(iter(state.values()))
                if not r.get("deleted") and (key := lookup_key(contract, r)) is not None
            ]
            keys = set(live)
            if (len(live), len(keys), unsettled) != (desired, desired, 0):
                problems[contract.name] = (
                    f"{desired} desired, {len(live)} live in SSM ({len(keys)} keys), "
                    f"{unsettled} creates pending"
                )
    return problems


def _lost_create_costs(clean: dict[str, Any], faulted: dict[str, Any]) -> dict[str, Any]:
    """List calls spent finding the lost creates of resources without extId, per lost create."""
    baseline = {n: sum(r["lookup_calls"][n] for r in clean["runs"]) for n in WITHOUT_EXT_ID}
    out: dict[str, Any] = {}
    for name in WITHOUT_EXT_ID:
        lost = sum(r["lost_creates"].get(name, 0) for r in faulted["runs"])
        calls = sum(r["lookup_calls"][name] for r in faulted["runs"]) - baseline[name]
        out[name] = {
            "lost_creates": lost,
            "lookup_calls": calls,
            "calls_per_lost_create": round(calls / lost, 3) if lost else None,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--size", default="small", help="demo company size (tiny, small, large)")
    parser.add_argument("--rate", type=float, default=SSM_RATE, help="requests/s of the plan")
    parser.add_argument("--seed", type=int, default=13, help="the fault injector's seed")
    parser.add_argument("--max-runs", type=int, default=4, help="runs before giving up")
    parser.add_argument("--work", type=Path, help="scratch folder (the company is cached here)")
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    from bench.__main__ import company

    work = args.work or Path(tempfile.mkdtemp(prefix="sage-bench-faults-"))
    companies = work / "companies"
    companies.mkdir(parents=True, exist_ok=True)
    path, _ = company(args.size, companies)
    started = time.perf_counter()
    figures = run_fault_suite(str(path), str(work), args.rate, args.seed, args.max_runs)
    figures.update(size=args.size, bench_seconds=round(time.perf_counter() - started, 1))
    text = json.dumps(figures, indent=1, default=str)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
