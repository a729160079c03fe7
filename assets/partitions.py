"""Monthly partitions of Sage's documents (invoices, orders, the audit trail), by document date.

Partitions serve backfills of history from the UI; the 15-minute incremental path is unpartitioned,
catches changes to documents of any month and marks the months it changed (assets/sage/factory.py).
"""

import datetime as dt
import os

import dagster as dg

# The first month a backfill can reach; a company's history rarely starts earlier.
HISTORY_START = os.environ.get("SAGE_HISTORY_START", "2016-01-01")

document_months = dg.MonthlyPartitionsDefinition(start_date=HISTORY_START, end_offset=1)


def month_key(month: dt.date) -> str:
    """The partition key of the month that starts on `month` (whether or not it is a partition)."""
    return month.strftime(document_months.fmt)
