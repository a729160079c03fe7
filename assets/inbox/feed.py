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
synced too). A first read that finds none (a fresh tenant) sets it to the time of the read.

Several companies on one tenant: each company reads only what can be its own (`Scope`), filtered
by SSM through the `where` of the read: the records under its extId prefix, and the records with
no extId yet that it may take (a rep's new accounts of its branch, or every one with
SSM_TAKES_NEW_ACCOUNTS; new contacts and quotes, whose account decides). Another company's pushes
never reach its inbox, so its reads and API calls do not grow with theirs. A new contact whose
account this company has never read has that account read once (`resolve_accounts`): the engine
then knows whose it is. With shared keys every record is the owner's, and a company that does
not own them reads none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from assets import company
from assets.inbox.rules import clean
from assets.ssm.ledger import now
from assets.ssm.settings import SyncSettings
from assets.ssm.value_lists import DEFAULT_KEY, lookup, rows_of
from resources.ssm import where as w
from resources.ssm.errors import SSMError

PARTY_FEEDS = ("accounts", "contacts")  # companies and contacts: the sensor ssm_changes
QUOTE_FEED = "salesorders"  # quotes only (one status): the sensor ssm_quotes
FEEDS = (*PARTY_FEEDS, QUOTE_FEED)

DDL = """
CREATE SCHEMA IF NOT EXISTS inbox;
CREATE TABLE IF NOT EXISTS inbox.watermarks (
    resource VARCHAR PRIMARY KEY, watermark TIMESTAMP, read_at TIMESTAMP, run_id VARCHAR
);
-- the connector's own SSM user (connector_user), once learnt; refused: SSM cannot filter so
CREATE TABLE IF NOT EXISTS inbox.connector_user (user_id BIGINT, refused BOOLEAN);
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
        self, resource: str, since: datetime, *, lookback: timedelta = ..., where: str | None = ...,
        not_by: int | None = ..., not_created_by: int | None = ...,
    ) -> Iterator[dict[str, Any]]: ...  # fmt: skip

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
    accounts_resolved: int = 0  # other companies' accounts read for new contacts on them
    skipped: str | None = None  # why nothing was read (shared keys, not the owner)


# --- whose records -----------------------------------------------------------------------------

NO_EXT_ID = w.has_no_text("extId")
ACCOUNT_BATCH = 50  # account ids per look-up (`id IN (...)`), one page of SSM's
SSM_SQL_ERROR = 901  # SSM's code for a where it could not turn into SQL


def fk(value: Any) -> int | None:
    """A foreign key as SSM sends it ({id, value}, an id, or digits) as an int."""
    value = value.get("id") if isinstance(value, dict) else value
    return int(value) if str(value or "").strip().isdigit() else None


@dataclass(frozen=True)
class Scope:
    """The records of a feed that can be this company's, as SSM's `where` and as a test of a
    record read. `prefix` None: every record (one company, or the owner of shared keys).
    `new`: whether records without an extId are read; `branch`: only those filed under it."""

    prefix: str | None = None
    new: bool = True
    branch: int | None = None
    skip: str | None = None  # why nothing of the feed is this company's: no read at all

    @property
    def where(self) -> str | None:
        if self.prefix is None:
            return None
        own = w.like("extId", self.prefix + "%")
        if not self.new:
            return own
        new = (
            NO_EXT_ID
            if self.branch is None
            else w.and_(NO_EXT_ID, w.eq("branchId.id", self.branch))
        )
        return w.or_(own, new)

    def admits(self, record: dict[str, Any]) -> bool:
        """The same test after reading: LIKE's wildcards (`_`) and a case-insensitive database
        select a little more than the prefix; a read SSM filtered nowhere selects everything."""
        if self.prefix is None:
            return True
        ext_id = clean(record.get("extId"))
        if ext_id is not None:
            text = str(ext_id)
            return text.startswith(self.prefix) and len(text) > len(self.prefix)
        if not self.new:
            return False
        return self.branch is None or fk(record.get("branchId")) == self.branch


SHARED_NOT_OWNER = (
    "shared keys and not the owner (SSM_SHARED_KEYS_OWNER=false): the owning company writes "
    "SSM's accounts, contacts and quotes into its Sage, so this company reads none"
)


def scope(resource: str, sync: SyncSettings, branch: int | None = None) -> Scope:
    """What of `resource`'s feed this company reads, as the engine decides it
    (assets/inbox/engine.py: `claims_new_account`, `another_companys_account`): records under
    its prefix; without an extId, a rep's new account only when this company takes new
    accounts (by `branch`, the id of SSM_BRANCH, when the companies are several and it is
    known), a new contact or quote always (its account decides)."""
    if not sync.writes_parties:
        return Scope(skip=SHARED_NOT_OWNER)
    if not sync.ext_id_prefix:
        return Scope()
    if resource != "accounts":
        return Scope(sync.ext_id_prefix)
    if sync.branch and company.several():
        return Scope(sync.ext_id_prefix, branch=branch)
    return Scope(sync.ext_id_prefix, new=sync.takes_new_accounts)


def branch_id(items: Iterable[dict[str, Any]], name: str | None) -> int | None:
    """The id of the branch `name` (id, description; None: the default) among SSM's branches."""
    key = DEFAULT_KEY if name is None else name.strip().lower()
    found = [r[1] for r in rows_of("branches", items) if r[2] == key]
    return min(found) if found else None


def stored_branch_id(con: duckdb.DuckDBPyConnection, sync: SyncSettings) -> int | None:
    """SSM_BRANCH's id from the value lists the sync stored (None before the first sync)."""
    if not sync.branch:
        return None
    try:
        return lookup(con, "branches", sync.branch)
    except duckdb.CatalogException:
        return None


def newest_version(records: Iterable[dict[str, Any]]) -> datetime | None:
    versions = [v for v in map(version_of, records) if v is not None]
    return max(versions) if versions else None


def read_scoped(
    scoped: Scope, read: Callable[[str | None], list[dict[str, Any]]], where: str | None = None
) -> tuple[list[dict[str, Any]], datetime | None]:
    """`read(where)` narrowed to `scoped` by SSM, then tested record by record: (the records
    that can be this company's, the newest version of every record read, for the watermark).
    Should SSM refuse the narrowed `where` as SQL it cannot run (code 901: `IS NULL` is
    standard SQL, but no vendor sample shows it), the read goes on without it, filtered after
    reading."""
    narrowed = scoped.where
    if narrowed is None:
        records = read(where)
        return records, newest_version(records)
    try:
        records = read(narrowed if where is None else w.and_(where, narrowed))
    except SSMError as exc:
        if exc.code != SSM_SQL_ERROR:
            raise
        records = read(where)
    return [r for r in records if scoped.admits(r)], newest_version(records)


def known_accounts(con: duckdb.DuckDBPyConnection) -> set[int]:
    """The SSM accounts this company has read, pushed or written."""
    tables = {
        f"{s}.{t}"
        for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
    }
    known: set[int] = set()
    for table, column in (
        ("inbox.accounts", "id"),
        ("ssm.synced_accounts", "ssm_id"),
        ("inbox.written_accounts", "ssm_id"),
    ):
        if table in tables:
            known.update(
                int(i)
                for (i,) in con.execute(
                    f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"  # noqa: S608
                ).fetchall()
            )
    return known


def resolve_accounts(
    con: duckdb.DuckDBPyConnection,
    client: ChangeFeed,
    records: Iterable[dict[str, Any]],
    run_id: str,
) -> int:
    """Land in `inbox.accounts` the accounts of new contacts (no extId) that this company has
    never read: a company reads only its own accounts, so an unknown account is another
    company's (or a rep's account made seconds ago), and the engine needs it to tell which.
    One read per 50 accounts, none when every account is known; the accounts' versions wait
    for the accounts' reverse run like any other (another company's are skipped there)."""
    wanted = {fk(r.get("accountId")) for r in records if clean(r.get("extId")) is None}
    missing = sorted(wanted - known_accounts(con) - {None})
    found: list[dict[str, Any]] = []
    for start in range(0, len(missing), ACCOUNT_BATCH):
        found.extend(
            client.list("accounts", where=w.in_("id", missing[start : start + ACCOUNT_BATCH]))
        )
    land(con, "accounts", found, run_id)
    return len(found)


def fetch(
    client: ChangeFeed,
    resource: str,
    since: datetime | None,
    overlap: timedelta,
    where: str | None = None,
    not_created_by: int | None = None,
) -> list[dict[str, Any]]:
    """Every record changed after `since - overlap` (every record when `since` is None) that
    `where` selects (all when None), but those `not_created_by` created and nobody changed
    since (all of them if SSM refuses that filter, code 901)."""
    if since is None:
        return list(client.list(resource, where=where, order="id"))
    return changed_but_not_by(
        client, resource, since, overlap, where, not_created_by=not_created_by
    )


def changed_but_not_by(
    client: ChangeFeed,
    resource: str,
    since: datetime,
    overlap: timedelta,
    where: str | None,
    **user: int | None,
) -> list[dict[str, Any]]:
    """`client.changed_since` leaving out a user's changes (`not_by`: all of them;
    `not_created_by`: its creates nobody changed since); every change if no user is given or SSM
    refuses to filter on the audit fields (code 901)."""
    given = {name: value for name, value in user.items() if value is not None}
    if given:
        try:
            return list(
                client.changed_since(resource, since, lookback=overlap, where=where, **given)
            )
        except SSMError as exc:
            if exc.code != SSM_SQL_ERROR:
                raise
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


def connector_user(client: ChangeFeed, sync: SyncSettings) -> int | None:
    """The connector's own SSM user, from one read-only account of this company (only the push
    writes those): one call, the first page's first record; None before the first push."""
    where = w.eq("readOnly", True)
    if sync.ext_id_prefix:
        where = w.and_(where, w.like("extId", sync.ext_id_prefix + "%"))
    first = next(iter(client.list("accounts", where=where)), None)
    return None if first is None else fk(first.get("salesRepIdCreated"))


def _stored_connector_user(
    con: duckdb.DuckDBPyConnection, client: ChangeFeed, sync: SyncSettings
) -> int | None:
    """connector_user, looked up once and kept in the warehouse."""
    row = con.execute("SELECT user_id, refused FROM inbox.connector_user LIMIT 1").fetchone()
    if row is not None:
        return None if row[1] else row[0]
    try:
        user = connector_user(client, sync)
    except SSMError as exc:
        if exc.code != SSM_SQL_ERROR:
            raise
        con.execute("INSERT INTO inbox.connector_user VALUES (NULL, true)")
        return None
    if user is not None:
        con.execute("INSERT INTO inbox.connector_user VALUES (?, false)", [user])
    return user


def read_feed(
    connect: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
    client: ChangeFeed,
    resource: str,
    overlap: timedelta,
    run_id: str,
    where: str | None = None,
    sync: SyncSettings | None = None,
) -> FeedRead:
    """Read `resource`'s changes since its watermark that `where` selects and that can be this
    company's (`scope`, from `sync`, else the environment's settings), land them and move the
    watermark.

    The pages are read with no connection open: in a run, the warehouse then goes to a process
    waiting for it (a rep's quote) while a long read pages through SSM. Landing twice is
    harmless (each version once, the watermark never moves back)."""
    sync = sync or SyncSettings.from_env()
    calls = client.api_calls
    with connect() as con:
        ensure_tables(con)
        scoped = scope(resource, sync, stored_branch_id(con, sync))
        since = watermark(con, resource)
        if scoped.skip is not None:
            return FeedRead(resource=resource, since=since, watermark=since, skipped=scoped.skip)
        # What the connector created and nobody changed since is not read back (after a first
        # push: every record it wrote, page by page); an edit of one, by anyone, still is.
        user = _stored_connector_user(con, client, sync) if resource in PARTY_FEEDS else None
    started = now()
    records, newest = read_scoped(
        scoped, lambda narrowed: fetch(client, resource, since, overlap, narrowed, user), where
    )
    if since is None and newest is None:
        # A first read that found nothing (a fresh tenant): the next read starts here, not from
        # the beginning again, which after the first push would read back every record it wrote.
        # This clock stands in for SSM's: the overlap window absorbs a skew up to its length.
        newest = started
    with connect() as con:
        new, _ = land(con, resource, records, run_id)
        resolved = 0
        if resource == "contacts" and scoped.prefix is not None:
            resolved = resolve_accounts(con, client, records, run_id)
        mark = advance(con, resource, newest, run_id)
    return FeedRead(
        resource=resource,
        since=since,
        read=len(records),
        new_versions=new,
        watermark=mark,
        api_calls=client.api_calls - calls,
        accounts_resolved=resolved,
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
