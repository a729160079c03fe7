"""The per-chunk rule screen (Arrow) against pandera, and the prefetching thread of the extract."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pyarrow as pa
import pytest

from assets.sage.catalogue import BY_TABLE
from assets.sage.convert import rows_to_arrow
from assets.sage.extract import prefetched
from assets.sage.validation import screen, validate_chunk


def _chunk(rows: list[dict[str, object]]) -> pa.Table:
    table = BY_TABLE["SALES_LEDGER"]
    tuples = [tuple(row.get(c.name) for c in table.columns) for row in rows]
    chunk, bad = rows_to_arrow(tuples, table.columns)
    assert not bad
    return chunk


GOOD = {"ACCOUNT_REF": "ABS001", "NAME": "A.B.S.", "E_MAIL": "a@b.example; c@d.example",
        "INACTIVE_FLAG": 0, "DATE_ACCOUNT_OPENED": "2015-03-01"}  # fmt: skip


def test_a_clean_chunk_is_not_handed_to_pandera() -> None:
    chunk = _chunk([GOOD, GOOD | {"ACCOUNT_REF": "KIN001"}])
    assert len(screen(BY_TABLE["SALES_LEDGER"], chunk)) == 0  # type: ignore[arg-type]
    assert validate_chunk(BY_TABLE["SALES_LEDGER"], chunk) == []


def test_the_screen_flags_each_kind_of_bad_row_and_pandera_names_the_rule() -> None:
    bad = [
        GOOD | {"ACCOUNT_REF": "abs 001"},
        GOOD | {"E_MAIL": "not an address"},
        GOOD | {"NAME": "x" * 61},
        GOOD | {"DATE_ACCOUNT_OPENED": "2130-04-15"},
        GOOD | {"INACTIVE_FLAG": 7},
        GOOD | {"ACCOUNT_REF": None},
    ]
    chunk = _chunk([GOOD, *bad])
    table = BY_TABLE["SALES_LEDGER"]
    assert list(screen(table, chunk)) == [1, 2, 3, 4, 5, 6]  # type: ignore[arg-type]
    reasons = {(f.row, f.column, f.reason) for f in validate_chunk(table, chunk)}
    assert reasons == {
        (1, "ACCOUNT_REF", r"does not match ^[A-Z0-9]{1,8}$"),
        (2, "E_MAIL", "not an e-mail address"),
        (3, "NAME", "longer than 60 characters"),
        (4, "DATE_ACCOUNT_OPENED", "date outside 1980-01-01..2100-12-31"),
        (5, "INACTIVE_FLAG", "flag not in (0, 1)"),
        (6, "ACCOUNT_REF", "key is empty"),
    }


def test_prefetched_yields_in_order_and_raises_the_producers_error() -> None:
    assert list(prefetched(iter(range(10)))) == list(range(10))

    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("driver broke off")

    got = []
    with pytest.raises(RuntimeError, match="driver broke off"):
        for item in prefetched(broken()):
            got.append(item)
    assert got == [1]


def test_prefetched_stops_the_producer_when_the_consumer_stops() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    chunks = prefetched(endless())
    assert next(chunks) == 0
    chunks.close()  # as when staging fails mid-way
    assert closed.is_set()
    assert not any(t.name == "sage-fetch" for t in threading.enumerate())
