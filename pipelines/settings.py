"""Settings read from the environment, each with the default that runs the embedded demo.

Secrets (SSM keys, the Sage ODBC password inside SAGE_ODBC_CONNECTION) are never read here:
resources take them through Dagster's EnvVar so they never land in run config, logs or metadata.
The one exception is a default, not a secret: when SSM_BASE_URL is this machine (the SSM sandbox)
and no keys are set, importing this module sets the sandbox's documented keys, so a plain
`dagster dev` runs the demo as `make dev` does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import get_args
from urllib.parse import urlparse

from resources.sage.source import OdbcReader

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Where the demo company, the warehouse and the Dagster instance live (git-ignored)."""
    return Path(os.environ.get("DATA_DIR", PROJECT_ROOT / "data")).resolve()


def demo_company_path() -> Path:
    return data_dir() / "sage50-demo.sqlite"


def sage_database_url() -> str:
    """SQLAlchemy URL of the Sage source when no ODBC connection string is set (a set
    SAGE_DATABASE_URL reaches the resource as an EnvVar: it may hold a password)."""
    return os.environ.get("SAGE_DATABASE_URL", f"sqlite:///{demo_company_path()}")


ODBC_READERS = get_args(OdbcReader)


def sage_odbc_reader() -> str:
    """How ODBC rows are fetched: in blocks through arrow-odbc, row by row through pyodbc, or
    `auto` (arrow-odbc, falling back to pyodbc if the driver refuses block fetches)."""
    value = os.environ.get("SAGE_ODBC_READER", "auto").strip().lower()
    if value not in ODBC_READERS:
        allowed = ", ".join(ODBC_READERS[:-1]) + f" or {ODBC_READERS[-1]}"
        raise ValueError(f"SAGE_ODBC_READER is {value!r}: set it to {allowed}.")
    return value


def warehouse_path() -> str:
    return os.environ.get("WAREHOUSE_PATH", str(data_dir() / "warehouse.duckdb"))


def warehouse_lock_timeout_seconds() -> float:
    """How long a run waits for another process to release the warehouse file."""
    return float(os.environ.get("WAREHOUSE_LOCK_TIMEOUT_SECONDS", "7200"))


def warehouse_memory_limit() -> str:
    """DuckDB's memory limit (its default is 80% of the machine's RAM). The connector often
    shares a small server with Sage 50; past the limit DuckDB spills to disk instead."""
    return os.environ.get("WAREHOUSE_MEMORY_LIMIT", "1GB")


def ssm_base_url() -> str:
    return os.environ.get("SSM_BASE_URL", "http://127.0.0.1:8765/api/v4")


def local_ssm_address() -> tuple[str, int] | None:
    """(host, port) when SSM_BASE_URL points at this machine (the SSM sandbox), else None."""
    url = urlparse(ssm_base_url())
    host = url.hostname or "127.0.0.1"
    if host not in {"127.0.0.1", "localhost"}:
        return None
    return host, url.port or (443 if url.scheme == "https" else 80)


# The SSM sandbox's documented keys (python -m sandbox.ssm): public, and only ever sent to it.
SANDBOX_KEYS = {"SSM_PUBLIC_KEY": "sandbox-public", "SSM_PRIVATE_KEY": "sandbox-private"}


def default_to_sandbox_keys() -> None:
    """Set the sandbox's keys for a local SSM_BASE_URL when no keys are set. The SSM resource
    reads the keys through EnvVar in whichever process builds it (code server, run worker, the
    demo), and each of them imports this module first."""
    if local_ssm_address() is not None:
        for name, value in SANDBOX_KEYS.items():
            os.environ.setdefault(name, value)


default_to_sandbox_keys()


def ssm_requests_per_second() -> float:
    """The client-side pace: the tenant's API plan allows 4 or 13 requests/s."""
    return float(os.environ.get("SSM_REQUESTS_PER_SECOND", "4"))


def ssm_pace_dir() -> str:
    """SSM_PACE_DIR: where the processes of this host share the tenant's request pace (one
    small file per tenant); `none` paces each process alone (then no two runs may call SSM at
    once: the `ssm_api` pool alone keeps them under the plan's rate)."""
    value = os.environ.get("SSM_PACE_DIR", "").strip()
    if value.lower() == "none":
        return ""
    return value or str(data_dir() / "ssm-pace")


def ssm_where_date_format() -> str:
    """strftime format of dates in SSM `where` filters (SSM's syntax is unconfirmed)."""
    return os.environ.get("SSM_WHERE_DATE_FORMAT", "%Y-%m-%dT%H:%M:%S")


# The Sage writer (Sage Data Objects). The password is a secret: the resource reads
# SAGE_SDO_PASSWORD through EnvVar.
SDO_STAND_IN = "python:sandbox.sdo:SDOEngine"


def sage_sdo_engine() -> str:
    """SAGE_SDO_ENGINE: a ProgID (SDOEngine.32), `auto` (the registered SDO) or the stand-in.
    Default: the stand-in for the demo company, `auto` when SAGE_ODBC_CONNECTION names a real
    Sage."""
    default = "auto" if os.environ.get("SAGE_ODBC_CONNECTION") else SDO_STAND_IN
    return os.environ.get("SAGE_SDO_ENGINE", "").strip() or default


def sage_sdo_data_path() -> str:
    """SAGE_SDO_DATA_PATH: the company's ACCDATA folder; default the demo company file (none
    when SAGE_ODBC_CONNECTION is set: a real Sage needs its path, and Connect says so)."""
    default = "" if os.environ.get("SAGE_ODBC_CONNECTION") else str(demo_company_path())
    return os.environ.get("SAGE_SDO_DATA_PATH", "").strip() or default


def sage_sdo_user() -> str:
    """SAGE_SDO_USER: a Sage user only the connector logs in with (Sage refuses a user who is
    already logged in)."""
    return os.environ.get("SAGE_SDO_USER", "").strip() or "SSMSYNC"


def sage_sdo_retry_attempts() -> int:
    """SAGE_SDO_RETRY_ATTEMPTS: tries of one Sage write while Sage is busy, before the item
    waits for the next run."""
    return int(os.environ.get("SAGE_SDO_RETRY_ATTEMPTS", "5"))


def sage_sdo_retry_seconds() -> float:
    """SAGE_SDO_RETRY_SECONDS: the longest wait between two tries (backoff from 1 s)."""
    return float(os.environ.get("SAGE_SDO_RETRY_SECONDS", "30"))


def sage_sdo_lock_dir() -> str:
    """SAGE_SDO_LOCK_DIR: where the runs of this host take turns on the Sage session (Sage
    refuses a second login of the same user): one lock file per company and user."""
    return os.environ.get("SAGE_SDO_LOCK_DIR", "").strip() or str(data_dir() / "locks")


def sage_sdo_session_wait_seconds() -> float:
    """SAGE_SDO_SESSION_WAIT_SECONDS: how long a run waits for another run's Sage session
    before its writes wait for the next run."""
    return float(os.environ.get("SAGE_SDO_SESSION_WAIT_SECONDS", "600"))


def sync_cron() -> str:
    """SSM_SYNC_CRON: when the schedule starts a sync (cron, default every 15 minutes). A
    no-change cycle costs ~20 API calls; each changed record one call per 50 (bulk), at 4
    requests/s shared by every company of the tenant: keep the interval above the longest sync
    of all companies together (docs/performance.md)."""
    from dagster._utils.schedules import is_valid_cron_string

    value = os.environ.get("SSM_SYNC_CRON", "").strip() or "*/15 * * * *"
    if not is_valid_cron_string(value):
        raise ValueError(f"SSM_SYNC_CRON is {value!r}: give a cron string such as '*/15 * * * *'.")
    return value


def sync_timezone() -> str:
    """SSM_SYNC_TIMEZONE: the time zone of SSM_SYNC_CRON (default UTC), e.g. Europe/London."""
    return os.environ.get("SSM_SYNC_TIMEZONE", "").strip() or "UTC"


# Sage 50 FR (ex-Ciel): a company whose edition is `fr` is read from its export files
# (assets/fr) instead of ODBC; its reverse flow is not built yet.
EDITIONS = ("uk", "fr")


def sage_edition() -> str:
    """SAGE_EDITION: `uk` (Sage 50 Accounts UK/IE over ODBC, the default) or `fr` (Sage 50 FR
    through its export files in SAGE_FR_EXPORT_DIR)."""
    value = os.environ.get("SAGE_EDITION", "").strip().lower() or "uk"
    if value not in EDITIONS:
        raise ValueError(f"SAGE_EDITION is {value!r}: set it to uk or fr.")
    return value


def sage_fr_export_dir() -> Path:
    """SAGE_FR_EXPORT_DIR: where Sage 50 FR writes its exports (default data/sage50-fr/exports,
    where the demo dossier is written)."""
    value = os.environ.get("SAGE_FR_EXPORT_DIR", "").strip()
    return Path(value) if value else data_dir() / "sage50-fr" / "exports"


def sage_fr_settle_seconds() -> float:
    """SAGE_FR_SETTLE_SECONDS: an export file is read once its last write is this old (Sage may
    still be writing a younger one)."""
    return float(os.environ.get("SAGE_FR_SETTLE_SECONDS", "10"))
