"""Desired state: `ssm.desired_<resource>` from `sql/desired_<resource>.sql`.

Each SQL file reads `staging`/`derived` and returns `ext_id` plus the columns the contract's
fields name. A record without a key cannot be pushed: it is left out and counted. A key that
appears twice is pushed once (the same row every run, so the choice does not flap) and counted,
so the UI shows it instead of SSM getting a duplicate.

Held back: a record the invariants of `staging` and `derived` find wrong (a document whose lines
do not add up, an orphan line, a document with a part in quarantine; see their `holds`), or whose
parent record is held back (the lines of a held order), is left out of the desired table and
listed, with its reasons, in `ssm.held_<resource>` (ext_id, reason) and in
`quarantine.held_back` (since when, by which run). The push must neither create, update nor
delete a held record: one already in SSM keeps its last good values until it is right again,
when it leaves both lists and is pushed as usual.
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
from assets.ssm.contract import PUSHED, ResourceContract
from assets.ssm.plan import desired_table
from assets.ssm.settings import SyncSettings
from assets.staging.checks import INVARIANTS as STAGING_INVARIANTS
from assets.staging.checks import NUMBER_INVARIANTS
from assets.staging.factory import SQL_MACROS, Invariant

log = logging.getLogger(__name__)
SQL_DIR = Path(__file__).resolve().parent / "sql"
HELD_LAYER = "ssm"  # quarantine.held_back.layer of what the push holds back
INVARIANTS = (*STAGING_INVARIANTS, *NUMBER_INVARIANTS, *DERIVED_INVARIANTS)
SAMPLE_SIZE = 10


def desired_sql(contract: ResourceContract, settings: SyncSettings) -> str:
    template = Template((SQL_DIR / f"desired_{contract.name}.sql").read_text(encoding="utf-8"))
    # rep_column is validated as an identifier in SyncSettings.
    return template.substitute(rep_column=settings.rep_column)


def held_table(resource: str) -> str:
    """The records of `resource` held back from the push: ext_id, reason."""
    return f"ssm.held_{resource}"


@dataclass(frozen=True)
class DesiredStats:
    rows: int
    missing_key: int
    duplicate_keys: int
    duplicate_sample: tuple[str, ...]
    held_back: int = 0
    held_sample: tuple[str, ...] = ()  # "extId: reasons"


def judgeable(
    con: duckdb.DuckDBPyConnection, resources: set[str] | None = None
) -> tuple[Invariant, ...]:
    """The invariants with holds (on `resources`, or any) whose SQL binds in this warehouse: one
    without some table or column (a test's hand-made staging, a FR source without `sage`) has
    nothing to hold there."""
    found = []
    for invariant in INVARIANTS:
        if not any(resources is None or h.resource in resources for h in invariant.holds):
            continue
        try:
            con.sql(f"SELECT * FROM ({invariant.offenders}) LIMIT 0")  # noqa: S608 - declared
        except duckdb.Error as exc:
            log.info("%s on %s not judged: %s", invariant.name, invariant.asset, exc)
            continue
        found.append(invariant)
    return tuple(found)


def _own_holds(resource: str, invariants: tuple[Invariant, ...]) -> Iterator[str]:
    """SELECTs (ext_id, reason) of the invariants' holds on `resource`."""
    for invariant in invariants:
        for hold in invariant.holds:
            if hold.resource == resource:
                yield hold.sql(invariant.offenders)


def held_sql(
    contract: ResourceContract, invariants: tuple[Invariant, ...], source: str | None = None
) -> str | None:
    """SELECT ext_id, reason of every record of `contract`'s resource held back (a record may
    come once per reason), or None when nothing can hold one back. `source` is the relation of
    its desired rows, whose parents' holds hold them too (the lines of a held order)."""
    parts = list(_own_holds(contract.name, invariants))
    for rule in contract.fields:
        if rule.parent is None or rule.column is None or source is None:
            continue
        parents = held_sql(_contract(rule.parent), invariants)
        if parents is None:
            continue
        parts.append(
            f"SELECT CAST(s.ext_id AS VARCHAR) AS ext_id, "  # noqa: S608 - names from the contract
            f"'its {rule.parent} record is held back: ' || p.reason AS reason "
            f"FROM {source} AS s JOIN ({parents}) AS p "
            f'ON p.ext_id = CAST(s."{rule.column}" AS VARCHAR)'
        )
    return "\nUNION ALL\n".join(parts) if parts else None


def _contract(name: str) -> ResourceContract:
    return next(c for c in PUSHED if c.name == name)


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
    invariants = judgeable(con, {contract.name, *contract.parents})
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
        held = _hold_back(con, contract, invariants, run_id)
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
    invariants: tuple[Invariant, ...],
    run_id: str | None,
) -> list[tuple[str, str]]:
    """Write `ssm.held_<resource>` and this resource's rows of quarantine.held_back; the held
    records (ext_id, reasons), by ext_id."""
    table = held_table(contract.name)
    held = held_sql(contract, invariants, source="desired_source")
    con.execute(
        f"""CREATE OR REPLACE TABLE {table} AS
            SELECT ext_id, string_agg(DISTINCT reason, '; ' ORDER BY reason) AS reason
            FROM ({held or "SELECT NULL::VARCHAR AS ext_id, NULL::VARCHAR AS reason"})
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
