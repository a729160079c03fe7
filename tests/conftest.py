"""Shared fixtures. Area-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SQLITE_ODBC_DRIVER = "SQLite3"


@pytest.fixture(scope="session")
def sqlite_odbc_driver() -> str:
    """The SQLite ODBC driver's name. Missing: skip locally, fail in CI (an ODBC test never skips there)."""
    reason = None
    try:
        import pyodbc

        if SQLITE_ODBC_DRIVER not in pyodbc.drivers():
            reason = f"the {SQLITE_ODBC_DRIVER} ODBC driver is not installed (apt-get install libsqliteodbc)"
    except ImportError as exc:  # libodbc.so missing
        reason = f"pyodbc cannot load unixODBC ({exc}); apt-get install unixodbc"
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return SQLITE_ODBC_DRIVER
