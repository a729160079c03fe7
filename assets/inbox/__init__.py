"""The reverse flow (SSM → Sage): the change feed, the rules, the Sage writes (see engine.py)."""

import dagster as dg

from assets.inbox.assets import ASSETS

defs = dg.Definitions(assets=ASSETS)
