"""A Sage 50 FR company's wiring: its export and import folders as resources, the reverse flow's
writers (assets/fr/reverse.py), and the sensor that starts a sync when Sage 50 FR has written a
new, complete export file.

`sage_fr_exports` looks at SAGE_FR_EXPORT_DIR every 30 s. A file counts once it has settled (its
last write SAGE_FR_SETTLE_SECONDS old, assets/fr/folder.py); one it has not seen settled before
(name, size and modification time in the cursor) starts `sage_ssm_sync`, unless a sync is already
queued or running (then the cursor stays, and a later tick starts it). The run reads only the
files it finds complete and new by content (the file ledger), so a file touched without a change
costs one run that changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import dagster as dg

from assets import company
from assets.fr.assets import fr_defs
from assets.fr.folder import scan, settled
from assets.fr.layout import default_layout
from assets.fr.reverse import reverse_assets
from pipelines import settings
from pipelines.sync import _describe, pushes_in_flight, sync_job
from resources.sage_fr import SageFrExportsResource, SageFrImportsResource


def sage_fr_import_dir() -> Path:
    """SAGE_FR_IMPORT_DIR: where the connector writes the import files Sage 50 FR imports
    (default data/sage50-fr/imports, where the demo's Sage imports from)."""
    value = os.environ.get("SAGE_FR_IMPORT_DIR", "").strip()
    return Path(value) if value else settings.data_dir() / "sage50-fr" / "imports"


def imports_resource() -> SageFrImportsResource:
    return SageFrImportsResource(folder=str(sage_fr_import_dir()))


def exports_resource() -> SageFrExportsResource:
    return SageFrExportsResource(
        folder=str(settings.sage_fr_export_dir()),
        settle_seconds=settings.sage_fr_settle_seconds(),
    )


def new_settled_files(cursor: str | None, settle_seconds: float) -> tuple[list[str], str]:
    """The settled files not in `cursor`, and the cursor with every settled file's look."""
    seen: dict[str, list[int]] = json.loads(cursor) if cursor else {}
    folder = settings.sage_fr_export_dir()
    ready = {
        f.name: [f.size, f.mtime_ns]
        for f in scan(folder, default_layout())
        if f.kind is not None and settled(f, settle_seconds)
    }
    new = sorted(name for name, look in ready.items() if seen.get(name) != look)
    return new, json.dumps(ready, sort_keys=True)


@dg.sensor(
    name="sage_fr_exports",
    job=sync_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts sage_ssm_sync when Sage 50 FR has written a new, complete export file "
    "into SAGE_FR_EXPORT_DIR (settled for SAGE_FR_SETTLE_SECONDS); waits while a sync runs.",
)
def sage_fr_exports(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    if (off := company.inactive()) is not None:
        return dg.SkipReason(off)
    new, cursor = new_settled_files(context.cursor, settings.sage_fr_settle_seconds())
    if not new:
        context.update_cursor(cursor)
        return dg.SkipReason("no new complete export file")
    busy = pushes_in_flight(context.instance)
    if busy:
        return dg.SkipReason(f"{_describe(busy[0])}: {len(new)} new export file(s) wait for it")
    context.update_cursor(cursor)
    run_key = hashlib.sha256(cursor.encode()).hexdigest()[:16]
    return dg.RunRequest(
        run_key=f"sage-fr-{run_key}", tags={"sync/after_files": ", ".join(new)[:200]}
    )


def defs() -> dg.Definitions:
    """The FR source, its staging, the reverse flow's feeds and import-file writers, the export
    and import folders and the sensor."""
    return dg.Definitions.merge(
        fr_defs(),
        dg.Definitions(
            assets=reverse_assets(default_layout()),
            sensors=[sage_fr_exports],
            resources={
                "sage_fr_exports": exports_resource(),
                "sage_fr_imports": imports_resource(),
            },
        ),
    )
