"""Fixtures of the asset tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlalchemy", "odbc", "pyodbc"])
def connection_kind(request: pytest.FixtureRequest) -> dict[str, str]:
    """`materialize`'s keywords for each way of reading Sage: SQLAlchemy (quoted date literals)
    and ODBC through the SQLite driver (the {d …}/{ts …} escapes the Sage driver gets), fetched in
    bulk through arrow-odbc (`odbc`, the default reader) or row by row through pyodbc."""
    if request.param != "sqlalchemy":
        return {"via": request.param, "driver": request.getfixturevalue("sqlite_odbc_driver")}
    return {"via": "sqlalchemy"}
