"""What SSM acknowledged, and what every push did: the `ssm.synced_*` ledgers and `sync.*`.

`ssm.synced_<resource>` has one row per extId the connector ever pushed:

| column | meaning |
|---|---|
| `ext_id` | the Sage key |
| `ssm_id` | the SSM id (NULL while a create is pending) |
| `state` | `pending_create` (sent, answer not yet recorded), `synced`, `from_ssm` (made in SSM by a rep, written to Sage by the reverse flow, not yet read back by the extract: updated once it is, never deleted before), `deleted` (deleted by the connector), `ssm_deleted` (deleted in SSM by someone else: never re-created silently), `released` (gone from Sage but not created by the connector: left alone), `parent_ssm_deleted` (its parent was deleted in SSM: reported once, left out until it is back) |
| `content_hash` | md5 of the acknowledged payload, compared with the desired payload's |
| `payload` | the acknowledged payload (JSON), to know which fields changed |
| `created_by_connector` | only those records are deleted by default; false for the records the first push adopted (found in SSM under the same key) and for matched users |

Rows are written as SSM acknowledges them (at the latest after each bulk batch), so a crash loses
at most the answers of one batch, and those are recovered from `pending_create` by extId lookup.

`sync.*` tells what every push did: `sync.changes` (every operation and its outcome, one row
per record), `sync.runs` (one row per resource per run), `sync.run_summary` (a view: one row per
run, the resources' figures summed, its worst status and the resources that need attention),
`sync.dead_letters` (records SSM rejected, retried every run) and `sync.plans` (every run's
plan, dry runs included).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import duckdb
import pyarrow as pa

from assets.ssm import value_lists

PENDING_CREATE = "pending_create"
SYNCED = "synced"
DELETED = "deleted"
SSM_DELETED = "ssm_deleted"
RELEASED = "released"
# A record a rep made in SSM that the reverse flow wrote into Sage: the push updates it once the
# extract has read it back, and never deletes it for being absent from the desired state before.
FROM_SSM = "from_ssm"

SYNC_DDL = """
CREATE SCHEMA IF NOT EXISTS ssm;
CREATE SCHEMA IF NOT EXISTS sync;
CREATE TABLE IF NOT EXISTS sync.changes (
    run_id VARCHAR, resource VARCHAR, ext_id VARCHAR, ssm_id BIGINT,
    operation VARCHAR,      -- create | update | delete | resolve | adopt | detect | compare
    outcome VARCHAR,        -- ok | failed | unknown | not_sent | ssm_deleted | not_found |
                            -- skipped | held_back (a delete the breaker held back)
    changed_fields VARCHAR, -- JSON list of the fields sent
    message VARCHAR, request VARCHAR, changed_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS sync.runs (
    run_id VARCHAR, resource VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP,
    dry_run BOOLEAN, status VARCHAR, message VARCHAR,
    desired BIGINT, planned BIGINT, created BIGINT, updated BIGINT, deleted BIGINT,
    unchanged BIGINT, deferred BIGINT, skipped BIGINT, failed BIGINT, ssm_deleted BIGINT,
    resolved BIGINT, api_calls BIGINT, write_calls BIGINT, seconds DOUBLE
);
-- Warehouses made before these existed: deletes the breaker held back, records SSM did not
-- confirm (left for the next run).
ALTER TABLE sync.runs ADD COLUMN IF NOT EXISTS deletes_held_back BIGINT;
ALTER TABLE sync.runs ADD COLUMN IF NOT EXISTS retry_later BIGINT;
CREATE TABLE IF NOT EXISTS sync.dead_letters (
    resource VARCHAR NOT NULL, ext_id VARCHAR NOT NULL, operation VARCHAR, ssm_id BIGINT,
    message VARCHAR, code VARCHAR, payload VARCHAR, payload_hash VARCHAR,
    attempts INTEGER, status VARCHAR,  -- open | resolved | discarded
    first_failed_at TIMESTAMP, last_failed_at TIMESTAMP, last_run_id VARCHAR,
    resolved_at TIMESTAMP,
    PRIMARY KEY (resource, ext_id)
);
CREATE TABLE IF NOT EXISTS sync.plans (
    run_id VARCHAR, resource VARCHAR, ext_id VARCHAR, ssm_id BIGINT, operation VARCHAR,
    changed_fields VARCHAR, reason VARCHAR, payload VARCHAR, planned_at TIMESTAMP
);
"""


# One row per run (a Dagster run pushes each resource in its own step, all under one run_id).
# Its worst status: stopped, refused (deletes held back), failed_records, retry_later, ok.
RUN_SUMMARY_VIEW = """
CREATE OR REPLACE VIEW sync.run_summary AS
SELECT
    run_id,
    min(started_at) AS started_at,
    max(finished_at) AS finished_at,
    bool_or(dry_run) AS dry_run,
    CASE
        WHEN bool_or(status = 'stopped') THEN 'stopped'
        WHEN bool_or(status = 'refused') THEN 'refused'
        WHEN bool_or(status = 'failed_records') THEN 'failed_records'
        WHEN bool_or(status = 'retry_later') THEN 'retry_later'
        WHEN bool_and(status = 'dry_run') THEN 'dry_run'
        ELSE 'ok'
    END AS status,
    count(*) AS resources,
    string_agg(CASE WHEN status NOT IN ('ok', 'dry_run') THEN resource || ': ' || status END,
               ', ' ORDER BY resource) AS attention,
    sum(desired) AS desired, sum(planned) AS planned, sum(created) AS created,
    sum(updated) AS updated, sum(deleted) AS deleted, sum(unchanged) AS unchanged,
    sum(deferred) AS deferred, sum(skipped) AS skipped, sum(failed) AS failed,
    sum(ssm_deleted) AS ssm_deleted, sum(resolved) AS resolved, sum(api_calls) AS api_calls,
    sum(write_calls) AS write_calls, sum(seconds) AS seconds,
    sum(deletes_held_back) AS deletes_held_back, sum(retry_later) AS retry_later
FROM sync.runs
GROUP BY run_id
"""


def ledger_table(resource: str) -> str:
    return f"ssm.synced_{resource}"


def ensure_tables(con: duckdb.DuckDBPyConnection, resources: Iterable[str]) -> None:
    con.execute(value_lists.DDL)
    con.execute(SYNC_DDL)
    (view,) = con.execute(
        "SELECT any_value(sql) FROM duckdb_views() "
        "WHERE schema_name = 'sync' AND view_name = 'run_summary'"
    ).fetchone()  # type: ignore[misc]
    if view is None or "deletes_held_back" not in view:  # missing, or made by an older version
        con.execute(RUN_SUMMARY_VIEW)
    for resource in resources:
        con.execute(
            f"""
            CREATE TABLE IF NOT EXISTS {ledger_table(resource)} (
                ext_id VARCHAR PRIMARY KEY,
                ssm_id BIGINT,
                state VARCHAR NOT NULL,
                content_hash VARCHAR,
                payload VARCHAR,
                created_by_connector BOOLEAN NOT NULL,
                acknowledged_at TIMESTAMP,
                run_id VARCHAR
            )
            """
        )


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# Row by row (`executemany`), DuckDB costs 1-2 ms a row: a 13,000-record push spent minutes on
# its own bookkeeping. Every write below therefore stages its rows as one Arrow table and
# writes them with one set-based statement.
_STR, _INT, _BOOL, _TS = pa.string(), pa.int64(), pa.bool_(), pa.timestamp("us")


@contextmanager
def _staged(
    con: duckdb.DuckDBPyConnection,
    name: str,
    schema: Sequence[tuple[str, pa.DataType]],
    rows: Sequence[Sequence[Any]],
) -> Iterator[str]:
    """`rows` as a relation named `name` (an Arrow table) for the duration of the block."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    table = pa.table(
        {
            column: pa.array(values, type=kind)
            for (column, kind), values in zip(schema, columns, strict=True)
        }
    )
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)


def _in_rounds(keys: Sequence[Any]) -> list[list[int]]:
    """Indexes of `keys` split so that no round holds a key twice, order kept within a key."""
    rounds: list[list[int]] = []
    seen: dict[Any, int] = {}
    for index, key in enumerate(keys):
        round_no = seen.get(key, -1) + 1
        seen[key] = round_no
        if round_no == len(rounds):
            rounds.append([])
        rounds[round_no].append(index)
    return rounds


@dataclass(frozen=True)
class LedgerRow:
    ext_id: str
    ssm_id: int | None
    state: str
    content_hash: str | None
    payload: str | None
    created_by_connector: bool


def upsert(
    con: duckdb.DuckDBPyConnection, resource: str, rows: Sequence[LedgerRow], run_id: str
) -> None:
    if not rows:
        return
    at = now()
    columns = (
        "ext_id, ssm_id, state, content_hash, payload, created_by_connector, acknowledged_at, "
        "run_id"
    )
    schema = [
        ("ext_id", _STR), ("ssm_id", _INT), ("state", _STR), ("content_hash", _STR),
        ("payload", _STR), ("created_by_connector", _BOOL), ("acknowledged_at", _TS),
        ("run_id", _STR),
    ]  # fmt: skip
    values = [
        (r.ext_id, r.ssm_id, r.state, r.content_hash, r.payload, r.created_by_connector, at, run_id)
        for r in rows
    ]
    # One statement per round; a round never holds an ext_id twice (the last row wins).
    for indexes in _in_rounds([r.ext_id for r in rows]):
        with _staged(con, "ledger_upsert_rows", schema, [values[i] for i in indexes]) as staged:
            con.execute(
                f"INSERT OR REPLACE INTO {ledger_table(resource)} ({columns}) "  # noqa: S608
                f"SELECT {columns} FROM {staged}"
            )


def forget(con: duckdb.DuckDBPyConnection, resource: str, ext_ids: Sequence[str]) -> None:
    """Drop ledger rows (a pending create that SSM never recorded)."""
    if ext_ids:
        with _staged(con, "ledger_forget", [("ext_id", _STR)], [(e,) for e in ext_ids]) as staged:
            con.execute(
                f"DELETE FROM {ledger_table(resource)} "  # noqa: S608
                f"WHERE ext_id IN (SELECT ext_id FROM {staged})"
            )


@dataclass(frozen=True)
class Change:
    resource: str
    ext_id: str
    ssm_id: int | None
    operation: str
    outcome: str
    changed_fields: Sequence[str] = ()
    message: str | None = None
    request: dict[str, Any] | None = None


_CHANGE_SCHEMA = [
    ("run_id", _STR), ("resource", _STR), ("ext_id", _STR), ("ssm_id", _INT),
    ("operation", _STR), ("outcome", _STR), ("changed_fields", _STR), ("message", _STR),
    ("request", _STR), ("changed_at", _TS),
]  # fmt: skip


def record_changes(con: duckdb.DuckDBPyConnection, run_id: str, changes: Sequence[Change]) -> None:
    if not changes:
        return
    at = now()
    rows = [
        (
            run_id,
            c.resource,
            c.ext_id,
            c.ssm_id,
            c.operation,
            c.outcome,
            json.dumps(list(c.changed_fields)),
            c.message,
            json.dumps(c.request, default=str) if c.request is not None else None,
            at,
        )
        for c in changes
    ]
    with _staged(con, "sync_changes_rows", _CHANGE_SCHEMA, rows) as staged:
        con.execute(f"INSERT INTO sync.changes SELECT * FROM {staged}")  # noqa: S608


@dataclass(frozen=True)
class DeadLetter:
    resource: str
    ext_id: str
    operation: str
    ssm_id: int | None
    message: str
    code: str | None
    payload: str | None
    payload_hash: str | None


def record_dead_letters(
    con: duckdb.DuckDBPyConnection, run_id: str, letters: Sequence[DeadLetter]
) -> None:
    """Add or refresh dead letters: a record failing again counts one more attempt."""
    if not letters:
        return
    at = now()
    schema = [
        ("resource", _STR), ("ext_id", _STR), ("operation", _STR), ("ssm_id", _INT),
        ("message", _STR), ("code", _STR), ("payload", _STR), ("payload_hash", _STR),
        ("first_failed_at", _TS), ("last_failed_at", _TS), ("last_run_id", _STR),
    ]  # fmt: skip
    rows = [
        (
            dl.resource,
            dl.ext_id,
            dl.operation,
            dl.ssm_id,
            dl.message,
            dl.code,
            dl.payload,
            dl.payload_hash,
            at,
            at,
            run_id,
        )
        for dl in letters
    ]
    # ON CONFLICT cannot touch one row twice in a statement: a key failing twice in one call
    # (never in one batch) goes in a later round, so it still counts two attempts.
    for indexes in _in_rounds([(dl.resource, dl.ext_id) for dl in letters]):
        with _staged(con, "dead_letter_rows", schema, [rows[i] for i in indexes]) as staged:
            con.execute(
                f"""
                INSERT INTO sync.dead_letters AS d
                SELECT resource, ext_id, operation, ssm_id, message, code, payload,
                       payload_hash, 1, 'open', first_failed_at, last_failed_at, last_run_id,
                       NULL
                FROM {staged}
                ON CONFLICT (resource, ext_id) DO UPDATE SET
                    operation = excluded.operation, ssm_id = excluded.ssm_id,
                    message = excluded.message, code = excluded.code,
                    payload = excluded.payload, payload_hash = excluded.payload_hash,
                    attempts = CASE WHEN d.status = 'open' THEN d.attempts + 1 ELSE 1 END,
                    first_failed_at = CASE WHEN d.status = 'open' THEN d.first_failed_at
                                           ELSE excluded.first_failed_at END,
                    status = 'open', last_failed_at = excluded.last_failed_at,
                    last_run_id = excluded.last_run_id, resolved_at = NULL
                """  # noqa: S608
            )


def resolve_dead_letters(
    con: duckdb.DuckDBPyConnection, resource: str, ext_ids: Sequence[str]
) -> None:
    if ext_ids:
        rows = [(e,) for e in ext_ids]
        with _staged(con, "dead_letters_resolved", [("ext_id", _STR)], rows) as staged:
            con.execute(
                f"""
                UPDATE sync.dead_letters SET status = 'resolved', resolved_at = ?
                WHERE resource = ? AND status = 'open'
                  AND ext_id IN (SELECT ext_id FROM {staged})
                """,  # noqa: S608
                [now(), resource],
            )


DeadLetterAction = Literal["requeue", "discard"]


def manage_dead_letters(
    con: duckdb.DuckDBPyConnection,
    action: DeadLetterAction,
    resource: str | None,
    ext_ids: Sequence[str],
) -> int:
    """Re-queue (open again, attempts reset) or discard dead letters; returns how many.

    A discarded record is skipped by later pushes until its Sage content changes.
    """
    if action not in {"requeue", "discard"}:
        raise ValueError(f"action must be requeue or discard, not {action!r}")
    conditions = ["status <> 'resolved'"]
    params: list[Any] = []
    if resource:
        conditions.append("resource = ?")
        params.append(resource)
    if ext_ids:
        conditions.append("list_contains(?, ext_id)")
        params.append(list(ext_ids))
    where = " AND ".join(conditions)
    # `where` is built from fixed conditions only; the values are bound parameters.
    count_sql = f"SELECT count(*) FROM sync.dead_letters WHERE {where}"  # noqa: S608
    (count,) = con.execute(count_sql, params).fetchone()  # type: ignore[misc]
    if action == "requeue":
        requeue_sql = f"UPDATE sync.dead_letters SET status = 'open', attempts = 0 WHERE {where}"  # noqa: S608
        con.execute(requeue_sql, params)
    else:
        con.execute(f"UPDATE sync.dead_letters SET status = 'discarded' WHERE {where}", params)  # noqa: S608
    return int(count)


def record_plan(
    con: duckdb.DuckDBPyConnection, run_id: str, resource: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    """rows: (ext_id, ssm_id, operation, changed_fields JSON, reason, payload)."""
    if rows:
        at = now()
        schema = [
            ("run_id", _STR), ("resource", _STR), ("ext_id", _STR), ("ssm_id", _INT),
            ("operation", _STR), ("changed_fields", _STR), ("reason", _STR), ("payload", _STR),
            ("planned_at", _TS),
        ]  # fmt: skip
        staged_rows = [(run_id, resource, *row, at) for row in rows]
        with _staged(con, "sync_plan_rows", schema, staged_rows) as staged:
            con.execute(f"INSERT INTO sync.plans SELECT * FROM {staged}")  # noqa: S608
