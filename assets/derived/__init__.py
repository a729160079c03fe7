"""`derived`: the values the CRM shows that Sage does not store as such: free stock, invoice
payment status, sales order totals, the flattened discount matrix, price lists and VAT rates.
Built from `staging` only (see `catalogue.py`, `sql/`, `checks.py`)."""

from pathlib import Path

import dagster as dg

from assets.derived.catalogue import DERIVED
from assets.derived.checks import INVARIANTS
from assets.staging.factory import build_invariant_checks, build_table_assets

SQL_DIR = Path(__file__).with_name("sql")

derived_assets = build_table_assets(DERIVED, schema="derived", sql_dir=SQL_DIR)
derived_checks = build_invariant_checks(INVARIANTS)

defs = dg.Definitions(assets=derived_assets, asset_checks=derived_checks)
