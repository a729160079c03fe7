"""Dagster assets and checks of the `sage` layer, generated from the catalogue.

Each Sage table becomes the asset `sage/<table>` (group `sage`, pool `warehouse`), downstream of an
external `sage50/<TABLE>` spec that stands for the table inside Sage, so the UI shows column
lineage down to the source. Document tables are partitioned by month for backfills:

- A run WITHOUT a partition key is the 15-minute incremental path: it reads by
  RECORD_MODIFY_DATE across all months (Dagster 1.13 records it as an unpartitioned
  materialization of the partitioned asset), so a receipt allocated to a 2019 invoice reaches the
  warehouse in the next run, with no month to guess.
- A run WITH a partition key or range (a backfill from the UI, one run per range through
  `BackfillPolicy.single_run()`) reloads exactly those months and moves no watermark.

Either way the partitions tell the truth: each month the run loaded gets a materialization of its
own, with that month's live rows as `dagster/row_count` (a line's month is its parent document's).
The unpartitioned run logs one `AssetMaterialization` per month it changed (every month after a
read of everything: the first load or `full_refresh`, months without rows with 0), then its own
unpartitioned materialization, whose `dagster/row_count` is the whole table's; a backfill gives
each month of its range its own count as partition-scoped metadata. Months before
SAGE_HISTORY_START, after the last partition, or rows without a date belong to no partition.
"""

# No `from __future__ import annotations`: Dagster reads the config and resource annotations.
import datetime as dt
import os
import warnings

import dagster as dg
from dagster_shared.utils.warnings import BetaWarning

from assets import company
from assets.partitions import document_months, month_key
from assets.sage import warehouse as wh
from assets.sage.catalogue import BY_TABLE, CATALOGUE, SageTable
from assets.sage.extract import ExtractPlan, ExtractResult, extract_table
from resources.sage.source import SageSourceError, SageSourceResource
from resources.warehouse import WarehouseResource

DEFAULT_LOOKBACK_MINUTES = int(os.environ.get("SAGE_LOOKBACK_MINUTES", "10"))
DEFAULT_KEY_SCAN_EVERY_RUNS = int(os.environ.get("SAGE_KEY_SCAN_EVERY_RUNS", "96"))

QUARANTINE_CHECK = "quarantined_rows"
UNIQUE_KEY_CHECK = "unique_key"


class SageExtractConfig(dg.Config):
    """Run options of a Sage extract (defaults suit the 15-minute schedule)."""

    lookback_minutes: int = DEFAULT_LOOKBACK_MINUTES
    key_scan_every_runs: int = DEFAULT_KEY_SCAN_EVERY_RUNS
    key_scan: bool = False
    full_refresh: bool = False


def column_schema(table: SageTable) -> dg.TableSchema:
    columns = [
        dg.TableColumn(
            name=c.name.lower(),
            type=c.duckdb_type,
            description=f"Sage {table.table}.{c.name} ({c.odbc_type}"
            + (f", {c.length}" if c.length else "")
            + ")",
            constraints=dg.TableColumnConstraints(nullable=c.name not in table.key),
        )
        for c in table.columns
    ]
    columns += [
        dg.TableColumn(
            "deleted_at", "TIMESTAMP", description="When Sage deleted the row; NULL = live."
        ),
        dg.TableColumn(
            "loaded_at", "TIMESTAMP", description="When this version of the row landed."
        ),
    ]
    return dg.TableSchema(
        columns=columns,
        constraints=dg.TableConstraints(other=[f"unique key ({', '.join(table.key).lower()})"]),
    )


def column_lineage(table: SageTable) -> dg.TableColumnLineage:
    return dg.TableColumnLineage(
        deps_by_column={
            c.name.lower(): [dg.TableColumnDep(asset_key=table.source_key, column_name=c.name)]
            for c in table.columns
        }
    )


def source_spec(table: SageTable) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=table.source_key,
        group_name="sage50_source",
        kinds={"odbc"},
        description=f"The Sage 50 table {table.table}, read through the ODBC driver (outside Dagster).",
        metadata={"dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(c.name, c.odbc_type) for c in table.columns]
        )},
    )  # fmt: skip


def _plan(
    context: dg.AssetExecutionContext, config: SageExtractConfig, chunk_rows: int
) -> ExtractPlan:
    common = {
        "lookback": dt.timedelta(minutes=config.lookback_minutes),
        "key_scan_every": config.key_scan_every_runs,
        "force_key_scan": config.key_scan,
        "chunk_rows": chunk_rows,
    }
    if context.has_partition_key or context.has_partition_key_range:
        window = context.partition_time_window
        return ExtractPlan("window", window=(window.start.date(), window.end.date()), **common)
    return ExtractPlan("full" if config.full_refresh else "incremental", **common)


def _metadata(table: SageTable, result: ExtractResult, plan: ExtractPlan) -> dict[str, object]:
    metadata: dict[str, object] = {
        "dagster/row_count": result.live_rows,
        "dagster/table_name": f"sage.{table.name}",
        "mode": result.mode,
        "rows_read": result.rows_read,
        "inserted": result.inserted,
        "updated": result.updated,
        "undeleted": result.undeleted,
        "deleted": result.deleted,
        "quarantined": result.quarantined,
        "soft_deleted_rows": result.deleted_rows,
        "key_scan": result.key_scanned,
        "queries": len(result.queries),
        "reader": result.reader,
        "dagster/column_lineage": column_lineage(table),
    }
    if result.reader_note:
        metadata["reader_note"] = result.reader_note
    if result.watermark_after is not None:
        metadata["watermark"] = result.watermark_after.isoformat(sep=" ")
    if plan.window:
        metadata["window"] = f"{plan.window[0]} .. {plan.window[1]}"
    if table.partition is not None:
        metadata["months_changed"] = len(result.changed_months)
    return metadata


def _report_months(
    context: dg.AssetExecutionContext, table: SageTable, result: ExtractResult
) -> None:
    """Give each month the run loaded its own materialization and live row count.

    A backfill's own materializations are one per month of its range: each gets its month's count
    as partition-scoped metadata. Other months whose rows changed (a DELETED_RECORDS entry for an
    older document, or anything an unpartitioned run changed; every month when it read them all)
    get a materialization logged here, before the run's own.
    """
    partitions = document_months.get_partition_keys()
    rows = {month_key(m): n for m, n in result.month_rows.items()}
    logged = {month_key(m) for m in result.changed_months}
    if context.has_partition_key or context.has_partition_key_range:
        for key in context.partition_keys:
            context.add_asset_metadata({"dagster/row_count": rows.get(key, 0)}, partition_key=key)
        logged -= set(context.partition_keys)
    elif result.every_month:
        logged = set(partitions)
    for key in partitions:  # a month that is no partition (before the first, after the last): none
        if key not in logged:
            continue
        context.log_event(
            dg.AssetMaterialization(
                asset_key=table.asset_key,
                partition=key,
                metadata={
                    "dagster/row_count": rows.get(key, 0),
                    "dagster/table_name": f"sage.{table.name}",
                    "mode": result.mode,
                    "reader": result.reader,
                },
            )
        )


# Sage tables the reverse flow writes (assets/inbox), and the asset that writes each.
REVERSE_WRITES = {
    "SALES_LEDGER": company.key("inbox", "sage_customers"),
    "SALES_DEL_ADDR": company.key("inbox", "sage_contacts"),
    "SALES_ORDER": company.key("inbox", "sage_quotes"),
    "SOP_ITEM": company.key("inbox", "sage_quotes"),
}


def build_sage_asset(table: SageTable) -> dg.AssetsDefinition:
    partitioned = table.partition is not None
    deps: list[dg.AssetKey] = [table.source_key]
    if table.name.upper() in REVERSE_WRITES:
        # What the reverse flow wrote into Sage is read back by this extract in the same run.
        deps.append(REVERSE_WRITES[table.name.upper()])
    if table.deleted_records_id is not None:
        # Extracted first in the same run, so the deletes it names apply right away.
        deps.append(BY_TABLE["DELETED_RECORDS"].asset_key)
    check_specs = [
        dg.AssetCheckSpec(
            QUARANTINE_CHECK,
            asset=table.asset_key,
            description="Rows of this table held in quarantine.rows (failed validation).",
        ),
        dg.AssetCheckSpec(
            UNIQUE_KEY_CHECK,
            asset=table.asset_key,
            blocking=True,
            description=f"({', '.join(table.key)}) is unique in sage.{table.name}.",
        ),
    ]
    how = "incremental on RECORD_MODIFY_DATE" if table.incremental else "reloaded in full every run"

    @dg.asset(
        key=table.asset_key,
        group_name="sage",
        description=f"{table.description}\n\nKey ({', '.join(table.key)}); {how}; soft deletes in deleted_at.",
        deps=deps,
        partitions_def=document_months if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        pool=company.pool("warehouse"),
        kinds={"duckdb"},
        check_specs=check_specs,
        metadata={
            "dagster/column_schema": column_schema(table),
            "dagster/table_name": f"sage.{table.name}",
            "sage_key": ", ".join(table.key),
        },
    )
    def _sage_table(
        context: dg.AssetExecutionContext,
        config: SageExtractConfig,
        sage: SageSourceResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        plan = _plan(context, config, sage.chunk_rows)
        try:
            with sage.connect() as source, warehouse.get_connection() as db:
                result = extract_table(table, source, db, plan, run_id=context.run.run_id)
                outstanding = wh.quarantined_keys(db, table)
                duplicates = wh.duplicate_keys(db, table)
        except SageSourceError as exc:
            # One sentence naming cause and fix, not a driver traceback (and never the password).
            raise dg.Failure(description=str(exc)) from None
        context.log.info(
            f"sage.{table.name}: {result.mode}, read {result.rows_read}, inserted {result.inserted}, "
            f"updated {result.updated}, deleted {result.deleted}, quarantined {result.quarantined}"
        )
        if partitioned:
            _report_months(context, table, result)
        return dg.MaterializeResult(
            metadata=_metadata(table, result, plan),
            check_results=[
                dg.AssetCheckResult(
                    check_name=QUARANTINE_CHECK,
                    passed=outstanding == 0,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"quarantined_rows": outstanding, "this_run": result.quarantined},
                ),
                dg.AssetCheckResult(
                    check_name=UNIQUE_KEY_CHECK,
                    passed=duplicates == 0,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"duplicate_keys": duplicates},
                ),
            ],
        )

    return _sage_table


SOURCE_SPECS = [source_spec(t) for t in CATALOGUE]
with warnings.catch_warnings():
    # BackfillPolicy is still marked beta in 1.13; the issue asks for it, so say it once, here.
    warnings.simplefilter("ignore", BetaWarning)
    SAGE_ASSETS = [build_sage_asset(t) for t in CATALOGUE]
