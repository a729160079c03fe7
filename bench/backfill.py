"""A backfill of ten years of monthly invoice partitions, through Dagster's backfill path.

The invoice assets (`sage/invoice`, `sage/invoice_item`) carry `BackfillPolicy.single_run()`:
for a backfill over N months, Dagster's backfill daemon launches ONE run of the asset job whose
tags `dagster/asset_partition_range_start` / `_end` name the range, and the assets read the whole
window (`context.partition_time_window`) in that run. The bench launches exactly that run
(`execute_in_process` of the asset job with the range tags, on a Dagster instance), so what is
timed is the code a UI backfill runs, not a loop over partitions around the extractor.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

BACKFILL_TABLES = ("INVOICE", "INVOICE_ITEM")
MONTHS = 120


def backfill_range(months: int = MONTHS) -> tuple[str, str, int]:
    """The first and last of `months` partition keys from the start of history."""
    from assets.partitions import document_months

    keys = document_months.get_partition_keys()
    if len(keys) < months:
        raise ValueError(f"only {len(keys)} monthly partitions exist; {months} asked")
    return keys[0], keys[months - 1], months


def run_backfill(company: str, workdir: str, months: int = MONTHS) -> dict[str, Any]:
    import dagster as dg

    from assets.sage import defs as sage_defs
    from assets.sage.catalogue import BY_TABLE
    from bench.contenders import odbc_connection_string
    from bench.sync import summarise_run
    from pipelines import resources
    from resources.sage import SageSourceResource

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    warehouse = work / "backfill.duckdb"
    warehouse.unlink(missing_ok=True)
    selection = [BY_TABLE[t].asset_key for t in BACKFILL_TABLES]
    job = dg.define_asset_job("bench_invoice_backfill", selection=selection)
    defs = dg.Definitions.merge(
        sage_defs,
        dg.Definitions(
            jobs=[job],
            resources={
                "warehouse": resources.warehouse(str(warehouse)),  # the product's settings
                "sage": SageSourceResource(odbc_connection=odbc_connection_string(Path(company))),
            },
        ),
    )
    first, last, count = backfill_range(months)
    resolved = defs.resolve_job_def(job.name)
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    result = resolved.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    seconds = time.perf_counter() - started
    summary = summarise_run(result)
    partitions_by_asset: dict[str, set[str]] = {}
    for event in result.get_asset_materialization_events():
        key = event.event_specific_data.materialization.asset_key.to_user_string()
        partitions_by_asset.setdefault(key, set()).add(str(event.partition))
    return {
        "success": result.success,
        "seconds": seconds,
        "first_month": first,
        "last_month": last,
        "partitions": count,
        "runs": 1,
        "rows_read": summary["rows_read"],
        "failed_steps": summary["failed_steps"],
        "partitions_materialized": {k: len(v) for k, v in sorted(partitions_by_asset.items())},
    }
