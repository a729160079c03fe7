"""Monthly partitions of Sage's documents (invoices, orders, the audit trail), by document date.

Partitions serve backfills of history from the UI; the 15-minute incremental path is unpartitioned
and catches changes to documents of any month.
"""

import os

import dagster as dg

# The first month a backfill can reach; a company's history rarely starts earlier.
HISTORY_START = os.environ.get("SAGE_HISTORY_START", "2016-01-01")

document_months = dg.MonthlyPartitionsDefinition(start_date=HISTORY_START, end_offset=1)
