"""Shared fixtures. Area-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

import os
from types import ModuleType

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SQLITE_ODBC_DRIVER = "SQLite3"


def _missing(reason: str) -> None:
    """Skip locally, fail in CI (an ODBC test never skips there)."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pyodbc_module() -> ModuleType:
    """pyodbc, with the unixODBC driver manager it needs."""
    try:
        import pyodbc
    except ImportError as exc:  # libodbc.so missing
        _missing(f"pyodbc cannot load unixODBC ({exc}); apt-get install unixodbc")
    return pyodbc


@pytest.fixture(scope="session")
def sqlite_odbc_driver(pyodbc_module: ModuleType) -> str:
    """The SQLite ODBC driver's name."""
    if SQLITE_ODBC_DRIVER not in pyodbc_module.drivers():
        _missing(
            f"the {SQLITE_ODBC_DRIVER} ODBC driver is not installed (apt-get install libsqliteodbc)"
        )
    return SQLITE_ODBC_DRIVER
