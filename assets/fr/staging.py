"""`staging` from a Sage 50 FR source: the same tables, keys and column types as the UK path.

Each section's FR SELECT (`sql/<section>.sql`) names only the columns FR fills, reading
`sage_fr.*`; this module wraps it so the table comes out exactly as the UK SELECT types it (every
column in the UK order, cast to the UK type, null where FR has nothing), read by binding the UK
SQL over an empty `sage` schema in memory. Sections FR has no source for (purchases, the audit
trail's splits and usages, price lists, the discount matrix) are built empty with the same shape,
so everything downstream (derived, the desired state, the push) reads them unchanged.

Two columns are settings rather than fixed names: `_rep` goes to the customer column the sales
rep is read from (SAGE_REP_FIELD, default analysis_2) and `_prospect` to the prospect marker's
column (SAGE_PROSPECT_MARKER, default analysis_1=Prospect).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from assets import company
from assets.fr.layout import Layout, default_layout, fold
from assets.sage.factory import REVERSE_WRITES
from assets.ssm.settings import SyncSettings
from assets.staging import SQL_DIR as UK_SQL_DIR
from assets.staging.catalogue import SECTIONS
from assets.staging.checks import INVARIANTS
from assets.staging.factory import (
    SQL_MACROS,
    build_invariant_checks,
    read_sql,
    referenced_tables,
    table_schema,
)
from resources.sage_schema import CRM_TABLES, table_columns

SQL_DIR = Path(__file__).with_name("sql")


@cache
def uk_shapes() -> dict[str, tuple[tuple[str, str], ...]]:
    """Section -> its (column, DuckDB type), as the UK SQL binds them (nothing is run)."""
    con = duckdb.connect(":memory:")
    con.execute(SQL_MACROS)
    con.execute("CREATE SCHEMA sage; CREATE SCHEMA quarantine")
    for table in CRM_TABLES:
        columns = [f'"{c.name.lower()}" {c.duckdb_type}' for c in table_columns(table)]
        columns += ["deleted_at TIMESTAMP", "loaded_at TIMESTAMP"]
        con.execute(f"CREATE TABLE sage.{table.lower()} ({', '.join(columns)})")
    shapes = {}
    for section in SECTIONS:
        relation = con.sql(read_sql(section, UK_SQL_DIR))
        shapes[section.name] = tuple(zip(relation.columns, map(str, relation.types), strict=True))
    con.close()
    return shapes


def fr_sql_file(section: str) -> Path | None:
    path = SQL_DIR / f"{section}.sql"
    return path if path.exists() else None


def fr_select(section: str, layout: Layout, settings: SyncSettings) -> str | None:
    """The FR SELECT of `section`, its templates filled; None when FR has no source for it."""
    path = fr_sql_file(section)
    if path is None:
        return None

    def fill(name: str, **more: str) -> str:
        text = (SQL_DIR / name).read_text(encoding="utf-8")
        return Template(text).substitute(
            currency=_text(layout.currency),
            tva_rates=", ".join(f"({r})" for r in layout.tva_rates) or "(NULL)",
            prospect_marker=_text(settings.prospect_marker),
            document_types=document_types(layout),
            **more,
        )

    documents, lines = fill("_documents.sql"), fill("_lines.sql")
    document_lines = fill("_document_lines.sql", documents=documents, lines=lines)
    invoice_lines = fill("_invoice_lines.sql", document_lines=document_lines)
    return fill(
        path.name,
        documents=documents,
        lines=lines,
        document_lines=document_lines,
        invoice_lines=invoice_lines,
    )


def wrapped_sql(section: str, layout: Layout, settings: SyncSettings) -> str:
    """The SELECT that builds `staging.<section>` from `sage_fr`, typed as the UK one."""
    shape = uk_shapes()[section]
    inner = fr_select(section, layout, settings)
    if inner is None:
        columns = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in shape)
        return f"SELECT {columns} WHERE FALSE"
    aliases = {settings.rep_column: "_rep", settings.prospect_column: "_prospect"}
    con = duckdb.connect(":memory:")
    given = set(_bind_columns(con, inner, layout))
    con.close()
    names = {c for c, _ in shape}
    unknown = given - names - {"_rep", "_prospect"}
    if unknown:
        raise ValueError(
            f"sql/{section}.sql selects columns staging.{section} lacks: {sorted(unknown)}"
        )
    columns = []
    for name, kind in shape:
        source = aliases[name] if aliases.get(name) in given else name
        if source in given:
            columns.append(f'CAST(fr."{source}" AS {kind}) AS "{name}"')
        else:
            columns.append(f'CAST(NULL AS {kind}) AS "{name}"')
    return f"SELECT {', '.join(columns)}\nFROM (\n{inner}\n) AS fr"  # noqa: S608


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def document_types(layout: Layout) -> str:
    """The layout's document types as SQL VALUES rows: (folded title, becomes, number base)."""
    rows = ", ".join(
        f"({_text(fold(t.title))}, {_text(t.becomes)}, {t.number_base})"
        for t in layout.document_types
    )
    return rows or "(NULL, NULL, 0)"


def _bind_columns(con: duckdb.DuckDBPyConnection, sql: str, layout: Layout) -> list[str]:
    """The columns a FR SELECT gives, bound over empty `sage_fr` tables."""
    from assets.fr.warehouse import ensure_tables

    con.execute(SQL_MACROS)
    con.execute(FR_MACROS)
    ensure_tables(con, layout)
    return list(con.sql(sql).columns)


# The FR SELECTs' helpers, beside the UK ones (SQL_MACROS).
FR_MACROS = """
CREATE OR REPLACE TEMP MACRO fold(x) AS
    regexp_replace(lower(strip_accents(coalesce(x, ''))), '[^a-z0-9]', '', 'g');
CREATE OR REPLACE TEMP MACRO piece_number(x) AS
    TRY_CAST(nullif(regexp_replace(coalesce(x, ''), '[^0-9]', '', 'g'), '') AS BIGINT);
CREATE OR REPLACE TEMP MACRO tva_code(rate) AS 'TVA' || replace(
    regexp_replace(CAST(CAST(rate AS DECIMAL(9, 4)) AS VARCHAR), '\\.?0+$', ''), '.', ',');
"""


@dataclass(frozen=True)
class FrSection:
    """A staging section as the FR source builds it."""

    name: str
    reads: tuple[str, ...]  # sage_fr tables

    @property
    def asset_key(self) -> dg.AssetKey:
        return company.key("staging", self.name)


def fr_sections(layout: Layout) -> tuple[FrSection, ...]:
    """Every UK section, with the `sage_fr` tables its FR SELECT reads (none: built empty)."""
    known = {t.warehouse_name for t in layout.tables}
    out = []
    for section in SECTIONS:
        sql = fr_select(section.name, layout, SyncSettings())
        reads = tuple(sorted(t for t in _fr_tables(sql or "") if t in known))
        out.append(FrSection(section.name, reads))
    return tuple(out)


def _fr_tables(sql: str) -> set[str]:
    sql = re.sub(r"--[^\n]*", "", sql)
    return {m.lower() for m in re.findall(r"\bsage_fr\.[a-z_0-9]+\b", sql, re.I)}


def build_section(
    con: duckdb.DuckDBPyConnection, section: str, layout: Layout, settings: SyncSettings
) -> int:
    sql = wrapped_sql(section, layout, settings)
    con.execute(SQL_MACROS)
    con.execute(FR_MACROS)
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute(f"CREATE OR REPLACE TABLE staging.{section} AS\n{sql}")
    return con.execute(f"SELECT count(*) FROM staging.{section}").fetchall()[0][0]  # noqa: S608


def build_all(con: duckdb.DuckDBPyConnection, layout: Layout, settings: SyncSettings) -> None:
    for section in SECTIONS:
        build_section(con, section.name, layout, settings)


# The reverse flow's writers come first: SSM gets a record's Sage code before the push sees the
# record in an export (assets/fr/reverse.py), as a UK extract waits for them (REVERSE_WRITES).
AFTER_REVERSE = {
    "customer_accounts": (REVERSE_WRITES["SALES_LEDGER"],),
    "contacts": (REVERSE_WRITES["SALES_LEDGER"], REVERSE_WRITES["SALES_DEL_ADDR"]),
    # a devis the export shows is returned to SSM before the push sees it (assets/fr/devis.py)
    "sales_order_headers": (REVERSE_WRITES["SALES_ORDER"],),
}


def _section_asset(section: FrSection, description: str) -> dg.AssetsDefinition:
    source_keys = [company.key("sage_fr", t.split(".", 1)[1]) for t in section.reads]
    source_keys += AFTER_REVERSE.get(section.name, ())

    @dg.asset(
        key=section.asset_key,
        group_name="staging",
        deps=source_keys,
        pool=company.pool("warehouse"),
        kinds={"duckdb", "sql"},
        description=description,
        metadata={"dagster/table_name": f"staging.{section.name}", "edition": "fr"},
    )
    def _table(warehouse: DuckDBResource) -> dg.MaterializeResult:
        layout = default_layout()
        with warehouse.get_connection() as con:
            from assets.fr.warehouse import ensure_tables

            ensure_tables(con, layout)  # a first sync before any export file
            rows = build_section(con, section.name, layout, SyncSettings.from_env())
            columns = table_schema(con, "staging", section.name)
        return dg.MaterializeResult(
            metadata={"dagster/row_count": rows, "dagster/column_schema": columns}
        )

    return _table


def staging_assets(layout: Layout) -> list[dg.AssetsDefinition]:
    by_name = {s.name: s for s in SECTIONS}
    out = []
    for section in fr_sections(layout):
        base = by_name[section.name].description
        how = (
            f"Built from {', '.join(section.reads)} (Sage 50 FR exports)."
            if section.reads
            else "Sage 50 FR exports have no equivalent: empty, with the UK columns."
        )
        out.append(_section_asset(section, f"{base}\n\n{how}"))
    return out


def staging_checks() -> list[dg.AssetChecksDefinition]:
    """The staging invariants that read no UK `sage` table (the others have nothing to judge)."""
    return build_invariant_checks(
        [
            i
            for i in INVARIANTS
            if not any(t.startswith("sage.") for t in referenced_tables(i.offenders))
            and not any("." not in t for t in i.reads)
        ]
    )
