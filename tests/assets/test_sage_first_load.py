"""A first load writes the empty table as it reads: all or nothing, first read row of a key wins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from assets.sage import extract
from assets.sage.catalogue import BY_TABLE
from assets.sage.extract import ExtractPlan, extract_table
from resources.sage.source import SageConnection, SageSourceError
from resources.sage.sql import SageSelect

LEDGER = BY_TABLE["SALES_LEDGER"]
NOW = dt.datetime(2024, 6, 1, 12, 0)


class _Rows:
    """A Sage connection that hands out given SALES_LEDGER rows, and may break off after some."""

    date_literal_style = "quoted"
    reader, reader_note = "test rows", ""

    def __init__(self, refs: Sequence[str | None], fail_after_chunks: int | None = None) -> None:
        names = LEDGER.column_names
        self.rows = [
            tuple(
                ref
                if n == "ACCOUNT_REF"
                else ("2024-05-01 10:00:00" if n == "RECORD_MODIFY_DATE" else None)
                for n in names
            )
            for ref in refs
        ]
        self.fail_after_chunks = fail_after_chunks

    def check_table(self, table: str, columns: Sequence[str]) -> None:
        pass

    def stream(self, select: SageSelect, chunk_rows: int) -> Iterator[list[Any]]:
        for n, start in enumerate(range(0, len(self.rows), chunk_rows)):
            if self.fail_after_chunks is not None and n == self.fail_after_chunks:
                raise SageSourceError("Sage 50 broke off the query.")
            yield self.rows[start : start + chunk_rows]

    def close(self) -> None:
        pass


def _extract(db: duckdb.DuckDBPyConnection, source: SageConnection) -> extract.ExtractResult:
    return extract_table(LEDGER, source, db, ExtractPlan("full", chunk_rows=2), run_id="r", now=NOW)


def test_a_first_load_that_breaks_off_leaves_the_table_empty_and_no_watermark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "STAGE_ROWS", 2)  # every chunk is written before the failure
    with duckdb.connect(str(tmp_path / "w.duckdb")) as db:
        with pytest.raises(SageSourceError):
            _extract(db, _Rows(["A1", "A2", "A3", "A4", "A5"], fail_after_chunks=2))
        assert db.execute("SELECT count(*) FROM sage.sales_ledger").fetchall() == [(0,)]
        assert db.execute("SELECT count(*) FROM sage._watermarks").fetchall() == [(0,)]
        # The next run is a first load again, and completes.
        result = _extract(db, _Rows(["A1", "A2", "A3", "A4", "A5"]))
        assert (result.inserted, result.updated) == (5, 0)
        assert result.watermark_after == dt.datetime(2024, 5, 1, 10, 0)


def test_a_first_load_keeps_the_first_read_row_of_a_key_across_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "STAGE_ROWS", 2)
    source = _Rows(["A1", "B1", "A1", None, "C1", "B1"])
    name = LEDGER.column_names.index("NAME")
    source.rows[2] = source.rows[2][:name] + ("second A1",) + source.rows[2][name + 1 :]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as db:
        result = _extract(db, source)
        assert result.inserted == 3
        assert db.execute(
            "SELECT account_ref, name FROM sage.sales_ledger ORDER BY 1"
        ).fetchall() == [("A1", None), ("B1", None), ("C1", None)]
        assert db.execute(
            "SELECT row_key, column_name, reason FROM quarantine.rows ORDER BY 1 NULLS LAST"
        ).fetchall() == [
            ("A1", "ACCOUNT_REF", "duplicate key"),
            ("B1", "ACCOUNT_REF", "duplicate key"),
            (None, "ACCOUNT_REF", "key is empty"),
        ]
