"""The reverse flow's Sage 50 FR writer: records written as import files, settled by the exports.

Sage 50 FR has no API: what reps create or edit in SSM reaches it as import files in
SAGE_FR_IMPORT_DIR (layout `imports.yaml`), and what Sage did with them shows in its next export.
`FrImportWriter` is the reverse flow's writer (assets/inbox/engine.py `SageWriter`) for such a
dossier, so the one engine plans, dead-letters and acknowledges FR records as it does UK ones:

* a create is appended to the run's batch file of its kind and answered `QueuedForImport` (a
  transient SageWriteError): the engine keeps its outbox row `pending_write`, and every later
  run asks `find_customer_by` / `contacts`, which answer the Sage key once an export shows the
  record, and `QueuedForImport` again while it does not (so the record is never written twice);
* an edit (a prospect's, a contact's) is appended as the record's whole row (the export's values
  with SSM's changes), since an import row's empty cell empties Sage's field;
* the ledger `sage_fr.imports` holds every row written, by file: `queued` while its file is in
  the folder, `consumed` once Sage moved it away, `seen` once an export shows it, `refused` when
  an export written after its consumption does not (Sage's import report says why). A refused
  create is written again only when SSM's values change (until then the engine's dead letter
  shows the reason to the rep); a refused edit leaves Sage's values standing.

Files are written beside (`.partial`) and renamed into place when the writer closes, never over
an existing file; the ledger rows are committed first, so a crash in between looks like a file
Sage consumed and never showed, and is written again after the next export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import yaml

from assets.fr import warehouse
from assets.fr.layout import FileColumn, FrTable, Layout, LayoutError, default_layout, fold
from assets.sage.warehouse import q
from resources.sage.writer import FieldInfo, SageWriteError

IMPORT_LAYOUT_VARIABLE = "SAGE_FR_IMPORT_LAYOUT"
DEFAULT_IMPORT_LAYOUT = Path(__file__).with_name("imports.yaml")
LEDGER = f"{warehouse.SCHEMA}.imports"
QUEUED, CONSUMED, SEEN, REFUSED = "queued", "consumed", "seen", "refused"
WAITING = (QUEUED, CONSUMED)
MODIFIED = "RECORD_MODIFY_DATE"  # what the engine asks of a customer for its last change
ACCOUNT_KINDS = ("clients", "prospects")
DEVIS = "devis"
ROLES = ("$rep", "$ssm_id", "$prospect", "$account", "$full_name")

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

DDL = f"""
CREATE TABLE IF NOT EXISTS {LEDGER} (
    file_name VARCHAR NOT NULL, row_number INTEGER NOT NULL,
    kind VARCHAR NOT NULL,            -- clients | prospects | contacts | devis
    operation VARCHAR NOT NULL,       -- create | edit
    record_key VARCHAR NOT NULL,      -- the client code, or <code>/<nom>/<prénom> for a contact
    ssm_marker VARCHAR,               -- SSM:<id> of a create (its idempotency key)
    row_values VARCHAR NOT NULL,      -- the row as written: {{column name: value}} (JSON)
    state VARCHAR NOT NULL,           -- queued | consumed | seen | refused
    reason VARCHAR, written_at TIMESTAMP NOT NULL, consumed_at TIMESTAMP,
    settled_at TIMESTAMP, run_id VARCHAR,
    PRIMARY KEY (file_name, row_number)
)
"""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- the import layout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportKind:
    name: str
    description: str
    table: FrTable  # the export table whose columns the file uses
    fields: Mapping[str, tuple[str, ...]]  # handed-over field or role -> columns (() = not written)
    # A document kind (devis): its L rows' table and fields, and the E row's fixed values.
    line_table: FrTable | None = None
    line_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)

    def column(self, name: str) -> FileColumn:
        return next(c for c in self.table.file_columns if c.name == name)

    @property
    def written(self) -> tuple[FileColumn, ...]:
        """The columns a file of this kind has (its E rows' for a document), in the export's
        order."""
        names = {c for columns in self.fields.values() for c in columns} | set(self.constants)
        return tuple(c for c in self.table.file_columns if c.name in names)

    @property
    def written_lines(self) -> tuple[FileColumn, ...]:
        """A document's L columns, in the export's order (none for other kinds)."""
        if self.line_table is None:
            return ()
        names = {c for columns in self.line_fields.values() for c in columns}
        return tuple(c for c in self.line_table.file_columns if c.name in names)


@dataclass(frozen=True)
class ImportLayout:
    path: Path
    encoding: str
    delimiter: str
    quote: str
    line_end: str
    prefix: str
    kinds: Mapping[str, ImportKind]

    def kind_of(self, filename: str) -> ImportKind | None:
        """The kind of an import file, by its name ("Import SSM clients 20240102T...txt")."""
        plain = fold(filename)
        return next(
            (k for n, k in self.kinds.items() if plain.startswith(fold(f"{self.prefix}{n} "))),
            None,
        )


def load_imports(layout: Layout, path: Path | None = None) -> ImportLayout:
    path = path or Path(os.environ.get(IMPORT_LAYOUT_VARIABLE, "").strip() or DEFAULT_IMPORT_LAYOUT)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LayoutError(f"The Sage 50 FR import layout {path} cannot be read: {exc}") from None
    kinds: dict[str, ImportKind] = {}
    for name, spec in (raw.get("kinds") or {}).items():
        where = f"{path}: kind {name!r}"
        try:
            table = layout.kind(str(spec["export"])).tables[0]
        except (KeyError, StopIteration, TypeError):
            raise LayoutError(
                f"{where}: `export` must name a kind of {layout.path.name}."
            ) from None
        fields = _fields(where, spec, "fields", table, layout)
        if not fields:
            raise LayoutError(f"{where}: `fields` must map what the reverse flow hands over.")
        line_table, line_fields = None, {}
        if spec.get("line_fields"):
            tables = layout.kind(str(spec["export"])).tables
            if len(tables) < 2:
                raise LayoutError(f"{where}: `line_fields` needs an export with E and L rows.")
            line_table = tables[1]
            line_fields = _fields(where, spec, "line_fields", line_table, layout)
        constants = {str(k): str(v) for k, v in (spec.get("constants") or {}).items()}
        unknown = sorted(set(constants) - {c.name for c in table.file_columns})
        if unknown:
            raise LayoutError(f"{where}: `constants` names columns the export lacks: {unknown}.")
        kinds[str(name)] = ImportKind(str(name), str(spec.get("description", name)), table,
                                      fields, line_table, line_fields, constants)  # fmt: skip
    if not {"clients", "prospects", "contacts"} <= kinds.keys():
        raise LayoutError(f"{path} needs the kinds clients, prospects and contacts.")
    return ImportLayout(
        path=path,
        encoding=str(raw.get("encoding", layout.encoding)),
        delimiter=str(raw.get("delimiter", layout.delimiter)),
        quote=str(raw.get("quote", layout.quote)),
        line_end=str(raw.get("line_end", "\r\n")),
        prefix=str(raw.get("prefix", "Import SSM ")),
        kinds=kinds,
    )


def _fields(
    where: str, spec: Mapping[str, Any], section: str, table: FrTable, layout: Layout
) -> dict[str, tuple[str, ...]]:
    """A kind's `fields` (or `line_fields`): handed-over name or role -> the columns of `table`."""
    known = {c.name for c in table.file_columns}
    fields: dict[str, tuple[str, ...]] = {}
    for handed, columns in (spec.get(section) or {}).items():
        columns = () if columns is None else (columns,) if isinstance(columns, str) else columns
        if str(handed).startswith("$") and handed not in ROLES:
            raise LayoutError(f"{where}: {handed} is not a role ({', '.join(ROLES)}).")
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise LayoutError(
                f"{where}: {handed} goes to {unknown}, which the export of {spec['export']} "
                f"({layout.path.name}) does not declare."
            )
        fields[str(handed)] = tuple(columns)
    return fields


@cache
def default_imports() -> ImportLayout:
    return load_imports(default_layout())


def contact_number(code: str, nom: str | None, prenom: str | None) -> int:
    """A contact's address number, as assets/fr/sql/contacts.sql computes it."""
    digest = hashlib.md5(f"{code}/{nom or ''}/{prenom or ''}".encode()).hexdigest()  # noqa: S324
    return int(digest[:7], 16)


def split_full_name(name: str | None) -> tuple[str | None, str | None]:
    """(prénom, nom): the first word, and the rest (a one-word name is the nom alone)."""
    words = (name or "").split()
    if len(words) < 2:
        return None, (words[0] if words else None)
    return words[0], " ".join(words[1:])


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _same(column: FileColumn, a: Any, b: Any) -> bool:
    a, b = _text(a), _text(b)
    if column.type == "code":
        a, b = (None if v is None else v.upper() for v in (a, b))
    return a == b


def encode_rows(rows: Iterable[Iterable[str]], imports: ImportLayout) -> bytes:
    """Rows as a Sage 50 FR text file: tabs, the layout's quote, CRLF, Windows-1252."""
    import csv
    import io

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=imports.delimiter, quotechar=imports.quote,
                        lineterminator=imports.line_end)  # fmt: skip
    writer.writerows(rows)
    return buffer.getvalue().encode(imports.encoding)


# --- the writer ----------------------------------------------------------------------------------


class QueuedForImport(SageWriteError):
    """The record is in an import file Sage has not shown back yet: look again next run."""

    def __init__(self, record: str, file_name: str) -> None:
        super().__init__(
            None,
            f"it is in the import file {file_name!r}, waiting for Sage 50 FR to import it",
            True,
            "import",
            record,
            advice="the next export that shows it closes the loop, and until then it is not "
            "written again",
        )


@dataclass
class _Row:
    kind: str
    operation: str
    key: str
    marker: str | None
    values: dict[str, str | None]  # column name -> value
    file_name: str = ""
    state: str = QUEUED
    written_at: dt.datetime = field(default_factory=_now)


class FrImportWriter:
    """The reverse flow's writer for one Sage 50 FR dossier (see the module); a context manager
    whose close() publishes the run's batch files."""

    reads_back_later = True  # an edit reaches Sage with its import: the export tells the push

    def __init__(
        self,
        connect: Connect,
        folder: Path,
        *,
        rep_field: str,
        ssm_id_field: str,
        prospect_field: str,
        prospect_value: str,
        run_id: str = "",
        layout: Layout | None = None,
        imports: ImportLayout | None = None,
    ) -> None:
        self.connect, self.folder, self.run_id = connect, Path(folder), run_id
        self.layout = layout or default_layout()
        self.imports = imports or (load_imports(self.layout) if layout else default_imports())
        self.prospect_field, self.prospect_value = prospect_field, prospect_value.strip().lower()
        roles = {"$rep": rep_field, "$ssm_id": ssm_id_field, "$prospect": prospect_field}
        self.fields = {
            k: {roles.get(handed, handed): cols for handed, cols in kind.fields.items()}
            for k, kind in self.imports.kinds.items()
        }
        self.ssm_id_field = ssm_id_field
        self.writes = 0
        self.batch: list[_Row] = []
        self.published: list[Path] = []
        self._ledger: list[_Row] | None = None

    def __enter__(self) -> FrImportWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the ledger, settled against the exports

    def rows(self) -> list[_Row]:
        """Every row written so far (settled once per writer), and this run's batch."""
        if self._ledger is None:
            with self.connect() as con:
                self._ledger = self._settle(con)
        return self._ledger + self.batch

    def _settle(self, con: duckdb.DuckDBPyConnection) -> list[_Row]:
        warehouse.ensure_tables(con, self.layout)
        con.execute(DDL)
        now = _now()
        waiting = con.execute(
            f"SELECT DISTINCT file_name FROM {LEDGER} WHERE state = ?",  # noqa: S608
            [QUEUED],
        ).fetchall()
        gone = [f for (f,) in waiting if not (self.folder / f).exists()]
        if gone:
            con.execute(
                f"UPDATE {LEDGER} SET state = ?, consumed_at = ? "  # noqa: S608
                "WHERE state = ? AND file_name IN (SELECT unnest(?::VARCHAR[]))",
                [CONSUMED, now, QUEUED, gone],
            )
        rows = con.execute(
            f"SELECT file_name, row_number, kind, operation, record_key, ssm_marker, "  # noqa: S608
            f"row_values, state, written_at, consumed_at FROM {LEDGER} ORDER BY written_at, "
            "file_name, row_number"
        ).fetchall()
        out = []
        for (
            file_name,
            number,
            kind,
            operation,
            key,
            marker,
            values,
            state,
            written,
            consumed,
        ) in rows:
            row = _Row(kind, operation, key, marker, json.loads(values), file_name, state, written)
            if state in WAITING:
                verdict = self._verdict(con, row, consumed)
                if verdict is not None:
                    row.state, reason = verdict
                    con.execute(
                        f"UPDATE {LEDGER} SET state = ?, reason = ?, settled_at = ? "  # noqa: S608
                        "WHERE file_name = ? AND row_number = ?",
                        [row.state, reason, now, file_name, number],
                    )
            out.append(row)
        return out

    def _tables(self, kind: str) -> list[FrTable]:
        if kind == "contacts":
            return [self.imports.kinds["contacts"].table]
        return [self.imports.kinds[k].table for k in ("clients", "prospects")]

    def _verdict(
        self, con: duckdb.DuckDBPyConnection, row: _Row, consumed: dt.datetime | None
    ) -> tuple[str, str | None] | None:
        """seen, refused, or None (still waiting)."""
        if row.kind == DEVIS:
            for _number, live, deleted_at in self.devis_pieces(con, row.marker or ""):
                if live or (deleted_at is not None and deleted_at > row.written_at):
                    return SEEN, None
        for table in self._tables(row.kind) if row.kind != DEVIS else ():
            for found in self._export_rows(con, table, row):
                live, deleted_at = found[0], found[1]
                values = dict(zip(self._columns(table), found[2:], strict=True))
                if row.operation == "create":
                    kept = _text(values.get(self._marker_column(row.kind)))
                    if kept is not None and row.marker and row.marker not in kept.split():
                        return REFUSED, f"{row.key} in the export is another record ({kept})"
                    if live or (deleted_at is not None and deleted_at > row.written_at):
                        return SEEN, None
                elif live and all(
                    _same(self._column(table, c), values.get(c), v)
                    for c, v in row.values.items()
                    if c in values
                ):
                    return SEEN, None
        if consumed is None:
            return None
        kinds = {"contacts": ["contacts"], DEVIS: ["pieces"]}.get(row.kind, list(ACCOUNT_KINDS))
        (newest,) = con.execute(
            f"SELECT max(modified_ns) FROM {warehouse.LEDGER} "  # noqa: S608
            "WHERE status = 'loaded' AND kind IN (SELECT unnest(?::VARCHAR[]))",
            [kinds],
        ).fetchone() or (None,)
        consumed_ns = int(consumed.replace(tzinfo=dt.UTC).timestamp() * 1e9)
        if newest is None or newest <= consumed_ns:
            return None
        what = "shows other values" if row.operation == "edit" else "does not show it"
        return REFUSED, (
            f"Sage 50 FR consumed {row.file_name!r} and its next export {what}: see Sage's "
            "import report"
        )

    def devis_pieces(
        self, con: duckdb.DuckDBPyConnection, marker: str
    ) -> list[tuple[str, bool, dt.datetime | None]]:
        """(numéro, live, deleted_at) of the devis of the pieces export whose Réf. commande
        holds `marker` (the layout's document types that become quotes)."""
        kind = self.imports.kinds.get(DEVIS)
        if kind is None or not marker:
            return []
        column = self._marker_column(DEVIS) or "ref_commande"
        quotes = {fold(t.title) for t in self.layout.document_types if t.becomes == "quote"}
        rows = con.execute(
            f"SELECT numero, type_piece, {q(column)}, deleted_at IS NULL, deleted_at "  # noqa: S608
            f"FROM {kind.table.warehouse_name} WHERE contains({q(column)}, ?)",
            [marker],
        ).fetchall()
        return [(n, bool(live), deleted) for n, kind_, kept, live, deleted in rows
                if fold(kind_ or "") in quotes and marker in str(kept).split()]  # fmt: skip

    def _columns(self, table: FrTable) -> list[str]:
        return [c.name for c in table.file_columns]

    def _column(self, table: FrTable, name: str) -> FileColumn:
        return next(c for c in table.file_columns if c.name == name)

    def _marker_column(self, kind: str) -> str | None:
        columns = self.fields[kind].get(self.ssm_id_field) or ()
        return columns[0] if columns else None

    def _export_rows(
        self, con: duckdb.DuckDBPyConnection, table: FrTable, row: _Row
    ) -> list[tuple[Any, ...]]:
        key = row.key.split("/") if row.kind == "contacts" else [row.key]
        match = " AND ".join(f"{q(k)} IS NOT DISTINCT FROM ?" for k in table.key)
        params = [None if part == "" else part for part in key]
        columns = ", ".join(q(c) for c in self._columns(table))
        return con.execute(
            f"SELECT deleted_at IS NULL, deleted_at, {columns} FROM {table.warehouse_name} "  # noqa: S608
            f"WHERE {match}",
            params,
        ).fetchall()

    def _export(self, table: FrTable, where: str, params: list[Any]) -> list[dict[str, Any]]:
        with self.connect() as con:
            warehouse.ensure_tables(con, self.layout)
            cursor = con.execute(
                f"SELECT *, deleted_at IS NULL AS _live FROM {table.warehouse_name} "  # noqa: S608
                f"WHERE {where}",
                params,
            )
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    # --- fields

    def check_fields(
        self, record: Any, names: Iterable[str], settings: Mapping[str, str] | None = None
    ) -> dict[str, FieldInfo]:
        kind = "contacts" if record == "CustomerAddress" else "clients"
        fields, table = self.fields[kind], self.imports.kinds[kind].table
        out = {}
        for name in dict.fromkeys(names):
            if name not in fields and not (kind == "contacts" and name == "Contact"):
                chosen = f" (chosen by {settings[name]})" if settings and name in settings else ""
                raise SageWriteError(
                    None,
                    f"the import layout {self.imports.path.name} maps no column to {name}{chosen}",
                    False,
                    "use field",
                    name,
                    advice=f"map it (or null) under `{kind}` in {self.imports.path}",
                )
            columns = fields.get(name) or fields.get("$full_name", ()) if name == "Contact" else (
                fields[name]
            )  # fmt: skip
            lengths = [self._column(table, c).length for c in columns]
            length = sum(x or 0 for x in lengths) + len(lengths) - 1 if lengths else None
            out[name] = FieldInfo(name, length if length and length > 0 else None, False)
        return out

    # --- reading what Sage holds (the last export, with what waits for Sage on top)

    def _account_kind(self, ref: str) -> tuple[str, dict[str, Any]] | None:
        for kind in ("clients", "prospects"):
            table = self.imports.kinds[kind].table
            rows = self._export(table, "code = ? AND deleted_at IS NULL", [ref])
            if rows:
                return kind, rows[0]
        return None

    def _pending(self, kind_names: Iterable[str], key: str) -> list[_Row]:
        return [r for r in self.rows()
                if r.kind in kind_names and r.key == key and r.state in WAITING]  # fmt: skip

    def account_refs(self) -> set[str]:
        codes = set()
        for kind in ("clients", "prospects"):
            codes |= {r["code"] for r in self._export(self.imports.kinds[kind].table, "TRUE", [])}
        return codes | {
            r.key for r in self.rows() if r.kind in ACCOUNT_KINDS and r.state != REFUSED
        }

    def customer(self, ref: str, fields: Iterable[str]) -> dict[str, Any] | None:
        found = self._account_kind(ref)
        if found is None:
            return None
        kind, row = found
        values = dict(row)
        modified = row.get("loaded_at")
        for pending in self._pending(("clients", "prospects"), ref):
            values.update(pending.values)
            modified = max(filter(None, (modified, pending.written_at)))
        out: dict[str, Any] = {}
        for name in fields:
            if name == MODIFIED:
                out[name] = modified
                continue
            columns = self.fields[kind].get(name) or ()
            joined = ", ".join(v for v in (_text(values.get(c)) for c in columns) if v)
            out[name] = joined or None
        if "COUNTRY_CODE" in out and out["COUNTRY_CODE"] is None:
            # as assets/fr/sql/customer_accounts.sql: no country code and France (or none) is FR
            if fold(values.get("pays") or "") in ("", "france"):
                out["COUNTRY_CODE"] = "FR"
        return out

    def find_customer_by(self, field_name: str, value: str) -> str | None:
        mine = [r for r in self.rows()
                if r.kind in ACCOUNT_KINDS and r.operation == "create" and r.marker == value]  # fmt: skip
        if any(r.state == SEEN for r in mine):
            return next(r.key for r in mine if r.state == SEEN)
        waiting = [r for r in mine if r.state in WAITING]
        if waiting:
            raise QueuedForImport(
                f"customer {waiting[-1].key}", waiting[-1].file_name or "this run"
            )
        return None

    def contacts(self, ref: str) -> list[dict[str, Any]]:
        mine = [r for r in self.rows() if r.kind == "contacts" and r.key.startswith(f"{ref}/")]
        waiting = [r for r in mine if r.state in WAITING]
        if waiting:
            raise QueuedForImport(f"a contact of {ref}", waiting[-1].file_name or "this run")
        markers = {r.key: r.marker for r in mine if r.state == SEEN and r.marker}
        fields = self.fields["contacts"]
        out = []
        table = self.imports.kinds["contacts"].table
        for row in self._export(table, "code_client = ? AND deleted_at IS NULL", [ref]):
            first, last = fields["$full_name"]
            name = " ".join(v for v in (_text(row.get(first)), _text(row.get(last))) if v)
            values: dict[str, Any] = {
                "AddressNumber": contact_number(ref, row.get(last), row.get(first)),
                "Contact": name or None,
                "Name": name or None,
                "ModifyDate": row.get("loaded_at"),
                "Notes": markers.get(self._contact_key(ref, row.get(first), row.get(last))),
            }
            for handed, columns in fields.items():
                if not handed.startswith("$") and columns:
                    values[handed] = _text(row.get(columns[0]))
            out.append(values)
        return out

    # --- writing

    def _contact_key(self, ref: str, first: Any, last: Any) -> str:
        return f"{ref}/{_text(last) or ''}/{_text(first) or ''}"

    def _columns_of(self, kind: str, values: Mapping[str, Any]) -> dict[str, str | None]:
        """Handed-over values as the file's columns (a field of several columns: the value in
        the first, the others emptied, as customer() joins them)."""
        out: dict[str, str | None] = {}
        for name, value in values.items():
            if name.startswith("$") or name == "Contact":
                continue
            columns = self.fields[kind].get(name, ())
            for i, column in enumerate(columns):
                out[column] = _text(value) if i == 0 else None
        return out

    def _refused_before(self, marker: str, values: Mapping[str, Any]) -> _Row | None:
        return next(
            (r for r in self.rows() if r.marker == marker and r.state == REFUSED
             and r.values == values),
            None,
        )  # fmt: skip

    def _queue(self, row: _Row) -> None:
        self.batch.append(row)
        self.writes += 1
        raise QueuedForImport(f"{row.kind[:-1]} {row.key}", "this run's batch")

    def create_customer(self, ref: str, values: Mapping[str, Any], marker: tuple[str, str]) -> str:
        _field, token = marker
        label = f"customer {ref}"
        mine = [r for r in self.rows() if r.kind in ACCOUNT_KINDS and r.marker == token]
        if any(r.state == SEEN and r.key == ref for r in mine):
            return "existing"
        waiting = [r for r in mine if r.state in WAITING]
        if waiting:
            raise QueuedForImport(label, waiting[-1].file_name or "this run")
        prospect = str(values.get(self.prospect_field) or "").strip().lower()
        kind = "prospects" if prospect and prospect == self.prospect_value else "clients"
        row = {
            **self._columns_of(kind, {**values, "ACCOUNT_REF": ref}),
        }
        marker_column = self._marker_column(kind)
        if marker_column:
            row[marker_column] = token
        refused = self._refused_before(token, row)
        if refused is not None:
            raise SageWriteError(
                None, f"Sage 50 FR did not import it from {refused.file_name!r} (its next export "
                "does not show it)", False, "import", label,
                advice="see Sage's import report, then change the record in SSM to try again",
            )  # fmt: skip
        if ref in self.account_refs():
            raise SageWriteError(84, f"account {ref} exists in Sage 50 FR", False, "create", label)
        self._queue(_Row(kind, "create", ref, token, row))
        return "created"  # not reached: _queue raises

    def edit_customer(self, ref: str, values: Mapping[str, Any]) -> None:
        found = self._account_kind(ref)
        if found is None:
            raise SageWriteError(None, f"there is no client or prospect {ref}", False, "edit",
                                 f"customer {ref}")  # fmt: skip
        kind, export = found
        row = self._whole_row(kind, export, self._pending((kind,), ref))
        row.update(self._columns_of(kind, values))
        self.batch.append(_Row(kind, "edit", ref, None, row))
        self.writes += 1

    def _whole_row(self, kind: str, export: Mapping[str, Any], pending: list[_Row]) -> dict:
        columns = [c.name for c in self.imports.kinds[kind].written]
        row = {c: _text(export.get(c)) for c in columns}
        for p in pending:
            row.update(p.values)
        return row

    def create_contact(self, ref: str, values: Mapping[str, Any], marker: tuple[str, str]) -> int:
        _field, token = marker
        first_col, last_col = self.fields["contacts"]["$full_name"]
        first, last = split_full_name(_text(values.get("Contact")))
        key = self._contact_key(ref, first, last)
        label = f"contact {values.get('Contact')!r} of {ref}"
        mine = [r for r in self.rows() if r.kind == "contacts" and r.marker == token]
        if any(r.state == SEEN and r.key == key for r in mine):
            return contact_number(ref, last, first)
        waiting = [r for r in mine if r.state in WAITING]
        if waiting:
            raise QueuedForImport(label, waiting[-1].file_name or "this run")
        row = {**self._columns_of("contacts", values), first_col: first, last_col: last}
        (account_col,) = self.fields["contacts"]["$account"]
        row[account_col] = ref
        refused = self._refused_before(token, row)
        if refused is not None:
            raise SageWriteError(
                None, f"Sage 50 FR did not import it from {refused.file_name!r}", False,
                "import", label, advice="see Sage's import report, then change it in SSM",
            )  # fmt: skip
        table = self.imports.kinds["contacts"].table
        taken = self._export(table, "code_client = ? AND nom IS NOT DISTINCT FROM ? AND "
                             "prenom IS NOT DISTINCT FROM ? AND deleted_at IS NULL",
                             [ref, last, first])  # fmt: skip
        if taken or any(r.key == key and r.state != REFUSED for r in self.rows()):
            raise SageWriteError(
                None, f"{ref} already has a contact named {values.get('Contact')!r}", False,
                "create", label, advice="Sage 50 FR tells contacts apart by name: rename it in SSM",
            )  # fmt: skip
        self._queue(_Row("contacts", "create", key, token, row))
        return 0  # not reached: _queue raises

    def edit_contact(self, ref: str, number: int, values: Mapping[str, Any]) -> None:
        label = f"contact {ref}/{number}"
        current = next((c for c in self.contacts(ref) if c["AddressNumber"] == number), None)
        if current is None:
            raise SageWriteError(None, "it is not in Sage 50 FR's last export", False, "edit",
                                 label)  # fmt: skip
        if "Contact" in values and _text(values["Contact"]) != current["Contact"]:
            raise SageWriteError(
                None, "Sage 50 FR tells a contact by its name, which an import cannot change",
                False, "edit", label, advice="rename the contact in Sage 50 FR",
            )  # fmt: skip
        first_col, last_col = self.fields["contacts"]["$full_name"]
        first, last = split_full_name(current["Contact"])
        key = self._contact_key(ref, first, last)
        table = self.imports.kinds["contacts"].table
        export = self._export(table, "code_client = ? AND nom IS NOT DISTINCT FROM ? AND "
                              "prenom IS NOT DISTINCT FROM ? AND deleted_at IS NULL",
                              [ref, last, first])  # fmt: skip
        row = self._whole_row("contacts", export[0], self._pending(("contacts",), key))
        row.update(self._columns_of("contacts", values))
        self.batch.append(_Row("contacts", "edit", key, None, row))
        self.writes += 1

    # --- publishing

    def close(self) -> None:
        """Write this run's batch: one file per kind, its ledger rows committed first."""
        batch, self.batch = self.batch, []
        by_kind: dict[str, list[_Row]] = {}
        for row in batch:
            by_kind.setdefault(row.kind, []).append(row)
        if not by_kind:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = _now()
        for kind, rows in by_kind.items():
            data = encode_rows(self._file_rows(self.imports.kinds[kind], rows), self.imports)
            with self.connect() as con:
                con.execute(DDL)
                path = self._free_name(kind, stamp, con)
                con.executemany(
                    f"INSERT INTO {LEDGER} VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, NULL, ?)",  # noqa: S608
                    [[path.name, n, kind, r.operation, r.key, r.marker,
                      json.dumps(r.values, ensure_ascii=False), QUEUED, r.written_at, self.run_id]
                     for n, r in enumerate(rows, start=1)],
                )  # fmt: skip
            partial = path.with_name(path.name + ".partial")
            partial.write_bytes(data)
            partial.rename(path) if not path.exists() else None
            self.published.append(path)
        self._ledger = None

    @staticmethod
    def _file_rows(kind: ImportKind, rows: list[_Row]) -> list[list[str]]:
        """A file's lines: the titles, then a row per record; for a document the E and L title
        lines, then each document's E row followed by its L rows (as the pieces export)."""
        columns = kind.written
        if kind.line_table is None:
            return [[c.title for c in columns],
                    *([r.values.get(c.name) or "" for c in columns] for r in rows)]  # fmt: skip
        lines = kind.written_lines
        out = [["E", *(c.title for c in columns)], ["L", *(c.title for c in lines)]]
        for r in rows:
            out.append(["E", *(r.values["E"].get(c.name) or "" for c in columns)])
            out += [["L", *(ln.get(c.name) or "" for c in lines)] for ln in r.values["L"]]
        return out

    def _free_name(self, kind: str, stamp: dt.datetime, con: duckdb.DuckDBPyConnection) -> Path:
        """A name no file of the folder has (Sage may not have imported an older one yet) and
        the ledger never gave (Sage may have moved an imported one away within the second)."""
        base = f"{self.imports.prefix}{kind} {stamp:%Y%m%dT%H%M%S}"
        n = 1
        while (
            (self.folder / f"{base}-{n}.txt").exists()
            or (self.folder / f"{base}-{n}.txt.partial").exists()
            or con.execute(
                f"SELECT 1 FROM {LEDGER} WHERE file_name = ? LIMIT 1",  # noqa: S608
                [f"{base}-{n}.txt"],
            ).fetchone()
        ):
            n += 1
        return self.folder / f"{base}-{n}.txt"
