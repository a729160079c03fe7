"""The one Definitions of the connector: per-layer definitions merged with the resources.

Every job runs its steps in the run's own process (the in-process executor). The steps of a sync
follow one another anyway (DuckDB has one writer, the SSM API one rate), and the default
multiprocess executor started a fresh Python process per step: 101 imports of the project and
resource set-ups made a 1-minute sync take 26 minutes (docs/architecture.md, "Executor").
"""

import dagster as dg

from assets import derived, inbox, sage, ssm, staging
from pipelines import quotes, reverse, sync
from pipelines.resources import all_resources

defs = dg.Definitions.merge(
    sage.defs,
    staging.defs,
    derived.defs,
    ssm.defs,
    inbox.defs,
    sync.defs,
    reverse.defs,
    quotes.defs,
    dg.Definitions(resources=all_resources(), executor=dg.in_process_executor),
)
