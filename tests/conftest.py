"""Shared fixtures. Area-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from sandbox.sage_demo import generate
from sandbox.sdo.store import COMPANY_FILE

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


@pytest.fixture(scope="session")
def tiny_company_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny demo company (seed 1), generated once for the session: copy it, never write it."""
    path = tmp_path_factory.mktemp("tiny-company") / COMPANY_FILE
    generate(path, size="tiny", seed=1)
    return path


@pytest.fixture
def company(tiny_company_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the tiny demo company for each test (the stand-in SDO writes to it).
    An area that needs another company defines its own `company`."""
    path = tmp_path / COMPANY_FILE
    shutil.copyfile(tiny_company_template, path)
    return path


@pytest.fixture(autouse=True)
def _no_stale_defs_state_storage() -> Iterator[None]:
    """Dagster keeps the storage of the last instance entered as a context manager in a context
    variable; an instance closed out of order (a harness's, a nested one) leaves it pointing at
    a dead instance, and the next test that builds a repository fails with "Attempted to resolve
    undefined DagsterInstance weakref". Each test starts without it (None is Dagster's default)."""
    yield
    from dagster._core.storage.defs_state import base

    base._current_storage.set(None)
