"""The change feed pages through SSM with the warehouse closed: a run waiting for the file (a
rep's quote during a sync) goes in between, instead of waiting out a long read-back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from assets.inbox import feed
from assets.ssm.settings import SyncSettings


class _PagingFeed:
    """SSM's change feed, three pages, noting whether the warehouse was open at each page."""

    def __init__(self, open_connections: list[int]) -> None:
        self.api_calls = 0
        self.open_connections = open_connections
        self.open_at_page: list[int] = []

    def _pages(self) -> Iterator[dict[str, Any]]:
        for page in range(3):
            self.api_calls += 1
            self.open_at_page.append(self.open_connections[0])
            for n in range(2):
                yield {"id": page * 10 + n, "dateCreated": f"2026-12-0{page + 1}T10:00:00",
                       "name": f"Account {page}-{n}"}  # fmt: skip

    def changed_since(self, resource: str, since: datetime, **_: Any) -> Iterator[dict[str, Any]]:
        return self._pages()

    def list(self, resource: str, where: str | None = None, order: str | None = None) -> Any:
        return self._pages() if resource == "contacts" else iter(())


def test_the_feed_reads_its_pages_with_the_warehouse_closed_and_lands_them_after(
    tmp_path: Path,
) -> None:
    path = tmp_path / "warehouse.duckdb"
    open_connections = [0]

    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(path))
        open_connections[0] += 1
        try:
            yield con
        finally:
            open_connections[0] -= 1
            con.close()

    ssm = _PagingFeed(open_connections)
    since = datetime(2026, 11, 30, tzinfo=UTC).replace(tzinfo=None)
    with connect() as con:
        feed.ensure_tables(con)
        feed.advance(con, "contacts", since, "run-0")

    read = feed.read_feed(connect, ssm, "contacts", timedelta(seconds=300), "run-1",
                          sync=SyncSettings())  # fmt: skip

    assert ssm.open_at_page == [0, 0, 0]  # no page was read with the file open
    assert (read.read, read.new_versions, read.api_calls) == (6, 6, 3)
    assert read.watermark == datetime(2026, 12, 3, 10, 0)
    with connect() as con:
        assert con.execute("SELECT count(*) FROM inbox.contacts").fetchone() == (6,)
