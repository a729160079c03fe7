"""The one Definitions of the connector: per-layer definitions merged with the resources."""

import dagster as dg

from assets import derived, inbox, sage, ssm, staging
from pipelines import sync
from pipelines.resources import all_resources

defs = dg.Definitions.merge(
    sage.defs,
    staging.defs,
    derived.defs,
    ssm.defs,
    inbox.defs,
    sync.defs,
    dg.Definitions(resources=all_resources()),
)
