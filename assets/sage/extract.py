"""Extracting one Sage table into the warehouse: choose the queries, stream, validate, merge.

Three modes, chosen by the asset from its run:
- `incremental` (a run without partition): rows with RECORD_MODIFY_DATE at or after the watermark
  minus the lookback (or NULL), whatever their document month, so a change to an old document is
  caught by the next 15-minute run. The first run (no watermark) and tables without
  RECORD_MODIFY_DATE read everything.
- `full`: everything (a forced reload).
- `window` (a backfill of months): the documents dated in the window, or for line tables the lines
  of the window's documents, found by their parent keys as key ranges and IN lists of literals.

A read of everything, a window read and the periodic key scan (key columns only) also show which
keys vanished: those rows are soft-deleted (deleted_at). DELETED_RECORDS, extracted as its own
table, soft-deletes the rows it names. Staging, merge, deletes, quarantine and the watermark commit
in one transaction.

Months: for a table partitioned by document month the result also says which months the extract
changed (a row inserted, updated, soft-deleted or undeleted there; a first load changes every month
it loads) and the live rows of each month to report, counted in one GROUP BY before the commit:
every month after a read of everything, else the changed months and a backfill's window. A line's
month is its parent document's, from the warehouse, or from Sage for parents not loaded yet.

Speed: a producer thread fetches the next chunk from the driver and turns it into Arrow columns
while this thread screens and stages the previous one. With the default ODBC reader (arrow-odbc)
the fetch runs in native code without the GIL, so the two truly overlap; Arrow compute and DuckDB
release the GIL too. At most `PREFETCH_CHUNKS` chunks wait in between, so memory stays bounded by
the chunk size. Conversion and the rule screen are vectorised (Arrow), pandera only sees the rows
the screen flags, and a first load into an empty table skips the change comparison.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assets.sage import warehouse as wh
from assets.sage.catalogue import BY_TABLE, INCREMENTAL_COLUMN, ByDate, ByParent, SageTable
from assets.sage.convert import BadValue, to_arrow
from resources.sage.source import SageConnection
from resources.sage.sql import AllOf, AnyOf, Compare, IsNull, SageSelect, key_runs

Mode = Literal["incremental", "full", "window"]

# A RECORD_MODIFY_DATE further ahead than this is a bad clock or a typo: it must never become the
# watermark, or every later change would be missed.
FUTURE_TOLERANCE = dt.timedelta(days=1)

# Chunks fetched and converted ahead of the one being staged (each an Arrow table of chunk_rows).
PREFETCH_CHUNKS = 2

# Screened chunks are inserted into the staging table together, up to this many rows or bytes.
STAGE_ROWS = 50_000
STAGE_BYTES = 32 * 2**20

T = TypeVar("T")


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_DONE = object()


def prefetched(chunks: Iterator[T], depth: int | None = None) -> Iterator[T]:
    """`chunks`, produced by a thread that runs up to `depth` items ahead of the consumer.

    The source iterator is advanced and closed only by that thread; an error there is raised
    here; closing this iterator early (an error while staging) stops the thread and waits for it.
    """
    depth = PREFETCH_CHUNKS if depth is None else depth
    if depth <= 0:  # no thread: fetch and stage in turn
        yield from chunks
        return
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Raised(exc))
        else:
            put(_DONE)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="sage-fetch", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


@dataclass(frozen=True)
class ExtractPlan:
    mode: Mode
    window: tuple[dt.date, dt.date] | None = None  # [start, end) of a backfill
    lookback: dt.timedelta = dt.timedelta(minutes=10)
    key_scan_every: int = 96  # incremental runs between key scans (96 x 15 min = a day)
    force_key_scan: bool = False
    chunk_rows: int = 5000


@dataclass
class ExtractResult:
    table: str
    mode: Mode
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    undeleted: int = 0
    deleted: int = 0
    quarantined: int = 0
    live_rows: int = 0
    deleted_rows: int = 0
    watermark_before: dt.datetime | None = None
    watermark_after: dt.datetime | None = None
    key_scanned: bool = False
    queries: list[str] = field(default_factory=list)
    reader: str = ""
    reader_note: str = ""
    # Partitioned tables only. Months by their first day; rows without a date (or whose parent
    # document Sage does not have) are in no month.
    changed_months: frozenset[dt.date] = frozenset()
    month_rows: dict[dt.date, int] = field(default_factory=dict)  # live rows, 0 for none
    every_month: bool = False  # every month was read: a month not in month_rows has no rows


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the months that begin in [start, end)."""
    months, month = [], start.replace(day=1)
    if month < start:
        month = (month + dt.timedelta(days=32)).replace(day=1)
    while month < end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _window_condition(column: str, window: tuple[dt.date, dt.date]) -> AllOf:
    return AllOf((Compare(column, ">=", window[0]), Compare(column, "<", window[1])))


def _parent_keys(
    source: SageConnection, line: SageTable, how: ByParent, plan: ExtractPlan
) -> list[int]:
    parent = BY_TABLE[how.parent]
    if not isinstance(parent.partition, ByDate) or plan.window is None:
        raise ValueError(f"{line.table}'s parent {parent.table} must be partitioned by a date")
    select = SageSelect(
        parent.table, (how.link,), _window_condition(parent.partition.column, plan.window)
    )
    link = [c for c in parent.columns if c.name == how.link]
    keys: list[int] = []
    for chunk in source.stream(select, plan.chunk_rows):
        links, _ = to_arrow(chunk, link)  # a link that is not a number is the line's problem
        keys += links.column(0).drop_null().to_pylist()
    return keys


class TableExtract:
    """One extract of one table into one DuckDB connection (which must be the only writer)."""

    def __init__(
        self,
        table: SageTable,
        source: SageConnection,
        db: duckdb.DuckDBPyConnection,
        plan: ExtractPlan,
        *,
        run_id: str,
        now: dt.datetime | None = None,
    ) -> None:
        self.table = table
        self.source = source
        self.db = db
        self.plan = plan
        self.run_id = run_id
        self.now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.result = ExtractResult(table=table.table, mode=plan.mode)
        self._next_row = 0
        self._max_modified: dt.datetime | None = None
        self._first_load = False

    # --------------------------------------------------------------------------- what to read
    def _selects(self, watermark: dt.datetime | None) -> tuple[list[SageSelect], str | None]:
        """The queries, and the warehouse scope (SQL over alias t) within which unseen keys
        vanished, or None when the reads do not cover a whole scope."""
        t, cols = self.table, self.table.column_names
        if self.plan.mode == "window":
            assert self.plan.window is not None
            start, end = self.plan.window
            if isinstance(t.partition, ByDate):
                where = _window_condition(t.partition.column, self.plan.window)
                return [SageSelect(t.table, cols, where)], wh.date_scope(
                    t.partition.column, start, end
                )
            if isinstance(t.partition, ByParent):
                keys = _parent_keys(self.source, t, t.partition, self.plan)
                if keys:
                    self.db.executemany("INSERT INTO _parent_keys VALUES (?)", [(k,) for k in keys])
                selects = [SageSelect(t.table, cols, c) for c in key_runs(keys, t.partition.link)]
                return selects, wh.parent_scope(t.partition.link)
            raise ValueError(f"{t.table} is not partitioned: it has no window to backfill")
        if self.plan.mode == "incremental" and t.incremental and watermark is not None:
            since = watermark - self.plan.lookback
            where = AnyOf((Compare(INCREMENTAL_COLUMN, ">=", since), IsNull(INCREMENTAL_COLUMN)))
            return [SageSelect(t.table, cols, where)], None
        self.result.mode = "full"  # first run, a table without RECORD_MODIFY_DATE, or forced
        return [SageSelect(t.table, cols)], wh.ALL_ROWS

    # --------------------------------------------------------------------------------- reading
    def _stage(self, select: SageSelect) -> None:
        self.result.queries.append(select.where.__class__.__name__ if select.where else "all")
        columns = self.table.columns
        converted = (
            to_arrow(chunk, columns) for chunk in self.source.stream(select, self.plan.chunk_rows)
        )
        pending: list[pa.Table] = []
        for chunk, bad_values in prefetched(converted):
            pending.append(self._screen_chunk(chunk, bad_values))
            if sum(t.num_rows for t in pending) >= STAGE_ROWS or (
                sum(t.nbytes for t in pending) >= STAGE_BYTES
            ):
                self._insert_staged(pending)
                pending = []
        if pending:
            self._insert_staged(pending)

    def _screen_chunk(self, chunk: pa.Table, bad_values: list[BadValue]) -> pa.Table:
        """The chunk with its read order (`_row`) and verdict (`_bad`); failures recorded."""
        # pandas and pandera take ~0.9 s to import: only a run that extracts pays it, not every
        # process that loads the definitions (daemon, code server, each run worker).
        from assets.sage.validation import validate_chunk

        failures = [(b.row, b.column, b.reason, b.value) for b in bad_values]
        failures += [
            (f.row, f.column, f.reason, f.value) for f in validate_chunk(self.table, chunk)
        ]
        n = chunk.num_rows
        bad = np.zeros(n, dtype=np.bool_)
        for row, *_ in failures:
            bad[row] = True
        first = self._next_row
        self._next_row += n
        chunk = chunk.append_column("_row", pa.array(np.arange(first, first + n, dtype=np.int64)))
        chunk = chunk.append_column("_bad", pa.array(bad))
        if failures:
            self.db.executemany(
                "INSERT INTO _failures VALUES (?, ?, ?, ?)",
                [(first + row, col, reason, value) for row, col, reason, value in failures],
            )
        self.result.rows_read += n
        return chunk

    def _insert_staged(self, chunks: list[pa.Table]) -> None:
        # One INSERT per batch of chunks: DuckDB's cost per statement (planning, scanning the
        # Arrow schema of up to 364 columns) is paid per batch, not per 5,000 rows.
        batch = pa.concat_tables(chunks)
        if self._first_load:
            bad = batch.column("_bad")
            if pc.any(bad).as_py():
                self._insert("_stage", batch.filter(bad))
                batch = batch.filter(pc.invert(bad))
            with self._registered(batch) as name:
                wh.load_rows(self.db, self.table, name, self.now)
        else:
            self._insert("_stage", batch)

    def _insert(self, table: str, batch: pa.Table) -> None:
        with self._registered(batch) as name:
            self.db.execute(f"INSERT INTO {table} SELECT * FROM {name}")  # noqa: S608 (temp tables)

    @contextmanager
    def _registered(self, batch: pa.Table) -> Iterator[str]:
        """`batch` as a relation DuckDB can read, by the name yielded, for the block's length."""
        self.db.register("_chunk", batch)
        try:
            yield "_chunk"
        finally:
            self.db.unregister("_chunk")

    def _read_parent_dates(self, how: ByParent, keys: list[int]) -> None:
        parent = BY_TABLE[how.parent]
        names = wh.parent_date_columns(how)
        columns = sorted(
            (c for c in parent.columns if c.name in names), key=lambda c: names.index(c.name)
        )
        for where in key_runs(keys, how.link):
            select = SageSelect(parent.table, names, where)
            for chunk in self.source.stream(select, self.plan.chunk_rows):
                dates, _ = to_arrow(chunk, columns)  # a bad date is the parent's problem
                with self._registered(dates) as name:
                    wh.add_parent_dates(self.db, how, name)

    def _scan_keys(self) -> None:
        """Read only the key columns of the whole table: every live key Sage still has."""
        select = SageSelect(self.table.table, self.table.key)
        self.result.queries.append("key scan")
        key_columns = [c for c in self.table.columns if c.name in self.table.key]
        key_columns.sort(key=lambda c: self.table.key.index(c.name))
        for chunk in prefetched(self.source.stream(select, self.plan.chunk_rows)):
            keys, _ = to_arrow(chunk, key_columns)
            with self._registered(keys) as name:
                wh.insert_keys(self.db, name, self.table.key)

    # --------------------------------------------------------------------------------- running
    def run(self) -> ExtractResult:
        t, db, plan, result = self.table, self.db, self.plan, self.result
        wh.ensure_tables(db, t)
        self.source.check_table(t.table, t.column_names)
        watermark, runs_since_scan = wh.read_state(db, t)
        result.watermark_before = watermark
        wh.create_staging(db, t)
        selects, vanish_scope = self._selects(watermark)
        self._first_load = wh.is_empty(db, t)
        # One transaction from the first row read to the watermark: a first load writes the
        # table as it reads, and a failure must leave it as it was.
        db.execute("BEGIN TRANSACTION")
        try:
            for select in selects:
                self._stage(select)
            if (
                vanish_scope is None
                and plan.mode == "incremental"
                and (plan.force_key_scan or runs_since_scan + 1 >= plan.key_scan_every)
            ):
                self._scan_keys()
                vanish_scope = wh.ALL_ROWS
            result.key_scanned = vanish_scope == wh.ALL_ROWS
            self._apply(vanish_scope, watermark)
            if t.partition is not None:
                self._count_months()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        result.live_rows, result.deleted_rows = wh.counts(db, t)
        result.reader, result.reader_note = self.source.reader, self.source.reader_note
        return result

    def _count_months(self) -> None:
        t, db, plan, result = self.table, self.db, self.plan, self.result
        every_row = self._first_load or result.mode == "full"
        if isinstance(t.partition, ByParent):
            # Lines whose parent document is not in the warehouse (its extract has not run yet)
            # take its date from Sage: only the key and the date, of those parents only.
            self._read_parent_dates(t.partition, wh.unplaced_links(db, t, changed=not every_row))
        if every_row:
            result.month_rows = wh.live_rows_by_month(db, t)
            result.every_month = result.mode == "full"
            changed = set(result.month_rows) if self._first_load else wh.changed_months(db, t)
        else:
            changed = wh.changed_months(db, t)
            months = changed | set(month_starts(*plan.window) if plan.window else ())
            result.month_rows = wh.live_rows_by_month(db, t, months)
        result.changed_months = frozenset(changed)

    def _apply(self, vanish_scope: str | None, watermark: dt.datetime | None) -> None:
        """Merge the staged rows, soft-delete what vanished, quarantine, move the watermark."""
        t, db, result = self.table, self.db, self.result
        limit = self.now + FUTURE_TOLERANCE
        if self._first_load:
            wh.unload_duplicates(db, t)
            result.inserted = wh.counts(db, t)[0]  # every row of the table is new and live
            if t.incremental:
                self._max_modified = wh.latest_loaded_modified(db, t, limit)
            if vanish_scope is not None:  # nothing to soft-delete in a table that was empty
                wh.forget_vanished_quarantine(db, t, vanish_scope)
        else:
            wh.mark_cross_chunk_duplicates(db, t)
            if t.incremental:
                self._max_modified = wh.latest_modified(db, limit)
            result.inserted, result.updated, result.undeleted = wh.merge(db, t, self.now)
            if vanish_scope is not None:
                result.deleted += wh.mark_vanished(db, t, vanish_scope, self.now)
        result.deleted += wh.apply_deleted_records(db, t, BY_TABLE["DELETED_RECORDS"], self.now)
        result.quarantined = wh.record_quarantine(db, t, self.run_id, self.now)
        if self.plan.mode != "window":
            # A backfill reads by document date, not by modification: it moves no watermark.
            result.watermark_after = self._max_modified or watermark
            wh.save_state(db, t, self._max_modified, result.key_scanned, self.now)
        else:
            result.watermark_after = watermark


def extract_table(
    table: SageTable,
    source: SageConnection,
    db: duckdb.DuckDBPyConnection,
    plan: ExtractPlan,
    *,
    run_id: str,
    now: dt.datetime | None = None,
) -> ExtractResult:
    """Bring `table` in the warehouse up to date with Sage according to `plan`."""
    return TableExtract(table, source, db, plan, run_id=run_id, now=now).run()
