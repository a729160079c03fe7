"""The Sage source connections: what they hand out, and the one-sentence errors that stop a run."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest

from resources.sage.source import (
    OdbcConnection,
    SageSourceError,
    SageSourceResource,
    SqlAlchemyConnection,
    mask_secrets,
)
from resources.sage.sql import SageSelect


def _company(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute(
        'CREATE TABLE "INVOICE" ("INVOICE_NUMBER" INTEGER, "INVOICE_DATE" DATE, '
        '"RECORD_MODIFY_DATE" TIMESTAMP)'
    )
    con.executemany(
        'INSERT INTO "INVOICE" VALUES (?, ?, ?)',
        [(1, "2024-01-15", "2024-05-01 10:00:00"), (2, "2024-02-30", "garbage"), (3, None, None)],
    )
    con.commit()
    con.close()
    return path


def _one_sentence(message: str) -> None:
    assert message.endswith(".")
    assert "\n" not in message and "Traceback" not in message


def test_mask_secrets() -> None:
    assert mask_secrets("DSN=SageLine50v29;UID=MANAGER;PWD=s3cr;et") == (
        "DSN=SageLine50v29;UID=MANAGER;PWD=***;et"
    )
    assert mask_secrets("Password = hunter2; DIR=C:\\ACCDATA") == "Password=***; DIR=C:\\ACCDATA"


def test_odbc_streams_chunks_and_hands_dates_over_as_text(
    tmp_path: Path, sqlite_odbc_driver: str
) -> None:
    db = _company(tmp_path / "company.sqlite")
    connection = OdbcConnection(f"Driver={sqlite_odbc_driver};Database={db}")
    try:
        select = SageSelect("INVOICE", ("INVOICE_NUMBER", "INVOICE_DATE", "RECORD_MODIFY_DATE"))
        chunks = [[tuple(r) for r in c] for c in connection.stream(select, 2)]
    finally:
        connection.close()
    # Raw text, so that the extractor (not the driver) decides '2024-02-30' is not a date.
    assert chunks == [
        [(1, "2024-01-15", "2024-05-01 10:00:00"), (2, "2024-02-30", "garbage")],
        [(3, None, None)],
    ]


def test_sqlalchemy_streams_chunks(tmp_path: Path) -> None:
    db = _company(tmp_path / "company.sqlite")
    connection = SqlAlchemyConnection(f"sqlite:///{db}")
    try:
        select = SageSelect("INVOICE", ("INVOICE_NUMBER", "INVOICE_DATE"))
        assert [len(c) for c in connection.stream(select, 2)] == [2, 1]
    finally:
        connection.close()


def test_unreachable_dsn_names_cause_and_fix_without_password(sqlite_odbc_driver: str) -> None:
    with pytest.raises(SageSourceError) as caught:
        OdbcConnection("DSN=SageLine50v29;UID=MANAGER;PWD=topsecret")
    message = str(caught.value)
    _one_sentence(message)
    assert "DSN=SageLine50v29" in message and "ODBC administrator" in message
    assert "topsecret" not in message and "MANAGER" not in message


@pytest.mark.parametrize(
    ("state", "driver_said"),
    [
        (
            "28000",
            "[28000] [Sage][ODBC] Invalid logon for DSN=SageLine50v29;UID=MANAGER;PWD=hunter2",
        ),
        ("08004", "[08004] Sage 50 refused the connection (UID=MANAGER; PWD=hunter2)"),
        ("HY000", "[HY000] Password incorrect: PWD=hunter2 (SQLDriverConnect)"),
    ],
)
def test_wrong_credentials_name_the_fix_without_the_password(
    monkeypatch: pytest.MonkeyPatch, pyodbc_module: ModuleType, state: str, driver_said: str
) -> None:
    def refuse(connection_string: str, **_: object) -> None:
        raise pyodbc_module.Error(state, driver_said)

    monkeypatch.setattr(pyodbc_module, "connect", refuse)
    with pytest.raises(SageSourceError) as caught:
        OdbcConnection("DSN=SageLine50v29;UID=MANAGER;PWD=hunter2")
    message = str(caught.value)
    _one_sentence(message)
    assert ". " not in message  # one sentence, not a paragraph
    assert "password" in message.lower() and "DSN=SageLine50v29" in message  # the cause
    assert "SAGE_ODBC_CONNECTION" in message and "PWD" in message  # the fix
    assert "hunter2" not in message


def test_unreachable_data_folder(tmp_path: Path, sqlite_odbc_driver: str) -> None:
    with pytest.raises(SageSourceError) as caught:
        OdbcConnection(
            f"Driver={sqlite_odbc_driver};Database={tmp_path}/no/such/dir/x.sqlite;PWD=pw1"
        )
    message = str(caught.value)
    _one_sentence(message)
    assert message.startswith("Cannot reach the Sage 50 ODBC data source")
    assert "pw1" not in message


@pytest.mark.parametrize("via", ["odbc", "sqlalchemy"])
def test_missing_table_and_column(tmp_path: Path, via: str, request: pytest.FixtureRequest) -> None:
    db = _company(tmp_path / "company.sqlite")
    if via == "odbc":
        driver = request.getfixturevalue("sqlite_odbc_driver")
        connection = OdbcConnection(f"Driver={driver};Database={db}")
    else:
        connection = SqlAlchemyConnection(f"sqlite:///{db}")
    try:
        connection.check_table("INVOICE", ("INVOICE_NUMBER", "INVOICE_DATE"))
        with pytest.raises(SageSourceError, match=r"has no table SALES_LEDGER: check") as table:
            connection.check_table("SALES_LEDGER", ("ACCOUNT_REF",))
        _one_sentence(str(table.value))
        with pytest.raises(SageSourceError, match=r"INVOICE .* has no column ACCOUNT_REF: check"):
            connection.check_table("INVOICE", ("INVOICE_NUMBER", "ACCOUNT_REF"))
    finally:
        connection.close()


def test_missing_demo_company_file(tmp_path: Path) -> None:
    with pytest.raises(SageSourceError, match="does not exist: generate it") as caught:
        SqlAlchemyConnection(f"sqlite:///{tmp_path}/absent.sqlite")
    _one_sentence(str(caught.value))
    assert not (tmp_path / "absent.sqlite").exists()  # not silently created


def test_resource_picks_odbc_over_url(tmp_path: Path, sqlite_odbc_driver: str) -> None:
    db = _company(tmp_path / "company.sqlite")
    resource = SageSourceResource(
        odbc_connection=f"Driver={sqlite_odbc_driver};Database={db}",
        database_url="sqlite:///elsewhere.sqlite",
    )
    with resource.connect() as connection:
        assert isinstance(connection, OdbcConnection)
        assert connection.date_literal_style == "odbc_escape"
    with SageSourceResource(database_url=f"sqlite:///{db}").connect() as connection:
        assert isinstance(connection, SqlAlchemyConnection)
        assert connection.date_literal_style == "quoted"
    with pytest.raises(SageSourceError, match="No Sage 50 source is configured"):
        with SageSourceResource().connect():
            pass


def test_dates_outside_text_are_decoded_from_driver_structs() -> None:
    from resources.sage.source import _DATE_STRUCT, _TIMESTAMP_STRUCT, _raw_date

    assert _raw_date(_DATE_STRUCT.pack(2024, 5, 1)) == "2024-05-01"
    assert _raw_date(_TIMESTAMP_STRUCT.pack(2024, 5, 1, 9, 30, 15, 250_000_000)) == (
        "2024-05-01 09:30:15.250000"
    )
    assert _raw_date(b"2024-05-01") == "2024-05-01"
    assert dt.date.fromisoformat(_raw_date(b"2024-05-01") or "") == dt.date(2024, 5, 1)
