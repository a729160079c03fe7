"""The outside world as Dagster resources, configured from the environment."""

from __future__ import annotations

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines import settings
from resources.sage import SageSourceResource
from resources.ssm import SSMResource


def warehouse() -> DuckDBResource:
    return DuckDBResource(database=settings.warehouse_path())


def sage() -> SageSourceResource:
    """ODBC when SAGE_ODBC_CONNECTION is set (a secret: passed as EnvVar), else the SQLAlchemy URL."""
    if os.environ.get("SAGE_ODBC_CONNECTION"):
        return SageSourceResource(odbc_connection=dg.EnvVar("SAGE_ODBC_CONNECTION"))
    return SageSourceResource(database_url=settings.sage_database_url())


def ssm() -> SSMResource:
    """The SSM API v4; the keys are secrets, read through EnvVar at run time."""
    return SSMResource(
        base_url=settings.ssm_base_url(),
        public_key=dg.EnvVar("SSM_PUBLIC_KEY"),
        private_key=dg.EnvVar("SSM_PRIVATE_KEY"),
        requests_per_second=settings.ssm_requests_per_second(),
    )


def all_resources() -> dict[str, object]:
    return {
        "warehouse": warehouse(),
        "sage": sage(),
        "ssm": ssm(),
    }
