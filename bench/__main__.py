"""`python -m bench [--quick] [--out DIR]`: measure the connector against its limits and peers.

All on one generated demo company per size (seed 1), each measurement in its own process:

1. extract of every `sage` table into DuckDB: the raw pyodbc driver loop (the limit), a raw
   arrow-odbc block-fetch loop (the driver's bulk limit), the connector's extractor, dlt's
   sql_database (pyarrow backend; the peer); rows/s, peak RSS;
2. the initial sync and incremental cycles after k changed Sage records (SSM sandbox at the
   plan's 4 requests/s): wall time, rows read from Sage, SSM API calls; twice, on copies of the
   company: executed in the bench's process (`execute_in_process`, an ephemeral instance: the
   steps' own cost), and as launched (`bench.launched`: the project's dagster.yaml, a real
   instance, `dagster-daemon` taking each run from its queue and starting a run worker with
   the job's executor: what a user sees), with per run the queue wait, the run worker's
   processes and peak memory;
3. the initial push's records/s against 4 x bulk batch size, and the SSM client's own bound;
4. a ten-year backfill of the monthly invoice partitions through the single-run backfill path;
5. the scale curve: extract and cycle time per size;
6. convergence under faults (`bench.faults`, full bench only): runs and wall time until SSM holds
   the desired state under 20 % 5xx, 10 % lost answers and 10 % 429, beside a fault-free run,
   and the list calls per lost create of order lines and product rates;
7. the reverse flow as users run it (`bench.reverse`, full bench only, ~20 min): a rep's Client
   company until SSM holds it read-only with its Sage code, through the daemon's sensor
   `ssm_changes` and a launched `ssm_to_sage` (p50/p95/max over 20 creates) and in process,
   and the idle poll's API calls per hour;
8. quotes as users run them (`bench.quotes`, full bench only, ~40 min on the small company): a
   rep's quote until SSM holds it priced and read-only with its Sage number, through the
   sensor `ssm_quotes` and a launched job `ssm_quotes`, idle and while a `sage_ssm_sync` runs
   (p50/p95/max over 20 quotes each, the phase split), and in process; API calls per quote;
9. several companies, one tenant (`bench.companies`, full bench only; on the small company ~20
   min with the sensors stopped, and past an hour with them running as deployed until the
   companies' `ssm_changes` stop taking the tenant's rate): three copies of a company in one companies file, their `sage_ssm_sync` launched at
   once through one daemon into one sandbox at 4 requests/s: records/s of the initial push
   against the shared bound, the 429s, a cycle with nothing changed, every record once in SSM.

Writes `docs/performance.md` and `bench/results.json` (or both into `--out DIR`).
`--quick` is the CI smoke size: the tiny company everywhere, one round each, and no sync suite
(the sync as launched, initial and cycles, runs in tests/pipelines/test_launched.py; with the
daemon's start it alone took 70 of the quick bench's 100 s). `make bench` runs both sync
modes, initial sync and cycles, on the small and large companies.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import machine, report
from bench.contenders import ODBC_OPTIONS
from bench.isolate import PROJECT_ROOT, TaskFailed, TaskOutcome, run_task

CONTENDERS = report.EXTRACT_CONTENDERS
SSM_RATE = 4.0  # requests/s of the entry SSM plan
REVERSE_CREATES = 20  # issue 14: p50 and p95 over 20 creates
REVERSE_IDLE_TICKS = 8  # 4 minutes of the sensor at its default 30 s
QUOTES = 20  # issue 15: p50 and p95 over 20 quotes, idle and during a sync
QUOTES_IN_PROCESS = 10
QUOTE_SYNC_WINDOW_SECONDS = 20.0  # a quote lands within a sync's first 20 s (the inbox steps)
COMPANY_NAMES = ("north", "south", "east")  # issue 16: 3 companies into one tenant


@dataclass(frozen=True)
class Plan:
    label: str
    extract_sizes: tuple[str, ...]
    rounds: dict[str, int]  # extract rounds per size (medians over rounds)
    sync_sizes: tuple[str, ...]  # the sync suite executed in process
    launched_sizes: tuple[str, ...]  # the sync suite launched through the daemon's queue
    ks: tuple[int, ...]
    launched_ks: tuple[int, ...]
    cycle_repeats: int
    backfill_size: str
    transport_records: int
    fault_size: str | None  # None: no fault suite (it alone takes minutes)
    reverse_size: str | None  # None: no reverse-flow suite (it waits on a 30 s sensor: ~20 min)
    # None: no quote suite (20 quotes idle and 20 during a sync, through the sensor: ~40 min)
    quotes_size: str | None = None
    # None: no several-companies suite (three companies' syncs at once: 20 min to over an hour)
    companies_size: str | None = None


QUICK = Plan(
    label="quick",
    extract_sizes=("tiny",),
    rounds={"tiny": 1},
    sync_sizes=(),
    # The launched sync (70 s with the daemon's start) runs in tests/pipelines/test_launched.py.
    launched_sizes=(),
    ks=(),
    launched_ks=(),
    cycle_repeats=1,
    backfill_size="tiny",
    transport_records=1000,
    fault_size=None,  # the CI smoke test must not get slower
    reverse_size=None,
)
FULL = Plan(
    label="full",
    extract_sizes=("small", "large"),
    rounds={"small": 3, "large": 1},
    sync_sizes=("tiny", "small", "large"),
    launched_sizes=("tiny", "small", "large"),
    ks=(0, 10, 100, 1000),
    launched_ks=(0, 10, 100, 1000),
    cycle_repeats=1,
    backfill_size="large",
    transport_records=5000,
    fault_size="small",
    reverse_size="tiny",  # the latency is the sensor's and the launch's, not the company's
    # The large company's first sync alone takes ~15 min as launched: the small one here.
    quotes_size="small",
    companies_size="small",
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def company(size: str, companies: Path) -> tuple[Path, dict[str, int]]:
    """The demo company of `size` (seed 1), generated once per work folder."""
    from sandbox.sage_demo import generate

    path = companies / f"{size}-seed1.sqlite"
    counts_path = path.with_suffix(".counts.json")
    if path.is_file() and counts_path.is_file():
        return path, json.loads(counts_path.read_text())
    log(f"generating the {size} demo company")
    started = time.perf_counter()
    counts = generate(path, size=size, seed=1)
    counts_path.write_text(json.dumps(counts))
    log(f"  {sum(counts.values()):,} rows in {time.perf_counter() - started:.0f} s")
    return path, counts


def _outcome(outcome: TaskOutcome) -> dict[str, Any]:
    return {
        **outcome.result,
        "wall_seconds": outcome.wall_seconds,
        "peak_rss_mib": outcome.peak_rss_mib,
    }


def measure_extract(size: str, path: Path, rounds: int, work: Path) -> dict[str, Any]:
    """`rounds` rounds of every contender; ratios pair by pair within each round."""
    runs: list[dict[str, dict[str, Any]]] = []
    for n in range(rounds):
        one: dict[str, dict[str, Any]] = {}
        for contender in CONTENDERS:
            log(f"extract {size}, round {n + 1}/{rounds}: {contender}")
            params = {"company": str(path), "workdir": str(work / f"extract-{size}")}
            try:
                outcome = _outcome(run_task(contender, params, work / "tasks"))
                outcome["rows_per_second"] = outcome["rows"] / outcome["seconds"]
            except TaskFailed as exc:
                outcome = {"error": str(exc)}
            one[contender] = outcome
            log(f"  {report.describe_extract(outcome)}")
        runs.append(one)
    return {"size": size, "rounds": runs, "summary": report.summarise_extract(runs)}


def _sync_suite(
    task: str, size: str, path: Path, ks: tuple[int, ...], plan: Plan, work: Path
) -> dict[str, Any]:
    """One sync suite (`task`: sync or launched_sync) on its own copy of the company."""
    copy = work / f"{task}-{size}" / "company.sqlite"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, copy)  # the cycles modify the company
    params = {
        "company": str(copy),
        "workdir": str(copy.parent),
        "ks": list(ks),
        "rate": SSM_RATE,
        "repeats": plan.cycle_repeats,
    }
    try:
        result = _outcome(run_task(task, params, work / "tasks"))
    except TaskFailed as exc:
        log(f"  failed: {exc}")
        return {"size": size, "error": str(exc)}
    result["size"] = size
    result["push"] = report.push_efficiency(result)
    return result


def measure_sync(size: str, path: Path, plan: Plan, work: Path) -> dict[str, Any]:
    """The sync suite executed in the bench's process (`execute_in_process`)."""
    log(f"sync {size}: initial sync, then cycles k={list(plan.ks)} at {SSM_RATE:g} requests/s")
    result = _sync_suite("sync", size, path, plan.ks, plan, work)
    if "error" not in result:
        log(f"  initial sync {result['initial']['seconds']:.0f} s; {len(result['cycles'])} cycles")
    return result


def measure_launched(size: str, path: Path, plan: Plan, work: Path) -> dict[str, Any]:
    """The sync suite as users run it: each run submitted to the daemon's queue."""
    log(
        f"launched {size}: initial sync, then cycles k={list(plan.launched_ks)}, through the "
        "daemon's run queue"
    )
    result = _sync_suite("launched_sync", size, path, plan.launched_ks, plan, work)
    log(f"  {report.describe_launched(result)}")
    return result


def _sized_task(task: str, size: str, params: dict[str, Any], work: Path) -> dict[str, Any]:
    """One task on the company of `size`: its figures, or its error (the bench goes on)."""
    try:
        result = _outcome(run_task(task, params, work / "tasks"))
    except TaskFailed as exc:
        log(f"  failed: {exc}")
        return {"size": size, "error": str(exc)}
    result["size"] = size
    return result


def measure_backfill(size: str, path: Path, work: Path) -> dict[str, Any]:
    log(f"backfill {size}: 120 monthly invoice partitions")
    params = {"company": str(path), "workdir": str(work / f"backfill-{size}")}
    result = _sized_task("backfill", size, params, work)
    if "error" not in result:
        log(f"  {result['partitions']} partitions in {result['seconds']:.0f} s")
    return result


def measure_faults(size: str, path: Path, work: Path) -> dict[str, Any]:
    log(f"faults {size}: runs until SSM holds the desired state, fault-free and under faults")
    params = {"company": str(path), "workdir": str(work / f"faults-{size}"), "rate": SSM_RATE}
    result = _sized_task("faults", size, params, work)
    if "error" not in result:
        log(f"  {report.describe_faults(result)}")
    return result


def measure_reverse(size: str, path: Path, work: Path) -> dict[str, Any]:
    """The reverse-flow suite in its own process (`python -m bench.reverse`)."""
    log(
        f"reverse {size}: {REVERSE_CREATES} Client companies created by a rep, through the "
        f"sensor and the daemon, then an idle poll of {REVERSE_IDLE_TICKS} ticks"
    )
    folder = work / f"reverse-{size}"
    folder.mkdir(parents=True, exist_ok=True)
    params = {
        "company": str(path),
        "workdir": str(folder / "work"),
        "rate": SSM_RATE,
        "creates": REVERSE_CREATES,
        "idle_ticks": REVERSE_IDLE_TICKS,
        "in_process_creates": REVERSE_CREATES,
    }
    params_path, result_path, log_path = (
        folder / "params.json",
        folder / "result.json",
        folder / "reverse.log",
    )
    params_path.write_text(json.dumps(params))
    started = time.perf_counter()
    with log_path.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "bench.reverse", str(params_path), str(result_path)],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0 or not result_path.is_file():
        tail = log_path.read_text(errors="replace")[-3000:]
        log(f"  failed ({done.returncode}), log {log_path}")
        return {"size": size, "error": tail}
    result = {**json.loads(result_path.read_text()), "size": size}
    result["wall_seconds"] = time.perf_counter() - started
    log(f"  {report.describe_reverse(result)}")
    return result


def measure_quotes(size: str, path: Path, work: Path) -> dict[str, Any]:
    """The quote suite in its own process (`python -m bench.quotes`)."""
    log(
        f"quotes {size}: {QUOTES} quotes by a rep through the sensor ssm_quotes and the daemon, "
        f"idle, then {QUOTES} while a sage_ssm_sync runs, then {QUOTES_IN_PROCESS} in process"
    )
    folder = work / f"quotes-{size}"
    folder.mkdir(parents=True, exist_ok=True)
    params = {
        "company": str(path),
        "workdir": str(folder / "work"),
        "rate": SSM_RATE,
        "quotes": QUOTES,
        "sync_quotes": QUOTES,
        "sync_window_seconds": QUOTE_SYNC_WINDOW_SECONDS,
        "in_process_quotes": QUOTES_IN_PROCESS,
    }
    params_path, result_path, log_path = (
        folder / "params.json",
        folder / "result.json",
        folder / "quotes.log",
    )
    params_path.write_text(json.dumps(params))
    started = time.perf_counter()
    with log_path.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "bench.quotes", str(params_path), str(result_path)],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0 or not result_path.is_file():
        tail = log_path.read_text(errors="replace")[-3000:]
        log(f"  failed ({done.returncode}), log {log_path}")
        return {"size": size, "error": tail}
    result = {**json.loads(result_path.read_text()), "size": size}
    result["wall_seconds"] = time.perf_counter() - started
    log(f"  {report.describe_quotes(result)}")
    return result


def measure_companies(size: str, path: Path, work: Path) -> dict[str, Any]:
    """The several-companies suite in its own process (`python -m bench.companies`)."""
    log(
        f"companies {size}: {', '.join(COMPANY_NAMES)} (copies of the {size} company) syncing "
        f"into one SSM tenant at once at {SSM_RATE:g} requests/s, then a cycle with nothing changed"
    )
    folder = work / f"companies-{size}"
    folder.mkdir(parents=True, exist_ok=True)
    params = {
        "company": str(path),
        "workdir": str(folder / "work"),
        "rate": SSM_RATE,
        "names": list(COMPANY_NAMES),
    }
    params_path, result_path, log_path = (
        folder / "params.json",
        folder / "result.json",
        folder / "companies.log",
    )
    params_path.write_text(json.dumps(params))
    started = time.perf_counter()
    with log_path.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "bench.companies", str(params_path), str(result_path)],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0 or not result_path.is_file():
        tail = log_path.read_text(errors="replace")[-3000:]
        log(f"  failed ({done.returncode}), log {log_path}")
        return {"size": size, "error": tail}
    result = {**json.loads(result_path.read_text()), "size": size}
    result["wall_seconds"] = time.perf_counter() - started
    log(f"  {report.describe_companies(result)}")
    return result


def measure_transport(records: int, work: Path) -> dict[str, Any]:
    log(f"SSM client bulk_create of {records} products and {records} accounts")
    params = {"workdir": str(work / "transport"), "records": records, "rate": SSM_RATE}
    try:
        return _outcome(run_task("transport", params, work / "tasks"))
    except TaskFailed as exc:
        log(f"  failed: {exc}")
        return {"error": str(exc)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="the CI smoke size (tiny company, no sync suite)"
    )
    parser.add_argument("--out", type=Path, help="write performance.md and results.json here")
    parser.add_argument("--work", type=Path, help="scratch folder (companies are cached here)")
    parser.add_argument(
        "--sync-sizes",
        help="comma-separated sizes for both sync/cycle suites (overrides the plan)",
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated: extract,sync,launched,backfill,push,faults,reverse,quotes,companies",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.sync_sizes:
        sizes = tuple(args.sync_sizes.split(","))
        plan = Plan(**{**plan.__dict__, "sync_sizes": sizes, "launched_sizes": sizes})
    skip = {s for s in args.skip.split(",") if s}
    md_path = (args.out / "performance.md") if args.out else PROJECT_ROOT / "docs/performance.md"
    json_path = (args.out / "results.json") if args.out else PROJECT_ROOT / "bench/results.json"
    work = args.work or Path(tempfile.mkdtemp(prefix="sage-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    companies = work / "companies"
    companies.mkdir(exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "mode": plan.label,
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "plan": {**plan.__dict__, "skip": sorted(skip), "odbc_options": ODBC_OPTIONS},
        "machine": machine.describe(),
        "companies": {},
        "extract": [],
        "sync": [],
        "launched": [],
    }
    # Only the companies the phases that run need (the large one takes a minute to generate).
    needed = {
        "extract": set(plan.extract_sizes),
        "sync": set(plan.sync_sizes),
        "launched": set(plan.launched_sizes),
        "backfill": {plan.backfill_size},
        "faults": {plan.fault_size} if plan.fault_size else set(),
        "reverse": {plan.reverse_size} if plan.reverse_size else set(),
        "quotes": {plan.quotes_size} if plan.quotes_size else set(),
        "companies": {plan.companies_size} if plan.companies_size else set(),
    }
    sizes = set().union(*(v for phase, v in needed.items() if phase not in skip))
    paths: dict[str, Path] = {}
    for size in ("tiny", "small", "large"):
        if size in sizes:
            paths[size], results["companies"][size] = company(size, companies)
    if "extract" not in skip:
        for size in plan.extract_sizes:
            results["extract"].append(
                measure_extract(size, paths[size], plan.rounds.get(size, 1), work)
            )
    if "push" not in skip:
        results["transport"] = measure_transport(plan.transport_records, work)
    if "sync" not in skip:
        for size in plan.sync_sizes:
            results["sync"].append(measure_sync(size, paths[size], plan, work))
    if "launched" not in skip:
        for size in plan.launched_sizes:
            results["launched"].append(measure_launched(size, paths[size], plan, work))
    if "backfill" not in skip:
        results["backfill"] = measure_backfill(plan.backfill_size, paths[plan.backfill_size], work)
    if "faults" not in skip and plan.fault_size:
        results["faults"] = measure_faults(plan.fault_size, paths[plan.fault_size], work)
    if "reverse" not in skip and plan.reverse_size:
        results["reverse"] = measure_reverse(plan.reverse_size, paths[plan.reverse_size], work)
    if "quotes" not in skip and plan.quotes_size:
        results["quotes"] = measure_quotes(plan.quotes_size, paths[plan.quotes_size], work)
    if "companies" not in skip and plan.companies_size:
        results["several_companies"] = measure_companies(
            plan.companies_size, paths[plan.companies_size], work
        )
    results["bench_seconds"] = time.perf_counter() - started
    results["goals"] = report.goals(results)
    md_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    md_path.write_text(report.render(results))
    log(f"wrote {md_path} and {json_path} in {results['bench_seconds']:.0f} s (work: {work})")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
