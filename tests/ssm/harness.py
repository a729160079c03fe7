"""Runs the whole push (value lists, desired state, every resource in order) against a sandbox.

Used in-process by the tests and as `python -m tests.ssm.harness WAREHOUSE BASE_URL RPS` by the
kill test, which SIGKILLs that process mid-push.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from assets.ssm import value_lists
from assets.ssm.apply import PushOptions, PushReport, push_resource
from assets.ssm.contract import PUSHED
from assets.ssm.desired import build_desired
from assets.ssm.settings import SyncSettings
from resources.ssm.client import SSMClient

PUBLIC_KEY, PRIVATE_KEY = "sandbox-public", "sandbox-private"


def warehouse_of(path: Path):  # noqa: ANN201 - a context-manager factory
    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(path))
        try:
            yield con
        finally:
            con.close()

    return connect


def push_all(
    warehouse: Path,
    base_url: str,
    *,
    requests_per_second: float = 200.0,
    options: PushOptions | None = None,
    settings: SyncSettings | None = None,
    wrap: Callable[[SSMClient], Any] | None = None,
) -> tuple[dict[str, PushReport], int, int]:
    """One sync run of every pushed resource; (reports, api calls, write calls).

    `wrap` puts something between the push and the client (an SSM that refuses some items)."""
    settings = settings or SyncSettings()
    connect = warehouse_of(warehouse)
    run_id = uuid.uuid4().hex
    # One connection held for the whole push keeps the database open, as a run's warehouse
    # resource does: every step's own connect then shares it (DuckDB caches the open database
    # per process) instead of opening the file and checkpointing it on close, ~10 ms a time.
    with duckdb.connect(str(warehouse)), SSMClient(
        base_url, PUBLIC_KEY, PRIVATE_KEY, requests_per_second=requests_per_second,
        backoff_seconds=0.05, max_backoff_seconds=0.5,
    ) as client:  # fmt: skip
        with connect() as con:
            value_lists.store(con, value_lists.fetch(client))
            for contract in PUSHED:
                build_desired(con, contract, settings)
        writer = wrap(client) if wrap else client
        reports = {
            c.name: push_resource(connect, writer, c, settings, run_id, options) for c in PUSHED
        }
        return reports, client.api_calls, client.write_calls


if __name__ == "__main__":
    push_all(Path(sys.argv[1]), sys.argv[2], requests_per_second=float(sys.argv[3]))
