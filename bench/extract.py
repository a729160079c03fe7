"""Benchmark: the Sage extractor against the ODBC driver's own limit.

    python -m bench.extract [--company FILE] [--size large] [--chunk-rows 5000]

Reads every CRM table of a demo company through the SQLite ODBC driver twice, each in its own
process: (a) a bare pyodbc `fetchmany` loop over the very queries the extractor sends (the
driver's limit), (b) the extractor into a fresh DuckDB file (convert, validate, stage, merge).
Both connect with StepAPI=1: by default the SQLite ODBC driver reads a whole result set into
memory at execute (1.8 GB for the large company's biggest table), which no Sage driver does and
which would hide the extractor's own memory use.
Prints rows/s and peak RSS of each and writes bench/out/extract.json. Goal: (b) >= 0.8 x (a),
peak RSS < 1 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out" / "extract.json"
DRIVER = "SQLite3"


def connection_string(company: Path) -> str:
    """The same ODBC connection for both contenders; StepAPI=1 streams rows (see above)."""
    return f"Driver={DRIVER};Database={company};StepAPI=1"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _raw_fetch(company: Path, chunk_rows: int) -> dict[str, Any]:
    import pyodbc

    from assets.sage.catalogue import CATALOGUE
    from resources.sage.sql import SageSelect, render

    conn = pyodbc.connect(connection_string(company), autocommit=True)
    rows = 0
    start = time.perf_counter()
    for table in CATALOGUE:
        cursor = conn.cursor()
        cursor.execute(render(SageSelect(table.table, table.column_names)))
        while batch := cursor.fetchmany(chunk_rows):
            rows += len(batch)
        cursor.close()
    seconds = time.perf_counter() - start
    conn.close()
    return {"rows": rows, "seconds": seconds}


def _extractor(company: Path, chunk_rows: int) -> dict[str, Any]:
    import duckdb

    from assets.sage.catalogue import CATALOGUE
    from assets.sage.extract import ExtractPlan, extract_table
    from resources.sage.source import OdbcConnection

    with tempfile.TemporaryDirectory() as tmp:
        db = duckdb.connect(str(Path(tmp) / "warehouse.duckdb"))
        source = OdbcConnection(connection_string(company))
        rows = quarantined = 0
        start = time.perf_counter()
        for table in CATALOGUE:
            result = extract_table(
                table, source, db, ExtractPlan("full", chunk_rows=chunk_rows), run_id="bench"
            )
            rows += result.rows_read
            quarantined += result.quarantined
        seconds = time.perf_counter() - start
        source.close()
        db.close()
    return {"rows": rows, "seconds": seconds, "quarantined": quarantined}


WORKERS = {"raw": _raw_fetch, "extractor": _extractor}


def _run_worker(name: str, company: Path, chunk_rows: int) -> dict[str, Any]:
    """One measurement in a fresh process, so its peak RSS is its own."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.extract", "--worker", name, "--company", str(company),
         "--chunk-rows", str(chunk_rows)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["rows_per_second"] = round(figures["rows"] / figures["seconds"])
    return figures


def run(company: Path | None = None, size: str = "large", chunk_rows: int = 5000) -> dict[str, Any]:
    """Measure (a) and (b) on `company` (generated at /tmp/sage50-<size>.sqlite if absent)."""
    if company is None:
        company = Path(tempfile.gettempdir()) / f"sage50-{size}.sqlite"
    if not company.exists():
        from sandbox.sage_demo import generate

        generate(company, size=size, seed=1)
    raw = _run_worker("raw", company, chunk_rows)
    extractor = _run_worker("extractor", company, chunk_rows)
    result = {
        "company": str(company),
        "chunk_rows": chunk_rows,
        "raw_pyodbc": raw,
        "extractor": extractor,
        "ratio": round(extractor["rows_per_second"] / raw["rows_per_second"], 3),
        "goal": "extractor >= 0.8 x raw pyodbc; peak RSS < 1024 MB",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--company", type=Path)
    parser.add_argument("--size", default="large", choices=["tiny", "small", "large"])
    parser.add_argument("--chunk-rows", type=int, default=5000)
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        figures = WORKERS[args.worker](args.company, args.chunk_rows)
        print(json.dumps(figures | {"peak_rss_mb": round(_peak_rss_mb(), 1)}))
        return
    result = run(args.company, args.size, args.chunk_rows)
    for name in ("raw_pyodbc", "extractor"):
        f = result[name]
        print(f"{name:11} {f['rows']:>9,} rows  {f['rows_per_second']:>9,} rows/s  "
              f"peak RSS {f['peak_rss_mb']:,.0f} MB")  # fmt: skip
    print(f"extractor / raw = {result['ratio']:.2f} (goal >= 0.8) -> {OUT}")


if __name__ == "__main__":
    main()
