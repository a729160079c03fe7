"""Several Sage companies syncing into one SSM tenant at once (issue 16, "Measured").

`python -m bench.companies PARAMS.json RESULT.json` (started by `python -m bench`, in its own
process like every suite) runs `run_companies_suite` on copies of one demo company:

- Three companies, `north`, `south` and `east`: the same demo company (same generator and seed,
  so the same account codes), the names of the second and third suffixed " South" and " East"
  as tests/pipelines/test_companies.py does. A companies file lists them (keys `prefix`, the
  default with several companies: extIds `NORTH-…`, `SOUTH-…`, `EAST-…`), each company in its
  own data folder `<root>/companies/<name>` with the company at `sage50-demo.sqlite`, and one
  pace file for the tenant (`SSM_PACE_DIR`, the SSM client's SharedPacer): all three share the
  plan's 4 requests/s.
- The SSM sandbox as a process at that rate; one `dagster-daemon` on the workspace
  `python -m pipelines.companies workspace` writes (one code location per company,
  `bench.launched.LaunchedDagster`, schedules stopped, sensors as deployed).
- **Initial sync**: the three `sage_ssm_sync` runs launched at once (`location=`). Per company
  its run's wall time (submission -> end), records created (its run_summary's `created`) and
  API calls (its run_summary's `api_calls`: the pushes' own calls). Together: records created
  over the push window (the first push's start to the last push's end, from each push's
  materialization: its event's time less its `seconds`), against the shared bound, the same
  definition as `bench.push.initial_push_efficiency` for one company: the least time the rate
  allows is ceil(created / batch size) calls per company and resource at 4 calls/s. The
  sandbox's counters (every request, the 429s) and, sampled every second from its control
  route (outside the counters), the request rate the tenant saw during the push window.
- **A cycle with nothing changed**: the three syncs launched at once again; per company wall
  time and API calls, the sandbox's totals.
- **Correctness guard**: SSM's accounts and products, per company under its prefix, against
  what its push desired; no extId twice, none outside the three prefixes.
- **The change feed's cost** (issue 16: each company reads only its own records): per round
  the syncs' change-feed calls (`inbox/ssm_*`'s `api_calls`), the sensors' ticks and the runs
  they requested, and one `ssm_changes` tick per company whose window opens at the round's
  start (evaluated in this process with the company's environment, the login left out).

`python -m bench.companies --quick N RESULT.json [WORK]` runs it on N (1 to 3) copies of the
tiny company: minutes, where three small companies take 20 minutes to over an hour.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

COMPANIES = ("north", "south", "east")
GUARDED = ("accounts", "products")  # resources whose SSM records map one to one to desired ones
SAMPLE_SECONDS = 1.0
RUN_TIMEOUT_SECONDS = 3600.0
DEMO_FILE = "sage50-demo.sqlite"  # where a company's environment expects the demo company
FEED_ASSETS = ("ssm_accounts", "ssm_contacts", "ssm_salesorders")
SENSORS = ("ssm_changes", "ssm_quotes")


# ------------------------------------------------------------------------------ figures


def prefix(name: str) -> str:
    """The extId prefix the companies file gives a company by default."""
    return f"{name.upper()}-"


def requests_between(
    samples: list[tuple[float, int, int]], start: float, end: float
) -> dict[str, Any]:
    """What the sandbox counted between `start` and `end` (epoch s), from samples (time, total,
    rate_limited) of its cumulative counters: requests linearly interpolated at both ends, the
    429s (whole answers) between the last sample at or before `start` and the first at or after
    `end`. None where the samples do not cover the window."""
    samples = sorted(samples)
    seconds = end - start
    if not samples or samples[0][0] > start or samples[-1][0] < end or seconds <= 0:
        return {"requests": None, "rate_limited": None, "requests_per_second": None}

    def total_at(moment: float) -> float:
        for before, after in zip(samples, samples[1:], strict=False):
            if before[0] <= moment <= after[0]:
                span = after[0] - before[0]
                share = (moment - before[0]) / span if span else 0.0
                return before[1] + (after[1] - before[1]) * share
        return float(samples[-1][1])

    limited_before = max((s for s in samples if s[0] <= start), key=lambda s: s[0])[2]
    limited_after = min((s for s in samples if s[0] >= end), key=lambda s: s[0])[2]
    requests = total_at(end) - total_at(start)
    return {
        "requests": requests,
        "rate_limited": limited_after - limited_before,
        "requests_per_second": requests / seconds,
    }


def _intervals_seconds(intervals: list[tuple[float, float]], at_least: int) -> float:
    """Seconds during which at least `at_least` of the intervals overlap."""
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    seconds, open_now, since = 0.0, 0, 0.0
    for moment, step in edges:
        if open_now >= at_least:
            seconds += moment - since
        open_now += step
        since = moment
    return seconds


def summarise_companies(
    runs: Mapping[str, Mapping[str, Any]],
    batch_sizes: Mapping[str, int],
    rate: float,
    samples: list[tuple[float, int, int]] | None = None,
) -> dict[str, Any]:
    """Per company and together: wall time, records created, API calls, and the push window's
    records/s against the shared bound (rate x bulk batch size, records-weighted).

    `runs[name]` holds `status`, `submitted_at`, `ended_at` (epoch s), `created` and
    `api_calls` (its run_summary) and `pushes`: per resource `created`, `seconds`,
    `api_calls`, `end` (epoch s of the push's materialization). A push's start is its end less
    its own seconds, so the window holds the pushes, not the extract before them.
    """
    per_company: dict[str, dict[str, Any]] = {}
    intervals: list[tuple[float, float]] = []
    least_seconds = 0.0
    push_calls = 0
    for name, run in runs.items():
        submitted, ended = run.get("submitted_at"), run.get("ended_at")
        own: list[tuple[float, float]] = []
        company_least = 0.0
        for resource, push in run.get("pushes", {}).items():
            created = int(push.get("created") or 0)
            took = float(push.get("seconds") or 0.0)
            push_calls += int(push.get("api_calls") or 0)
            if push.get("end") is not None:
                own.append((float(push["end"]) - took, float(push["end"])))
            if created and resource in batch_sizes:
                company_least += math.ceil(created / batch_sizes[resource]) / rate
        intervals += own
        least_seconds += company_least
        push_seconds = sum(e - s for s, e in own)
        per_company[name] = {
            "status": run.get("status"),
            "wall_seconds": None if submitted is None or ended is None else ended - submitted,
            "created": int(run.get("created") or 0),
            "api_calls": int(run.get("api_calls") or 0),
            "push_seconds": push_seconds,
            "first_push_start": min((s for s, _ in own), default=None),
            "last_push_end": max((e for _, e in own), default=None),
            "least_push_seconds": company_least,
        }
    records = sum(c["created"] for c in per_company.values())
    starts = [c["first_push_start"] for c in per_company.values() if c["first_push_start"]]
    ends = [c["last_push_end"] for c in per_company.values() if c["last_push_end"]]
    window = (max(ends) - min(starts)) if starts and ends else None
    submitted_all = [r["submitted_at"] for r in runs.values() if r.get("submitted_at")]
    ended_all = [r["ended_at"] for r in runs.values() if r.get("ended_at")]
    overall = (max(ended_all) - min(submitted_all)) if submitted_all and ended_all else None
    out: dict[str, Any] = {
        "companies": per_company,
        "succeeded": sum(1 for c in per_company.values() if c["status"] == "SUCCESS"),
        "records_created": records,
        "api_calls": sum(c["api_calls"] for c in per_company.values()),
        "push_api_calls": push_calls,
        "overall_seconds": overall,  # first submission -> last run's end
        "push_window_seconds": window,  # first push's start -> last push's end
        "push_window_start": min(starts) if starts else None,
        "push_window_end": max(ends) if ends else None,
        # Seconds of the window in which at least two companies were pushing at once.
        "concurrent_push_seconds": _intervals_seconds(intervals, 2) if intervals else 0.0,
        "least_push_seconds": least_seconds,
        "records_per_second": records / window if window and records else None,
        "records_per_second_overall": records / overall if overall and records else None,
        # The records-weighted bound: the same records in the least time the shared rate allows.
        "bound_records_per_second": records / least_seconds if least_seconds else None,
        "efficiency": least_seconds / window if window and least_seconds else None,
        "push_requests_per_second": push_calls / window if window else None,
        "rate": rate,
    }
    if samples and window:
        out["during_pushes"] = requests_between(samples, min(starts), max(ends))
    return out


# ------------------------------------------------------------------------------ set-up


def make_companies(source: Path, root: Path, names: tuple[str, ...] = COMPANIES) -> list[Path]:
    """A copy of `source` per company at `<root>/companies/<name>/sage50-demo.sqlite`; every
    copy after the first gets its name appended to its customers' names (same codes)."""
    paths = []
    for n, name in enumerate(names):
        path = root / "companies" / name / DEMO_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        if n:
            with sqlite3.connect(path) as con:
                con.execute(
                    "UPDATE SALES_LEDGER SET NAME = substr(NAME, 1, 50) || ?",
                    (f" {name.title()}",),
                )
            con.close()
        paths.append(path)
    return paths


def companies_file_text(names: tuple[str, ...] = COMPANIES) -> str:
    """The companies file: every company with its defaults (prefix keys, active)."""
    return "companies:\n" + "".join(f"  {name}: {{}}\n" for name in names)


class StatsSampler(threading.Thread):
    """The sandbox's cumulative request and 429 counters every second, from its control route
    (which the counters do not count)."""

    def __init__(self, control_url: str) -> None:
        super().__init__(name="stats-sampler", daemon=True)
        self.control_url = control_url
        self.samples: list[tuple[float, int, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                try:
                    stats = client.get(self.control_url + "/stats").json()
                    self.samples.append((time.time(), int(stats["total"]), stats["rate_limited"]))
                except httpx.HTTPError:
                    pass  # a missed sample only widens the interpolation
                self.stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> StatsSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join(timeout=15)


def _stats(control_url: str) -> dict[str, Any]:
    return httpx.get(control_url + "/stats", timeout=30).json()


def _reset_stats(control_url: str) -> None:
    httpx.delete(control_url + "/stats", timeout=30).raise_for_status()


def _state(control_url: str, resource: str) -> list[dict[str, Any]]:
    answer = httpx.get(control_url + "/state", params={"resource": resource}, timeout=120)
    answer.raise_for_status()
    return next(iter(answer.json().values()))


# ------------------------------------------------------------------------------ one round


def _run_figures(dagster: Any, name: str, run: Any) -> dict[str, Any]:
    """What `summarise_companies` reads of one company's run."""
    import dagster as dg

    pushes: dict[str, dict[str, Any]] = {}
    feeds: dict[str, dict[str, Any]] = {}
    summary: dict[str, Any] = {}
    events = dagster.instance.all_logs(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    )
    for entry in events:
        materialization = entry.dagster_event.event_specific_data.materialization
        path = list(materialization.asset_key.path)
        if path[:1] == [name]:
            path = path[1:]
        metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        if path == ["ssm", "run_summary"]:
            summary = metadata
        elif path[:1] == ["inbox"] and path[1] in FEED_ASSETS:
            feeds[path[1].removeprefix("ssm_")] = {
                "read": metadata.get("read"),
                "api_calls": metadata.get("api_calls"),
            }
        elif path[:1] == ["ssm"] and path[1].startswith("push_"):
            pushes[path[1].removeprefix("push_")] = {
                "created": metadata.get("created"),
                "desired": metadata.get("desired"),
                "seconds": metadata.get("seconds"),
                "api_calls": metadata.get("api_calls"),
                "end": entry.timestamp,
            }
    return {
        "run_id": run.run_id,
        "status": run.status,
        "failed_steps": run.failed_steps,
        "submitted_at": run.submitted_at,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "queue_seconds": run.queue_seconds,
        "phases": run.phases,  # seconds between the run's lifecycle events (bench.launched)
        "slowest_steps": dict(sorted(run.step_seconds.items(), key=lambda kv: -kv[1])[:5]),
        "company_tag": run.tags.get("sage/company"),
        "summary_company": summary.get("company"),
        "kind": summary.get("kind"),
        "created": summary.get("created"),
        "api_calls": summary.get("api_calls"),
        "write_calls": summary.get("write_calls"),
        "pushes": pushes,
        # The change feed's reads (inbox/ssm_accounts, ...): what SSM returned, at what cost.
        "feeds": feeds,
        "feed_api_calls": sum(int(f.get("api_calls") or 0) for f in feeds.values()),
    }


def _round(
    dagster: Any, control_url: str, names: tuple[str, ...], batch_sizes: Mapping[str, int],
    rate: float,
) -> dict[str, Any]:  # fmt: skip
    """The companies' syncs launched at once, waited for, summarised with the sandbox's
    counters over the round."""
    from bench.launched import SYNC_JOB

    _reset_stats(control_url)
    started = time.time()
    with StatsSampler(control_url) as sampler:
        run_ids = {name: dagster.launch(SYNC_JOB, location=name, sample=False) for name in names}
        done = {name: dagster.wait(run_id, RUN_TIMEOUT_SECONDS) for name, run_id in run_ids.items()}
        time.sleep(SAMPLE_SECONDS * 1.5)  # a sample after the last push's end
    ended = time.time()
    runs = {name: _run_figures(dagster, name, run) for name, run in done.items()}
    stats = _stats(control_url)
    summary = summarise_companies(runs, batch_sizes, rate, sampler.samples)
    summary["started_at"], summary["ended_at"] = started, ended
    summary["sensor_ticks"] = sensor_ticks(dagster, started, ended)
    summary["feed_api_calls"] = sum(r["feed_api_calls"] for r in runs.values())
    summary["sandbox"] = {
        "requests": stats["total"],
        "writes": stats["writes"],
        "rate_limited": stats["rate_limited"],
        "statuses": stats.get("statuses", {}),
        "requests_by_kind": stats.get("requests", {}),
    }
    summary["runs"] = runs
    return summary


def check_records(
    live: Mapping[str, list[Mapping[str, Any]]],
    desired: Mapping[str, Mapping[str, int | None]],
    prefixes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """SSM's live records (`live[resource]`, each with its extId) per company prefix against
    what each company's push desired (`desired[company][resource]`); extIds held twice, and
    extIds under no company's prefix. Met when every company holds exactly what it desired.
    `prefixes`: each company's, when not the default (one company alone has none)."""
    prefixes = prefixes or {name: prefix(name) for name in desired}
    out: dict[str, Any] = {"resources": {}}
    for resource, records in live.items():
        by_ext = Counter(str(r["extId"]) for r in records if r.get("extId"))
        twice = sorted(k for k, n in by_ext.items() if n > 1)
        per_company = {
            name: {
                "in_ssm": sum(n for k, n in by_ext.items() if k.startswith(prefixes[name])),
                "desired": wanted.get(resource),
            }
            for name, wanted in desired.items()
        }
        outside = sorted(k for k in by_ext if not any(k.startswith(prefixes[n]) for n in desired))
        out["resources"][resource] = {
            "companies": per_company,
            "ext_ids_twice": len(twice),
            "ext_ids_twice_sample": twice[:5],
            "outside_prefixes": len(outside),
            "outside_prefixes_sample": outside[:5],
            "met": not twice
            and not outside
            and all(
                c["desired"] is not None and c["in_ssm"] == c["desired"]
                for c in per_company.values()
            ),  # fmt: skip
        }
    out["met"] = all(r["met"] for r in out["resources"].values())
    return out


def guard(
    control_url: str,
    desired: Mapping[str, Mapping[str, int | None]],
    resources: tuple[str, ...],
    prefixes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`check_records` on the sandbox's live (not deleted) records of `resources`."""
    live = {
        resource: [r for r in _state(control_url, resource) if not r.get("deleted")]
        for resource in resources
    }
    return check_records(live, desired, prefixes)


# ------------------------------------------------------------------------------ sensors


def _location_of(sensor: Any) -> str:
    return sensor.get_remote_origin().repository_origin.code_location_origin.location_name


def sensor_ticks(dagster: Any, start: float, end: float) -> dict[str, dict[str, int]]:
    """Per company, the ticks each running sensor of `SENSORS` made between `start` and `end`
    (epoch s) as the daemon ran them, and the runs they requested."""
    out: dict[str, dict[str, int]] = {}
    for sensor in dagster.running_sensors():
        if sensor.name not in SENSORS:
            continue
        ticks = dagster.instance.get_ticks(
            sensor.get_remote_origin_id(), sensor.selector_id, before=end, after=start
        )
        own = out.setdefault(_location_of(sensor), {})
        own[f"{sensor.name}_ticks"] = len(ticks)
        own[f"{sensor.name}_runs"] = sum(len(t.run_ids) for t in ticks)
    return out


def tick_calls(
    environments: Mapping[str, Mapping[str, str]], since: float, rate: float
) -> dict[str, dict[str, Any]]:
    """Per company, the API calls of one tick of its sensor `ssm_changes` whose window opens at
    `since` (epoch s): its cursor as a tick at `since` would have left it, so the tick reads
    every change SSM holds since then (a round's pushes), as one tick right after a push does.
    Evaluated in this process with the company's environment, the login left out (the code
    server keeps its poll client between ticks)."""
    import dagster as dg

    from bench.launched import _CLEARED, _environment
    from pipelines import reverse
    from resources.ssm.resource import SSMResource

    mark = dt.datetime.fromtimestamp(since, dt.UTC).replace(tzinfo=None)
    cursor = {
        feed: {"watermark": mark.isoformat(timespec="microseconds"), "seen": []}
        for feed in ("accounts", "contacts")
    }
    out: dict[str, dict[str, Any]] = {}
    with dg.DagsterInstance.ephemeral() as instance:
        for name, env in environments.items():
            with _environment(env, _CLEARED):
                reverse._POLL_CLIENTS.clear()
                ssm = SSMResource(
                    base_url=env["SSM_BASE_URL"],
                    public_key=env["SSM_PUBLIC_KEY"],
                    private_key=env["SSM_PRIVATE_KEY"],
                    requests_per_second=rate,
                    pace_dir=env.get("SSM_PACE_DIR", ""),  # the tenant's rate, as the daemon's
                )
                client = reverse._poll_client(ssm)
                list(client.list("branches"))  # the login, outside the tick's count
                calls = client.api_calls
                with dg.build_sensor_context(
                    instance=instance, cursor=json.dumps(cursor), resources={"ssm": ssm}
                ) as context:
                    result = reverse.ssm_changes(context)
                out[name] = {
                    "api_calls": client.api_calls - calls,
                    "outcome": getattr(result, "skip_message", None) or "run requested",
                }
                reverse._POLL_CLIENTS.clear()
    return out


# ------------------------------------------------------------------------------ the suite


def run_companies_suite(
    company: str,
    workdir: str,
    rate: float,
    names: tuple[str, ...] = COMPANIES,
    sensors: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The initial sync of every company at once, then a cycle with nothing changed, and the
    guard; `company` is copied per company (never modified). `sensors=False` stops every
    sensor first: the pushes alone on the tenant's rate (the companies' `ssm_changes` and
    `ssm_quotes` poll the same tenant as deployed)."""
    from bench.launched import _CLEARED, LaunchedDagster, _environment
    from bench.sync import create_batch_sizes
    from pipelines import companies
    from sandbox.ssm.testing import running_sandbox

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    root = work / "data"
    started = time.perf_counter()
    out: dict[str, Any] = {"rate": rate, "companies": list(names), "sensors": sensors}
    out["load_average_before"] = list(os.getloadavg())
    make_companies(Path(company), root, names)
    catalogue_path = work / "companies.yaml"
    catalogue_path.write_text(companies_file_text(names))
    with running_sandbox(work, rate=rate) as ssm:
        env = {
            "DATA_DIR": str(root),
            "COMPANIES_FILE": str(catalogue_path),
            "SSM_BASE_URL": ssm.base_url,
            "SSM_PUBLIC_KEY": ssm.public_key,
            "SSM_PRIVATE_KEY": ssm.private_key,
            "SSM_REQUESTS_PER_SECOND": f"{rate:g}",
        }
        with _environment(env, _CLEARED):
            catalogue = companies.load(catalogue_path)
            workspace = companies.workspace_yaml(catalogue)
            assert catalogue is not None
            environments = {n: {**env, **catalogue.environment(n)} for n in names}
            out["prefixes"] = {n: e["SSM_EXT_ID_PREFIX"] for n, e in environments.items()}
        batch_sizes = create_batch_sizes(ssm.base_url)
        out["batch_sizes"] = batch_sizes
        with LaunchedDagster(work / "dagster", env, workspace=workspace) as dagster:
            out["startup_seconds"] = dagster.startup_seconds
            if not sensors:
                for sensor in dagster.running_sensors():
                    dagster.instance.stop_sensor(
                        sensor.get_remote_origin_id(), sensor.selector_id, sensor
                    )
            log(
                f"daemon up in {dagster.startup_seconds:.0f} s; initial syncs of {', '.join(names)}"
            )
            out["initial"] = _round(dagster, ssm.control_url, names, batch_sizes, rate)
            out["initial"]["tick"] = tick_calls(environments, out["initial"]["started_at"], rate)
            log(describe_round(out["initial"]))
            desired = {
                name: {r: run["pushes"].get(r, {}).get("desired") for r in GUARDED}
                for name, run in out["initial"]["runs"].items()
            }
            out["guard_initial"] = guard(ssm.control_url, desired, GUARDED, out["prefixes"])
            log(
                f"guard after the initial syncs: {'met' if out['guard_initial']['met'] else 'NOT met'}"
            )
            out["quiet"] = _round(dagster, ssm.control_url, names, batch_sizes, rate)
            out["quiet"]["tick"] = tick_calls(environments, out["quiet"]["started_at"], rate)
            log(describe_round(out["quiet"]))
            out["guard"] = guard(ssm.control_url, desired, GUARDED, out["prefixes"])
            log(f"guard after the quiet cycle: {'met' if out['guard']['met'] else 'NOT met'}")
            out["other_runs"] = [
                {"job": r.job_name, "status": r.status.value, "company": r.tags.get("sage/company")}
                for r in dagster.foreign_runs()
            ]
    out["load_average_after"] = list(os.getloadavg())
    out["suite_seconds"] = time.perf_counter() - started
    return out


def describe_round(summary: Mapping[str, Any]) -> str:
    """One log line of a round: per company wall time, records and calls; the push's share."""
    parts = [
        f"{name} {_n(c['wall_seconds'])} s, {c['created']:,} created, {c['api_calls']} calls"
        + ("" if c["status"] == "SUCCESS" else f" ({c['status']})")
        for name, c in summary["companies"].items()
    ]
    text = "; ".join(parts)
    if summary.get("efficiency") is not None:
        text += (
            f"; together {_n(summary['records_per_second'])} records/s over the "
            f"{_n(summary['push_window_seconds'])} s push window, "
            f"{summary['efficiency'] * 100:.0f} % of the shared bound"
        )
    sandbox = summary.get("sandbox", {})
    text += f"; {sandbox.get('requests')} requests, {sandbox.get('rate_limited')} x 429"
    if summary.get("feed_api_calls") is not None:
        text += f", {summary['feed_api_calls']} of them the syncs' change-feed reads"
    ticks = summary.get("sensor_ticks") or {}
    if ticks:
        count = sum(t.get("ssm_changes_ticks", 0) for t in ticks.values())
        runs = sum(t.get("ssm_changes_runs", 0) for t in ticks.values())
        text += f"; ssm_changes ticked {count} times, {runs} runs requested"
    if summary.get("tick"):
        calls = {n: t["api_calls"] for n, t in summary["tick"].items()}
        text += f"; one ssm_changes tick over the round: {calls} calls"
    return text


def _n(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _log(message: str) -> None:
    print(f"[companies {time.strftime('%H:%M:%S')}] {message}", flush=True)


def quick(count: int, work: Path, rate: float = 4.0) -> dict[str, Any]:
    """The suite on copies of the tiny demo company (seed 1, generated once in `work`), the
    first `count` of `COMPANIES`, sensors running as deployed: minutes, not the hour of the
    small company. The load average of the shared machine is in the result, before and after."""
    from sandbox.sage_demo import generate

    tiny = work / "tiny-seed1.sqlite"
    if not tiny.is_file():
        generate(tiny, size="tiny", seed=1)
    folder = work / f"companies-{count}"
    shutil.rmtree(folder, ignore_errors=True)
    return run_companies_suite(
        str(tiny), str(folder), rate, names=COMPANIES[:count], sensors=True, log=_log
    )


def main() -> None:
    """`python -m bench.companies PARAMS.json RESULT.json`: the suite in this process;
    `python -m bench.companies --quick N RESULT.json [WORK]`: `quick` with N companies."""
    if sys.argv[1] == "--quick":
        count, result_path = int(sys.argv[2]), sys.argv[3]
        work = Path(sys.argv[4] if len(sys.argv) > 4 else "data/bench-companies-quick")
        work.mkdir(parents=True, exist_ok=True)
        result = quick(count, work.resolve())
    else:
        params_path, result_path = sys.argv[1:3]
        params = json.loads(Path(params_path).read_text())
        result = run_companies_suite(log=_log, **params)
    Path(result_path).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")
    main()
