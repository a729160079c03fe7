"""The Sage 50 FR export folder as a Dagster resource: where Sage writes its export files, and
how long a file must sit unchanged before it counts as complete (assets/fr/folder.py); the
import folder the reverse flow writes into (assets/fr/imports.py)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field


class SageFrExportsResource(dg.ConfigurableResource):
    folder: str = Field(description="SAGE_FR_EXPORT_DIR: the folder Sage 50 FR exports into")
    settle_seconds: float = Field(
        default=10.0,
        description="SAGE_FR_SETTLE_SECONDS: a file is read once its last write is this old",
    )

    @property
    def path(self) -> Path:
        return Path(self.folder)


class SageFrImportsResource(dg.ConfigurableResource):
    folder: str = Field(
        description="SAGE_FR_IMPORT_DIR: the folder Sage 50 FR imports from (the connector's "
        "import files; Sage moves away what it imported)"
    )

    @property
    def path(self) -> Path:
        return Path(self.folder)
