"""`python -m bench --quick` completes and writes its report and JSON (no timing is asserted):
extract, transport and backfill on the tiny company (the sync as launched is
tests/pipelines/test_launched.py's).

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
    # No sync suite in the quick run: tests/pipelines/test_launched.py runs the sync as launched.
    assert results["launched"] == [] and results["sync"] == []
    assert results["extract"] and "error" not in results["backfill"]
    page = (out / "performance.md").read_text()
    assert page.startswith("# Performance")
    assert "Quick run" in page
    # The fault suite takes minutes: the full bench only.
    assert "faults" not in results
    assert "Not measured: the fault suite runs in the full bench only." in page
    assert "As launched" in page  # the method section says what the full bench measures
