"""The `sage` layer: one DuckDB table per Sage 50 table the CRM needs (see catalogue.py)."""

import dagster as dg

from assets.sage.factory import SAGE_ASSETS, SOURCE_SPECS

defs = dg.Definitions(assets=[*SOURCE_SPECS, *SAGE_ASSETS])
