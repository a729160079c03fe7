"""The outside world as Dagster resources, configured from the environment."""

from __future__ import annotations

from dagster_duckdb import DuckDBResource

from pipelines import settings


def warehouse() -> DuckDBResource:
    return DuckDBResource(database=settings.warehouse_path())


def all_resources() -> dict[str, object]:
    return {
        "warehouse": warehouse(),
        # "sage": Sage source (ODBC or SQLAlchemy), see resources/sage_source.py
        # "ssm": SSM API v4 client, see resources/ssm_client.py
    }
