"""The Sage source connections: what they hand out, and the one-sentence errors that stop a run."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from types import ModuleType

import pyarrow as pa
import pytest

from resources.sage.source import (
    Chunk,
    OdbcConnection,
    SageSourceError,
    SageSourceResource,
    SqlAlchemyConnection,
    mask_secrets,
    odbc_pairs,
    odbc_target,
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


def rows_of(chunk: Chunk) -> list[tuple]:
    """A streamed chunk as tuples, whichever reader fetched it."""
    if isinstance(chunk, pa.RecordBatch):
        return [tuple(row.values()) for row in chunk.to_pylist()]
    return [tuple(row) for row in chunk]


def _one_sentence(message: str) -> None:
    assert message.endswith(".")
    assert "\n" not in message and "Traceback" not in message


def test_mask_secrets() -> None:
    assert mask_secrets("DSN=SageLine50v29;UID=MANAGER;PWD=s3cr;et") == (
        "DSN=SageLine50v29;UID=MANAGER;PWD=***;et"
    )
    assert mask_secrets("Password = hunter2; DIR=C:\\ACCDATA") == "Password=***; DIR=C:\\ACCDATA"


# Passwords as ODBC writes them: in braces, holding `;` and `=` (first), or a `}` doubled (second).
BRACED = [("PWD={s3cr;DIR=t41l}", "s3cr;DIR=t41l"), ("PWD={Qz7}}Xw;Vk9}", "Qz7}Xw;Vk9")]


@pytest.mark.parametrize(("written", "password"), BRACED)
def test_braced_passwords_are_parsed_as_odbc_parses_them(written: str, password: str) -> None:
    connection = f"DSN=SageLine50v29;UID=MANAGER;{written};DIR=C:\\ACCDATA"
    assert odbc_pairs(connection) == [
        ("DSN", "SageLine50v29"),
        ("UID", "MANAGER"),
        ("PWD", written.removeprefix("PWD=")),
        ("DIR", "C:\\ACCDATA"),
    ]
    assert odbc_target(connection) == "DSN=SageLine50v29;DIR=C:\\ACCDATA"
    assert mask_secrets(f"said: {connection}") == (
        "said: DSN=SageLine50v29;UID=MANAGER;PWD=***;DIR=C:\\ACCDATA"
    )
    # A driver that quotes the bare password is masked too, given the connection string.
    assert mask_secrets(f"login {password} refused", connection) == "login *** refused"


@pytest.mark.parametrize(("written", "password"), BRACED)
def test_a_failed_odbc_connect_names_no_part_of_a_braced_password(
    tmp_path: Path, sqlite_odbc_driver: str, written: str, password: str
) -> None:
    missing = tmp_path / "no-such-folder" / "company.sqlite"
    connection = f"Driver={sqlite_odbc_driver};Database={missing};UID=MANAGER;{written}"
    with pytest.raises(SageSourceError) as failed:
        OdbcConnection(connection, reader="pyodbc")
    message = str(failed.value)
    _one_sentence(message)
    for piece in {*password.split(";"), *password.split("}"), *written.split(";")[1:]}:
        assert piece not in message, (piece, message)


@pytest.mark.parametrize("reader", ["arrow-odbc", "pyodbc"])
def test_odbc_streams_chunks_and_hands_dates_over_as_text(
    tmp_path: Path, sqlite_odbc_driver: str, reader: str
) -> None:
    db = _company(tmp_path / "company.sqlite")
    connection = OdbcConnection(f"Driver={sqlite_odbc_driver};Database={db}", reader=reader)
    try:
        select = SageSelect("INVOICE", ("INVOICE_NUMBER", "INVOICE_DATE", "RECORD_MODIFY_DATE"))
        chunks = [rows_of(c) for c in connection.stream(select, 2)]
        assert connection.reader == reader and connection.reader_note == ""
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


class _Refused(Exception):
    """Shaped like arrow_odbc.Error: what a driver without block cursors answers a bulk fetch."""


def _refuse_bulk(connection: OdbcConnection, monkeypatch: pytest.MonkeyPatch, after: int) -> None:
    """Make the bulk reader fail after delivering `after` batches."""
    bulk = connection._bulk
    assert bulk is not None
    real = bulk.batches

    def batches(sql: str, chunk_rows: int):  # type: ignore[no-untyped-def]
        for n, batch in enumerate(real(sql, chunk_rows)):
            if n == after:
                break
            yield batch
        raise _Refused("[HYC00] Optional feature not implemented (SQL_ATTR_ROW_ARRAY_SIZE) PWD=pw9")

    monkeypatch.setattr(bulk, "batches", batches)
    monkeypatch.setattr(bulk, "error", _Refused)


def test_auto_falls_back_to_pyodbc_when_the_driver_refuses_a_bulk_fetch(
    tmp_path: Path, sqlite_odbc_driver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _company(tmp_path / "company.sqlite")
    connection = OdbcConnection(f"Driver={sqlite_odbc_driver};Database={db}", reader="auto")
    assert connection.reader == "arrow-odbc"
    _refuse_bulk(connection, monkeypatch, after=0)
    try:
        select = SageSelect("INVOICE", ("INVOICE_NUMBER", "INVOICE_DATE"))
        rows = [r for c in connection.stream(select, 2) for r in rows_of(c)]
        assert rows == [(1, "2024-01-15"), (2, "2024-02-30"), (3, None)]  # every row, once
        assert connection.reader == "pyodbc" and connection._bulk is None  # for good
        assert "HYC00" in connection.reader_note and "pw9" not in connection.reader_note
        assert [len(c) for c in connection.stream(select, 2)] == [2, 1]
    finally:
        connection.close()


@pytest.mark.parametrize("reader", ["auto", "arrow-odbc"])
def test_a_bulk_fetch_broken_off_midway_stops_the_run_instead_of_reading_twice(
    tmp_path: Path, sqlite_odbc_driver: str, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    db = _company(tmp_path / "company.sqlite")
    connection = OdbcConnection(f"Driver={sqlite_odbc_driver};Database={db}", reader=reader)
    _refuse_bulk(connection, monkeypatch, after=1)
    try:
        select = SageSelect("INVOICE", ("INVOICE_NUMBER", "INVOICE_DATE"))
        with pytest.raises(SageSourceError, match="broke off the query on INVOICE") as caught:
            list(connection.stream(select, 2))
    finally:
        connection.close()
    _one_sentence(str(caught.value))
    assert "pw9" not in str(caught.value)


def test_an_explicit_arrow_odbc_reader_does_not_fall_back(
    tmp_path: Path, sqlite_odbc_driver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _company(tmp_path / "company.sqlite")
    connection = OdbcConnection(f"Driver={sqlite_odbc_driver};Database={db}", reader="arrow-odbc")
    _refuse_bulk(connection, monkeypatch, after=0)
    try:
        with pytest.raises(SageSourceError, match="HYC00"):
            list(connection.stream(SageSelect("INVOICE", ("INVOICE_NUMBER",)), 2))
    finally:
        connection.close()


def test_without_arrow_odbc_auto_reads_through_pyodbc_and_explicit_stops(
    tmp_path: Path, sqlite_odbc_driver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resources.sage import source

    def missing(*_: object, **__: object) -> None:
        raise ImportError("No module named 'arrow_odbc' (PWD=pw9)")

    monkeypatch.setattr(source.BulkReader, "__init__", missing)
    db = _company(tmp_path / "company.sqlite")
    connection = OdbcConnection(f"Driver={sqlite_odbc_driver};Database={db}", reader="auto")
    try:
        assert connection.reader == "pyodbc"
        assert connection.reader_note.startswith("arrow-odbc could not connect (No module named")
        assert "pw9" not in connection.reader_note
        select = SageSelect("INVOICE", ("INVOICE_NUMBER",))
        assert [r for c in connection.stream(select, 5) for r in rows_of(c)] == [(1,), (2,), (3,)]
    finally:
        connection.close()
    with pytest.raises(SageSourceError) as caught:
        OdbcConnection(f"Driver={sqlite_odbc_driver};Database={db}", reader="arrow-odbc")
    _one_sentence(str(caught.value))
    assert "SAGE_ODBC_READER=pyodbc" in str(caught.value) and "pw9" not in str(caught.value)
