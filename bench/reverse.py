"""The reverse flow as users run it: a rep's Client company, back in SSM read-only (issue 14, §6).

`python -m bench.reverse PARAMS.json RESULT.json` (started by `python -m bench`, in its own
process like every suite) runs `run_reverse_suite` on a copy of the tiny demo company:

1. **Latency as launched.** The SSM sandbox as a process at the entry plan's rate, the
   project's definitions under a real `dagster-daemon` (`bench.launched.LaunchedDagster`): the
   sensor `ssm_changes` ticks at its default interval (`SSM_POLL_SECONDS`, 30 s) and launches
   `ssm_to_sage` through the run queue. After a first `sage_ssm_sync` (value lists, Sage's
   customers in SSM), a rep creates a company with the Client status, a rep, a country and a
   branch (`/sandbox/act-as/...`); the clock runs from just before that call until the SSM
   account carries an `extId` and `readOnly` (`/sandbox/state`, a control route: no API call
   counted). Creates go one at a time: the next only after the previous came back and its run
   ended, then after a random pause of a few seconds plus up to one sensor interval (seeded), so
   each create lands at a random point of the sensor's cycle, as a rep's does. Back-to-back
   creates would all land at the same phase (the run's length after a tick) and measure one
   point of the cycle twenty times. Per create: the wait for a tick that launches the run, the
   queue and launch, the run until SSM holds the key.
2. **Idle poll.** With nothing changing in SSM, the sandbox's own request counters over whole
   sensor ticks (from the end of one tick to the end of the Nth after it), per tick and per
   hour, against the floor of one list call per resource per tick (2 x 3600 / 30 = 240/h);
   logins in the window are counted apart (the sensor keeps one client across ticks).
3. **In process.** The daemon stopped, the same warehouse and sandbox: a create, then
   `ssm_to_sage` executed in this process (`execute_in_process`, ephemeral instance): what the
   job itself costs, beside what the sensor and the run launch add.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

SENSOR = "ssm_changes"
REVERSE_JOB = "ssm_to_sage"
REP = 2  # the sandbox's first sales rep (user 1 is the API's admin, the connector's user)
FEED_RESOURCES = 2  # accounts and contacts: one list call each per idle tick
VENDOR_CYCLE_SECONDS = 900.0  # the vendor's connector syncs every 15 minutes
MIN_GAP_SECONDS = 3.0  # the shortest pause between one create coming back and the next
ACK_TIMEOUT_SECONDS = 600.0
STATE_POLL_SECONDS = 0.2
ACTIVE_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")
# Distinct first words, so account codes (the name's first 8 letters) never collide.
NAMES = (
    "Avocet", "Bittern", "Curlew", "Dunlin", "Eider", "Fulmar", "Gannet", "Heron", "Ibis",
    "Jackdaw", "Kittiwake", "Lapwing", "Merlin", "Nightjar", "Osprey", "Plover", "Quail",
    "Redshank", "Siskin", "Teal", "Wagtail", "Yellowhammer",
)  # fmt: skip


# ------------------------------------------------------------------------------ figures


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's
    default); None for no values."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not within 0-100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise_latencies(seconds: list[float]) -> dict[str, Any]:
    """n, p50, p95, max and min of latencies, and the p95 as a share of the vendor's cycle."""
    p95 = percentile(seconds, 95)
    return {
        "n": len(seconds),
        "p50": percentile(seconds, 50),
        "p95": p95,
        "max": max(seconds, default=None),
        "min": min(seconds, default=None),
        "p95_share_of_vendor_cycle": None if p95 is None else p95 / VENDOR_CYCLE_SECONDS,
    }


def idle_figures(
    calls: int, logins: int, ticks: int, seconds: float, interval: float
) -> dict[str, Any]:
    """An idle window's calls per tick and per hour, beside the floor (one list call per feed
    resource per tick at the nominal interval)."""
    floor = FEED_RESOURCES * 3600 / interval
    per_hour = calls * 3600 / seconds if seconds > 0 else None
    return {
        "calls": calls,
        "logins": logins,
        "ticks": ticks,
        "seconds": seconds,
        "tick_seconds": seconds / ticks if ticks else None,
        "calls_per_tick": calls / ticks if ticks else None,
        "calls_per_hour": per_hour,
        "floor_per_hour": floor,
        "over_floor": None if per_hour is None else per_hour / floor,
    }


# ------------------------------------------------------------------------------ SSM sandbox


@dataclass
class Rep:
    """A sales rep working in the sandbox's SSM app, and the clock on what comes back."""

    control_url: str
    status_id: int  # the Client status
    country_id: int
    branch_id: int

    def create_client(self, name: str) -> int:
        body = {
            "name": name,
            "statusId": self.status_id,
            "countryId": self.country_id,
            "salesRepId1": REP,
            "branchId": self.branch_id,
            "address1": "1 Quay Street",
            "city": "Bristol",
            "postcode": "BS1 4DJ",
        }
        answer = httpx.post(f"{self.control_url}/act-as/{REP}/accounts", json=body, timeout=30)
        answer.raise_for_status()
        return int(answer.json()["id"])

    def account(self, account_id: int) -> dict[str, Any] | None:
        state = httpx.get(self.control_url + "/state", params={"resource": "accounts"}, timeout=30)
        state.raise_for_status()
        rows = next(iter(state.json().values()))
        return next((r for r in rows if r["id"] == account_id), None)

    def wait_until_read_only(self, account_id: int, timeout: float) -> float | None:
        """Epoch seconds when the account first showed an extId and readOnly; None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = self.account(account_id) or {}
            if record.get("extId") and record.get("readOnly"):
                return time.time()
            time.sleep(STATE_POLL_SECONDS)
        return None


def _stats(control_url: str) -> dict[str, Any]:
    return httpx.get(control_url + "/stats", timeout=30).json()


def _reset_stats(control_url: str) -> None:
    httpx.delete(control_url + "/stats", timeout=30).raise_for_status()


def _value_ids(warehouse: Path) -> dict[str, int]:
    """Ids of the Client status, the GB country and the default branch, as the first sync
    read SSM's value lists."""
    import duckdb

    from assets.ssm.settings import SyncSettings

    wanted = {
        "status_id": ("accountStatuses", SyncSettings.from_env().client_status.lower()),
        "country_id": ("countries", "gb"),
        "branch_id": ("branches", "__default__"),
    }
    out: dict[str, int] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for name, (list_name, key) in wanted.items():
            row = con.execute(
                "SELECT min(id) FROM ssm.value_lists WHERE list_name = ? AND key = ?",
                [list_name, key],
            ).fetchone()
            if row is None or row[0] is None:
                raise RuntimeError(f"the first sync left no {list_name} value {key!r}")
            out[name] = int(row[0])
    return out


def account_name(n: int, kind: str) -> str:
    """The n-th probe company's name (kind: "Supplies" as launched, "Trading" in process)."""
    word = NAMES[n % len(NAMES)]
    return f"{word} {kind}" + (f" {n // len(NAMES) + 1}" if n >= len(NAMES) else "") + " Ltd"


# ------------------------------------------------------------------------------ as launched


class _Sensor:
    """The sensor `ssm_changes` of a LaunchedDagster: its ticks and the runs of its job."""

    def __init__(self, dagster: Any) -> None:
        self.dagster = dagster
        found = [s for s in dagster.running_sensors() if s.name == SENSOR]
        if not found:
            raise RuntimeError(f"the sensor {SENSOR} is not running in the launched workspace")
        self.sensor = found[0]
        self.interval = float(self.sensor.min_interval_seconds)

    def completed_ticks(self, after: float) -> list[Any]:
        """Ticks that started after `after` (epoch s) and finished, oldest first."""
        ticks = self.dagster.instance.get_ticks(
            self.sensor.get_remote_origin_id(), self.sensor.selector_id, after=after
        )
        return sorted((t for t in ticks if t.is_completed), key=lambda t: t.timestamp)

    def wait_for_ticks(self, after: float, count: int) -> list[Any]:
        """Wait until `count` ticks started after `after` have finished; those ticks."""
        deadline = time.monotonic() + (count + 2) * self.interval + 120
        while time.monotonic() < deadline:
            done = self.completed_ticks(after)
            if len(done) >= count:
                return done[:count]
            time.sleep(0.1)
        raise RuntimeError(f"{SENSOR} did not tick {count} times within the expected time")

    def active_runs(self) -> list[Any]:
        import dagster as dg

        statuses = [dg.DagsterRunStatus(s) for s in ACTIVE_STATUSES]
        return self.dagster.instance.get_run_records(
            dg.RunsFilter(job_name=REVERSE_JOB, statuses=statuses)
        )

    def wait_idle(self, timeout: float = ACK_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while self.active_runs():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{REVERSE_JOB} still running after {timeout:.0f} s")
            time.sleep(0.2)

    def run_for(self, account_id: int, created_after: float) -> Any | None:
        """The run the sensor launched for the account (its reason tag names it)."""
        import dagster as dg

        records = self.dagster.instance.get_run_records(
            dg.RunsFilter(
                job_name=REVERSE_JOB,
                created_after=datetime.fromtimestamp(created_after - 1, UTC),
            )
        )
        wanted = f"accounts {account_id}"
        for record in sorted(records, key=lambda r: r.create_timestamp):
            reasons = record.dagster_run.tags.get("sync/reason", "").split(", ")
            if wanted in reasons:
                return record
        return None


def _one_launched_create(sensor: _Sensor, rep: Rep, n: int) -> dict[str, Any]:
    name = account_name(n, "Supplies")
    started = time.time()
    account = rep.create_client(name)
    seen = rep.wait_until_read_only(account, ACK_TIMEOUT_SECONDS)
    sensor.wait_idle()
    out: dict[str, Any] = {
        "n": n + 1,
        "account": account,
        "latency_seconds": None if seen is None else seen - started,
    }
    record = sensor.run_for(account, started)
    if record is not None:
        created = record.create_timestamp.timestamp()
        out.update(
            run_id=record.dagster_run.run_id,
            status=record.dagster_run.status.value,
            # create -> the run exists: waiting for the next tick, and the tick itself
            sensor_seconds=created - started,
            # the run record's created -> started: the queue, the launch, the worker's start
            launch_seconds=(record.start_time - created) if record.start_time else None,
            # started -> SSM shows the key (the run goes on: extract and push of the new row)
            run_to_ack_seconds=(seen - record.start_time) if seen and record.start_time else None,
            run_seconds=(record.end_time - record.start_time)
            if record.end_time and record.start_time
            else None,
        )
    return out


def _idle_window(sensor: _Sensor, control_url: str, ticks: int) -> dict[str, Any]:
    """Requests to SSM over `ticks` whole sensor ticks while nothing changes."""
    sensor.wait_idle()
    # One tick that started after every run ended consumed the acknowledgements (echoes).
    (edge,) = sensor.wait_for_ticks(time.time(), 1)
    _reset_stats(control_url)
    window = sensor.wait_for_ticks(edge.timestamp + 1e-3, ticks)
    stats = _stats(control_url)
    # From the start of the tick before the window to the start of its last tick: whole periods.
    # The last tick's calls are already counted (it finished), the first tick's are not.
    seconds = window[-1].timestamp - edge.timestamp
    requests: dict[str, int] = stats.get("requests", {})
    # Nothing changed, so no sensor may have launched a run in the window.
    launched = [
        r.run_id
        for r in sensor.dagster.foreign_runs()
        if _created(sensor, r.run_id) > edge.timestamp
    ]
    out = idle_figures(
        calls=int(stats["total"]),
        logins=sum(v for k, v in requests.items() if k.endswith("/login")),
        ticks=len(window),
        seconds=seconds,
        interval=sensor.interval,
    )
    out.update(
        requests=requests,
        runs_launched=launched,
        tick_statuses=sorted({t.status.value for t in window}),
    )
    return out


def _created(sensor: _Sensor, run_id: str) -> float:
    record = sensor.dagster.instance.get_run_record_by_id(run_id)
    return record.create_timestamp.timestamp() if record is not None else 0.0


# ------------------------------------------------------------------------------ in process


def _in_process(env: dict[str, str], rep: Rep, creates: int) -> list[dict[str, Any]]:
    """Each create followed at once by `ssm_to_sage` executed in this process."""
    import dagster as dg

    from bench.launched import _CLEARED, _environment

    out = []
    with _environment(env, _CLEARED):
        # Imported under the bench's settings: the definitions read the environment.
        from pipelines.definitions import defs

        job = defs.resolve_job_def(REVERSE_JOB)
        with dg.DagsterInstance.ephemeral() as instance:
            for n in range(creates):
                started = time.time()
                account = rep.create_client(account_name(n, "Trading"))
                job_started = time.perf_counter()
                result = job.execute_in_process(instance=instance, raise_on_error=False)
                job_seconds = time.perf_counter() - job_started
                seen = rep.wait_until_read_only(account, 30.0)
                out.append(
                    {
                        "n": n + 1,
                        "account": account,
                        "success": result.success,
                        "job_seconds": job_seconds,
                        "latency_seconds": None if seen is None else seen - started,
                    }
                )
    return out


# ------------------------------------------------------------------------------ the suite


def _env(work: Path, company: Path, sandbox: Any, rate: float) -> dict[str, str]:
    from bench.launched import connector_env

    env = connector_env(
        work, company, sandbox.base_url, sandbox.public_key, sandbox.private_key, rate
    )
    # The stand-in SDO engine writes the same company the extract reads.
    env["SAGE_SDO_DATA_PATH"] = str(company)
    return env


def _launched_suite(
    dagster: Any,
    control_url: str,
    warehouse: Path,
    creates: int,
    idle_ticks: int,
    rng: random.Random,
    log: Callable[[str], None],
) -> tuple[dict[str, Any], Rep]:
    """The first sync, `creates` creates one at a time, then the idle window; and the rep."""
    from bench.launched import SYNC_JOB

    out: dict[str, Any] = {"startup_seconds": dagster.startup_seconds}
    sensor = _Sensor(dagster)
    out["poll_seconds"] = sensor.interval
    first = dagster.run(SYNC_JOB)
    out["first_sync"] = {"status": first.status, "seconds": first.wall_seconds}
    if first.status != "SUCCESS":
        raise RuntimeError(f"the first sync ended {first.status}: {first.failed_steps}")
    log(f"first sync {first.wall_seconds:.0f} s; {SENSOR} every {sensor.interval:g} s")
    sensor.wait_idle()
    rep = Rep(control_url, **_value_ids(warehouse))
    # A tick after the sync has seen the sync's own writes (echoes, no run).
    sensor.wait_for_ticks(time.time(), 1)
    sensor.wait_idle()
    launched: list[dict[str, Any]] = []
    for n in range(creates):
        gap = rng.uniform(MIN_GAP_SECONDS, MIN_GAP_SECONDS + sensor.interval)
        time.sleep(gap)
        one = _one_launched_create(sensor, rep, n)
        one["gap_seconds"] = gap
        launched.append(one)
        log(f"  create {n + 1}/{creates}: {_seconds(one['latency_seconds'])}")
    out["creates"] = launched
    out["summary"] = summarise_latencies(
        [c["latency_seconds"] for c in launched if c["latency_seconds"] is not None]
    )
    out["timed_out"] = sum(1 for c in launched if c["latency_seconds"] is None)
    out["phases"] = {
        phase: summarise_latencies([c[phase] for c in launched if c.get(phase) is not None])
        for phase in ("sensor_seconds", "launch_seconds", "run_to_ack_seconds", "run_seconds")
    }
    out["idle"] = _idle_window(sensor, control_url, idle_ticks)
    log(
        f"  idle: {out['idle']['calls']} calls in {out['idle']['ticks']} ticks, "
        f"{_n(out['idle']['calls_per_hour'])}/h"
    )
    runs = dagster.foreign_runs()
    out["reverse_runs"] = sum(1 for r in runs if r.job_name == REVERSE_JOB)
    out["other_runs"] = [
        {"job": r.job_name, "status": r.status.value, "reason": r.tags.get("sync/reason")}
        for r in runs
        if r.job_name != REVERSE_JOB
    ]
    return out, rep


def run_reverse_suite(
    company: str,
    workdir: str,
    rate: float,
    creates: int = 20,
    idle_ticks: int = 8,
    in_process_creates: int = 20,
    seed: int = 14,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Latency of a rep's Client company as launched and in process, and the idle poll's calls.

    `company` is modified (customers are written into it): pass a copy.
    """
    from bench.launched import LaunchedDagster
    from sandbox.ssm.testing import running_sandbox

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with running_sandbox(work, rate=rate) as sandbox:
        env = _env(work, Path(company), sandbox, rate)
        with LaunchedDagster(work / "dagster", env) as dagster:
            launched, rep = _launched_suite(
                dagster,
                sandbox.control_url,
                Path(env["WAREHOUSE_PATH"]),
                creates,
                idle_ticks,
                random.Random(seed),
                log,
            )
        # The daemon stopped (no sensor), the same warehouse and sandbox.
        in_process = _in_process(env, rep, in_process_creates) if in_process_creates else []
    idle = launched.pop("idle")
    return {
        "rate": rate,
        "seed": seed,
        "vendor_cycle_seconds": VENDOR_CYCLE_SECONDS,
        "min_gap_seconds": MIN_GAP_SECONDS,
        "poll_seconds": launched["poll_seconds"],
        "launched": launched,
        "idle": idle,
        "in_process": {
            "creates": in_process,
            "summary": summarise_latencies(
                [c["latency_seconds"] for c in in_process if c["latency_seconds"] is not None]
            ),
            "job": summarise_latencies([c["job_seconds"] for c in in_process]),
            "failed": sum(1 for c in in_process if not c["success"]),
        },
        "suite_seconds": time.perf_counter() - started,
    }


def _n(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _seconds(value: float | None) -> str:
    return "timed out" if value is None else f"{value:.1f} s"


def main() -> None:
    """`python -m bench.reverse PARAMS.json RESULT.json`: the suite in this process."""
    params_path, result_path = sys.argv[1:3]
    params = json.loads(Path(params_path).read_text())
    company = Path(params.pop("company"))
    work = Path(params["workdir"])
    work.mkdir(parents=True, exist_ok=True)
    copy = work / "company.sqlite"
    shutil.copyfile(company, copy)  # the reverse flow writes customers into it

    def log(message: str) -> None:
        print(f"[reverse {time.strftime('%H:%M:%S')}] {message}", flush=True)

    result = run_reverse_suite(company=str(copy), log=log, **params)
    Path(result_path).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")
    main()
