"""The demo company file as the stand-in engine sees it: where it is, how it is opened, the
sessions of the users logged in (across processes), and Sage's timestamp text."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
import uuid
from pathlib import Path

import psutil

# A Connect path may name the company file or the folder holding it (Sage's ACCDATA style).
COMPANY_FILE = "sage50-demo.sqlite"

# How long a write waits for another process's lock before SDO's "accounts busy" (48).
BUSY_SECONDS = 5.0

# Who is logged in, so a second login of the same user is refused (23) in any process. No real
# Sage table has this name and the extract reads only the CRM tables.
SESSIONS_TABLE = "_SDO_SESSIONS"


def resolve(path: str | os.PathLike[str]) -> Path | None:
    """The company file that `path` names (the file, or a folder holding COMPANY_FILE)."""
    if not str(path).strip():
        return None
    candidate = Path(path)
    if candidate.is_dir():
        candidate = candidate / COMPANY_FILE
    return candidate if candidate.is_file() else None


def open_company(path: Path) -> sqlite3.Connection:
    """Autocommit connection; writers open their own `BEGIN IMMEDIATE` transactions."""
    con = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    return con


def now_stamp() -> str:
    """RECORD_*_DATE text as the demo generator stores it ('YYYY-MM-DD HH:MM:SS', local time
    like Sage's own clock)."""
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def today() -> str:
    return dt.date.today().isoformat()


def _ensure_sessions(con: sqlite3.Connection) -> None:
    con.execute(
        'CREATE TABLE IF NOT EXISTS "_SDO_SESSIONS" (token VARCHAR PRIMARY KEY, '
        "user_name VARCHAR, unique_name VARCHAR, host VARCHAR, pid INTEGER, since VARCHAR)"
    )


def begin_session(con: sqlite3.Connection, user: str, unique: str) -> str | None:
    """Log `user` in: its token, or None when the user is logged in elsewhere. Sessions of
    processes that died on this host are dropped first (Sage clears a crashed user's stale
    login when that user logs in again)."""
    host = socket.gethostname()
    con.execute("BEGIN IMMEDIATE")
    try:
        _ensure_sessions(con)
        rows = con.execute(
            'SELECT token, host, pid FROM "_SDO_SESSIONS" WHERE upper(user_name) = upper(?)',
            (user,),
        ).fetchall()
        live = 0
        for row in rows:
            if row["host"] == host and not psutil.pid_exists(row["pid"]):
                con.execute('DELETE FROM "_SDO_SESSIONS" WHERE token = ?', (row["token"],))
            else:
                live += 1
        if live:
            con.execute("ROLLBACK")
            return None
        token = uuid.uuid4().hex
        con.execute(
            'INSERT INTO "_SDO_SESSIONS" VALUES (?, ?, ?, ?, ?, ?)',
            (token, user, unique, host, os.getpid(), now_stamp()),
        )
        con.execute("COMMIT")
        return token
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise


def end_session(path: Path, token: str) -> None:
    """Log out (safe to call twice, and from a finalizer)."""
    try:
        con = open_company(path)
    except sqlite3.Error:
        return
    try:
        _ensure_sessions(con)
        con.execute('DELETE FROM "_SDO_SESSIONS" WHERE token = ?', (token,))
    except sqlite3.Error:
        pass
    finally:
        con.close()
