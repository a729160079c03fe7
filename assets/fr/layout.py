"""The Sage 50 FR export layout (`layout.yaml`), loaded and checked whole.

Each kind of export file becomes one or two warehouse tables (`sage_fr.<table>`): a plain file
one, a file of E/L rows two (the documents and their lines). Each table is also a `SageTable`
(`FrTable`), so the UK extract's validation rules (assets/sage/validation.py) judge its rows
as they judge a Sage ODBC chunk: types, key not empty, text within its length, e-mail shape.
"""

from __future__ import annotations

import fnmatch
import os
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from assets.sage.catalogue import SageTable
from assets.sage.validation import EMAIL_PATTERN
from resources.sage_schema import SageColumn

LAYOUT_VARIABLE = "SAGE_FR_LAYOUT"
DEFAULT_LAYOUT = Path(__file__).with_name("layout.yaml")

# layout type -> the column's type in sage_fr (as an ODBC type name, so SageColumn types it)
TYPES = {
    "code": "VARCHAR",
    "text": "VARCHAR",
    "email": "VARCHAR",
    "decimal": "DOUBLE",
    "percent": "DOUBLE",
    "integer": "INTEGER",
    "date": "DATE",
    "flag": "SMALLINT",
}
# Columns the reader adds to a line table: its document's key and its position in the document.
LINE_DOCUMENT, LINE_NUMBER = "numero", "ligne"


class LayoutError(ValueError):
    """The layout file is wrong: one sentence naming the file, the kind and the field."""


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def fold(title: str) -> str:
    """A column title as it is matched: no case, accents, spaces or punctuation."""
    return "".join(ch for ch in _plain(title) if ch.isalnum())


@dataclass(frozen=True)
class FileColumn:
    title: str
    name: str
    type: str
    required: bool = True
    length: int | None = None
    confirmed: bool = False
    fills: str = ""


@dataclass(frozen=True)
class FrTable(SageTable):
    """A warehouse table of the FR source, judged by the UK extract's rules."""

    file_columns: tuple[FileColumn, ...] = ()
    added: tuple[SageColumn, ...] = ()  # columns the reader adds (a line's document and number)

    @property
    def columns(self) -> tuple[SageColumn, ...]:  # type: ignore[override]
        own = tuple(
            SageColumn(self.table, i, c.name, TYPES[c.type], c.length)
            for i, c in enumerate(self.file_columns, start=1)
        )
        return own + self.added

    @property
    def warehouse_name(self) -> str:
        return f"sage_fr.{self.name}"


@dataclass(frozen=True)
class RowType:
    """One row type of a file: all its rows (a plain file), or its E or L rows."""

    marker: str | None  # "E", "L"; None for a plain file
    table: FrTable


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    files: tuple[str, ...]
    rows: tuple[RowType, ...]
    header: str = "names"

    def matches(self, filename: str) -> bool:
        """Whether a file name is of this kind (without case or accents: "pièces" ~ "piece")."""
        name = _plain(filename)
        return any(fnmatch.fnmatchcase(name, _plain(p)) for p in self.files)

    @property
    def documents(self) -> bool:
        return self.rows[0].marker is not None

    @property
    def tables(self) -> tuple[FrTable, ...]:
        return tuple(r.table for r in self.rows)


@dataclass(frozen=True)
class DocumentType:
    title: str
    becomes: str
    number_base: int


@dataclass(frozen=True)
class Layout:
    path: Path
    encoding: str
    delimiter: str
    quote: str
    currency: str
    kinds: tuple[Kind, ...]
    document_types: tuple[DocumentType, ...] = field(default=())
    tva_rates: tuple[float, ...] = ()

    def kind_of(self, filename: str) -> Kind | None:
        return next((k for k in self.kinds if k.matches(filename)), None)

    def kind(self, name: str) -> Kind:
        return next(k for k in self.kinds if k.name == name)

    @property
    def tables(self) -> tuple[FrTable, ...]:
        return tuple(t for k in self.kinds for t in k.tables)


def french_number(text: str) -> float:
    """ "1 234,56" -> 1234.56; "5,5" -> 5.5; "20 %" -> 20.0. Raises ValueError."""
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").rstrip("%")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    if not cleaned or cleaned.lower() in {"nan", "inf", "-inf", "+inf", "infinity"}:
        raise ValueError(text)
    return float(cleaned)


def _columns(raw: Any, where: str) -> tuple[FileColumn, ...]:
    if not isinstance(raw, list) or not raw:
        raise LayoutError(f"{where}: `columns` must be a list of columns.")
    out = []
    for spec in raw:
        if not isinstance(spec, dict) or not {"title", "name", "type"} <= spec.keys():
            raise LayoutError(f"{where}: every column needs a title, a name and a type ({spec}).")
        if spec["type"] not in TYPES:
            raise LayoutError(
                f"{where}: column {spec['title']!r} has type {spec['type']!r}; use one of "
                f"{', '.join(TYPES)}."
            )
        out.append(
            FileColumn(
                title=str(spec["title"]),
                name=str(spec["name"]),
                type=spec["type"],
                required=bool(spec.get("required", True)),
                length=spec.get("length"),
                confirmed=bool(spec.get("confirmed", False)),
                fills=str(spec.get("fills", "")),
            )
        )
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise LayoutError(f"{where}: two columns have the same name.")
    if len({fold(c.title) for c in out}) != len(out):
        raise LayoutError(f"{where}: two column titles are the same once folded.")
    return tuple(out)


def _table(name: str, key: list[str], description: str, columns: tuple[FileColumn, ...],
           added: tuple[SageColumn, ...] = ()) -> FrTable:  # fmt: skip
    emails = tuple((c.name, EMAIL_PATTERN) for c in columns if c.type == "email")
    return FrTable(
        table=name.upper(),
        key=tuple(key),
        description=description,
        incremental=False,
        patterns=emails,
        file_columns=columns,
        added=added,
    )


def _kind(name: str, spec: Any, where: str) -> Kind:
    if not isinstance(spec, dict):
        raise LayoutError(f"{where} must be a mapping.")
    files = spec.get("files")
    if not files or not isinstance(files, list):
        raise LayoutError(f"{where}: `files` must list the file name patterns.")
    if spec.get("snapshot", "full") != "full":
        raise LayoutError(f"{where}: snapshot {spec['snapshot']!r} is not supported (full).")
    header = spec.get("header", "names")
    if header not in ("names", "positional"):
        raise LayoutError(f"{where}: header is names or positional, not {header!r}.")
    description = str(spec.get("description", name))
    key = list(spec.get("key") or [])
    rows: list[RowType] = []
    if "row_types" in spec:
        types = spec["row_types"]
        if not isinstance(types, dict) or set(types) != {"E", "L"}:
            raise LayoutError(f"{where}: `row_types` must give E and L.")
        header_spec, line_spec = types["E"], types["L"]
        header_columns = _columns(header_spec.get("columns"), f"{where} E")
        line_columns = _columns(line_spec.get("columns"), f"{where} L")
        doc = next((c for c in header_columns if c.name == LINE_DOCUMENT), None)
        if doc is None:
            raise LayoutError(f"{where}: the E columns need one named {LINE_DOCUMENT!r}.")
        added = (
            SageColumn(line_spec.get("table", "lines").upper(), 900, LINE_DOCUMENT,
                       TYPES[doc.type], doc.length),
            SageColumn(line_spec.get("table", "lines").upper(), 901, LINE_NUMBER, "INTEGER", None),
        )  # fmt: skip
        rows.append(
            RowType("E", _table(header_spec.get("table", name), key, description, header_columns))
        )
        line_key = list(line_spec.get("key") or [LINE_DOCUMENT, LINE_NUMBER])
        rows.append(
            RowType(
                "L",
                _table(line_spec.get("table", f"{name}_lines"), line_key,
                       f"Lines of {name}", line_columns, added),
            )
        )  # fmt: skip
    else:
        columns = _columns(spec.get("columns"), where)
        rows.append(RowType(None, _table(name, key, description, columns)))
    for row in rows:
        names = {c.name for c in row.table.columns}
        missing = [k for k in row.table.key if k not in names]
        if not row.table.key or missing:
            raise LayoutError(f"{where}: key {row.table.key} names no column {missing}.")
    return Kind(name, description, tuple(files), tuple(rows), header)


def load(path: Path | None = None) -> Layout:
    path = path or Path(os.environ.get(LAYOUT_VARIABLE, "").strip() or DEFAULT_LAYOUT)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LayoutError(f"The Sage 50 FR layout {path} cannot be read: {exc}") from None
    kinds_raw = raw.get("kinds")
    if not isinstance(kinds_raw, dict) or not kinds_raw:
        raise LayoutError(f"{path} needs a `kinds:` mapping of file kinds.")
    kinds = tuple(_kind(n, s, f"{path}: kind {n!r}") for n, s in kinds_raw.items())
    tables = [t.name for k in kinds for t in k.tables]
    if len(set(tables)) != len(tables):
        raise LayoutError(f"{path}: two kinds write the same table ({tables}).")
    types = tuple(
        DocumentType(str(title), str(spec["becomes"]), int(spec.get("number_base", 0)))
        for title, spec in (raw.get("document_types") or {}).items()
    )
    return Layout(
        path=path,
        encoding=str(raw.get("encoding", "cp1252")),
        delimiter=str(raw.get("delimiter", "\t")),
        quote=str(raw.get("quote", '"')),
        currency=str(raw.get("currency", "EUR")),
        kinds=kinds,
        document_types=types,
        tva_rates=tuple(french_number(str(r)) for r in raw.get("tva_rates") or ()),
    )


@cache
def default_layout() -> Layout:
    """The layout this process reads (SAGE_FR_LAYOUT, else the one beside this module)."""
    return load()
