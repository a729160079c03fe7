"""Fixtures of the asset tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlalchemy", "odbc"])
def connection_kind(request: pytest.FixtureRequest) -> dict[str, str]:
    """`materialize`'s keywords for each way of reading Sage: SQLAlchemy (quoted date literals)
    and ODBC through the SQLite driver (the {d …}/{ts …} escapes the Sage driver gets)."""
    if request.param == "odbc":
        return {"via": "odbc", "driver": request.getfixturevalue("sqlite_odbc_driver")}
    return {"via": "sqlalchemy"}
