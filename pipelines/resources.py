"""The outside world as Dagster resources, configured from the environment."""

from __future__ import annotations

import os

import dagster as dg

from pipelines import settings
from resources.sage import SageSourceResource, SageWriterResource
from resources.ssm import SSMResource
from resources.warehouse import WarehouseResource


def warehouse(database: str | None = None) -> WarehouseResource:
    """The DuckDB file (WAREHOUSE_PATH unless given); each connection waits its turn on the
    file's lock (SSM pushes, checks and sensors open it outside the `warehouse` pool)."""
    return WarehouseResource(
        database=database or settings.warehouse_path(),
        lock_timeout_seconds=settings.warehouse_lock_timeout_seconds(),
        connection_config={"memory_limit": settings.warehouse_memory_limit()},
    )


def sage() -> SageSourceResource:
    """ODBC when SAGE_ODBC_CONNECTION is set, else the SQLAlchemy URL.

    Both are passed as EnvVar when set (an ODBC string holds PWD, a Postgres URL may hold a
    password), so they never land in run config or the UI; only the demo default is literal.
    """
    if os.environ.get("SAGE_ODBC_CONNECTION"):
        return SageSourceResource(
            odbc_connection=dg.EnvVar("SAGE_ODBC_CONNECTION"),
            odbc_encoding=os.environ.get("SAGE_ODBC_ENCODING", "auto"),
            odbc_reader=settings.sage_odbc_reader(),
        )
    if os.environ.get("SAGE_DATABASE_URL"):
        return SageSourceResource(database_url=dg.EnvVar("SAGE_DATABASE_URL"))
    return SageSourceResource(database_url=settings.sage_database_url())


def ssm() -> SSMResource:
    """The SSM API v4; the keys are secrets, read through EnvVar at run time."""
    return SSMResource(
        base_url=settings.ssm_base_url(),
        public_key=dg.EnvVar("SSM_PUBLIC_KEY"),
        private_key=dg.EnvVar("SSM_PRIVATE_KEY"),
        requests_per_second=settings.ssm_requests_per_second(),
        where_date_format=settings.ssm_where_date_format(),
        pace_dir=settings.ssm_pace_dir(),
    )


def sage_writer() -> SageWriterResource:
    """The Sage writer (SDO): the stand-in engine on the demo company unless SAGE_SDO_ENGINE /
    SAGE_ODBC_CONNECTION say otherwise; the password through EnvVar, only when set."""
    return SageWriterResource(
        engine=settings.sage_sdo_engine(),
        data_path=settings.sage_sdo_data_path(),
        user=settings.sage_sdo_user(),
        password=dg.EnvVar("SAGE_SDO_PASSWORD") if os.environ.get("SAGE_SDO_PASSWORD") else "",
        retry_attempts=settings.sage_sdo_retry_attempts(),
        retry_max_wait_seconds=settings.sage_sdo_retry_seconds(),
        session_lock_dir=settings.sage_sdo_lock_dir(),
        session_wait_seconds=settings.sage_sdo_session_wait_seconds(),
    )


def all_resources() -> dict[str, object]:
    return {
        "warehouse": warehouse(),
        "sage": sage(),
        "ssm": ssm(),
        "sage_writer": sage_writer(),
    }
