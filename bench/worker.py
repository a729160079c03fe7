"""`python -m bench.worker TASK PARAMS.json RESULT.json`: one task, in its own process.

Started by `bench.isolate.run_task`; writes the task's answer as JSON, or fails with a traceback.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore")


def _raw(p: dict[str, Any]) -> dict[str, Any]:
    from bench.contenders import raw_driver

    return raw_driver(Path(p["company"]))


def _raw_bulk(p: dict[str, Any]) -> dict[str, Any]:
    from bench.contenders import raw_bulk_driver

    return raw_bulk_driver(Path(p["company"]))


def _connector(p: dict[str, Any]) -> dict[str, Any]:
    from bench.contenders import connector

    return connector(Path(p["company"]), Path(p["workdir"]) / "connector.duckdb")


def _dlt(p: dict[str, Any]) -> dict[str, Any]:
    from bench.contenders import dlt_sql_database

    return dlt_sql_database(Path(p["company"]), Path(p["workdir"]) / "dlt")


def _sync(p: dict[str, Any]) -> dict[str, Any]:
    from bench.sync import run_sync_suite

    return run_sync_suite(**p)


def _launched_sync(p: dict[str, Any]) -> dict[str, Any]:
    from bench.sync import run_launched_sync_suite

    return run_launched_sync_suite(**p)


def _backfill(p: dict[str, Any]) -> dict[str, Any]:
    from bench.backfill import run_backfill

    return run_backfill(**p)


def _faults(p: dict[str, Any]) -> dict[str, Any]:
    from bench.faults import run_fault_suite

    return run_fault_suite(**p)


def _transport(p: dict[str, Any]) -> dict[str, Any]:
    from bench.push import run_transport_bound

    return run_transport_bound(**p)


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "raw_driver": _raw,
    "raw_bulk_driver": _raw_bulk,
    "connector": _connector,
    "dlt": _dlt,
    "sync": _sync,
    "launched_sync": _launched_sync,
    "backfill": _backfill,
    "transport": _transport,
    "faults": _faults,
}


def main() -> None:
    task, params_path, result_path = sys.argv[1:4]
    params = json.loads(Path(params_path).read_text())
    result = TASKS[task](params)
    Path(result_path).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
