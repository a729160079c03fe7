"""Reading Sage 50: one interface, two implementations (ODBC, any SQLAlchemy URL).

A `SageConnection` checks that a table has the expected columns and streams the rows of a
`SageSelect` in chunks: lists of plain tuples, or Arrow record batches when the ODBC connection
fetches in bulk (arrow-odbc). Date and timestamp values arrive as `date`/`datetime` or as ISO text,
depending on the driver; the caller converts them (and quarantines what does not parse).
What stops a run raises `SageSourceError` with one sentence naming the cause and the fix, and never
the password.
"""

from __future__ import annotations

import codecs
import functools
import re
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Protocol

import dagster as dg
import pyarrow as pa

from resources.sage.sql import DateLiteralStyle, SageSelect, render

Row = Sequence[Any]
# What `stream` yields: a list of driver rows, or a record batch from a bulk (columnar) fetch.
Chunk = list[Row] | pa.RecordBatch
OdbcReader = Literal["auto", "arrow-odbc", "pyodbc"]


class SageSourceError(Exception):
    """A problem that stops the extract: the message says what is wrong and how to fix it."""


_SECRET_KEYS = frozenset({"PWD", "PASSWORD"})
# KEY=value as ODBC reads it: a value in braces runs to the first `}` that is not doubled (`}}` is
# a literal `}`), so it may hold `;` and `}`; any other value runs to the next `;`.
_ODBC_PAIR = re.compile(r"\s*([^=;]*?)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)\s*(?:;|$)")
_SECRET_PAIR = re.compile(r"(?i)\b(PWD|PASSWORD)\s*=\s*(\{(?:[^}]|\}\})*\}?|[^;]*)")


def odbc_pairs(connection_string: str) -> list[tuple[str, str]]:
    """The KEY=value pairs of an ODBC connection string as the driver manager parses them: keys
    as written, values stripped, braced values kept in their braces."""
    pairs, at = [], 0
    while at < len(connection_string):
        found = _ODBC_PAIR.match(connection_string, at)
        if found is None or found.end() == at:  # a stray piece without `=`: skip to the next `;`
            end = connection_string.find(";", at)
            at = len(connection_string) if end < 0 else end + 1
            continue
        pairs.append((found.group(1), found.group(2).strip()))
        at = found.end()
    return pairs


def _unbrace(value: str) -> str:
    return value[1:-1].replace("}}", "}") if value.startswith("{") else value


def mask_secrets(
    text: str, connection_string: str | None = None, secrets: Sequence[str | None] = ()
) -> str:
    """`text` with every PWD=…/PASSWORD=… value replaced by ***, braced values (`{a;b}}c}`)
    whole; and the password of `connection_string` (or any of `secrets`) wherever else the
    text quotes it."""
    masked = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}=***", text)
    given = [
        _unbrace(v) for k, v in odbc_pairs(connection_string or "") if k.upper() in _SECRET_KEYS
    ]
    for secret in (*given, *secrets):
        if secret and len(secret) >= 3:  # a shorter one would mask ordinary words
            masked = masked.replace(secret, "***")
    return masked


def odbc_target(connection_string: str) -> str:
    """What to name in a message: the DSN, driver and data path, never the credentials."""
    shown = [
        f"{key}={value}"
        for key, value in odbc_pairs(connection_string)
        if key.upper() in {"DSN", "DRIVER", "DIR", "DATABASE"}
    ]
    return ";".join(shown) or "no DSN or Driver given"


class SageConnection(Protocol):
    """An open, read-only connection to one Sage 50 company."""

    date_literal_style: DateLiteralStyle
    reader: str  # how rows are fetched (arrow-odbc, pyodbc, sqlalchemy), for run metadata
    reader_note: str  # why it is not the configured one, if so

    def check_table(self, table: str, columns: Sequence[str]) -> None:
        """Raise `SageSourceError` unless `table` exists with every one of `columns`."""
        ...

    def stream(self, select: SageSelect, chunk_rows: int) -> Iterator[Chunk]:
        """The rows of `select`, `chunk_rows` at a time, columns in `select.columns` order."""
        ...

    def close(self) -> None: ...


def _missing_columns_message(table: str, missing: Sequence[str], target: str) -> str:
    listed = ", ".join(missing[:10]) + (
        f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    )
    return (
        f"The Sage 50 table {table} at {target} has no column {listed}: check that the ODBC driver "
        f"matches the Sage 50 version this connector was built for, or drop the column from "
        f"resources/sage50_columns.tsv."
    )


def _missing_table_message(table: str, target: str) -> str:
    return (
        f"The Sage 50 data source {target} has no table {table}: check that the connection points "
        f"at a Sage 50 Accounts company (its ACCDATA folder) and that the Sage user may read it."
    )


# --------------------------------------------------------------------------------------------- ODBC

_DATE_STRUCT = struct.Struct("<hHH")
_TIMESTAMP_STRUCT = struct.Struct("<hHHHHHI")


def _raw_date(raw: bytes | None) -> str | None:
    """A DATE/TIMESTAMP fetched as raw bytes, as ISO text.

    Asked for raw bytes, a text-storing driver (SQLite) hands over the stored text, so a bad
    value reaches validation instead of silently becoming NULL; a native driver (Sage) hands over
    its DATE_STRUCT/TIMESTAMP_STRUCT, which is rendered the same way.
    """
    if raw is None:
        return None
    if raw[4:5] != b"-":
        if len(raw) == _DATE_STRUCT.size:
            y, m, d = _DATE_STRUCT.unpack(raw)
            return f"{y:04d}-{m:02d}-{d:02d}"
        if len(raw) == _TIMESTAMP_STRUCT.size:
            y, mo, d, h, mi, s, ns = _TIMESTAMP_STRUCT.unpack(raw)
            return f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}.{ns // 1000:06d}"
    return raw.decode("utf-8", errors="replace").rstrip("\x00")


# Raw text dates decoded in C: no Python frame per value (the Python converter costs a quarter of
# the fetch on date-heavy tables such as the audit trail).
_decode_text_date = functools.partial(str, encoding="utf-8", errors="replace")

_DATE_SQL_TYPES = ("SQL_TYPE_DATE", "SQL_TYPE_TIMESTAMP")


class _RawDates:
    """The connection's output converter for DATE/TIMESTAMP columns, fetched as raw bytes.

    Drivers differ in what raw bytes they hand over (ISO text or a binary struct) and do not say
    which, so every value first goes through `_raw_date`, which handles both. Once a chunk has
    shown only text, the connection switches to the C-level decoder; a driver that hands over
    structs keeps `_raw_date`.
    """

    def __init__(self, connection: Any, pyodbc: Any) -> None:
        self._connection = connection
        self._types = [getattr(pyodbc, name) for name in _DATE_SQL_TYPES]
        self.text = 0
        self.structs = 0
        self.settled = False
        self._use(self._learn)

    def _use(self, converter: Any) -> None:
        for sql_type in self._types:
            self._connection.add_output_converter(sql_type, converter)

    def _learn(self, raw: bytes | None) -> str | None:
        if raw is not None:
            if raw[4:5] == b"-":
                self.text += 1
            else:
                self.structs += 1
        return _raw_date(raw)

    def settle(self) -> None:
        """Called between chunks: switch to the fast decoder once the driver has shown text."""
        if self.settled or not (self.text or self.structs):
            return
        self.settled = True
        self._use(_decode_text_date if not self.structs else _raw_date)


# Sage's longest text is a LONG VARCHAR of 32,767 characters (INVOICE_ITEM.TEXT and the like):
# the transit buffer holds that many per value, in UTF-8 bytes (narrow) or UTF-16 units (wide),
# instead of whatever a driver declares. A longer value stops the read; it is never truncated.
LONGEST_TEXT = 32767
# The transit buffer's cap, which shortens the batches of wide tables (they are joined up again
# in `batches`). Measured on the large demo company, 64 or 512 MiB read no faster.
TRANSIT_BYTES = 32 * 2**20


class BulkReader:
    """Columnar fetch through arrow-odbc: the driver fills blocks of rows (ODBC block cursors) and
    the Arrow arrays are built in native code, with no Python object per value and the GIL free
    while the driver works. pyodbc makes a Python object of every value, which caps a row-by-row
    extract well below what the driver can deliver.

    Dates are bound as text for the reason given in `_RawDates`. Text is fetched wide (UTF-16)
    when the driver's code page is not UTF-8, so the driver manager converts it.
    """

    def __init__(
        self,
        connection_string: str,
        *,
        dates_as_text: bool,
        wide_text: bool,
        login_timeout_seconds: int,
    ) -> None:
        import arrow_odbc  # only when ODBC is used, like pyodbc

        self._connection = arrow_odbc.connect(
            connection_string, login_timeout_sec=login_timeout_seconds
        )
        self._encoding = (
            arrow_odbc.TextEncoding.UTF16 if wide_text else arrow_odbc.TextEncoding.AUTO
        )
        self._max_text = LONGEST_TEXT * (2 if wide_text else 4)
        self._dates_as_text = dates_as_text
        self.error: type[Exception] = arrow_odbc.Error

    def batches(self, sql: str, chunk_rows: int) -> Iterator[pa.RecordBatch]:
        """Record batches of about `chunk_rows` rows: the transit cap cuts wide tables' fetches
        shorter, and those are joined up again, as each batch carries a fixed cost downstream."""
        pending: list[pa.RecordBatch] = []
        held = 0
        for batch in self.fetch(sql, chunk_rows):
            pending.append(batch)
            held += batch.num_rows
            if held >= chunk_rows:
                yield _joined(pending)
                pending, held = [], 0
        if pending:
            yield _joined(pending)

    def fetch(self, sql: str, chunk_rows: int) -> Iterator[pa.RecordBatch]:
        """The driver's block fetches as they come (the bench's raw loop reads these)."""
        yield from self._connection.read_arrow_batches(
            sql,
            batch_size=chunk_rows,
            max_bytes_per_batch=TRANSIT_BYTES,
            max_text_size=self._max_text,
            # The extractor's fetch thread already overlaps the fetch with the rest (the calls
            # into arrow-odbc release the GIL); a second transit buffer would only cost memory.
            fetch_concurrently=False,
            map_schema=dates_as_text if self._dates_as_text else None,
            payload_text_encoding=self._encoding,
        )

    def close(self) -> None:
        self._connection = None  # arrow-odbc frees the ODBC handle with the object


def dates_as_text(schema: pa.Schema) -> pa.Schema:
    """`schema` with every date, time and timestamp column bound as text."""
    return pa.schema(
        [f.with_type(pa.string()) if pa.types.is_temporal(f.type) else f for f in schema]
    )


def _joined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


class OdbcConnection:
    """Sage 50 through its ODBC driver (or any ODBC driver, e.g. SQLite's for the demo)."""

    def __init__(
        self,
        connection_string: str,
        *,
        date_literal_style: DateLiteralStyle = "odbc_escape",
        dates_as_text: bool = True,
        encoding: str | None = None,
        login_timeout_seconds: int = 30,
        reader: OdbcReader = "auto",
    ) -> None:
        try:
            import pyodbc  # only when ODBC is used: unixODBC may be absent where the URL is used
        except ImportError as exc:
            raise SageSourceError(
                f"pyodbc cannot load the ODBC driver manager ({exc}): install unixODBC "
                f"(apt-get install unixodbc) or set SAGE_DATABASE_URL instead of SAGE_ODBC_CONNECTION."
            ) from None
        self._pyodbc = pyodbc
        self._mask = functools.partial(mask_secrets, connection_string=connection_string)
        self.target = odbc_target(connection_string)
        self.date_literal_style = date_literal_style
        try:
            self._conn = pyodbc.connect(
                connection_string, autocommit=True, timeout=login_timeout_seconds
            )
        except pyodbc.Error as exc:
            raise SageSourceError(self._connect_message(exc)) from None
        self._dates = _RawDates(self._conn, pyodbc) if dates_as_text else None
        if encoding is not None:
            # Text columns (SQL_CHAR) in the driver's code page; unset, pyodbc keeps its own
            # default, under which the SQLite driver hands over UTF-8.
            self._conn.setdecoding(pyodbc.SQL_CHAR, encoding=encoding)
        self._encoding = encoding or "utf-8"
        # The reader each query goes through; `auto` starts in bulk and falls back for good (see
        # `stream`), recording why in `reader_note`.
        self._reader_setting = reader
        self.reader_note = ""
        self._bulk: BulkReader | None = None
        if reader != "pyodbc":
            self._bulk = self._open_bulk(connection_string, dates_as_text, login_timeout_seconds)
        self.reader = "arrow-odbc" if self._bulk is not None else "pyodbc"

    def _open_bulk(
        self, connection_string: str, dates_as_text: bool, login_timeout_seconds: int
    ) -> BulkReader | None:
        try:
            return BulkReader(
                connection_string,
                dates_as_text=dates_as_text,
                wide_text=codecs.lookup(self._encoding).name != "utf-8",
                login_timeout_seconds=login_timeout_seconds,
            )
        except Exception as exc:  # ImportError, or the driver refusing a second connection
            detail = self._mask(" ".join(str(exc).split()))
            if self._reader_setting == "arrow-odbc":
                self._conn.close()
                raise SageSourceError(
                    f"The arrow-odbc reader could not connect to {self.target} ({detail}): "
                    f"install arrow-odbc or set SAGE_ODBC_READER=pyodbc."
                ) from None
            self._fall_back(f"arrow-odbc could not connect ({detail})")
            return None

    def _fall_back(self, reason: str) -> None:
        if self._bulk is not None:
            self._bulk.close()
        self._bulk = None
        self.reader = "pyodbc"
        self.reader_note = f"{reason}; reading row by row through pyodbc"
        dg.get_dagster_logger().warning(
            f"Sage ODBC ({self.target}): {self.reader_note}. Set SAGE_ODBC_READER=pyodbc to "
            f"silence this."
        )

    def _connect_message(self, exc: Exception) -> str:
        state = exc.args[0] if exc.args else ""
        detail = self._mask(str(exc.args[-1]) if exc.args else str(exc))
        if state == "IM002":
            return (
                f"The ODBC data source ({self.target}) does not exist: create the DSN in the 64-bit "
                f"ODBC administrator on this machine or fix SAGE_ODBC_CONNECTION."
            )
        if state in {"28000", "08004"} or re.search(r"(?i)password|logon|login", detail):
            return (
                f"Sage 50 refused the user name or password for {self.target}: check UID and PWD in "
                f"SAGE_ODBC_CONNECTION against a Sage 50 user that is not logged in elsewhere."
            )
        return (
            f"Cannot reach the Sage 50 ODBC data source ({self.target}): check that the DSN exists "
            f"in the 64-bit ODBC administrator and that the Sage data folder is reachable "
            f"(driver said: {detail})."
        )

    def check_table(self, table: str, columns: Sequence[str]) -> None:
        try:
            found = {row.column_name.upper() for row in self._conn.cursor().columns(table=table)}
        except self._pyodbc.Error as exc:
            raise SageSourceError(
                f"Cannot read the column list of {table} from {self.target}: check that the Sage "
                f"data folder is reachable (driver said: {self._mask(str(exc))})."
            ) from None
        if not found:
            raise SageSourceError(_missing_table_message(table, self.target))
        missing = [c for c in columns if c.upper() not in found]
        if missing:
            raise SageSourceError(_missing_columns_message(table, missing, self.target))

    def stream(self, select: SageSelect, chunk_rows: int) -> Iterator[Chunk]:
        sql = render(select, self.date_literal_style)
        if self._bulk is not None:
            started = False
            try:
                for batch in self._bulk.batches(sql, chunk_rows):
                    started = True
                    yield batch
                return
            except self._bulk.error as exc:
                detail = self._mask(" ".join(str(exc).split()))  # one line, whatever it said
                if "invalid UTF-8" in detail:
                    raise SageSourceError(self._code_page_message(select, detail)) from None
                if started or self._reader_setting == "arrow-odbc":
                    raise SageSourceError(self._broken_query_message(select, detail)) from None
                # Nothing delivered yet: a driver without block cursors or wide text. pyodbc
                # reads it (and names the cause if the query itself is wrong).
                self._fall_back(f"bulk fetch refused on {select.table} ({detail})")
        yield from self._rows(select, sql, chunk_rows)

    def _rows(self, select: SageSelect, sql: str, chunk_rows: int) -> Iterator[list[Row]]:
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql)
            while rows := cursor.fetchmany(chunk_rows):
                if self._dates is not None:
                    self._dates.settle()
                yield rows
        except UnicodeDecodeError as exc:
            bad = f"byte {exc.object[exc.start : exc.start + 1]!r} at position {exc.start}"
            raise SageSourceError(self._code_page_message(select, bad)) from None
        except self._pyodbc.Error as exc:
            detail = self._mask(str(exc))
            raise SageSourceError(self._broken_query_message(select, detail)) from None
        finally:
            cursor.close()

    def _code_page_message(self, select: SageSelect, detail: str) -> str:
        return (
            f"Text in {select.table} ({self.target}) is not valid {self._encoding}: set "
            f"SAGE_ODBC_ENCODING to the driver's code page (a Sage 50 driver on Windows uses "
            f"cp1252) ({detail})."
        )

    def _broken_query_message(self, select: SageSelect, detail: str) -> str:
        return (
            f"Sage 50 rejected or broke off the query on {select.table} ({self.target}): check "
            f"that the data folder is reachable and retry (driver said: {detail})."
        )

    def close(self) -> None:
        if self._bulk is not None:
            self._bulk.close()
        self._conn.close()


# ------------------------------------------------------------------------------------- SQLAlchemy


class SqlAlchemyConnection:
    """Sage tables in any SQL database SQLAlchemy reaches (the demo company is a SQLite file)."""

    def __init__(self, url: str, *, date_literal_style: DateLiteralStyle = "quoted") -> None:
        import sqlalchemy as sa

        self._sa = sa
        self.date_literal_style = date_literal_style
        self.reader, self.reader_note = "sqlalchemy", ""
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            raise SageSourceError(
                "SAGE_DATABASE_URL is not a valid SQLAlchemy URL: write it as "
                "dialect://user@host/database, e.g. sqlite:///data/sage50-demo.sqlite."
            ) from None
        self.target = parsed.render_as_string(hide_password=True)
        self._mask = functools.partial(mask_secrets, secrets=[parsed.password])
        if parsed.get_backend_name() == "sqlite":
            # SQLite would silently create an empty file where the company should be.
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                from pathlib import Path

                if not Path(database).is_file():
                    raise SageSourceError(
                        f"The Sage 50 demo company {database} does not exist: generate it with "
                        f"`make demo` (python -m sandbox.sage_demo) or fix SAGE_DATABASE_URL."
                    )
        try:
            self._engine = sa.create_engine(parsed)
            self._conn = self._engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise SageSourceError(
                f"Cannot connect to the Sage database {self.target}: check SAGE_DATABASE_URL and "
                f"that the database is running (said: {self._mask(str(exc.orig or exc))})."
            ) from None

    def check_table(self, table: str, columns: Sequence[str]) -> None:
        inspector = self._sa.inspect(self._conn)
        if not inspector.has_table(table):
            raise SageSourceError(_missing_table_message(table, self.target))
        found = {c["name"].upper() for c in inspector.get_columns(table)}
        missing = [c for c in columns if c.upper() not in found]
        if missing:
            raise SageSourceError(_missing_columns_message(table, missing, self.target))

    def stream(self, select: SageSelect, chunk_rows: int) -> Iterator[list[Row]]:
        sql = render(select, self.date_literal_style)
        try:
            result = self._conn.execution_options(stream_results=True).exec_driver_sql(sql)
            cursor = result.cursor  # the DB-API cursor: plain tuples, no Row objects per value
            while rows := cursor.fetchmany(chunk_rows):
                yield rows
            result.close()
        except self._sa.exc.SQLAlchemyError as exc:
            raise SageSourceError(
                f"The Sage database {self.target} rejected the query on {select.table}: check "
                f"that it holds a Sage 50 company (said: {self._mask(str(exc.orig or exc))})."
            ) from None

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()


# ------------------------------------------------------------------------------------ the resource


def odbc_encoding(connection_string: str, setting: str) -> str | None:
    """The code page to decode text columns with (None: pyodbc's default)."""
    if setting != "auto":
        return setting
    named = [v.lower() for k, v in odbc_pairs(connection_string) if k.upper() in {"DSN", "DRIVER"}]
    return "cp1252" if any("sage" in value for value in named) else None


class SageSourceResource(dg.ConfigurableResource):
    """The Sage 50 company the connector reads: ODBC when a connection string is set, else a URL.

    `odbc_connection` is a secret (it holds PWD): give it as `dg.EnvVar("SAGE_ODBC_CONNECTION")`.
    """

    odbc_connection: str | None = None
    database_url: str | None = None
    chunk_rows: int = 5000
    # "auto": ODBC escapes {d '…'} through ODBC, quoted literals through SQLAlchemy.
    date_literal_style: Literal["auto", "odbc_escape", "quoted"] = "auto"
    # Fetch ODBC dates as the driver's raw value, so a bad date is quarantined, not turned to NULL.
    odbc_dates_as_text: bool = True
    # The code page of the driver's text (SQL_CHAR) columns. "auto": cp1252 when the DSN or driver
    # is Sage's (an ANSI driver on Windows; unconfirmed for every Sage version), else UTF-8.
    odbc_encoding: str = "auto"
    # How ODBC rows are fetched. "arrow-odbc": in blocks, straight into Arrow (fast). "pyodbc": row
    # by row. "auto": arrow-odbc, falling back to pyodbc for good if the driver refuses a bulk
    # fetch before its first rows (block-cursor support of Sage's drivers is unconfirmed).
    odbc_reader: OdbcReader = "auto"
    login_timeout_seconds: int = 30

    @contextmanager
    def connect(self) -> Iterator[SageConnection]:
        connection: SageConnection
        if self.odbc_connection:
            connection = OdbcConnection(
                self.odbc_connection,
                date_literal_style="odbc_escape"
                if self.date_literal_style == "auto"
                else self.date_literal_style,
                dates_as_text=self.odbc_dates_as_text,
                encoding=odbc_encoding(self.odbc_connection, self.odbc_encoding),
                login_timeout_seconds=self.login_timeout_seconds,
                reader=self.odbc_reader,
            )
        elif self.database_url:
            connection = SqlAlchemyConnection(
                self.database_url,
                date_literal_style="quoted"
                if self.date_literal_style == "auto"
                else self.date_literal_style,
            )
        else:
            raise SageSourceError(
                "No Sage 50 source is configured: set SAGE_ODBC_CONNECTION (e.g. "
                "DSN=SageLine50v29;UID=…;PWD=…) or SAGE_DATABASE_URL."
            )
        try:
            yield connection
        finally:
            connection.close()
