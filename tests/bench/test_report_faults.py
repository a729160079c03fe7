"""The report's fault section, goal and log line on a dict shaped like `run_fault_suite`'s."""

from __future__ import annotations

from typing import Any

from bench import report


def _run(seconds: float, calls: int, writes: int, faults: dict[str, int], **kw: Any) -> dict:
    return {
        "seconds": seconds,
        "success": True,
        "failed_steps": [],
        "api_calls": calls,
        "write_calls": writes,
        "rate_limited": faults.get("429", 0),
        "faults": faults,
        "lookup_calls": {"sales_order_lines": 4, "product_rates": 2},
        "statuses": {},
        "retry_later": 0,
        "lost_creates": {},
        "unconverged": {},
        **kw,
    }


def _suite(faulted_runs: list[dict]) -> dict[str, Any]:
    converged = not faulted_runs[-1]["unconverged"]
    return {
        "rate": 4.0,
        "fault_mix": {"fault_5xx": 0.2, "fault_lost_answer": 0.1, "fault_429": 0.1},
        "seed": 13,
        "fault_free": {
            "runs": [_run(77.8, 209, 193, {})],
            "runs_to_converge": 1,
            "seconds_to_converge": 77.8,
            "api_calls": 209,
            "failed_steps": 0,
        },
        "faults": {
            "runs": faulted_runs,
            "runs_to_converge": len(faulted_runs) if converged else None,
            "seconds_to_converge": sum(r["seconds"] for r in faulted_runs) if converged else None,
            "api_calls": sum(r["api_calls"] for r in faulted_runs),
            "failed_steps": sum(len(r["failed_steps"]) for r in faulted_runs),
        },
        "lost_creates": {
            "sales_order_lines": {
                "lost_creates": 4231,
                "lookup_calls": 108,
                "calls_per_lost_create": 0.026,
            },
            "product_rates": {
                "lost_creates": 548,
                "lookup_calls": 24,
                "calls_per_lost_create": 0.044,
            },
        },
        "size": "small",
        "wall_seconds": 410.0,
        "peak_rss_mib": 300.0,
    }


ONE_RUN = [_run(324.0, 746, 279, {"429": 82, "5xx": 153, "lost_answer": 26})]


def test_faults_section_tables_and_comparison() -> None:
    lines = report.faults_section({"faults": _suite(ONE_RUN)})
    assert lines[0] == "## 6. Faults: convergence in one run"
    assert "20 % 5xx, 10 % lost answers, 10 % 429 (seed 13)" in lines[2]
    assert "| fault-free 1 | 77.8 | yes | none | 209 | 193 | 0 | none | 0 | yes |" in lines
    assert (
        "| faults 1 | 324.0 | yes | none | 746 | 279 | 82 | 429 82, 5xx 153, lost_answer 26 "
        "| 0 | yes |" in lines
    )
    assert "| sales_order_lines | 4,231 | 108 | 0.026 |" in lines
    assert "| product_rates | 548 | 24 | 0.044 |" in lines
    # 324 s = 5.4 min
    assert (
        "Before the fix (issue 13, the small company under the same mix) it took 4 runs, ~46 min "
        "and 15,041 API calls, 13,214 of them one GET per lost record; here SSM held the desired "
        "state after 1 run(s), 5.4 min and 746 API calls."
    ) in lines


def test_faults_section_unconverged_runs() -> None:
    stuck = {"sales_order_lines": "10 desired, 12 live in SSM (10 keys), 0 creates pending"}
    runs = [
        _run(
            300.0,
            700,
            250,
            {"5xx": 140},
            success=False,
            failed_steps=["push_lines"],
            unconverged=stuck,
        ),
        _run(200.0, 400, 100, {"5xx": 80}, unconverged=stuck),
    ]
    lines = report.faults_section({"faults": _suite(runs)})
    assert "| faults 1 | 300.0 | no | push_lines | 700 | 250 | 0 | 5xx 140 | 0 | no |" in lines
    assert "| faults 2 | 200.0 | yes | none | 400 | 100 | 0 | 5xx 80 | 0 | no |" in lines
    assert lines[-2].endswith("here SSM still differed after 2 runs and 1,100 API calls.")
    goal = report.goals({"faults": _suite(runs)})["faults_converge_in_one_run"]
    assert goal == {"value": None, "goal": "== 1 run", "met": False, "size": "small"}


def test_quick_run_says_the_fault_suite_is_full_bench_only() -> None:
    assert report.faults_section({}) == [
        "## 6. Faults: convergence in one run",
        "",
        "Not measured: the fault suite runs in the full bench only.",
        "",
    ]
    assert "faults_converge_in_one_run" not in report.goals({})


def test_goal_and_log_line() -> None:
    goal = report.goals({"faults": _suite(ONE_RUN)})["faults_converge_in_one_run"]
    assert goal == {"value": 1, "goal": "== 1 run", "met": True, "size": "small"}
    assert report.describe_faults(_suite(ONE_RUN)) == (
        "fault-free 1 run(s), 78 s, 209 calls; under faults 1 run(s), 324 s, 746 calls"
    )


def test_fault_suite_in_the_full_bench_only() -> None:
    from bench.__main__ import FULL, QUICK
    from bench.worker import TASKS

    assert (QUICK.fault_size, FULL.fault_size) == (None, "small")  # the CI smoke stays as fast
    assert "faults" in TASKS
