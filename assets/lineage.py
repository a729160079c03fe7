"""Column lineage from Sage 50 to SSM, generated from the catalogues.

Three catalogues declare where each column comes from, each against the layer below it:
`assets/staging/catalogue.py` (staging columns ← Sage `TABLE.COLUMN`s), `assets/derived/
catalogue.py` (derived columns ← staging columns) and `assets/ssm/contract.py`
(`ssm.desired_<resource>` columns ← staging/derived columns; each SSM field ← a desired column, a
constant or a setting). This module joins them into one graph and

* describes every column: its declared description, else the vendor's field map
  (`assets/staging/field_map.tsv`, joined per import section on the snake_case of the "CRM Field
  Name"), else the SSM fields a desired column feeds, else the description of its one warehouse
  source, else the columns it is computed from;
* finds each column's DuckDB type by building every table empty in an in-memory DuckDB from the
  Sage schema catalogue (`resources/sage_schema.py`) and the layers' own SQL;
* gives each staging, derived and desired asset its definition metadata: `dagster/column_schema`
  with a description per column and a `column_lineage` table the open-source UI renders (it shows
  neither `dagster/column_lineage` nor a lineage view), next to `dagster/column_lineage`;
* renders docs/lineage.md, every SSM field back to Sage and every Sage column forward:
  `python -m assets.lineage` rewrites it, `--check` exits 1 when it is stale.

The catalogues are imported on demand, never at the top: each layer's package defines its assets
through this module while it is being imported, so a layer only ever loads the layers below it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

import dagster as dg
import duckdb

from assets.docs_page import write_or_check
from resources.sage_schema import CRM_TABLES, table_columns

if TYPE_CHECKING:
    from assets.ssm.contract import FieldRule, ResourceContract
    from assets.staging.factory import Column, SqlTable

ROOT = Path(__file__).resolve().parents[1]
DOC_PATH = ROOT / "docs" / "lineage.md"
FIELD_MAP_PATH = ROOT / "assets" / "staging" / "field_map.tsv"
DEFAULT_REP_COLUMN = "analysis_2"  # SyncSettings' default, the one the page shows
DEFAULT_PROSPECT_COLUMN = "analysis_1"  # SyncSettings' default marker column (SAGE_PROSPECT_MARKER)
UNKNOWN_TYPE = "unknown"
LAYERS = ("staging", "derived")  # the SqlTable layers, in build order; SQL in assets/<layer>/sql

log = logging.getLogger(__name__)


# --- The vendor's field map -------------------------------------------------------------------


@dataclass(frozen=True)
class MapField:
    """One row of the field map: a CRM field of an import section and its Sage source."""

    section: str
    crm_field_name: str
    sage_source: str
    description: str

    @property
    def column_names(self) -> tuple[str, ...]:
        """`Account Reference` -> account_reference; `Quantity Break 1-10` -> ..._1 .. ..._10."""
        ranged = re.fullmatch(r"(.*?)\s+(\d+)-(\d+)", self.crm_field_name)
        if ranged:
            first, last = int(ranged[2]), int(ranged[3])
            return tuple(snake_case(f"{ranged[1]} {n}") for n in range(first, last + 1))
        return (snake_case(self.crm_field_name),)

    @property
    def names_a_column(self) -> bool:
        """Whether the map's source cites a Sage `TABLE.COLUMN` (not "Hardcoded as 2", ...)."""
        return re.search(r"\b[A-Z][A-Z_]*\.[A-Z\[]", self.sage_source) is not None


def snake_case(name: str) -> str:
    """The staging column name of a CRM field name: `Closed/Inactive` -> closed_inactive."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@cache
def field_map() -> dict[str, dict[str, MapField]]:
    """Section -> staging column name -> its field-map row (first row wins)."""
    sections: dict[str, dict[str, MapField]] = {}
    lines = FIELD_MAP_PATH.read_text(encoding="utf-8").splitlines()
    for line in [line for line in lines if line.strip() and not line.startswith("#")][1:]:
        row = MapField(*line.split("\t"))
        for name in row.column_names:
            sections.setdefault(row.section, {}).setdefault(name, row)
    return sections


def extract_field_map(text: str) -> list[MapField]:
    """The rows of the vendor's page ("Full integration capabilities of the Sage 50").

    Each section is its title (followed by at most one sentence ending in a period), the header
    lines `CRM Field Name` / `Sage 50 Source` / `Description`, then one line per cell; lines left
    over after the last whole row (notes, the next section's title) are not fields.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    header = ["CRM Field Name", "Sage 50 Source", "Description"]
    starts = [i for i in range(len(lines)) if lines[i : i + 3] == header]
    titles = [s - 2 if lines[s - 1].endswith(".") else s - 1 for s in starts]
    rows = []
    for n, start in enumerate(starts):
        body = lines[start + 3 : titles[n + 1] if n + 1 < len(titles) else len(lines)]
        rows += [MapField(lines[titles[n]], *body[i : i + 3]) for i in range(0, len(body) - 2, 3)]
    return rows


def write_field_map(page: Path) -> None:
    rows = extract_field_map(page.read_text(encoding="utf-8"))
    lines = [
        "# The vendor's field map, the help-centre article \"Full integration capabilities of the "
        f'Sage 50" (saved as text: {page.name}), extracted by `python -m assets.lineage '
        "--extract-field-map PAGE`. One row per CRM field of an import section, worded as the page "
        "words it; the page itself is not part of the repository.",
        "section\tcrm_field_name\tsage_source\tdescription",
        *("\t".join((r.section, r.crm_field_name, r.sage_source, r.description)) for r in rows),
    ]
    FIELD_MAP_PATH.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {FIELD_MAP_PATH} ({len(rows)} rows)")


# --- The graph --------------------------------------------------------------------------------


def is_sage(ref: str) -> bool:
    """`SALES_LEDGER.ACCOUNT_REF` is a Sage column; `staging.x.y` a warehouse one."""
    return ref.count(".") == 1


@dataclass(frozen=True)
class Table:
    """A warehouse table of the graph: `schema.table`, its columns and what describes them."""

    name: str
    columns: dict[str, Column]
    field_map: tuple[str, ...] = ()
    sql_table: SqlTable | None = None
    contract: ResourceContract | None = None

    @classmethod
    def of(cls, schema: str, table: SqlTable) -> Table:
        columns = {c.name: c for c in table.columns}
        return cls(f"{schema}.{table.name}", columns, table.field_map, sql_table=table)

    def rules(self, column: str) -> list[FieldRule]:
        return [f for f in self.contract.fields if f.column == column] if self.contract else []


def _sql_tables(layer: str) -> tuple[SqlTable, ...]:
    # Imported here, not at the top: the catalogues' packages define their assets through this
    # module, so only the layer asked for (always one below the caller) is loaded.
    if layer == "staging":
        from assets.staging.catalogue import SECTIONS

        return SECTIONS
    from assets.derived.catalogue import DERIVED

    return DERIVED


def _contracts() -> tuple[ResourceContract, ...]:
    from assets.ssm.contract import PUSHED

    return PUSHED


def _walk(start: str, neighbours: Callable[[str], Iterable[str]]) -> list[str]:
    """Every column reachable from `start` (breadth first: nearest first), each once."""
    seen: dict[str, None] = {}
    todo = list(neighbours(start))
    while todo:
        current = todo.pop(0)
        if current not in seen:
            seen[current] = None
            todo += neighbours(current)
    return list(seen)


@dataclass
class Lineage:
    """The column graph from Sage to SSM, read from the catalogues as far as it is asked.

    `rep_column` is the `staging.customer_accounts` column that holds the sales rep (the setting
    SAGE_REP_FIELD): the contract's lineage writes it `${rep_column}`, as the desired SQL does.
    `prospect_column` is the one that marks a prospect (SAGE_PROSPECT_MARKER), `${prospect_column}`.
    """

    rep_column: str = DEFAULT_REP_COLUMN
    prospect_column: str = DEFAULT_PROSPECT_COLUMN
    tables: dict[str, Table] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        if name not in self.tables:
            schema = name.split(".", 1)[0]
            if schema in LAYERS:
                loaded = [Table.of(schema, t) for t in _sql_tables(schema)]
            else:
                loaded = [self._desired(c) for c in _contracts()]
            self.tables.update((t.name, t) for t in loaded)
        return self.tables[name]

    def _desired(self, contract: ResourceContract) -> Table:
        from assets.staging.factory import Column

        columns = {
            c.name: Column(
                c.name,
                tuple(Template(s).substitute(self.template_columns) for s in c.sources),
                c.description,
            )
            for c in contract.desired_columns
        }
        return Table(f"ssm.desired_{contract.name}", columns, contract=contract)

    @property
    def template_columns(self) -> dict[str, str]:
        return {"rep_column": self.rep_column, "prospect_column": self.prospect_column}

    def column(self, ref: str) -> tuple[Table, Column]:
        table, name = ref.rsplit(".", 1)
        t = self.table(table)
        return t, t.columns[name]

    def upstream(self, ref: str) -> list[str]:
        """Every column `ref` is computed from, nearest first, each once (DELETED_AT included)."""
        return _walk(ref, lambda r: () if is_sage(r) else self.column(r)[1].sources)

    def sage(self, ref: str) -> tuple[str, ...]:
        return tuple(s for s in self.upstream(ref) if is_sage(s))

    def description(self, ref: str, table: Table | None = None) -> str:
        t, c = (table, table.columns[ref.rsplit(".", 1)[1]]) if table else self.column(ref)
        if c.description:
            return c.description
        if rules := t.rules(c.name):
            return "; ".join(f"SSM `{f.ssm}`: {f.description}" for f in rules)
        if t.contract and c.name == "ext_id":
            return f"The record's key in the ledger: {t.contract.key}"
        for section in t.field_map:
            if row := field_map().get(section, {}).get(c.name):
                if row.names_a_column:
                    return row.description
                return f"{row.description} (field map: {row.sage_source})"
        if len(c.sources) == 1 and not is_sage(c.sources[0]):
            return self.description(c.sources[0])
        if not c.sources:
            return "Constant"
        return ("From " if len(c.sources) == 1 else "Computed from ") + ", ".join(c.sources)

    def downstream(self) -> dict[str, list[str]]:
        """Column -> the columns computed from it, over every staging, derived and desired table."""
        for layer in LAYERS:
            for t in _sql_tables(layer):
                self.table(f"{layer}.{t.name}")
        for contract in _contracts():
            self.table(f"ssm.desired_{contract.name}")
        users: dict[str, list[str]] = {}
        for t in self.tables.values():
            for c in t.columns.values():
                for source in c.sources:
                    users.setdefault(source, []).append(f"{t.name}.{c.name}")
        return users


@cache
def lineage(
    rep_column: str = DEFAULT_REP_COLUMN, prospect_column: str = DEFAULT_PROSPECT_COLUMN
) -> Lineage:
    return Lineage(rep_column, prospect_column)


def env_columns() -> tuple[str, str]:
    """The rep and prospect marker columns (SAGE_REP_FIELD, SAGE_PROSPECT_MARKER) as the push
    reads them; the defaults when the settings are malformed (the push itself reports that, and
    the code location still loads)."""
    from assets.ssm.settings import SyncSettings

    try:
        settings = SyncSettings.from_env()
    except ValueError:
        return DEFAULT_REP_COLUMN, DEFAULT_PROSPECT_COLUMN
    return settings.rep_column, settings.prospect_column


# --- Column types -----------------------------------------------------------------------------


class _Scratch:
    """Every table created empty in an in-memory DuckDB, on demand, to read its column types.

    The Sage tables are created from the schema catalogue as the extract creates them; each
    staging, derived and desired table with the types DuckDB binds its own SQL to, without
    running it. About 0.2 s for all of them.
    """

    def __init__(self) -> None:
        self._con: duckdb.DuckDBPyConnection | None = None
        self._types: dict[str, dict[str, str]] = {}

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            from assets.staging.factory import SQL_MACROS

            self._con = duckdb.connect(":memory:")
            self._con.execute(SQL_MACROS)
            self._con.execute(" ".join(f"CREATE SCHEMA {s};" for s in ("sage", *LAYERS)))
        return self._con

    def _create(self, name: str, columns: dict[str, str]) -> dict[str, str]:
        ddl = ", ".join(f'"{n}" {t}' for n, t in columns.items())
        self.con.execute(f"CREATE TABLE {name} ({ddl})")
        return columns

    def _bind(self, sql: str) -> dict[str, str]:
        """The columns and types of a SELECT, bound (not run) over the tables created so far."""
        relation = self.con.sql(sql)
        return dict(zip(relation.columns, map(str, relation.types), strict=True))

    def types(
        self, name: str, sql_table: SqlTable | None = None, sql: str | None = None
    ) -> dict[str, str]:
        """Column -> DuckDB type of `schema.table` (a Sage table is `sage.<lower-case name>`);
        a staging or derived table is the catalogue's unless given, with its SQL file's SELECT
        unless given."""
        if name not in self._types:
            try:
                self._types[name] = self._build(name, sql_table, sql)
            except (duckdb.Error, KeyError) as exc:
                log.warning("column types of %s unknown: %s", name, exc)
                self._types[name] = {}
        return self._types[name]

    def _build(self, name: str, sql_table: SqlTable | None, sql: str | None) -> dict[str, str]:
        from assets.staging.factory import read_sql, upstream_key

        schema, table = name.split(".")
        if schema == "sage":
            columns = {c.name.lower(): c.duckdb_type for c in table_columns(table.upper())}
            return self._create(
                name, columns | {"deleted_at": "TIMESTAMP", "loaded_at": "TIMESTAMP"}
            )
        sql_table = sql_table or lineage().table(name).sql_table
        assert sql_table is not None
        for read in sql_table.reads:
            self.types(".".join(upstream_key(read).path[-2:]))  # without the company
        sql = sql or read_sql(sql_table, ROOT / "assets" / schema / "sql")
        return self._create(name, self._bind(sql))

    def desired_types(
        self, contract: ResourceContract, rep_column: str, prospect_column: str
    ) -> dict[str, str]:
        from assets.ssm.desired import desired_sql
        from assets.ssm.settings import SyncSettings

        try:
            for source in contract.sources:
                if not self.types(source):
                    return {}
            columns = SyncSettings(rep_column=rep_column, prospect_column=prospect_column)
            return self._bind(desired_sql(contract, columns))
        except duckdb.Error as exc:
            log.warning("column types of ssm.desired_%s unknown: %s", contract.name, exc)
            return {}


_scratch = _Scratch()


# --- Definition metadata ----------------------------------------------------------------------


def _cell(refs: Iterable[str], strip_schema: bool = False) -> str:
    refs = [r.split(".", 1)[1] if strip_schema else r for r in refs]
    return ", ".join(f"`{r}`" for r in refs) or "—"


def _md_table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _schema(graph: Lineage, table: Table, types: dict[str, str]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name,
                types.get(name, UNKNOWN_TYPE),
                description=graph.description(f"{table.name}.{name}", table),
            )
            for name in table.columns
        ]
    )


def table_metadata(schema: str, sql_table: SqlTable, sql: str) -> dict[str, object]:
    """Definition metadata of a staging or derived asset: typed, described columns and lineage."""
    graph = lineage()
    table = Table.of(schema, sql_table)
    rows = [
        (f"`{c.name}`", _cell(c.sources))
        + (() if schema == "staging" else (_cell(graph.sage(f"{table.name}.{c.name}")),))
        for c in sql_table.columns
    ]
    header = ("column", "from") + (() if schema == "staging" else ("Sage",))
    return {
        "dagster/column_schema": _schema(graph, table, _scratch.types(table.name, sql_table, sql)),
        "column_lineage": dg.MetadataValue.md(_md_table(header, rows)),
    }


def desired_metadata(contract: ResourceContract) -> dict[str, object]:
    """Definition metadata of `ssm/desired_<resource>`: its columns, their SSM fields and sources."""
    from assets.staging.factory import column_lineage

    columns = env_columns()
    graph = lineage(*columns)
    table = graph.table(f"ssm.desired_{contract.name}")
    rows = [
        (
            f"`{c.name}`",
            ", ".join(f"`{f.ssm}`" for f in table.rules(c.name)) or "—",
            _cell(c.sources),
            _cell(graph.sage(f"{table.name}.{c.name}")),
        )
        for c in table.columns.values()
    ]
    types = _scratch.desired_types(contract, *columns)
    return {
        "dagster/column_schema": _schema(graph, table, types),
        "dagster/column_lineage": column_lineage(table.columns.values()),
        "column_lineage": dg.MetadataValue.md(
            _md_table(("column", "SSM field", "from", "Sage"), rows)
        ),
    }


def field_sage_sources(contract: ResourceContract, rule: FieldRule) -> tuple[str, ...]:
    """The Sage columns an SSM field comes from (none for a constant or a setting)."""
    if rule.column is None:
        return ()
    return lineage(*env_columns()).sage(f"ssm.desired_{contract.name}.{rule.column}")


def with_descriptions(actual: dg.TableSchema, table: SqlTable, schema: str) -> dg.TableSchema:
    """The schema a build reports (DuckDB's types) with the definition's column descriptions."""
    graph, described = lineage(), Table.of(schema, table)
    known = set(described.columns)
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.type,
                description=graph.description(f"{described.name}.{c.name}", described)
                if c.name in known
                else None,
            )
            for c in actual.columns
        ]
    )


# --- docs/lineage.md --------------------------------------------------------------------------


INTRO = """# Column lineage

<!-- Generated by `python -m assets.lineage` from assets/staging/catalogue.py,
assets/derived/catalogue.py, assets/ssm/contract.py and resources/sage_schema.py; do not edit by
hand. -->

Where every field the connector sends to Sage Sales Management (SSM) comes from in Sage 50, and
where every Sage column goes. Sage columns are written `TABLE.COLUMN` (the ODBC driver's names),
warehouse columns `table.column` under their layer; `TABLE.DELETED_AT` is when the connector saw
the Sage row deleted (the warehouse's soft delete), not a Sage column. The sales rep is the
customer column the setting `SAGE_REP_FIELD` names (`$rep_column` here, the default), and the
prospect marker the column `SAGE_PROSPECT_MARKER` names (`$prospect_column` here). Who owns
each field and when it is sent: `docs/sync-contract.md`. A Sage column the extract reads only to
find changes and deletes (`RECORD_MODIFY_DATE`, the `DELETED_RECORDS` log) is listed as not used.

The Dagster UI shows the same lineage: the definition metadata of each `staging`, `derived` and
`ssm/desired_*` asset has a `column_lineage` table and its column schema with a description per
column (the field map's where it has one).

## SSM fields back to Sage
"""


def _layers(refs: Iterable[str]) -> dict[str, str]:
    """Columns grouped by layer, each layer's as one table cell (schema left out)."""
    by_layer: dict[str, list[str]] = {"ssm": [], "derived": [], "staging": [], "sage": []}
    for ref in refs:
        by_layer["sage" if is_sage(ref) else ref.split(".", 1)[0]].append(ref)
    cells = {layer: _cell(refs, strip_schema=True) for layer, refs in by_layer.items()}
    return cells | {"sage": _cell(by_layer["sage"])}


def _field_rows(graph: Lineage, contract: ResourceContract) -> Iterator[tuple[str, ...]]:
    """One row per SSM field: its desired column and every column upstream of it, by layer."""
    for rule in contract.fields:
        if rule.column is None:
            what = rule.source_text if rule.setting else f"constant {rule.source_text}"
            yield (f"`{rule.ssm}`", what, "—", "—", "—")
            continue
        ref = f"ssm.desired_{contract.name}.{rule.column}"
        up = _layers(graph.upstream(ref))
        sage = up["sage"] if graph.sage(ref) else f"none: {graph.description(ref)}"
        yield (f"`{rule.ssm}`", f"`{rule.column}`", up["derived"], up["staging"], sage)


def _sage_rows(
    sage_table: str, users: dict[str, list[str]], fields: dict[str, list[str]]
) -> tuple[list[tuple[str, ...]], list[str]]:
    """One row per Sage column that lands somewhere, and the names of those that do not."""
    rows, unused = [], []
    for column in table_columns(sage_table):
        reached = _walk(f"{sage_table}.{column.name}", lambda r: users.get(r, ()))
        if not reached:
            unused.append(column.name)
            continue
        down = _layers(reached)
        ssm = dict.fromkeys(f for r in reached for f in fields.get(r, ()))
        row = (down["staging"], down["derived"], ", ".join(f"`{f}`" for f in ssm) or "—")
        rows.append((f"`{column.name}`", *row))
    return rows, unused


def render_markdown() -> str:
    """The page docs/lineage.md, from the catalogues alone (the default rep column)."""
    from assets.sage.catalogue import BY_TABLE

    graph = Lineage()
    lines = [Template(INTRO).substitute(graph.template_columns)]
    for contract in _contracts():
        source = f"ssm.desired_{contract.name}"
        lines += [
            f"### {contract.name}",
            "",
            f"**{contract.title}** — `/{contract.ssm_resource}`, from `{source}`",
            "",
            _md_table(
                ("SSM field", "desired column", "derived", "staging", "Sage"),
                _field_rows(graph, contract),
            ),
            "",
        ]
    lines += ["## Sage columns forward", ""]
    users = graph.downstream()
    fields: dict[str, list[str]] = {}
    for c in _contracts():
        for f in c.fields:
            if f.column:
                fields.setdefault(f"ssm.desired_{c.name}.{f.column}", []).append(
                    f"{c.name}.{f.ssm}"
                )
    for sage_table in CRM_TABLES:
        rows, unused = _sage_rows(sage_table, users, fields)
        total = len(rows) + len(unused)
        lines += [
            f"### {sage_table}",
            "",
            f"{BY_TABLE[sage_table].description} {len(rows)} of {total} columns used.",
            "",
        ]
        if rows:
            lines += [_md_table(("Sage column", "staging", "derived", "SSM"), rows), ""]
        if unused:
            lines += ["Not used: " + ", ".join(f"`{u}`" for u in unused) + ".", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Write docs/lineage.md; `--check`: exit 1 when it is stale; `--extract-field-map PAGE`:
    rewrite assets/staging/field_map.tsv from the vendor's page saved as text."""
    args = sys.argv[1:] if argv is None else argv
    if "--extract-field-map" in args:
        write_field_map(Path(args[args.index("--extract-field-map") + 1]))
        return 0
    return write_or_check(
        DOC_PATH, render_markdown(), "python -m assets.lineage", check="--check" in args
    )


if __name__ == "__main__":
    raise SystemExit(main())
