"""`staging`: the field map's import sections as DuckDB tables with CRM field names.

See `catalogue.py` for the sections, `sql/` for their SELECTs, `checks.py` for the invariants and
`README.md` for edition-neutrality (what a Sage 50 FR source fills, and the defaults).
"""

from pathlib import Path

import dagster as dg

from assets.staging.catalogue import SECTIONS
from assets.staging.checks import INVARIANTS, NUMBER_INVARIANTS
from assets.staging.factory import (
    build_invariant_checks,
    build_invariants_check,
    build_table_assets,
)

SQL_DIR = Path(__file__).with_name("sql")

# Unpartitioned; after a backfill of months, the sensor sync_after_sage_update rebuilds them.
staging_assets = build_table_assets(SECTIONS, schema="staging", sql_dir=SQL_DIR)
staging_checks = [
    *build_invariant_checks(INVARIANTS),
    build_invariants_check("staging_numbers_staging_can_hold", NUMBER_INVARIANTS),
]

defs = dg.Definitions(assets=staging_assets, asset_checks=staging_checks)
