"""How the ODBC connection decodes what the driver hands over: raw dates and the text code page."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from resources.sage.source import (
    _DATE_STRUCT,
    OdbcConnection,
    SageSourceError,
    _decode_text_date,
    _raw_date,
    _RawDates,
    odbc_encoding,
)
from resources.sage.sql import SageSelect


class _Connection:
    """Records the output converters registered, as pyodbc's Connection keeps them."""

    def __init__(self) -> None:
        self.converters: dict[int, Any] = {}

    def add_output_converter(self, sql_type: int, converter: Any) -> None:
        self.converters[sql_type] = converter


class _Pyodbc:
    SQL_TYPE_DATE = 91
    SQL_TYPE_TIMESTAMP = 93


def test_a_text_driver_switches_to_the_c_decoder_after_its_first_chunk() -> None:
    connection = _Connection()
    dates = _RawDates(connection, _Pyodbc)
    learn = connection.converters[91]
    dates.settle()  # nothing seen yet: keep learning
    assert connection.converters[91] is learn
    assert learn(b"2024-05-01") == "2024-05-01"
    assert learn(None) is None
    dates.settle()
    assert connection.converters == {91: _decode_text_date, 93: _decode_text_date}
    assert _decode_text_date(b"2024-05-01 10:00:00") == "2024-05-01 10:00:00"
    assert _decode_text_date(b"2024-\xe9") == "2024-\ufffd"  # bad bytes still reach validation


def test_a_struct_driver_keeps_the_struct_decoder() -> None:
    connection = _Connection()
    dates = _RawDates(connection, _Pyodbc)
    assert connection.converters[93](_DATE_STRUCT.pack(2024, 5, 1)) == "2024-05-01"
    dates.settle()
    assert connection.converters == {91: _raw_date, 93: _raw_date}


def test_the_sqlite_driver_hands_the_same_text_before_and_after_the_switch(
    tmp_path: Path, sqlite_odbc_driver: str
) -> None:
    db = tmp_path / "company.sqlite"
    con = sqlite3.connect(db)
    con.execute('CREATE TABLE "AUDIT_USAGE" ("USAGE_NUMBER" INTEGER, "DATE" DATE)')
    dates = ["2024-01-15", "2024-02-30", "garbage", None, "2130-01-01", "2024-03-01"]
    con.executemany('INSERT INTO "AUDIT_USAGE" VALUES (?, ?)', list(enumerate(dates)))
    con.commit()
    con.close()
    connection = OdbcConnection(f"Driver={sqlite_odbc_driver};Database={db}", reader="pyodbc")
    try:
        rows = [
            tuple(r)
            for chunk in connection.stream(SageSelect("AUDIT_USAGE", ("USAGE_NUMBER", "DATE")), 2)
            for r in chunk
        ]
        assert connection._dates is not None and connection._dates.settled
    finally:
        connection.close()
    assert rows == list(enumerate(dates))


def test_the_code_page_defaults_to_cp1252_only_for_a_sage_driver() -> None:
    assert odbc_encoding("DSN=SageLine50v29;UID=MANAGER;PWD=x", "auto") == "cp1252"
    assert odbc_encoding("Driver={Sage Line 50 v29};DIR=C:\\ACCDATA", "auto") == "cp1252"
    # A path that mentions Sage does not make the SQLite driver an ANSI one.
    assert odbc_encoding("Driver=SQLite3;Database=/data/sage50-demo.sqlite", "auto") is None
    assert odbc_encoding("DSN=SageLine50v29", "utf-8") == "utf-8"


@pytest.mark.parametrize("reader", ["arrow-odbc", "pyodbc"])
def test_text_in_another_code_page_stops_with_the_setting_to_change(
    tmp_path: Path, sqlite_odbc_driver: str, reader: str
) -> None:
    db = tmp_path / "company.sqlite"
    con = sqlite3.connect(db)
    con.execute('CREATE TABLE "STOCK" ("STOCK_CODE" VARCHAR, "DESCRIPTION" VARCHAR)')
    # 'Café £5' as Windows-1252 bytes, stored as text the way a cp1252 export writes it.
    con.execute("INSERT INTO \"STOCK\" VALUES ('C1', CAST(X'436166E92080A335' AS TEXT))")
    con.commit()
    con.close()
    select = SageSelect("STOCK", ("STOCK_CODE", "DESCRIPTION"))
    connection = OdbcConnection(
        f"Driver={sqlite_odbc_driver};Database={db}", encoding="utf-8", reader=reader
    )
    try:
        with pytest.raises(SageSourceError, match="SAGE_ODBC_ENCODING") as raised:
            list(connection.stream(select, 10))
    finally:
        connection.close()
    assert "cp1252" in str(raised.value) and "\n" not in str(raised.value)
    if reader == "arrow-odbc":
        # arrow-odbc fetches such a driver's text wide (UTF-16) and lets the driver manager convert
        # from its code page; the SQLite driver, which assumes UTF-8, cannot act that out.
        wide = OdbcConnection(
            f"Driver={sqlite_odbc_driver};Database={db}", encoding="cp1252", reader=reader
        )
        assert wide._bulk is not None and wide._bulk._encoding.name == "UTF16"
        wide.close()
        return
    connection = OdbcConnection(
        f"Driver={sqlite_odbc_driver};Database={db}", encoding="cp1252", reader=reader
    )
    try:
        assert [tuple(r) for c in connection.stream(select, 10) for r in c] == [("C1", "Café €£5")]
    finally:
        connection.close()


def test_a_wide_bulk_fetch_hands_over_text_intact(tmp_path: Path, sqlite_odbc_driver: str) -> None:
    """The path a Sage driver's text takes under arrow-odbc (UTF-16), here through SQLite's."""
    db = tmp_path / "company.sqlite"
    con = sqlite3.connect(db)
    con.execute('CREATE TABLE "STOCK" ("STOCK_CODE" VARCHAR, "DESCRIPTION" VARCHAR)')
    con.execute("INSERT INTO \"STOCK\" VALUES ('C1', 'Café “Société” £5 €')")
    con.commit()
    con.close()
    connection = OdbcConnection(
        f"Driver={sqlite_odbc_driver};Database={db}", encoding="cp1252", reader="arrow-odbc"
    )
    try:
        select = SageSelect("STOCK", ("STOCK_CODE", "DESCRIPTION"))
        batches = list(connection.stream(select, 10))
    finally:
        connection.close()
    assert [b.to_pylist() for b in batches] == [
        [{"STOCK_CODE": "C1", "DESCRIPTION": "Café “Société” £5 €"}]
    ]
