"""The several-companies bench's own logic on hand-made figures: the push window against the
shared bound, the sandbox's counters over a window, the guard, the set-up of the companies, the
goals and the report section (no timing asserted, nothing launched)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.companies import (
    check_records,
    companies_file_text,
    describe_round,
    make_companies,
    requests_between,
    summarise_companies,
)
from pipelines.companies import load

BATCH = {"accounts": 200, "products": 100}
RATE = 4.0


def _push(created: int, seconds: float, end: float, calls: int) -> dict[str, Any]:
    return {"created": created, "desired": created, "seconds": seconds, "end": end,
            "api_calls": calls}  # fmt: skip


def _run(submitted: float, ended: float, pushes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "status": "SUCCESS",
        "submitted_at": submitted,
        "ended_at": ended,
        "queue_seconds": 2.0,
        "slowest_steps": {
            "north__ssm__push_sales": 51.2,
            "north__ssm__push_accounts": 9.0,
            "north__sage__invoice": 4.0,
        },
        "created": sum(p["created"] for p in pushes.values()),
        "api_calls": sum(p["api_calls"] for p in pushes.values()),
        "pushes": pushes,
    }


# Three companies whose pushes overlap: accounts then products, each push [end - seconds, end].
INITIAL = {
    "north": _run(1000.0, 1100.0, {"accounts": _push(2000, 10.0, 1060.0, 11),
                                   "products": _push(1000, 10.0, 1075.0, 10)}),
    "south": _run(1001.0, 1110.0, {"accounts": _push(2000, 12.0, 1064.0, 10),
                                   "products": _push(1000, 8.0, 1080.0, 10)}),
    "east": _run(1002.0, 1120.0, {"accounts": _push(2000, 15.0, 1070.0, 10),
                                  "products": _push(1001, 10.0, 1090.0, 11)}),
}  # fmt: skip
# The sandbox's cumulative counters (time, requests, 429s), sampled around the window.
SAMPLES = [(1040.0, 100, 0), (1060.0, 180, 0), (1100.0, 340, 1)]


def test_the_push_window_is_measured_against_the_shared_bound() -> None:
    s = summarise_companies(INITIAL, BATCH, RATE, SAMPLES)
    assert s["records_created"] == 9001 and s["succeeded"] == 3
    # The first push starts at 1060 - 10, the last ends at 1090.
    assert s["push_window_seconds"] == pytest.approx(40.0)
    assert s["records_per_second"] == pytest.approx(9001 / 40)
    # Least time at 4 calls/s: per company 10 account batches + 10 (east: 11) product batches.
    assert s["least_push_seconds"] == pytest.approx((20 + 20 + 21) / RATE)
    assert s["efficiency"] == pytest.approx(15.25 / 40)
    assert s["bound_records_per_second"] == pytest.approx(9001 / 15.25)
    # The whole round: the first submission (1000) -> the last end (1120).
    assert s["overall_seconds"] == pytest.approx(120.0)
    assert s["records_per_second_overall"] == pytest.approx(9001 / 120)
    # Two or more pushing at once: 1052-1064, 1065-1070 and 1072-1075.
    assert s["concurrent_push_seconds"] == pytest.approx(12 + 5 + 3)
    assert s["push_api_calls"] == 62
    assert s["push_requests_per_second"] == pytest.approx(62 / 40)
    north = s["companies"]["north"]
    assert north["wall_seconds"] == 100.0 and north["created"] == 3000
    assert north["push_seconds"] == pytest.approx(20.0)
    assert north["least_push_seconds"] == pytest.approx(5.0)
    # Requests at 1050 (140) and 1090 (300) interpolated; the 429 after 1060 is in the window.
    assert s["during_pushes"] == {
        "requests": pytest.approx(160.0),
        "rate_limited": 1,
        "requests_per_second": pytest.approx(4.0),
    }


def test_a_round_with_nothing_created_has_no_share_of_the_bound() -> None:
    quiet = {
        name: _run(2000.0, 2030.0 + n, {"accounts": _push(0, 0.5, 2020.0 + n, 1)})
        for n, name in enumerate(("north", "south", "east"))
    }
    s = summarise_companies(quiet, BATCH, RATE)
    assert s["records_created"] == 0 and s["api_calls"] == 3
    assert s["efficiency"] is None and s["records_per_second"] is None
    assert s["overall_seconds"] == pytest.approx(32.0)
    assert "during_pushes" not in s  # no samples given


def test_the_sandbox_counters_need_samples_covering_the_window() -> None:
    assert requests_between(SAMPLES, 1030.0, 1050.0)["requests"] is None
    assert requests_between(SAMPLES, 1050.0, 1101.0)["requests_per_second"] is None
    inside = requests_between(SAMPLES, 1040.0, 1060.0)
    assert inside == {"requests": 80.0, "rate_limited": 0, "requests_per_second": 4.0}


def _records(*ext_ids: str) -> list[dict[str, Any]]:
    return [{"id": n, "extId": e} for n, e in enumerate(ext_ids)]


def test_the_guard_wants_every_record_once_under_its_company_prefix() -> None:
    desired = {"north": {"accounts": 2}, "south": {"accounts": 2}}
    good = check_records({"accounts": _records("NORTH-A1", "NORTH-A2", "SOUTH-A1", "SOUTH-A2")},
                         desired)  # fmt: skip
    assert good["met"] and good["resources"]["accounts"]["companies"]["south"] == {
        "in_ssm": 2,
        "desired": 2,
    }
    twice = check_records(
        {"accounts": _records("NORTH-A1", "NORTH-A1", "SOUTH-A1", "SOUTH-A2")}, desired
    )
    assert not twice["met"] and twice["resources"]["accounts"]["ext_ids_twice"] == 1
    # An unprefixed key is another company's record written without its prefix.
    bare = check_records(
        {"accounts": _records("NORTH-A1", "NORTH-A2", "SOUTH-A1", "SOUTH-A2", "A1")}, desired
    )
    assert not bare["met"] and bare["resources"]["accounts"]["outside_prefixes_sample"] == ["A1"]
    missing = check_records({"accounts": _records("NORTH-A1", "SOUTH-A1", "SOUTH-A2")}, desired)
    assert not missing["met"]
    # A company whose push said nothing about the resource cannot pass.
    unknown = check_records({"accounts": _records("NORTH-A1", "NORTH-A2")}, {"north": {}})
    assert not unknown["met"]


def test_the_companies_share_codes_and_differ_in_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source.sqlite"
    with sqlite3.connect(source) as con:
        con.execute("CREATE TABLE SALES_LEDGER (ACCOUNT_REF TEXT, NAME TEXT)")
        con.executemany("INSERT INTO SALES_LEDGER VALUES (?, ?)",
                        [("ABS001", "Abbey Supplies"), ("BRO002", "Brook Ltd")])  # fmt: skip
    con.close()
    paths = make_companies(source, tmp_path / "data")
    assert [p.relative_to(tmp_path / "data").as_posix() for p in paths] == [
        "companies/north/sage50-demo.sqlite",
        "companies/south/sage50-demo.sqlite",
        "companies/east/sage50-demo.sqlite",
    ]
    rows = []
    for path in paths:
        with sqlite3.connect(path) as con:
            rows.append(con.execute("SELECT * FROM SALES_LEDGER ORDER BY 1").fetchall())
        con.close()
    assert rows[0] == [("ABS001", "Abbey Supplies"), ("BRO002", "Brook Ltd")]
    assert rows[1] == [("ABS001", "Abbey Supplies South"), ("BRO002", "Brook Ltd South")]
    assert [r[1] for r in rows[2]] == ["Abbey Supplies East", "Brook Ltd East"]
    file = tmp_path / "companies.yaml"
    file.write_text(companies_file_text())
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    catalogue = load(file)
    assert catalogue is not None
    envs = {n: catalogue.environment(n) for n in ("north", "south", "east")}
    assert {n: e["SSM_EXT_ID_PREFIX"] for n, e in envs.items()} == {
        "north": "NORTH-", "south": "SOUTH-", "east": "EAST-"}  # fmt: skip
    assert {e["DATA_DIR"] for e in envs.values()} == {str(p.parent) for p in paths}
    assert len({e["SSM_PACE_DIR"] for e in envs.values()}) == 1  # one pace for the tenant


def _suite(limited: int, guard_met: bool) -> dict[str, Any]:
    initial = summarise_companies(INITIAL, BATCH, RATE, SAMPLES)
    initial["runs"] = INITIAL
    initial["sandbox"] = {
        "requests": 700,
        "writes": 90,
        "rate_limited": limited,
        "requests_by_kind": {"POST /login": 9, "GET /accounts": 400, "POST /sales/bulk": 150},
    }
    quiet_runs = {n: _run(2000.0, 2040.0, {"accounts": _push(0, 0.5, 2020.0, 1)})
                  for n in INITIAL}  # fmt: skip
    quiet = summarise_companies(quiet_runs, BATCH, RATE)
    quiet["runs"] = quiet_runs
    quiet["sandbox"] = {"requests": 150, "writes": 0, "rate_limited": 0}
    guard = check_records(
        {"accounts": _records(*(f"{p}-A{n}" for p in ("NORTH", "SOUTH", "EAST")
                                for n in range(2 if guard_met else 1)))},
        {n: {"accounts": 2} for n in INITIAL},
    )  # fmt: skip
    return {
        "size": "small",
        "rate": RATE,
        "companies": list(INITIAL),
        "prefixes": {"north": "NORTH-", "south": "SOUTH-", "east": "EAST-"},
        "batch_sizes": BATCH,
        "initial": initial,
        "quiet": quiet,
        "guard_initial": guard,
        "guard": guard,
        "load_average_before": [1.5, 2.0, 2.5],
        "load_average_after": [6.0, 4.0, 3.0],
    }


def test_goals_and_section() -> None:
    suite = _suite(limited=0, guard_met=True)
    goals = report.goals({"several_companies": suite})
    efficiency = goals["companies_initial_push_efficiency"]
    assert efficiency["value"] == pytest.approx(15.25 / 40) and not efficiency["met"]
    assert goals["companies_no_429_storm_every_record_once"]["met"]
    assert not report.goals({"several_companies": _suite(limited=3, guard_met=True)})[
        "companies_no_429_storm_every_record_once"
    ]["met"]
    assert not report.goals({"several_companies": _suite(limited=0, guard_met=False)})[
        "companies_no_429_storm_every_record_once"
    ]["met"]
    text = "\n".join(report.companies_section({"several_companies": {**suite}}))
    assert "## 9. Several companies, one tenant" in text
    assert "9,001 records created in a push window of 40 s" in text
    assert "**225 records/s**" in text and "**38 %** of the bound" in text
    assert (
        "| north | SUCCESS | 100 | 2.0 | 3,000 | 21 | 20.0 | `push_sales` 51, `push_accounts` 9 |"
        in text
    )
    assert "north 2/2, south 2/2, east 2/2" in text
    assert "`GET /accounts` 400, `POST /sales/bulk` 150, `POST /login` 9." in text
    assert "6.00, 4.00, 3.00" in text
    # 62 push calls where 61 batches at 4/s need 61 calls
    assert "where one call per bulk batch needs 61: the rest are the pushes' reads" in text
    rows = "\n".join(report._goals_section(goals))
    assert (
        "3 companies' initial push ≥ 80 % of 4 req/s × batch | 0.38 | small | **not met**" in rows
    )
    assert "**not measured**" not in text
    assert report.companies_section({})[2].startswith("Not measured")
    assert report.describe_companies(suite).startswith("initial: 9,001 records in a 40 s")


def test_one_company_alone_has_no_prefix_and_the_guard_follows_it() -> None:
    live = {"accounts": [{"extId": "ABS001"}, {"extId": "ABS002"}]}
    assert check_records(live, {"north": {"accounts": 2}}, {"north": ""})["met"]
    assert not check_records(live, {"north": {"accounts": 2}})["met"]  # the default NORTH-


def test_a_rounds_line_names_the_feed_reads_the_sensor_ticks_and_one_ticks_calls() -> None:
    summary = {
        "companies": {
            "north": {"wall_seconds": 58.0, "created": 575, "api_calls": 19, "status": "SUCCESS"}
        },
        "sandbox": {"requests": 41, "rate_limited": 0},
        "feed_api_calls": 3,
        "sensor_ticks": {"north": {"ssm_changes_ticks": 2, "ssm_changes_runs": 0}},
        "tick": {"north": {"api_calls": 2, "outcome": "nothing a rep can edit changed in SSM"}},
    }
    line = describe_round(summary)
    assert "41 requests, 0 x 429, 3 of them the syncs' change-feed reads" in line
    assert "ssm_changes ticked 2 times, 0 runs requested" in line
    assert "one ssm_changes tick over the round: {'north': 2} calls" in line
