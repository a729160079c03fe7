"""The one Definitions of the connector: per-layer definitions merged with the resources.

Every job runs its steps in the run's own process (the in-process executor). The steps of a sync
follow one another anyway (DuckDB has one writer, the SSM API one rate), and the default
multiprocess executor started a fresh Python process per step: 101 imports of the project and
resource set-ups made a 1-minute sync take 26 minutes (docs/architecture.md, "Executor").

A Sage 50 FR company (SAGE_EDITION=fr) reads its export files (pipelines/sage_fr.py) in place
of the UK `sage` and `staging` layers, and writes its reverse flow, quotes (devis) included, as
import files.
"""

import dagster as dg

from assets import derived, inbox, sage, ssm, staging
from pipelines import quotes, reverse, settings, sync
from pipelines.resources import all_resources


def build_defs(edition: str) -> dg.Definitions:
    if edition == "fr":
        from pipelines import sage_fr

        source = [sage_fr.defs(), reverse.defs, quotes.defs]
    else:
        source = [sage.defs, staging.defs, inbox.defs, reverse.defs, quotes.defs]
    return dg.Definitions.merge(
        *source,
        derived.defs,
        ssm.defs,
        sync.defs,
        dg.Definitions(resources=all_resources(), executor=dg.in_process_executor),
    )


defs = build_defs(settings.sage_edition())
