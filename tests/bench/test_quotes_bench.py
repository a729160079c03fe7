"""The quote bench's own logic on hand-made figures: the phase split of a quote's round trip,
the summaries, the goals and the report section (no timing asserted, nothing launched)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import report
from bench.quotes import PHASES, quote_phases, summarise_quotes


def test_a_round_trip_splits_at_the_runs_record() -> None:
    # create at 100; the sensor's run created at 108, started at 111; SSM priced at 115.5;
    # the run ended at 117
    phases = quote_phases(100.0, 115.5, 108.0, 111.0, 117.0)
    assert phases == {
        "latency_seconds": 15.5,
        "tick_wait_seconds": 8.0,
        "queue_launch_seconds": 3.0,
        "run_to_ack_seconds": 4.5,
        "run_seconds": 6.0,
    }
    # the three phases before the acknowledgement add up to the round trip
    assert sum(phases[p] for p in PHASES[:3]) == phases["latency_seconds"]
    # timed out, or no run found: only what was seen
    assert quote_phases(100.0, None, 108.0, 111.0, None)["latency_seconds"] is None
    assert quote_phases(100.0, 130.0, None, None, None)["tick_wait_seconds"] is None


def _quotes(latencies: list[float | None], queue: float = 3.0) -> list[dict[str, Any]]:
    out = []
    for n, latency in enumerate(latencies):
        created = 100.0 + (latency or 0) / 2
        out.append(
            {
                **quote_phases(100.0, None if latency is None else 100.0 + latency, created,
                               created + queue, created + queue + 6.0),
                "api_calls": 10 + n,
                "job_api_calls": 6,
            }
        )  # fmt: skip
    return out


def test_the_summary_counts_timeouts_and_quotes_within_the_goal() -> None:
    summary = summarise_quotes(_quotes([20.0, 30.0, 70.0, None]))
    assert summary["summary"]["n"] == 3
    assert summary["summary"]["p50"] == 30.0
    assert summary["summary"]["p95"] == pytest.approx(66.0)
    assert (summary["timed_out"], summary["within_goal"]) == (1, 2)
    # 0 (the timed-out quote's run was created at once), 10, 15, 35
    assert summary["phases"]["tick_wait_seconds"]["p50"] == 12.5
    assert summary["phases"]["queue_launch_seconds"]["max"] == 3.0
    assert summary["api_calls"]["max"] == 13  # the timed-out quote's calls are counted too
    assert summary["job_api_calls"]["p50"] == 6


def _suite(idle: list[float | None], during: list[float | None]) -> dict[str, Any]:
    return {
        "size": "small",
        "rate": 4.0,
        "seed": 15,
        "poll_seconds": 15.0,
        "min_gap_seconds": 3.0,
        "quote_lines": 3,
        "idle": {"quotes": [], **summarise_quotes(_quotes(idle))},
        "during_sync": {
            "quotes": [],
            **summarise_quotes(_quotes(during, queue=5.0)),
            "window_seconds": 20.0,
            "sync": {"p50": 45.0, "p95": 50.0, "max": 52.0},
        },
        "in_process": {
            "summary": {"n": 2, "p50": 7.5, "p95": 7.95, "max": 8.0, "min": 7.0},
            "job": {"n": 2, "p50": 6.5, "p95": 6.9, "max": 7.0, "min": 6.0},
            "api_calls": {"n": 2, "p50": 9.0, "p95": 9.0, "max": 9.0, "min": 9.0},
            "failed": 0,
        },
    }


def test_the_goals_and_the_report_section_on_hand_made_figures() -> None:
    suite = _suite([18.0, 22.0, 26.0, 30.0], [50.0, 70.0])
    goals = report.goals({"quotes": suite})
    assert goals["quote_latency_p95"] == {
        "value": pytest.approx(29.4), "goal": "<= 60 s, none timed out", "met": True,
        "size": "small",
    }  # fmt: skip
    assert goals["quote_latency_p95_during_sync"]["met"] is False  # p95 69 s

    text = "\n".join(report.quotes_section({"quotes": suite}))
    assert "| as launched, idle | 4 | 24.0 | 29.4 | 30.0 | 18.0 | 0 | 4/4 |" in text
    assert "| as launched, during a sync | 2 | 60.0 | 69.0 | 70.0 | 50.0 | 0 | 1/2 |" in text
    assert "| in process | 2 | 7.5 | 8.0 | 8.0 | 7.0 | – | – |" in text
    # tick wait is half the latency here; queue and launch 3 s idle, 5 s beside a sync
    assert "| create → run created: waiting for the sensor's tick, the tick | 12.0 |" in text
    assert (
        "| run created → started: queue (pools), launch, run worker start | 3.0 | 3.0 | 3.0 | 5.0 |"
        in text
    )
    assert "the sensor `ssm_quotes` at its default 15 s" in text
    assert "random pause of 3–18 s (seed 15)" in text
    # beside a sync the quote's run waits inside for the warehouse: 20 s and 30 s to the answer
    assert "During a sync (p50 45.0 s) the quote's run starts beside it" in text
    assert "the run until SSM holds the number is then p50 25.0 s." in text
    assert "quote(s) timed out" not in text
    # tick wait p50 12 s > 0.75 x 15 s: the sensor ticked less often than its interval
    assert "the sensor ticked less often than its interval" in text
    assert report.describe_quotes(suite) == (
        "idle p50 24.0 s, p95 29.4 s, max 30.0 s over 4; during a sync p50 60.0 s, p95 69.0 s "
        "over 2; in process p50 7.5 s"
    )


def test_timeouts_are_said_and_a_missing_or_failed_suite_too() -> None:
    suite = _suite([20.0, None], [50.0])
    text = "\n".join(report.quotes_section({"quotes": suite}))
    assert "1 quote(s) timed out." in text
    assert "| as launched, idle | 2 | 20.0 | 20.0 | 20.0 | 20.0 | 1 | 1/2 |" in text
    # the p95 of the quotes that came back is within 60 s, but one never came back
    goal = report.goals({"quotes": suite})["quote_latency_p95"]
    assert (goal["value"], goal["met"], goal["timed_out"]) == (20.0, False, 1)
    assert "Not measured" in "\n".join(report.quotes_section({}))
    assert "Failed" in "\n".join(report.quotes_section({"quotes": {"error": "tail"}}))
    assert "quote_latency_p95" not in report.goals({"quotes": {"error": "tail"}})
