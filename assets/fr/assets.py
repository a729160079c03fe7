"""The Sage 50 FR source as Dagster assets: one `sage_fr/<table>` per table of the layout, all
read by one step from the export folder, then the `staging` sections built from them.

They stand where a UK company has its `sage/*` assets (group `sage`, so the sync job selects
them), and the staging asset keys are the UK ones: derived, the desired state and the push are
the same assets over the same tables.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import company
from assets.fr.layout import Layout, default_layout
from assets.fr.source import read_folder
from assets.fr.staging import staging_assets, staging_checks
from assets.fr.warehouse import LEDGER
from resources.sage_fr import SageFrExportsResource


def source_asset(layout: Layout) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            key=company.key("sage_fr", table.name),
            group_name="sage",
            kinds={"duckdb"},
            description=table.description,
            metadata={"dagster/table_name": table.warehouse_name, "key": ", ".join(table.key)},
        )
        for table in layout.tables
    ]

    @dg.multi_asset(
        name="sage_fr_exports",
        specs=specs,
        pool=company.pool("warehouse"),
        description="Reads the new, complete Sage 50 FR export files of SAGE_FR_EXPORT_DIR into "
        "sage_fr.* (one file per kind, a full snapshot each; the file ledger is "
        f"{LEDGER}); bad rows go to quarantine.rows, a file whose layout is wrong is refused "
        "whole with its reason.",
    )
    def _exports(
        context: dg.AssetExecutionContext,
        warehouse: DuckDBResource,
        sage_fr_exports: SageFrExportsResource,
    ):  # noqa: ANN202 - a generator of results
        with warehouse.get_connection() as con:
            report = read_folder(
                con,
                sage_fr_exports.path,
                layout,
                settle_seconds=sage_fr_exports.settle_seconds,
                run_id=context.run.run_id,
            )
            counts = {
                t.name: con.execute(
                    f"SELECT count(*) FILTER (WHERE deleted_at IS NULL), "  # noqa: S608
                    f"count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM {t.warehouse_name}"
                ).fetchall()[0]
                for t in layout.tables
            }
        for name, sentence in report.refused.items():
            context.log.warning(f"refused {name}: {sentence}")
        context.log.info(f"{sage_fr_exports.path}: {report.summary()}")
        for table in layout.tables:
            kind = next(k for k in layout.kinds if table in k.tables)
            live, deleted = counts[table.name]
            yield dg.MaterializeResult(
                asset_key=company.key("sage_fr", table.name),
                metadata={
                    "dagster/row_count": live,
                    "deleted_rows": deleted,
                    "changed": kind.name in report.changed_kinds,
                    "files_loaded": dg.MetadataValue.json(
                        [f for f in report.loaded if f["kind"] == kind.name]
                    ),
                    "files_refused": dg.MetadataValue.json(
                        {n: s for n, s in report.refused.items() if kind.matches(n)}
                    ),
                    "folder": report.summary(),
                },
            )

    return _exports


def fr_defs(layout: Layout | None = None) -> dg.Definitions:
    """The FR source and its staging, in place of the UK `sage` and `staging` definitions."""
    layout = layout or default_layout()
    return dg.Definitions(
        assets=[source_asset(layout), *staging_assets(layout)],
        asset_checks=staging_checks(),
    )
