"""The reverse-flow bench's own logic on hand-made figures: percentiles, the idle poll's rate,
the goals and the report section (no timing asserted, nothing launched)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import report
from bench.reverse import account_name, idle_figures, percentile, summarise_latencies


def test_percentile_interpolates_between_closest_ranks() -> None:
    twenty = [float(s) for s in range(1, 21)]  # 1..20 s, given out of order below
    assert percentile(list(reversed(twenty)), 50) == pytest.approx(10.5)
    assert percentile(twenty, 95) == pytest.approx(19.05)
    assert percentile(twenty, 100) == 20.0
    assert percentile(twenty, 0) == 1.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(twenty, 101)


def test_latency_summary_compares_p95_with_the_vendor_cycle() -> None:
    summary = summarise_latencies([30.0, 45.0, 20.0, 90.0])
    assert (summary["n"], summary["max"], summary["min"]) == (4, 90.0, 20.0)
    assert summary["p50"] == pytest.approx(37.5)
    assert summary["p95"] == pytest.approx(83.25)
    assert summary["p95_share_of_vendor_cycle"] == pytest.approx(83.25 / 900)
    assert summarise_latencies([])["p95"] is None


def test_idle_figures_extrapolate_whole_ticks_to_an_hour() -> None:
    # 8 ticks of 31 s (a tick's own evaluation stretches the 30 s interval), 2 calls each.
    idle = idle_figures(calls=16, logins=0, ticks=8, seconds=248.0, interval=30)
    assert idle["calls_per_tick"] == 2
    assert idle["calls_per_hour"] == pytest.approx(16 * 3600 / 248)
    assert idle["floor_per_hour"] == 240
    assert idle["tick_seconds"] == 31
    # A login on every tick: 3 calls per tick, half again over the floor.
    relogin = idle_figures(calls=24, logins=8, ticks=8, seconds=240.0, interval=30)
    assert relogin["calls_per_hour"] == 360
    assert relogin["over_floor"] == pytest.approx(1.5)


def test_probe_names_give_distinct_account_codes() -> None:
    names = [account_name(n, "Supplies") for n in range(40)]
    assert len(set(names)) == 40
    # The account code is the name's first 8 letters: distinct for the first words used.
    codes = {name.replace(" ", "").upper()[:8] for name in names[:20]}
    assert len(codes) == 20


def _suite(launched: list[float], in_process: list[float], calls: int, logins: int) -> dict:
    creates = [
        {"latency_seconds": s, "sensor_seconds": s - 12, "launch_seconds": 6.0,
         "run_to_ack_seconds": 6.0, "run_seconds": 14.0}
        for s in launched
    ]  # fmt: skip
    phases = {
        key: summarise_latencies([c[key] for c in creates])
        for key in ("sensor_seconds", "launch_seconds", "run_to_ack_seconds", "run_seconds")
    }
    return {
        "size": "tiny",
        "rate": 4.0,
        "seed": 14,
        "poll_seconds": 30.0,
        "min_gap_seconds": 3.0,
        "vendor_cycle_seconds": 900.0,
        "launched": {
            "creates": creates,
            "summary": summarise_latencies(launched),
            "phases": phases,
            "timed_out": 0,
        },
        "in_process": {
            "summary": summarise_latencies(in_process),
            "job": summarise_latencies([s - 0.2 for s in in_process]),
            "failed": 0,
        },
        "idle": {
            **idle_figures(calls=calls, logins=logins, ticks=8, seconds=244.0, interval=30),
            "requests": {"GET /accounts": 8, "GET /contacts": 8} if not logins else {},
            "runs_launched": [],
        },
    }


def _results(reverse: dict[str, Any]) -> dict[str, Any]:
    return {"reverse": reverse}


def test_the_report_section_and_goals_on_hand_made_figures() -> None:
    suite = _suite([25.0, 31.0, 40.0, 44.0], [4.0, 4.4, 5.0, 7.0], calls=16, logins=0)
    goals = report.goals(_results(suite))
    assert goals["reverse_latency_p95"]["met"] is True
    assert goals["reverse_latency_p95"]["value"] == pytest.approx(43.4)
    assert goals["reverse_idle_calls_per_hour"]["met"] is True

    text = "\n".join(report.reverse_section(_results(suite)))
    assert "| as launched | 4 | 35.5 | 43.4 | 44.0 | 25.0 | 4.8 % |" in text
    assert "| in process | 4 | 4.7 | 6.7 | 7.0 | 4.0 | 0.7 % |" in text
    assert "| 8 | 244 | 30.5 | 16 | 2.00 | 236 | 240 | 0 | 0 |" in text
    assert "the p50 is 30.8 s above the job in process" in text
    assert "No login: the sensor kept one client" in text
    assert "`GET /accounts` 8, `GET /contacts` 8" in text
    assert report.describe_reverse(suite) == (
        "as launched p50 35.5 s, p95 43.4 s, max 44.0 s over 4; in process p50 4.7 s; "
        "idle 236 calls/h (floor 240)"
    )


def test_a_login_every_tick_misses_the_floor_and_is_said() -> None:
    suite = _suite([25.0, 1000.0], [4.0], calls=24, logins=8)
    goals = report.goals(_results(suite))
    assert goals["reverse_idle_calls_per_hour"]["met"] is False
    assert goals["reverse_latency_p95"]["met"] is False  # p95 of (25, 1000) > 900 s
    text = "\n".join(report.reverse_section(_results(suite)))
    assert "Every tick also logged in" in text


def test_a_login_every_few_ticks_is_put_down_to_the_code_server_being_replaced() -> None:
    suite = _suite([25.0, 31.0], [4.0], calls=20, logins=4)  # 16 list calls + 4 logins
    assert report.goals(_results(suite))["reverse_idle_calls_per_hour"]["met"] is False
    text = "\n".join(report.reverse_section(_results(suite)))
    assert "4 login(s) in 8 ticks (61 s apart on average)" in text
    assert "replaces the code server" in text


def test_the_section_says_when_the_suite_did_not_run_or_failed() -> None:
    assert "Not measured" in "\n".join(report.reverse_section({}))
    assert "Failed" in "\n".join(report.reverse_section({"reverse": {"error": "tail"}}))
    assert "reverse_latency_p95" not in report.goals({"reverse": {"error": "tail"}})
