"""`python -m bench --quick` completes and writes its report and JSON (no timing is asserted),
with the sync launched through the Dagster daemon's queue (`bench.launched`).

The bench needs dlt (the optional extra `bench`): outside CI the test skips when dlt is missing;
in CI (CI=true) it runs, so `make test` must `uv sync --extra bench`.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_bench_writes_report_and_json(tmp_path: Path, sqlite_odbc_driver: str) -> None:
    if importlib.util.find_spec("dlt") is None and not IN_CI:
        pytest.skip("dlt is not installed: `uv sync --extra bench` (the bench's optional extra)")
    out = tmp_path / "out"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--out",
            str(out),
            "--work",
            str(tmp_path / "work"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["mode"] == "quick"
    assert {"machine", "companies", "extract", "sync", "launched", "backfill", "goals"} <= set(
        results
    )
    # The sync as launched through the daemon's queue: every run succeeded and was measured.
    (launched,) = results["launched"]
    assert "error" not in launched, launched.get("error")
    runs = [launched["initial"], *launched["cycles"]]
    assert [r["status"] for r in runs] == ["SUCCESS"] * len(runs)
    for run in runs:
        assert run["queue_seconds"] is not None and run["processes"] is not None
        assert run["peak_rss_mib"] is not None and run["phases"]["steps"] > 0
    page = (out / "performance.md").read_text()
    assert page.startswith("# Performance")
    assert "Quick run" in page
    # The fault suite takes minutes: the full bench only.
    assert "faults" not in results
    assert "Not measured: the fault suite runs in the full bench only." in page
    assert "As launched" in page
