"""What changed in SSM: the change feed of a resource, landed in `inbox.<resource>`.

Each read asks SSM for the records created, updated or deleted since the stored watermark minus
an overlap window (`SSM_FEED_OVERLAP_SECONDS`: changes SSM commits late with an earlier stamp),
pages to the end, and keeps each version of a record once: `inbox.<resource>` is keyed on
(id, version), where the version is the record's newest audit date (`dateUpdated` is null on a
record never updated, so `dateCreated` stands in for it). The raw record is kept as SSM sent it,
with when it was read and, once the reverse flow has looked at it, what it decided and why, so
every write to Sage (or its absence) can be explained afterwards.

The watermark (`inbox.watermarks`) only moves forward, to the newest version read; the first read
of a resource has none and reads every record (rep-made companies that predate the connector are
synced too).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from assets.ssm.ledger import now

PARTY_FEEDS = ("accounts", "contacts")  # companies and contacts: the sensor ssm_changes
QUOTE_FEED = "salesorders"  # quotes only (one status): the sensor ssm_quotes
FEEDS = (*PARTY_FEEDS, QUOTE_FEED)

DDL = """
CREATE SCHEMA IF NOT EXISTS inbox;
CREATE TABLE IF NOT EXISTS inbox.watermarks (
    resource VARCHAR PRIMARY KEY, watermark TIMESTAMP, read_at TIMESTAMP, run_id VARCHAR
);
"""

# What the reverse flow decided about one version of a record (inbox.<resource>.decision).
PENDING_DECISIONS = ("deferred", "retry_later")
# The contract entries whose dead letters each feed's records may be (a requeued one is
# decided again).
REVERSE_ENTITIES = {
    "accounts": ("client_companies", "prospects"),
    "contacts": ("ssm_contacts", "ssm_contacts"),
    "salesorders": ("quotations", "quotations"),
}


def inbox_table(resource: str) -> str:
    return f"inbox.{resource}"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)
    for resource in FEEDS:
        con.execute(
            f"""
            CREATE TABLE IF NOT EXISTS {inbox_table(resource)} (
                id BIGINT NOT NULL,
                version TIMESTAMP NOT NULL,   -- newest of dateDeleted, dateUpdated, dateCreated
                date_updated TIMESTAMP,
                deleted BOOLEAN,
                record JSON,                  -- the raw SSM record as read
                read_at TIMESTAMP, run_id VARCHAR,
                decision VARCHAR,             -- e.g. created, edited, echo, deferred, dead_letter
                reason VARCHAR, decided_at TIMESTAMP, decided_by VARCHAR,
                PRIMARY KEY (id, version)
            )
            """
        )


class ChangeFeed(Protocol):
    api_calls: int

    def changed_since(
        self, resource: str, since: datetime, *, lookback: timedelta = ..., where: str | None = ...
    ) -> Iterator[dict[str, Any]]: ...

    def list(
        self, resource: str, where: str | None = None, order: str | None = None
    ) -> Iterator[dict[str, Any]]: ...


def parse_date(value: Any) -> datetime | None:
    """An SSM date (ISO text, with or without zone) as naive UTC."""
    if value in (None, ""):
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def version_of(record: dict[str, Any]) -> datetime | None:
    dates = [parse_date(record.get(k)) for k in ("dateDeleted", "dateUpdated", "dateCreated")]
    known = [d for d in dates if d is not None]
    return max(known) if known else None


def watermark(con: duckdb.DuckDBPyConnection, resource: str) -> datetime | None:
    row = con.execute(
        "SELECT watermark FROM inbox.watermarks WHERE resource = ?", [resource]
    ).fetchall()
    return row[0][0] if row else None


@dataclass
class FeedRead:
    resource: str
    since: datetime | None
    read: int = 0  # records SSM returned
    new_versions: int = 0  # of which not seen before
    watermark: datetime | None = None
    api_calls: int = 0


def fetch(
    client: ChangeFeed,
    resource: str,
    since: datetime | None,
    overlap: timedelta,
    where: str | None = None,
) -> list[dict[str, Any]]:
    """Every record changed after `since - overlap` (every record when `since` is None) that
    `where` selects (all when None)."""
    if since is None:
        return list(client.list(resource, where=where, order="id"))
    return list(client.changed_since(resource, since, lookback=overlap, where=where))


def land(
    con: duckdb.DuckDBPyConnection,
    resource: str,
    records: Iterable[dict[str, Any]],
    run_id: str,
) -> tuple[int, datetime | None]:
    """Store the versions not seen before; (new versions, newest version read)."""
    rows = []
    newest: datetime | None = None
    at = now()
    for record in records:
        version = version_of(record)
        if record.get("id") is None or version is None:
            continue  # nothing to key it by: SSM always sends both
        newest = version if newest is None or version > newest else newest
        rows.append(
            (
                int(record["id"]),
                version,
                parse_date(record.get("dateUpdated")),
                bool(record.get("deleted")),
                json.dumps(record, default=str, ensure_ascii=False),
                at,
                run_id,
            )
        )
    if not rows:
        return 0, None
    ts = pa.timestamp("us")
    table = pa.table(
        {
            "id": pa.array([r[0] for r in rows], pa.int64()),
            "version": pa.array([r[1] for r in rows], ts),
            "date_updated": pa.array([r[2] for r in rows], ts),
            "deleted": pa.array([r[3] for r in rows], pa.bool_()),
            "record": pa.array([r[4] for r in rows], pa.string()),
            "read_at": pa.array([r[5] for r in rows], ts),
            "run_id": pa.array([r[6] for r in rows], pa.string()),
        }
    )
    ((before,),) = con.execute(f"SELECT count(*) FROM {inbox_table(resource)}").fetchall()  # noqa: S608
    con.register("inbox_landed", table)
    try:
        con.execute(
            f"""
            INSERT OR IGNORE INTO {inbox_table(resource)}
                (id, version, date_updated, deleted, record, read_at, run_id)
            SELECT DISTINCT ON (id, version) id, version, date_updated, deleted, record,
                   read_at, run_id
            FROM inbox_landed
            """  # noqa: S608
        )
    finally:
        con.unregister("inbox_landed")
    ((after,),) = con.execute(f"SELECT count(*) FROM {inbox_table(resource)}").fetchall()  # noqa: S608
    return int(after - before), newest


def advance(
    con: duckdb.DuckDBPyConnection, resource: str, newest: datetime | None, run_id: str
) -> datetime | None:
    """Move the watermark forward to `newest` (never back); the watermark after."""
    current = watermark(con, resource)
    mark = current if newest is None or (current is not None and current >= newest) else newest
    con.execute(
        "INSERT OR REPLACE INTO inbox.watermarks VALUES (?, ?, ?, ?)",
        [resource, mark, now(), run_id],
    )
    return mark


def read_feed(
    con: duckdb.DuckDBPyConnection,
    client: ChangeFeed,
    resource: str,
    overlap: timedelta,
    run_id: str,
    where: str | None = None,
) -> FeedRead:
    ensure_tables(con)
    since = watermark(con, resource)
    calls = client.api_calls
    records = fetch(client, resource, since, overlap, where)
    new, newest = land(con, resource, records, run_id)
    mark = advance(con, resource, newest, run_id)
    return FeedRead(
        resource=resource,
        since=since,
        read=len(records),
        new_versions=new,
        watermark=mark,
        api_calls=client.api_calls - calls,
    )


def undecided_sql(resource: str) -> str:
    """The latest version of each record whose latest version awaits a decision."""
    return f"""
        SELECT id, version, date_updated, deleted, record FROM (
            SELECT *, row_number() OVER (PARTITION BY id ORDER BY version DESC) AS newest
            FROM {inbox_table(resource)}
        ) WHERE newest = 1
          AND (decision IS NULL OR decision IN {PENDING_DECISIONS!r}
               OR (decision = 'dead_letter' AND CAST(id AS VARCHAR) IN (
                   SELECT ext_id FROM sync.dead_letters
                   WHERE resource IN {REVERSE_ENTITIES[resource]!r}
                     AND status = 'open' AND attempts = 0)))
        ORDER BY id
    """  # noqa: S608


def decide(
    con: duckdb.DuckDBPyConnection,
    resource: str,
    decisions: Iterable[tuple[int, datetime, str, str]],
    run_id: str,
) -> None:
    """Record (id, version, decision, reason) on the inbox rows they were made for."""
    rows = list(decisions)
    if not rows:
        return
    ts = pa.timestamp("us")
    table = pa.table(
        {
            "id": pa.array([r[0] for r in rows], pa.int64()),
            "version": pa.array([r[1] for r in rows], ts),
            "decision": pa.array([r[2] for r in rows], pa.string()),
            "reason": pa.array([r[3] for r in rows], pa.string()),
        }
    )
    con.register("inbox_decisions", table)
    try:
        con.execute(
            f"""
            UPDATE {inbox_table(resource)} AS t
            SET decision = d.decision, reason = d.reason, decided_at = ?, decided_by = ?
            FROM inbox_decisions AS d
            WHERE t.id = d.id AND t.version = d.version
            """,  # noqa: S608
            [now(), run_id],
        )
    finally:
        con.unregister("inbox_decisions")
