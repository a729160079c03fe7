"""`make demo`: the whole sync against the embedded defaults, then a summary of what landed.

1. generate the demo Sage 50 company (SQLite) if it is absent;
2. start the SSM sandbox server in the background if nothing answers at SSM_BASE_URL;
3. run the sync job in this process against the project's Dagster instance (so the runs show in
   `make dev`), twice: the second run shows that an unchanged Sage costs no write call;
4. print row counts per layer and what SSM now holds.

`python -m pipelines.demo --prepare` does steps 1–2 only (used by `make dev`).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

import dagster as dg
import duckdb

from pipelines import settings

SYNC_JOB = "sage_ssm_sync"


def ensure_demo_company(size: str) -> None:
    path = settings.demo_company_path()
    if path.exists() or "SAGE_ODBC_CONNECTION" in os.environ or "SAGE_DATABASE_URL" in os.environ:
        return
    from sandbox.sage_demo import generate

    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    counts = generate(path, size=size, seed=1)
    print(
        f"generated the {size} demo Sage 50 company at {path} "
        f"({sum(counts.values()):,} rows in {time.perf_counter() - started:.1f} s)"
    )


def _answers(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def ensure_ssm_sandbox() -> None:
    """Start `python -m sandbox.ssm` detached when the configured SSM URL is a silent localhost."""
    url = urlparse(settings.ssm_base_url())
    host, port = url.hostname or "127.0.0.1", url.port or 80
    if host not in {"127.0.0.1", "localhost"} or _answers(host, port):
        return
    log = settings.data_dir() / "ssm-sandbox.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "sandbox.ssm",
        "--host",
        host,
        "--port",
        str(port),
        "--db",
        str(settings.data_dir() / "ssm-sandbox.sqlite"),
    ]
    with log.open("ab") as out:
        subprocess.Popen(cmd, stdout=out, stderr=out, start_new_session=True)
    for _ in range(100):
        if _answers(host, port):
            print(f"started the SSM sandbox at http://{host}:{port}/ (log: {log})")
            return
        time.sleep(0.1)
    raise SystemExit(f"The SSM sandbox did not start on {host}:{port}; see {log}.")


def run_sync(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    from pipelines.definitions import defs

    job = defs.resolve_job_def(SYNC_JOB)
    return job.execute_in_process(instance=instance, raise_on_error=False)


def print_summary() -> None:
    con = duckdb.connect(settings.warehouse_path(), read_only=True)
    try:
        rows = con.execute(
            """
            SELECT table_schema, table_name, estimated_size
            FROM duckdb_tables()
            WHERE table_schema IN ('sage', 'staging', 'derived', 'ssm', 'sync', 'quarantine')
            ORDER BY table_schema, table_name
            """
        ).fetchall()
        print(f"\n{'table':<45}{'rows':>12}")
        for schema, table, _ in rows:
            (count,) = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()  # noqa: S608
            print(f"{schema + '.' + table:<45}{count:>12,}")
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help="only generate and start")
    parser.add_argument("--size", default=os.environ.get("DEMO_SIZE", "small"))
    args = parser.parse_args()

    ensure_demo_company(args.size)
    ensure_ssm_sandbox()
    if args.prepare:
        return
    instance = dg.DagsterInstance.get()
    for attempt in ("initial", "repeat"):
        started = time.perf_counter()
        result = run_sync(instance)
        status = "succeeded" if result.success else "FAILED"
        print(
            f"{attempt} sync run {result.run_id} {status} in {time.perf_counter() - started:.1f} s"
        )
        if not result.success:
            for event in result.all_events:
                if event.is_failure:
                    print(f"  {event.message}")
            raise SystemExit(1)
    print_summary()


if __name__ == "__main__":
    main()
