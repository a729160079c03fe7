"""Desired state: `ssm.desired_<resource>` from `sql/desired_<resource>.sql`.

Each SQL file reads `staging`/`derived` and returns `ext_id` plus the columns the contract's
fields name. A record without a key cannot be pushed: it is left out and counted. A key that
appears twice is pushed once (the same row every run, so the choice does not flap) and counted,
so the UI shows it instead of SSM getting a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

import duckdb

from assets.ssm.contract import ResourceContract
from assets.ssm.plan import desired_table
from assets.ssm.settings import SyncSettings

SQL_DIR = Path(__file__).resolve().parent / "sql"


def desired_sql(contract: ResourceContract, settings: SyncSettings) -> str:
    template = Template((SQL_DIR / f"desired_{contract.name}.sql").read_text(encoding="utf-8"))
    # rep_column is validated as an identifier in SyncSettings.
    return template.substitute(rep_column=settings.rep_column)


@dataclass(frozen=True)
class DesiredStats:
    rows: int
    missing_key: int
    duplicate_keys: int
    duplicate_sample: tuple[str, ...]


def build_desired(
    con: duckdb.DuckDBPyConnection, contract: ResourceContract, settings: SyncSettings
) -> DesiredStats:
    sql = desired_sql(contract, settings)
    missing_columns = {f.column for f in contract.fields if f.column} - {"ext_id"}
    con.execute("CREATE SCHEMA IF NOT EXISTS ssm")
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
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {desired_table(contract.name)} AS
            SELECT * FROM desired_source AS s
            WHERE ext_id IS NOT NULL AND trim(ext_id) <> ''
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
    )
