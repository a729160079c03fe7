"""SDO's faults on demand, across processes: rows of `_SDO_FAULTS` in the company file.

    inject(company, "update", 48, times=2)               # Update() returns False, 48, twice
    inject(company, "update_then_disconnect", 91)        # committed, then the connection is lost
    inject(company, "update_then_exit", 0, account_ref="NEWCU001")  # committed, then os._exit(137)
    inject(company, "connect", 23)                       # Connect() returns False, 23
    inject(company, "update", 48, record="SopPost")      # only a SopPost's Update refuses
    clear(company)

Operations:
- `connect`: Connect returns False with `code` (23 name in use, 24 exclusive mode, 30 ...).
- `update`: Update returns False with `code`, nothing written (48, 93, or 82/83/84/86 ...).
- `update_then_disconnect`: the Update is committed, then the call raises the COM exception of
  a lost connection with LastError `code` (91 or 108; 0 means 91) and the workspace is dead.
- `update_then_exit`: the Update is committed, then the process exits with 137, as if killed.

A fault fires `times` times, then is used up; with `account_ref` it fires only for Updates of
that account (a SalesRecord's ACCOUNT_REF, a CustomerAddress's customer, a SopPost's header
ACCOUNT_REF); with `record` only for Updates of that object ("SalesRecord", "CustomerAddress",
"SopPost"). The table has a name no
Sage table has, and the extract never reads it. Firing is atomic (BEGIN IMMEDIATE), so two
processes never both take the last firing.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, get_args

from sandbox.sdo.store import open_company, resolve

FAULTS_TABLE = "_SDO_FAULTS"

Operation = Literal["connect", "update", "update_then_disconnect", "update_then_exit"]
OPERATIONS: tuple[str, ...] = get_args(Operation)

# What a process killed between the Sage write and what follows exits with (SIGKILL's 128 + 9).
KILLED_EXIT_CODE = 137


def _company(company_path: str | os.PathLike[str]) -> Path:
    path = resolve(company_path)
    if path is None:
        raise FileNotFoundError(f"no demo company at {company_path}")
    return path


RECORDS = ("SalesRecord", "CustomerAddress", "SopPost")


def _ensure(con: sqlite3.Connection) -> None:
    con.execute(
        'CREATE TABLE IF NOT EXISTS "_SDO_FAULTS" (id INTEGER PRIMARY KEY, '
        "operation VARCHAR NOT NULL, code INTEGER NOT NULL, times INTEGER NOT NULL, "
        "account_ref VARCHAR, record VARCHAR)"
    )
    # A company file armed by an earlier version has no record column yet.
    columns = {row[1] for row in con.execute('PRAGMA table_info("_SDO_FAULTS")')}
    if "record" not in columns:
        con.execute('ALTER TABLE "_SDO_FAULTS" ADD COLUMN record VARCHAR')


def inject(
    company_path: str | os.PathLike[str],
    operation: Operation,
    code: int,
    times: int = 1,
    account_ref: str | None = None,
    record: str | None = None,
) -> None:
    """Arm a fault; faults fire in the order they were injected."""
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
    if record is not None and record not in RECORDS:
        raise ValueError(f"record must be one of {', '.join(RECORDS)}, not {record!r}")
    if times < 1:
        raise ValueError("times must be at least 1")
    con = open_company(_company(company_path))
    try:
        _ensure(con)
        con.execute(
            'INSERT INTO "_SDO_FAULTS" (operation, code, times, account_ref, record) '
            "VALUES (?, ?, ?, ?, ?)",
            (operation, int(code), int(times), account_ref, record),
        )
    finally:
        con.close()


def clear(company_path: str | os.PathLike[str]) -> None:
    """Disarm every fault."""
    con = open_company(_company(company_path))
    try:
        _ensure(con)
        con.execute('DELETE FROM "_SDO_FAULTS"')
    finally:
        con.close()


def armed(company_path: str | os.PathLike[str]) -> list[dict[str, object]]:
    """The faults still to fire, in firing order."""
    con = open_company(_company(company_path))
    try:
        _ensure(con)
        rows = con.execute(
            'SELECT operation, code, times, account_ref, record FROM "_SDO_FAULTS" ORDER BY id'
        ).fetchall()
        return [dict(row) for row in rows]
    finally:
        con.close()


def take(
    con: sqlite3.Connection,
    operations: Iterable[str],
    account_ref: str | None = None,
    record: str | None = None,
) -> tuple[str, int] | None:
    """Fire the first armed fault of `operations` that applies to `account_ref` and to the
    `record` being updated: its (operation, code), or None. Runs in its own transaction."""
    names = tuple(operations)
    marks = ", ".join("?" for _ in names)
    con.execute("BEGIN IMMEDIATE")
    try:
        _ensure(con)
        row = con.execute(
            f'SELECT id, operation, code FROM "{FAULTS_TABLE}" WHERE operation IN ({marks}) '  # noqa: S608
            "AND times > 0 AND (account_ref IS NULL OR upper(account_ref) = upper(?)) "
            "AND (record IS NULL OR record = ?) ORDER BY id LIMIT 1",
            (*names, account_ref or "", record or ""),
        ).fetchone()
        if row is None:
            con.execute("COMMIT")
            return None
        con.execute('UPDATE "_SDO_FAULTS" SET times = times - 1 WHERE id = ?', (row["id"],))
        con.execute('DELETE FROM "_SDO_FAULTS" WHERE times <= 0')
        con.execute("COMMIT")
        return str(row["operation"]), int(row["code"])
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
