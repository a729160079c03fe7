"""Desired state: `ssm.desired_<resource>` from `sql/desired_<resource>.sql`.

Each SQL file reads `staging`/`derived` and returns `ext_id` plus the columns the contract's
fields name. A record without a key cannot be pushed: it is left out and counted. A key that
appears twice is pushed once (the same row every run, so the choice does not flap) and counted,
so the UI shows it instead of SSM getting a duplicate.

Held back: a record the invariants of `staging` and `derived` find wrong (a document whose lines
do not add up, an orphan line, a document with a part in quarantine, a Sage number staging
cannot hold; see their `holds`), or a line of a held document (the lines of a held order), is
left out of the desired table and listed, with its reasons, in `ssm.held_<resource>` (ext_id,
reason) and in `quarantine.held_back` (since when, by which run). The push must neither create, update nor
delete a held record: one already in SSM keeps its last good values until it is right again,
when it leaves both lists and is pushed as usual. A resource's own rules can hold records too:
`sql/held_<resource>.sql` (ext_id, reason), e.g. the contacts of a prospect account.

The SQL files are templates: `${rep_column}` and the prospect settings (`sql_parameters`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template

import duckdb

from assets.derived.checks import INVARIANTS as DERIVED_INVARIANTS
from assets.sage.warehouse import HELD_BACK_TABLE, ensure_quarantine
from assets.ssm import ledger
from assets.ssm.contract import ResourceContract
from assets.ssm.plan import desired_table, held_table
from assets.ssm.settings import QUOTE_MARKER, SyncSettings
from assets.staging.checks import INVARIANTS as STAGING_INVARIANTS
from assets.staging.checks import NUMBER_INVARIANTS
from assets.staging.factory import SQL_MACROS

log = logging.getLogger(__name__)
SQL_DIR = Path(__file__).resolve().parent / "sql"
HELD_LAYER = "ssm"  # quarantine.held_back.layer of what the push holds back
INVARIANTS = (*STAGING_INVARIANTS, *NUMBER_INVARIANTS, *DERIVED_INVARIANTS)
# Resources whose records are lines of another's documents: a held document holds its lines
# (an account held back does not hold its invoices: each document stands on its own).
DOCUMENT_OF = {"sales_order_lines": "sales_orders"}
SAMPLE_SIZE = 10


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_parameters(settings: SyncSettings) -> dict[str, str]:
    """The `${...}` values of the SQL templates, as SQL: column names (validated identifiers in
    SyncSettings), quoted text and boolean literals."""
    return {
        "rep_column": settings.rep_column,
        "prospect_column": settings.prospect_column,
        "prospect_marker": _text(settings.prospect_marker.strip().lower()),
        "prospects_in_sage": str(settings.prospects_in_sage).lower(),
        "first_invoice_converts": str(settings.first_invoice_converts).lower(),
        "special_rates_with_list": str(settings.special_rates_with_list).lower(),
        # a customer's own rate is written by the company that writes its account: with shared
        # keys, the owner (the others' `SPECIAL:<code>` would be the same SSM rate)
        "customer_rates": str(settings.writes_parties).lower(),
        "prospect_status": _text(settings.prospect_status),
        "client_status": _text(settings.client_status),
        "quote_marker": _text(QUOTE_MARKER + "%"),
        "quote_priced_status": _text(settings.quote_priced_status),
        "quote_ordered_status": _text(settings.quote_ordered_status)
        if settings.quote_ordered_status
        else "NULL",
    }


def _template(path: Path, settings: SyncSettings) -> str:
    return Template(path.read_text(encoding="utf-8")).substitute(sql_parameters(settings))


def desired_sql(contract: ResourceContract, settings: SyncSettings) -> str:
    return _template(SQL_DIR / f"desired_{contract.name}.sql", settings)


def own_held_sql(contract: ResourceContract, settings: SyncSettings) -> str | None:
    """SELECT ext_id, reason of the records the resource's own rules hold back, if it has any."""
    path = SQL_DIR / f"held_{contract.name}.sql"
    return _template(path, settings) if path.exists() else None


@dataclass(frozen=True)
class DesiredStats:
    rows: int
    missing_key: int
    duplicate_keys: int
    duplicate_sample: tuple[str, ...]
    held_back: int = 0
    held_sample: tuple[str, ...] = ()  # "extId: reasons"


def _holds_on(resources: set[str]) -> Iterator[tuple[str, str, str]]:
    """(resource, SELECT ext_id, reason, the invariant) of every hold on `resources`, each SQL
    once (the three invoice sections read the same Sage numbers)."""
    seen = set()
    for invariant in INVARIANTS:
        for hold in invariant.holds:
            sql = hold.sql(invariant.offenders)
            if hold.resource in resources and (hold.resource, sql) not in seen:
                seen.add((hold.resource, sql))
                yield hold.resource, sql, invariant.name


def _judge_holds(
    con: duckdb.DuckDBPyConnection, contract: ResourceContract, settings: SyncSettings
) -> None:
    """Fill `_held_rules` (resource, ext_id, reason) from the invariants' holds on `contract`'s
    resource and the document its records are lines of, and from the resource's own rules
    (`sql/held_<resource>.sql`). Outside the desired state's transaction: an invariant's hold
    whose SQL does not bind in this warehouse (a test's hand-made staging, a FR source without
    `sage`) has nothing to hold there and is passed over; the resource's own rules read what
    its desired SQL reads, so they must bind."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _held_rules (resource VARCHAR, ext_id VARCHAR, reason VARCHAR)"
    )
    resources = {contract.name, *filter(None, [DOCUMENT_OF.get(contract.name)])}
    for resource, sql, name in _holds_on(resources):
        try:
            held = f"INSERT INTO _held_rules SELECT ?, ext_id, reason FROM ({sql})"  # noqa: S608
            con.execute(held, [resource])
        except duckdb.Error as exc:
            log.info("%s not judged for %s: %s", name, resource, exc)
    own = own_held_sql(contract, settings)
    if own is not None:
        ledger.ensure_tables(con, [contract.name])  # own rules may ask what SSM acknowledged
        con.execute(
            f"INSERT INTO _held_rules SELECT ?, CAST(ext_id AS VARCHAR), reason FROM ({own})",  # noqa: S608
            [contract.name],
        )


def held_sql(contract: ResourceContract, source: str) -> str:
    """SELECT ext_id, reason of every record of `contract`'s resource held back (a record may
    come once per reason): its own holds in `_held_rules`, and the rows of `source` (its desired
    rows) whose document is held back (the lines of a held order)."""
    own = f"SELECT ext_id, reason FROM _held_rules WHERE resource = '{contract.name}'"  # noqa: S608
    parts = [own]
    for rule in contract.fields:
        if rule.column is None or rule.parent != DOCUMENT_OF.get(contract.name):
            continue
        parts.append(
            f"SELECT CAST(s.ext_id AS VARCHAR) AS ext_id, "  # noqa: S608 - names from the contract
            f"'its {rule.parent} record is held back: ' || p.reason AS reason "
            f"FROM {source} AS s JOIN _held_rules AS p ON p.resource = '{rule.parent}' "
            f'AND p.ext_id = CAST(s."{rule.column}" AS VARCHAR)'
        )
    return "\nUNION ALL\n".join(parts)


def build_desired(
    con: duckdb.DuckDBPyConnection,
    contract: ResourceContract,
    settings: SyncSettings,
    run_id: str | None = None,
) -> DesiredStats:
    sql = desired_sql(contract, settings)
    missing_columns = {f.column for f in contract.fields if f.column} - {"ext_id"}
    con.execute("CREATE SCHEMA IF NOT EXISTS ssm")
    ensure_quarantine(con)
    con.execute(SQL_MACROS)  # the invariants' SQL may use them
    _judge_holds(con, contract, settings)
    run_id = run_id or _current_run_id()
    con.execute("BEGIN")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE desired_source AS {sql}")
        columns = {r[0] for r in con.execute("DESCRIBE desired_source").fetchall()}
        missing_columns -= columns
        if missing_columns or "ext_id" not in columns:
            raise ValueError(
                f"sql/desired_{contract.name}.sql does not return the columns the contract "
                f"maps: {sorted(missing_columns | ({'ext_id'} - columns))}"
            )
        (missing_key,) = con.execute(
            "SELECT count(*) FROM desired_source WHERE ext_id IS NULL OR trim(ext_id) = ''"
        ).fetchone()  # type: ignore[misc]
        duplicates = con.execute(
            """
            SELECT ext_id FROM desired_source WHERE ext_id IS NOT NULL
            GROUP BY ext_id HAVING count(*) > 1 ORDER BY ext_id
            """
        ).fetchall()
        held = _hold_back(con, contract, run_id)
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {desired_table(contract.name)} AS
            SELECT * FROM desired_source AS s
            WHERE ext_id IS NOT NULL AND trim(ext_id) <> ''
              AND NOT EXISTS (SELECT 1 FROM {held_table(contract.name)} AS h
                              WHERE h.ext_id = CAST(s.ext_id AS VARCHAR))
            QUALIFY row_number() OVER (PARTITION BY ext_id ORDER BY CAST(to_json(s) AS VARCHAR)) = 1
            ORDER BY ext_id
            """  # noqa: S608
        )
        (rows,) = con.execute(f"SELECT count(*) FROM {desired_table(contract.name)}").fetchone()  # type: ignore[misc]  # noqa: S608
        con.execute("DROP TABLE desired_source")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return DesiredStats(
        rows=int(rows),
        missing_key=int(missing_key),
        duplicate_keys=len(duplicates),
        duplicate_sample=tuple(str(d[0]) for d in duplicates[:10]),
        held_back=len(held),
        held_sample=tuple(f"{k}: {r}" for k, r in held[:SAMPLE_SIZE]),
    )


def _hold_back(
    con: duckdb.DuckDBPyConnection,
    contract: ResourceContract,
    run_id: str | None,
) -> list[tuple[str, str]]:
    """Write `ssm.held_<resource>` and this resource's rows of quarantine.held_back; the held
    records (ext_id, reasons), by ext_id."""
    table = held_table(contract.name)
    con.execute(
        f"""CREATE OR REPLACE TABLE {table} AS
            SELECT ext_id, string_agg(DISTINCT reason, '; ' ORDER BY reason) AS reason
            FROM ({held_sql(contract, "desired_source")})
            WHERE ext_id IS NOT NULL GROUP BY ext_id ORDER BY ext_id"""  # noqa: S608
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    scope = [HELD_LAYER, contract.name]
    # Records that are right again leave the list; the others keep their `since`.
    con.execute(
        f"""DELETE FROM {HELD_BACK_TABLE} AS q WHERE q.layer = ? AND q.resource = ?
            AND NOT EXISTS (SELECT 1 FROM {table} AS h WHERE h.ext_id = q.row_key)""",  # noqa: S608
        scope,
    )
    con.execute(
        f"""UPDATE {HELD_BACK_TABLE} AS q SET reason = h.reason, run_id = coalesce(?, q.run_id)
            FROM {table} AS h WHERE q.layer = ? AND q.resource = ? AND q.row_key = h.ext_id""",  # noqa: S608
        [run_id, *scope],
    )
    con.execute(
        f"""INSERT INTO {HELD_BACK_TABLE}
            SELECT ?, ?, h.ext_id, h.reason, ?, ? FROM {table} AS h
            WHERE NOT EXISTS (SELECT 1 FROM {HELD_BACK_TABLE} AS q
                              WHERE q.layer = ? AND q.resource = ? AND q.row_key = h.ext_id)""",  # noqa: S608
        [*scope, run_id, now, *scope],
    )
    return [(k, r) for k, r in con.execute(f"SELECT ext_id, reason FROM {table}").fetchall()]  # noqa: S608


def _current_run_id() -> str | None:
    """The Dagster run building the desired state, when there is one (for quarantine.held_back)."""
    try:
        import dagster as dg

        return dg.OpExecutionContext.get().run_id
    except Exception:  # noqa: BLE001 - outside a run (tests, scripts): no run id
        return None
