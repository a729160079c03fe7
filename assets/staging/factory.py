"""One factory for every SQL-defined warehouse table: a declarative `SqlTable` in, an asset out.

Both `staging` and `derived` are catalogues of `SqlTable`s. Each becomes one unpartitioned asset
that rebuilds its table from the whole upstream tables in one `CREATE OR REPLACE TABLE ... AS`
statement (atomic in DuckDB, so readers never see a half-built section). Its definition metadata
carries the column schema (types and a description per column) and the column lineage, both as
`dagster/column_lineage` and as a `column_lineage` table the open-source UI shows (see
`assets/lineage.py`); a build reports row count, schema and lineage again. Every sync rebuilds it; after a backfill
of months, the sensor `sync_after_sage_update` starts that sync.
"""

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from assets import company
from assets.sage.warehouse import ensure_quarantine

# Rounding rules, applied once on the way into `staging` (Sage hands out binary doubles).
# TEMP macros live only on the connection that builds the table, so the SQL files stay short.
# TRY_CAST: a number the DECIMAL cannot hold (NaN, infinite, too large) becomes NULL instead of
# failing the whole table; the extract quarantines such values, and the check
# `numbers_staging_can_hold` reports (and holds back) any that landed before it did.
SQL_MACROS = """
CREATE OR REPLACE TEMP MACRO money(x) AS TRY_CAST(round(x, 2) AS DECIMAL(18, 2));
CREATE OR REPLACE TEMP MACRO unit_price(x) AS TRY_CAST(round(x, 4) AS DECIMAL(18, 4));
CREATE OR REPLACE TEMP MACRO quantity(x) AS TRY_CAST(round(x, 4) AS DECIMAL(18, 4));
CREATE OR REPLACE TEMP MACRO percent(x) AS TRY_CAST(round(x, 4) AS DECIMAL(9, 4));
CREATE OR REPLACE TEMP MACRO exchange_rate(x) AS TRY_CAST(round(x, 6) AS DECIMAL(18, 6));
CREATE OR REPLACE TEMP MACRO flag(x) AS coalesce(x, 0) = 1;
CREATE OR REPLACE TEMP MACRO yes(x) AS coalesce(upper(trim(x)), '') = 'Y';
CREATE OR REPLACE TEMP MACRO text_number(x) AS CAST(x AS VARCHAR);
CREATE OR REPLACE TEMP MACRO day_of_month(d, n) AS
    make_date(year(d), month(d), least(greatest(n, 1), day(last_day(d))));
"""

Lineage = tuple[str, ...]


@dataclass(frozen=True)
class Column:
    """One output column and the upstream columns it is computed from (empty for constants).

    An upstream column is written `TABLE.COLUMN` for a Sage table (the field map's spelling,
    e.g. `SALES_LEDGER.ACCOUNT_REF`) or `schema.table.column` for a warehouse table.
    `description` is needed only where neither the field map nor the sources say enough (see
    `assets/lineage.py: Lineage.description`).
    """

    name: str
    sources: Lineage = ()
    description: str = ""


def col(name: str, *sources: str, description: str = "") -> Column:
    return Column(name, tuple(sources), description)


@dataclass(frozen=True)
class SqlTable:
    """A warehouse table built by one SELECT over upstream tables."""

    name: str
    description: str
    reads: tuple[str, ...]  # upstream tables: Sage names (`SALES_LEDGER`) or `schema.table`
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    sql_file: str | None = None  # defaults to sql/<name>.sql beside the catalogue
    document_date: str | None = None  # the column by which Sage partitions the source documents
    filter: str = (
        "TRUE"  # the section's row filter, substituted for `{filter}` in a shared SQL file
    )
    notes: tuple[str, ...] = field(default=())
    # the field map's import sections that describe these columns (assets/staging/field_map.tsv),
    # first match first: a column takes the description of the CRM field of the same snake_case
    field_map: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def upstream_key(table: str) -> dg.AssetKey:
    """`SALES_LEDGER` -> sage/sales_ledger; `staging.product_items` -> staging/product_items."""
    if "." in table:
        schema, name = table.split(".", 1)
        return company.key(schema, name)
    return company.key("sage", table.lower())


def upstream_column(source: str) -> tuple[dg.AssetKey, str]:
    table, column = source.rsplit(".", 1)
    return upstream_key(table), column.lower()


def column_lineage(columns: Iterable[Column]) -> dg.TableColumnLineage:
    return dg.TableColumnLineage(
        deps_by_column={
            c.name: [
                dg.TableColumnDep(asset_key=key, column_name=column)
                for key, column in map(upstream_column, c.sources)
            ]
            for c in columns
            if c.sources
        }
    )


def read_sql(table: SqlTable, sql_dir: Path) -> str:
    sql = (sql_dir / (table.sql_file or f"{table.name}.sql")).read_text(encoding="utf-8")
    # `{select:NAME}` inlines sql/NAME.sql, so a section can rename another's SELECT.
    sql = re.sub(
        r"\{select:(\w+)\}",
        lambda m: (sql_dir / f"{m[1]}.sql").read_text(encoding="utf-8"),
        sql,
    )
    return sql.replace("{filter}", table.filter)


def referenced_tables(sql: str) -> set[str]:
    """Warehouse tables a SELECT names, as `schema.table`."""
    sql = re.sub(r"--[^\n]*", "", sql)
    pattern = r"\b(?:sage|staging|derived|quarantine)\.[a-z_0-9]+\b"
    return {m.lower() for m in re.findall(pattern, sql, re.I)}


def build_table(con: duckdb.DuckDBPyConnection, schema: str, table: SqlTable, sql: str) -> int:
    """(Re)build `schema.table` from its SELECT; returns its row count."""
    con.execute(SQL_MACROS)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(f"CREATE OR REPLACE TABLE {schema}.{table.name} AS\n{sql}")
    # Identifiers and SQL come from the catalogues in this repository, never from input.
    return con.execute(f"SELECT count(*) FROM {schema}.{table.name}").fetchall()[0][0]  # noqa: S608


def table_schema(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> dg.TableSchema:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return dg.TableSchema(columns=[dg.TableColumn(name=n, type=t) for n, t in rows])


def build_table_asset(
    table: SqlTable,
    *,
    schema: str,
    sql_dir: Path,
) -> dg.AssetsDefinition:
    # assets.lineage reads the catalogues, which import this module: imported when first used.
    from assets.lineage import table_metadata, with_descriptions

    sql = read_sql(table, sql_dir)  # read at definition time: a missing file fails the code load
    lineage = column_lineage(table.columns)
    description = table.description
    if table.notes:
        description += "\n\n" + "\n".join(f"- {n}" for n in table.notes)

    @dg.asset(
        key=company.key(schema, table.name),
        group_name=schema,
        deps=[upstream_key(t) for t in table.reads],
        pool=company.pool("warehouse"),
        kinds={"duckdb", "sql"},
        description=description,
        metadata={
            "dagster/table_name": f"{schema}.{table.name}",
            "dagster/column_lineage": lineage,
            "key": ", ".join(table.key),
            **({"document_date": table.document_date} if table.document_date else {}),
            **table_metadata(schema, table, sql),
        },
    )
    def _table(warehouse: DuckDBResource) -> dg.MaterializeResult:
        with warehouse.get_connection() as con:
            try:
                rows = build_table(con, schema, table, sql)
            except duckdb.CatalogException as exc:
                raise dg.Failure(
                    f"{schema}.{table.name} could not be built because an upstream table is "
                    f"missing ({exc}). Materialize its upstream assets "
                    f"({', '.join(upstream_key(t).to_user_string() for t in table.reads)}) first."
                ) from exc
            columns = with_descriptions(table_schema(con, schema, table.name), table, schema)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "dagster/column_schema": columns,
                "dagster/column_lineage": lineage,
            }
        )

    return _table


def build_table_assets(
    tables: Iterable[SqlTable], *, schema: str, sql_dir: Path
) -> list[dg.AssetsDefinition]:
    return [build_table_asset(t, schema=schema, sql_dir=sql_dir) for t in tables]


@dataclass(frozen=True)
class Hold:
    """The SSM records an invariant's offenders hold back from the push until they are right.

    `key` is an SQL expression over the offenders' columns giving the record's extId (NULL: no
    record); `reason` says why in words, `detail` (SQL over the same columns) names what is
    wrong with this one. A held record is neither created, updated nor deleted in SSM.
    """

    resource: str
    key: str
    reason: str
    detail: str = "NULL"

    def sql(self, offenders: str) -> str:
        """SELECT ext_id, reason of the records `offenders` holds back."""
        reason = "'" + self.reason.replace("'", "''") + "'"
        return (
            f"SELECT CAST({self.key} AS VARCHAR) AS ext_id, "  # noqa: S608 - declared here
            f"{reason} || coalesce(' (' || CAST({self.detail} AS VARCHAR) || ')', '') AS reason "
            f"FROM ({offenders}) AS o WHERE ({self.key}) IS NOT NULL"
        )


@dataclass(frozen=True)
class Invariant:
    """A business rule over the warehouse: `offenders` selects the keys of the rows breaking it.

    An invariant guards the records it is about: its `holds` name the SSM records its offenders
    hold back (a document whose lines do not add up, an orphan line), and every other record
    goes on, so its check reports (WARN) instead of stopping the push. A blocking invariant
    stops everything downstream: only for what no hold can contain.
    """

    name: str
    asset: str  # `schema.table` the check is attached to
    description: str
    offenders: str  # SELECT returning one row per offending record, key columns first
    blocking: bool = False
    reads: tuple[str, ...] = ()  # further upstream tables the SELECT reads
    holds: tuple[Hold, ...] = ()


SAMPLE_SIZE = 10


def build_invariant_check(invariant: Invariant) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=upstream_key(invariant.asset),
        name=invariant.name,
        description=invariant.description + held_back_note(invariant),
        blocking=invariant.blocking,
        additional_deps=[upstream_key(t) for t in invariant.reads],
        pool=company.pool("warehouse"),
    )
    def _check(warehouse: DuckDBResource) -> dg.AssetCheckResult:
        with warehouse.get_connection() as con:
            return _check_result(con, invariant)

    return _check


def _check_result(
    con: duckdb.DuckDBPyConnection, invariant: Invariant, **kwargs: object
) -> dg.AssetCheckResult:
    """The check result of `invariant`: its offenders, and the records they hold back."""
    failing, sample = evaluate_invariant(con, invariant)
    metadata: dict[str, object] = {
        "failing_count": failing,
        "sample": dg.MetadataValue.json(sample),
    }
    if invariant.holds:
        held = held_back_by(con, invariant) if failing else {}
        metadata["held_back"] = sum(len(keys) for keys in held.values())
        metadata["held_back_sample"] = dg.MetadataValue.json(
            {resource: keys[:SAMPLE_SIZE] for resource, keys in held.items()}
        )
    return dg.AssetCheckResult(
        passed=failing == 0,
        severity=dg.AssetCheckSeverity.ERROR if invariant.blocking else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        **kwargs,  # type: ignore[arg-type]
    )


def build_invariants_check(name: str, invariants: Sequence[Invariant]) -> dg.AssetChecksDefinition:
    """One step that judges several non-blocking invariants of different assets (each its own
    check in the UI): cheaper for a run than a step per check."""
    specs = {
        dg.AssetCheckKey(upstream_key(i.asset), i.name): dg.AssetCheckSpec(
            i.name,
            asset=upstream_key(i.asset),
            description=i.description + held_back_note(i),
            additional_deps=[upstream_key(t) for t in i.reads],
        )
        for i in invariants
    }
    by_key = {dg.AssetCheckKey(upstream_key(i.asset), i.name): i for i in invariants}

    @dg.multi_asset_check(
        name=name, specs=list(specs.values()), can_subset=True, pool=company.pool("warehouse")
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
    ) -> Iterator[dg.AssetCheckResult]:
        with warehouse.get_connection() as con:
            for key in sorted(context.selected_asset_check_keys, key=str):
                yield _check_result(con, by_key[key], asset_key=key.asset_key, check_name=key.name)

    return _checks


def held_back_note(invariant: Invariant) -> str:
    if not invariant.holds:
        return ""
    resources = ", ".join(dict.fromkeys(h.resource for h in invariant.holds))
    return f" Offenders are held back from the push ({resources}); the other records go on."


def held_back_by(con: duckdb.DuckDBPyConnection, invariant: Invariant) -> dict[str, list[str]]:
    """The extIds `invariant`'s offenders hold back, by SSM resource."""
    held: dict[str, list[str]] = {}
    for hold in invariant.holds:
        rows = con.execute(
            f"SELECT DISTINCT ext_id FROM ({hold.sql(invariant.offenders)}) ORDER BY 1"  # noqa: S608
        ).fetchall()
        if rows:
            held.setdefault(hold.resource, []).extend(k for (k,) in rows)
    return held


def evaluate_invariant(
    con: duckdb.DuckDBPyConnection, invariant: Invariant
) -> tuple[int, list[dict[str, object]]]:
    """How many records break the invariant, and the first few of them (keys first)."""
    con.execute(SQL_MACROS)
    if any(t.startswith("quarantine.") for t in referenced_tables(invariant.offenders)):
        ensure_quarantine(con)  # a warehouse no extract has written yet
    # The SELECT is an invariant declared in this repository, never input.
    failing = con.execute(f"SELECT count(*) FROM ({invariant.offenders})").fetchall()[0][0]  # noqa: S608
    if not failing:
        return 0, []
    cursor = con.execute(f"SELECT * FROM ({invariant.offenders}) LIMIT {SAMPLE_SIZE}")  # noqa: S608
    names = [d[0] for d in cursor.description]
    sample = [dict(zip(names, map(_plain, row), strict=True)) for row in cursor.fetchall()]
    return failing, sample


def _plain(value: object) -> object:
    """JSON-safe rendering of a DuckDB value for check metadata."""
    return value if value is None or isinstance(value, (int, float, str, bool)) else str(value)


def build_invariant_checks(invariants: Sequence[Invariant]) -> list[dg.AssetChecksDefinition]:
    return [build_invariant_check(i) for i in invariants]
