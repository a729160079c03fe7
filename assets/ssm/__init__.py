"""The push to Sage Sales Management: contract, desired state, plan, apply, ledger, assets."""

import dagster as dg

from assets.ssm.assets import ALL_ASSETS, ASSET_CHECKS, SSMPushSettings
from assets.ssm.summary import run_summary

defs = dg.Definitions(
    assets=[*ALL_ASSETS, run_summary],
    asset_checks=ASSET_CHECKS,
    resources={"ssm_push": SSMPushSettings()},
)
