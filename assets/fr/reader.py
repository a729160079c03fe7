"""One Sage 50 FR export file, read: its good rows as Arrow tables, its bad rows with reasons, or
the one sentence that refuses it whole.

A file is refused whole (nothing of it loads) when its layout is wrong: not Windows-1252, a
required column missing, no title line, truncated (its last row cut short). Otherwise each row is
converted by its declared type (French decimal commas, dd/mm/yyyy dates, Oui/Non flags) and
judged by the UK extract's rules (assets/sage/validation.py); a row that fails goes to quarantine
with its column and reason and the others load. A document is whole or absent: a bad E or L row
quarantines the document with all its rows (a document missing a line would show wrong totals).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from assets.fr.layout import LINE_DOCUMENT, LINE_NUMBER, FileColumn, FrTable, Kind, Layout, fold
from assets.fr.layout import french_number as _number
from assets.sage.convert import ARROW_TYPES
from assets.sage.validation import validate_chunk

TYPE_COLUMN = "type_piece"  # the pieces' E rows: what document_types maps to invoice, quote…

TRUE_WORDS = {"oui", "o", "1", "vrai", "x", "true", "yes", "y"}
FALSE_WORDS = {"non", "n", "0", "faux", "", "false", "no"}


class Refused(Exception):
    """The whole file is refused; the message is the one sentence saying why and what to do."""


@dataclass(frozen=True)
class BadRow:
    table: str  # sage_fr.<table>
    row_key: str | None
    column: str  # the column title as Sage writes it ("" for the row as a whole)
    reason: str
    value: str | None = None


@dataclass
class ReadFile:
    kind: Kind
    tables: dict[str, pa.Table] = field(default_factory=dict)  # FrTable.name -> good rows
    bad: list[BadRow] = field(default_factory=list)
    rows: int = 0  # data rows in the file

    def quarantined_keys(self, table: FrTable) -> set[str]:
        return {b.row_key for b in self.bad if b.table == table.warehouse_name and b.row_key}


def decode(data: bytes, layout: Layout, name: str) -> str:
    """The file's text; refused when it is not in the layout's encoding (Windows-1252)."""
    if data.startswith(b"\xef\xbb\xbf") or _utf8_with_accents(data):
        raise Refused(
            f"{name} is UTF-8, not Windows-1252 (ANSI): its accents would be misread; export it "
            "again with the ANSI / Windows character set."
        )
    try:
        return data.decode(layout.encoding)
    except UnicodeDecodeError as exc:
        raise Refused(
            f"{name} holds bytes that are not {layout.encoding} (byte {exc.start}, "
            f"0x{data[exc.start]:02X}): it is not a Sage 50 FR text export; export it again."
        ) from None


def _utf8_with_accents(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True  # cp1252 accents are never valid UTF-8 sequences in French text


def _records(text: str, layout: Layout) -> Iterator[list[str]]:
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=layout.delimiter, quotechar=layout.quote
    )
    for record in reader:
        if any(v.strip() for v in record):
            yield record


def _convert(value: str, column: FileColumn) -> object:
    """A field as its declared type (None when empty); ValueError with the reason."""
    text = value.strip()
    kind = column.type
    if kind == "flag":
        word = text.lower()
        if word in TRUE_WORDS:
            return 1
        if word in FALSE_WORDS:
            return 0
        raise ValueError("not a yes/no flag (Oui/Non)")
    if not text:
        return None
    if kind == "code":
        return text.upper()
    if kind in ("text", "email"):
        return text
    if kind in ("decimal", "percent"):
        try:
            return _number(text)
        except ValueError:
            raise ValueError("not a number (French decimal comma expected)") from None
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError("not a whole number") from None
    if kind == "date":
        try:
            return dt.datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            raise ValueError("not a date (dd/mm/yyyy)") from None
    raise ValueError(f"unknown type {kind}")


@dataclass
class _Rows:
    """The data rows of one row type: the field positions of its columns, and its rows."""

    table: FrTable
    positions: dict[str, int]  # column name -> field index; absent optional columns missing
    width: int
    values: list[dict[str, object]] = field(default_factory=list)
    problems: list[list[tuple[str, str, str | None]]] = field(default_factory=list)
    document: list[int] = field(default_factory=list)  # index of the row's document (E/L)


def _header(table: FrTable, titles: Sequence[str], name: str, layout: Layout) -> _Rows:
    folded = {fold(t): i for i, t in enumerate(titles)}
    positions, missing = {}, []
    for column in table.file_columns:
        if fold(column.title) in folded:
            positions[column.name] = folded[fold(column.title)]
        elif column.required:
            missing.append(column.title)
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise Refused(
            f"{name} has no column {names} that the layout ({layout.path.name}) requires for "
            f"{table.warehouse_name}: add it to the export's parameters, or correct the "
            "layout's title."
        )
    return _Rows(table, positions, len(titles))


def _positional(table: FrTable) -> _Rows:
    positions = {c.name: i for i, c in enumerate(table.file_columns)}
    return _Rows(table, positions, len(table.file_columns))


def _add(rows: _Rows, fields: Sequence[str], document: int = -1) -> None:
    values: dict[str, object] = {}
    problems: list[tuple[str, str, str | None]] = []
    if len(fields) != rows.width:
        problems.append(
            ("", f"{len(fields)} fields where the title line has {rows.width} (a tab inside an "
                 "unquoted value shifts the columns)", None)
        )  # fmt: skip
    for column in rows.table.file_columns:
        at = rows.positions.get(column.name)
        raw = fields[at] if at is not None and at < len(fields) else ""
        try:
            values[column.name] = _convert(raw, column) if at is not None else None
        except ValueError as exc:
            values[column.name] = None
            problems.append((column.title, str(exc), raw[:200]))
    rows.values.append(values)
    rows.problems.append(problems)
    rows.document.append(document)


def read(data: bytes, name: str, kind: Kind, layout: Layout) -> ReadFile:
    """Read one export file of `kind`; raises Refused for a file refused whole."""
    text = decode(data, layout, name)
    records = list(_records(text, layout))
    if not records:
        raise Refused(f"{name} is empty: no title line and no row.")
    by_marker: dict[str | None, _Rows] = {}
    if kind.header == "positional":
        by_marker = {r.marker: _positional(r.table) for r in kind.rows}
    data_rows: list[list[str]] = []
    for record in records:
        marker = record[0].strip().upper() if kind.documents else None
        if kind.documents and marker not in ("E", "L"):
            data_rows.append(record)  # reported below as a row of no known type
            continue
        if marker not in by_marker:
            row_type = next(r for r in kind.rows if r.marker == marker)
            titles = record[1:] if kind.documents else record
            by_marker[marker] = _header(row_type.table, titles, name, layout)
            continue
        data_rows.append(record)
    missing = [r.marker or "title" for r in kind.rows if r.marker not in by_marker]
    if missing:
        raise Refused(f"{name} has no title line for its {', '.join(missing)} rows.")
    _refuse_truncated(data_rows, by_marker, kind, name)
    result = ReadFile(kind)
    unknown: list[list[str]] = []
    documents = -1
    for record in data_rows:
        if not kind.documents:
            _add(by_marker[None], record)
            continue
        marker = record[0].strip().upper()
        if marker == "E":
            documents += 1
            _add(by_marker["E"], record[1:], documents)
        elif marker == "L" and documents >= 0:
            _add(by_marker["L"], record[1:], documents)
        else:
            unknown.append(record)
    result.rows = sum(len(r.values) for r in by_marker.values()) + len(unknown)
    for record in unknown:
        result.bad.append(
            BadRow(kind.tables[0].warehouse_name, None, "",
                   "a row that is neither E nor L after an E row", "\t".join(record)[:200])
        )  # fmt: skip
    if kind.documents:
        _judge_types(by_marker["E"], layout)
        _documents(by_marker["E"], by_marker["L"], result)
    else:
        _plain(by_marker[None], result)
    return result


def _refuse_truncated(
    data_rows: list[list[str]], by_marker: dict[str | None, _Rows], kind: Kind, name: str
) -> None:
    """A last row with fewer fields than its title line: the file was cut short."""
    if not data_rows:
        return
    last = data_rows[-1]
    marker = last[0].strip().upper() if kind.documents else None
    rows = by_marker.get(marker)
    if rows is None:
        return
    width = len(last) - (1 if kind.documents else 0)
    if width < rows.width:
        raise Refused(
            f"{name} is truncated: its last row has {width} of {rows.width} fields (the export "
            "was interrupted or is still being written); it is read again once complete."
        )


def _arrow(table: FrTable, values: list[dict[str, object]]) -> pa.Table:
    columns = table.columns
    return pa.table(
        {
            c.name: pa.array([v.get(c.name) for v in values], type=ARROW_TYPES[c.duckdb_type])
            for c in columns
        }
    )


def _key(table: FrTable, values: dict[str, object]) -> str | None:
    parts = [values.get(k) for k in table.key]
    if all(p is None for p in parts):
        return None
    return "/".join("" if p is None else str(p) for p in parts)


def _judge(rows: _Rows, values: list[dict[str, object]]) -> list[list[tuple[str, str, str | None]]]:
    """Per row: its conversion problems, the UK rules' failures, and duplicate keys."""
    problems = [list(p) for p in rows.problems]
    titles = {c.name.upper(): c.title for c in rows.table.file_columns}
    titles |= {c.name.upper(): c.name for c in rows.table.added}
    if values:
        emails = {c.name.upper() for c in rows.table.file_columns if c.type == "email"}
        for failure in validate_chunk(rows.table, _arrow(rows.table, values)):
            title = titles.get(failure.column, failure.column)
            reason = failure.reason
            if failure.column in emails and reason.startswith("does not match"):
                reason = "not an e-mail address"  # the UK rule's words (EMAIL_COLUMNS)
            problems[failure.row].append((title, reason, failure.value))
    seen: set[str] = set()
    for i, v in enumerate(values):
        key = _key(rows.table, v)
        if key is None or problems[i]:
            continue
        if key in seen:
            problems[i].append((rows.table.key[0], "duplicate key", key))
        seen.add(key)
    return problems


def _plain(rows: _Rows, result: ReadFile) -> None:
    problems = _judge(rows, rows.values)
    good = [v for v, p in zip(rows.values, problems, strict=True) if not p]
    for v, p in zip(rows.values, problems, strict=True):
        for column, reason, value in p:
            result.bad.append(
                BadRow(rows.table.warehouse_name, _key(rows.table, v), column, reason, value)
            )
    result.tables[rows.table.name] = _arrow(rows.table, good)


def _judge_types(heads: _Rows, layout: Layout) -> None:
    """A document of a type the layout does not declare is quarantined with the reason, never
    dropped unseen (the staging SQL joins the declared types)."""
    column = next((c for c in heads.table.file_columns if c.name == TYPE_COLUMN), None)
    if column is None or not layout.document_types:
        return
    known = {fold(t.title) for t in layout.document_types}
    for values, problems in zip(heads.values, heads.problems, strict=True):
        kind = values.get(TYPE_COLUMN)
        if kind is not None and fold(str(kind)) not in known:
            problems.append(
                (
                    column.title,
                    "a type of document the layout's document_types "
                    "does not declare (add it there to read it)",
                    str(kind)[:200],
                )
            )


def _documents(heads: _Rows, lines: _Rows, result: ReadFile) -> None:
    """E rows and their L rows; a document with any bad row is quarantined whole."""
    number: dict[int, object] = {}
    for doc, v in zip(heads.document, heads.values, strict=True):
        number[doc] = v.get(LINE_DOCUMENT)
    position: dict[int, int] = {}
    for doc, v in zip(lines.document, lines.values, strict=True):
        position[doc] = position.get(doc, 0) + 1
        v[LINE_DOCUMENT] = number.get(doc)
        v[LINE_NUMBER] = position[doc]
    head_problems = _judge(heads, heads.values)
    line_problems = _judge(lines, lines.values)
    bad_docs = {d for d, p in zip(heads.document, head_problems, strict=True) if p}
    bad_docs |= {d for d, p in zip(lines.document, line_problems, strict=True) if p}
    for rows, problems in ((heads, head_problems), (lines, line_problems)):
        for doc, v, p in zip(rows.document, rows.values, problems, strict=True):
            if doc not in bad_docs:
                continue
            key = _key(rows.table, v)
            if not p:
                p = [("", "another row of its document is in quarantine", None)]
            for column, reason, value in p:
                result.bad.append(BadRow(rows.table.warehouse_name, key, column, reason, value))
    for rows in (heads, lines):
        good = [v for doc, v in zip(rows.document, rows.values, strict=True) if doc not in bad_docs]
        result.tables[rows.table.name] = _arrow(rows.table, good)
