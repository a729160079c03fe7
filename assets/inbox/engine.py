"""The reverse flow: what reps create or edit in SSM, written into Sage, exactly once.

The same plan → apply → ledger pattern as the push (assets/ssm/apply.py), the other way round:

* the **desired state** is the newest version of each SSM record the change feed landed in
  `inbox.<resource>` that awaits a decision, turned into Sage fields by the catalogue
  (`rules.py`) under the contract's rules (`client_companies`, `prospects`, `ssm_contacts`);
* the **ledger** `inbox.written_<resource>` says, per SSM id, what Sage acknowledged: the Sage
  key, the state (`pending_write` before the Sage call, `written` once Sage has it,
  `acknowledged` once SSM carries the Sage key), the content hash of what was written;
* the **outbox** is the ledger row committed as `pending_write` before each Sage call, with the
  SSM id as idempotency key, which Sage also keeps in the record (`SSM:<id>` in
  `SAGE_SDO_SSM_ID_FIELD` for a customer, in the contact address's Notes). A run that dies
  between the Sage write and SSM's acknowledgement is resolved by the next one: the pending row
  is looked up in Sage by that key, never written twice;
* `sync.changes`, `sync.dead_letters`, `sync.runs` are the push's own tables (resource = the
  contract entry), and `sync.conflicts` lists every field edited on both sides.

Rules:
* a company with the Client status, no extId, not read-only → a Sage customer (a new account
  code); SSM gets `extId` and `readOnly`, the admin user when it has no rep (at creation only);
* a company with the prospect status (when prospects go to Sage) → the same, with the prospect
  marker, and it stays editable; later SSM edits are written to Sage while it is a prospect;
* a contact (no extId) of an account Sage knows and that is not a prospect → a contact address;
  SSM gets its `extId`; later SSM edits of a Sage contact are written to Sage;
* a field edited on both sides since the last sync: the newer edit wins, Sage on a tie; both
  values land in `sync.conflicts`;
* an SSM delete never reaches Sage; a record SSM-owned fields cannot describe (no name, no
  country, a value longer than Sage holds) becomes a dead letter with the reason, shown to the
  rep in SSM (`SSM_SYNC_ERROR_FIELD`), and is tried again when the rep changes the record.

No echoes: after a Sage write, the push's ledger (`ssm.synced_<resource>`) is given the values
SSM already holds, so the next push sends nothing back; SSM versions that only carry the
connector's own writes compare equal to that ledger and are decided `echo`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import duckdb

from assets import company
from assets.inbox import feed
from assets.inbox.rules import (
    CONTACT_FIELDS,
    CONTACT_MARKER_PROPERTY,
    CUSTOMER_FIELDS,
    FULL_NAME,
    ReverseSettings,
    SageField,
    account_code,
    clean,
    full_name,
    missing,
    split_name,
    ssm_marker,
    too_long,
)
from assets.ssm import ledger
from assets.ssm.contract import pushed
from assets.ssm.plan import ssm_name, sync_stamp
from assets.ssm.settings import SyncSettings
from assets.ssm.value_lists import lookup
from resources.sage.writer import SageWriteError
from resources.ssm.errors import SSMError

Warehouse = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

CLIENT_COMPANIES = "client_companies"
PROSPECTS = "prospects"
SSM_CONTACTS = "ssm_contacts"

PENDING_WRITE = "pending_write"
WRITTEN = "written"
ACKNOWLEDGED = "acknowledged"

DDL = """
CREATE SCHEMA IF NOT EXISTS inbox;
CREATE TABLE IF NOT EXISTS sync.conflicts (
    run_id VARCHAR, resource VARCHAR, ext_id VARCHAR, ssm_id BIGINT, field VARCHAR,
    ssm_value VARCHAR, sage_value VARCHAR, acknowledged_value VARCHAR,
    ssm_changed_at TIMESTAMP, sage_changed_at TIMESTAMP, winner VARCHAR, rule VARCHAR,
    decided_at TIMESTAMP
);
"""
# Why a record is left to another Sage company of the tenant (counted as skipped, no dead letter).
ANOTHER_COMPANY = "another company's record"
SHARED_NOT_OWNER = (
    ": with shared keys the owning company writes accounts and contacts "
    "(SSM_SHARED_KEYS_OWNER=false here)"
)
NEW_ACCOUNTS = "is taken by the company of its SSM_BRANCH, else by SSM_TAKES_NEW_ACCOUNTS=true"
MODIFIED = "RECORD_MODIFY_DATE"  # SalesRecord's last-change stamp (CustomerAddress: ModifyDate)
CONFLICT_RULE = "the newer edit wins; Sage on a tie or when a side's time is unknown"


def written_table(resource: str) -> str:
    return f"inbox.written_{resource}"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    ledger.ensure_tables(con, ["accounts", "contacts", "sales_orders", "sales_order_lines"])
    feed.ensure_tables(con)
    con.execute(DDL)
    for resource in feed.FEEDS:
        con.execute(
            f"""
            CREATE TABLE IF NOT EXISTS {written_table(resource)} (
                ssm_id BIGINT PRIMARY KEY,
                sage_key VARCHAR,       -- account code, "<account code>/<address number>",
                                        -- or a quotation's number
                kind VARCHAR,           -- client | prospect | contact | quotation
                state VARCHAR NOT NULL, -- pending_write | written | acknowledged
                content_hash VARCHAR, payload VARCHAR,   -- the Sage fields written (JSON)
                ssm_version TIMESTAMP,  -- the SSM version they came from
                written_at TIMESTAMP, acknowledged_at TIMESTAMP, run_id VARCHAR
            )
            """
        )


class SageWriter(Protocol):
    """What the reverse flow needs of `resources.sage.writer.SageWriter`."""

    writes: int

    def check_fields(
        self, record: Any, names: Iterable[str], settings: Mapping[str, str] | None = None
    ) -> dict[str, Any]: ...

    def account_refs(self) -> set[str]: ...

    def customer(self, ref: str, fields: Iterable[str]) -> dict[str, Any] | None: ...

    def find_customer_by(self, field: str, value: str) -> str | None: ...

    def create_customer(self, ref: str, values: dict[str, Any], marker: tuple[str, str]) -> str: ...

    def edit_customer(self, ref: str, values: dict[str, Any]) -> None: ...

    def contacts(self, ref: str) -> list[dict[str, Any]]: ...

    def create_contact(self, ref: str, values: dict[str, Any], marker: tuple[str, str]) -> int: ...

    def edit_contact(self, ref: str, number: int, values: dict[str, Any]) -> None: ...


class SSMRecords(Protocol):
    api_calls: int
    write_calls: int

    def update(self, resource: str, id: int, changes: dict) -> None: ...


@dataclass
class ReverseReport:
    """One reverse resource in one run: what the UI and `sync.runs` show."""

    resource: str
    run_id: str
    read: int = 0  # versions awaiting a decision
    planned: int = 0  # Sage writes planned
    created: int = 0  # new Sage records
    updated: int = 0  # Sage records edited
    acknowledged: int = 0  # SSM records given their Sage key
    resolved: int = 0  # writes of an interrupted run found in Sage
    echoes: int = 0  # versions carrying nothing new for Sage
    skipped: int = 0  # not for Sage (Sage-owned, deleted in SSM, another status)
    deferred: int = 0
    failed: int = 0  # dead letters
    retry_later: int = 0
    conflicts: int = 0
    sage_writes: int = 0
    api_calls: int = 0
    write_calls: int = 0
    seconds: float = 0.0
    samples: list[tuple[str, str, str]] = field(default_factory=list)  # id, decision, why

    problem: str | None = None  # Sage could not be reached or is misconfigured (one sentence)
    stopped: bool = False  # a setting must be fixed: the run summary fails the sync run

    @property
    def status(self) -> str:
        if self.stopped:
            return "stopped"
        if self.failed:
            return "failed_records"
        return "retry_later" if self.retry_later else "ok"

    def note(self, ssm_id: int, decision: str, reason: str) -> None:
        if decision not in {"echo", "skipped"} and len(self.samples) < 20:
            self.samples.append((str(ssm_id), decision, reason))


@dataclass(frozen=True)
class Version:
    """The newest version of one SSM record awaiting a decision."""

    ssm_id: int
    version: datetime
    record: dict[str, Any]

    @property
    def updated_at(self) -> datetime | None:
        return feed.version_of(self.record)


def flat(record: dict[str, Any]) -> dict[str, Any]:
    """SSM reads foreign keys back as `{id, value}`: the id, as the connector writes them."""
    return {k: (v.get("id") if isinstance(v, dict) and "id" in v else v) for k, v in record.items()}


def _hash(values: dict[str, Any]) -> str:
    return hashlib.md5(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()  # noqa: S324


def _same(a: Any, b: Any) -> bool:
    a, b = clean(a), clean(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return (None if a is None else str(a)) == (None if b is None else str(b))


class Lookups:
    """What the rules need from the warehouse, read once per run."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sync: SyncSettings) -> None:
        def pairs(sql: str, params: list[Any] | None = None) -> dict[Any, Any]:
            return dict(con.execute(sql, params or []).fetchall())

        vl = "SELECT id, item_value FROM ssm.value_lists WHERE list_name = ? AND item_field = ?"
        self.have_lists = bool(con.execute("SELECT count(*) FROM ssm.value_lists").fetchall()[0][0])
        self.iso_of: dict[int, str] = pairs(vl, ["countries", "iso2"])
        self.country_of: dict[str, int] = {str(v).upper(): k for k, v in self.iso_of.items()}
        self.user_name: dict[int, str] = pairs(
            "SELECT id, any_value(label) FROM ssm.value_lists WHERE list_name = 'users' GROUP BY id"
        )
        statuses = con.execute(
            "SELECT DISTINCT id, lower(key) FROM ssm.value_lists "
            "WHERE list_name = 'accountStatuses'"
        ).fetchall()
        self.client_statuses = {i for i, k in statuses if k == sync.client_status.lower()}
        prospect_status = sync.prospect_status.strip().lower()
        self.prospect_statuses = {i for i, k in statuses if k == prospect_status}
        admin = con.execute(
            "SELECT min(id) FROM ssm.value_lists WHERE list_name = 'users' AND key = ?",
            [sync.admin_user.strip().lower()],
        ).fetchall()
        self.admin_user: int | None = admin[0][0] if admin else None
        self.accounts_by_ssm: dict[int, str] = pairs(
            "SELECT ssm_id, ext_id FROM ssm.synced_accounts WHERE state IN ('synced', 'from_ssm')"
        )
        self.account_ack: dict[str, tuple[int, dict[str, Any]]] = {
            ext: (sid, json.loads(p or "{}"))
            for ext, sid, p in con.execute(
                "SELECT ext_id, ssm_id, payload FROM ssm.synced_accounts "
                "WHERE state IN ('synced', 'from_ssm')"
            ).fetchall()
        }
        self.contact_ack: dict[str, tuple[int, dict[str, Any]]] = {
            ext: (sid, json.loads(p or "{}"))
            for ext, sid, p in con.execute(
                "SELECT ext_id, ssm_id, payload FROM ssm.synced_contacts "
                "WHERE state IN ('synced', 'from_ssm')"
            ).fetchall()
        }
        self.sage_refs: set[str] = set()
        self.prospects: set[str] = set()
        tables = {
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables()"
            ).fetchall()
        }
        if "staging.customer_accounts" in tables:
            self.sage_refs = {
                r
                for (r,) in con.execute(
                    "SELECT account_reference FROM staging.customer_accounts "
                    "WHERE deleted_at IS NULL"
                ).fetchall()
            }
        if "ssm.desired_accounts" in tables:
            columns = {
                c for (c,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'ssm' "
                    "AND table_name = 'desired_accounts'"
                ).fetchall()
            }  # fmt: skip
            if "read_only" in columns:  # a prospect is the one customer reps may edit
                self.prospects = {
                    r
                    for (r,) in con.execute(
                        "SELECT ext_id FROM ssm.desired_accounts WHERE NOT read_only"
                    ).fetchall()
                }
        self.sync = sync
        self.branch_id: int | None = lookup(con, "branches", sync.branch) if sync.branch else None
        # The newest version of every SSM account the feed landed: (extId, branch id), to tell
        # which company an account (and so its contacts and quotes) belongs to.
        self.inbox_accounts: dict[int, tuple[str | None, int | None]] = {}
        for id_, ext_id, branch in con.execute(
            """SELECT id, json_extract_string(record, '$.extId'),
                      coalesce(json_extract_string(record, '$.branchId.id'),
                               json_extract_string(record, '$.branchId'))
               FROM (SELECT id, arg_max(record, version) AS record FROM inbox.accounts
                     GROUP BY id)"""
        ).fetchall():
            self.inbox_accounts[int(id_)] = (
                clean(ext_id),
                int(branch) if str(branch or "").isdigit() else None,
            )
        written = con.execute(
            f"SELECT ssm_id, sage_key, kind, state FROM {written_table('accounts')}"  # noqa: S608
        ).fetchall()
        self.written_accounts: dict[int, tuple[str, str, str]] = {
            sid: (key, kind, state) for sid, key, kind, state in written
        }
        for key, kind, _state in self.written_accounts.values():
            if key and key not in self.sage_refs:  # written, not yet extracted
                self.sage_refs.add(key)
                if kind == "prospect":
                    self.prospects.add(key)

    def claims_new_account(self, branch_id: Any) -> bool:
        """Whether a rep's new account (no extId yet) filed under `branch_id` is this
        company's: with several companies the accounts of its SSM_BRANCH, or without a branch,
        every one when SSM_TAKES_NEW_ACCOUNTS (one company of the tenant); a single company
        takes every one, whatever its branch. With shared keys a non-owning company takes none:
        it never writes accounts."""
        if not self.sync.writes_parties:
            return False
        if self.sync.branch and company.several():
            return branch_id is not None and self.branch_id == int(branch_id)
        return self.sync.takes_new_accounts

    def another_companys_account(self, account_id: Any) -> bool:
        """Whether an SSM account is known to be another company's: its extId is not this
        company's (another prefix), or it is a rep's new account another company claims. An
        account this company pushed or wrote, or one not read yet, is not."""
        if account_id is None or int(account_id) in self.accounts_by_ssm:
            return False
        if int(account_id) in self.written_accounts:
            return False
        known = self.inbox_accounts.get(int(account_id))
        if known is None:
            return False
        ext_id, branch = known
        if ext_id is not None:
            return self.sync.sage_key(ext_id) is None
        return not self.claims_new_account(branch)

    def sage_ref_of_account(self, account_id: Any) -> str | None:
        """The Sage account code of an SSM account: pushed by Sage, or written by this flow."""
        if account_id is None:
            return None
        account_id = int(account_id)
        if account_id in self.accounts_by_ssm:
            return self.accounts_by_ssm[account_id]
        written = self.written_accounts.get(account_id)
        if written and written[2] in (WRITTEN, ACKNOWLEDGED):
            return written[0]
        return None


# --- SSM ↔ Sage values -------------------------------------------------------------------------


def customer_values(record: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """An SSM account's fields as SalesRecord fields."""
    values: dict[str, Any] = {}
    for f in CUSTOMER_FIELDS:
        value = clean(record.get(f.ssm))
        if f.value_list == "countries":
            value = lookups.iso_of.get(int(value)) if value is not None else None
        values[f.sage] = value
    return values


def contact_values(record: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in CONTACT_FIELDS:
        if f.ssm == FULL_NAME:
            values[f.sage] = full_name(record.get("firstName"), record.get("lastName"))
        else:
            values[f.sage] = clean(record.get(f.ssm))
    return values


def as_ssm(fields: tuple[SageField, ...], sage: dict[str, Any], lookups: Lookups) -> dict:
    """A Sage record's values in SSM's field names (first/last name split as the push does)."""
    out: dict[str, Any] = {}
    for f in fields:
        value = clean(sage.get(f.sage))
        if f.ssm == FULL_NAME:
            out["firstName"], out["lastName"] = split_name(value)
        elif f.value_list == "countries":
            out[f.ssm] = lookups.country_of.get(str(value).upper()) if value else None
        else:
            out[f.ssm] = value
    return out


def ssm_fields(fields: tuple[SageField, ...]) -> list[str]:
    names: list[str] = []
    for f in fields:
        names += ["firstName", "lastName"] if f.ssm == FULL_NAME else [f.ssm]
    return names


# --- the run ---------------------------------------------------------------------------------


Decision = Literal[
    "created", "edited", "acknowledged", "echo", "skipped", "deferred", "dead_letter",
    "retry_later", "conflict",
]  # fmt: skip


class ReverseRun:
    """One reverse resource (accounts or contacts) in one run."""

    def __init__(
        self,
        warehouse: Warehouse,
        client: SSMRecords,
        writer: Callable[[], SageWriter],
        sync: SyncSettings,
        settings: ReverseSettings,
        run_id: str,
        resource: Literal["accounts", "contacts", "salesorders"],
    ) -> None:
        self.warehouse, self.client, self._writer_factory = warehouse, client, writer
        self.sync, self.settings, self.run_id, self.resource = sync, settings, run_id, resource
        self._writer: SageWriter | None = None
        self._writer_failed: SageWriteError | None = None
        self.entity = CLIENT_COMPANIES if resource == "accounts" else SSM_CONTACTS
        self.report = ReverseReport(resource=self.entity, run_id=run_id)
        self.decisions: list[tuple[int, datetime, str, str]] = []
        self.lookups: Lookups

    @property
    def writer(self) -> SageWriter:
        """Sage is connected only when a run has something to write or check."""
        if self._writer_failed is not None:
            raise self._writer_failed  # Sage was unreachable once this run: not again per record
        if self._writer is None:
            try:
                self._writer = self._writer_factory()
            except SageWriteError as exc:
                self._writer_failed = exc
                raise
        return self._writer

    # --- bookkeeping

    @contextmanager
    def _con(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.warehouse() as con:
            yield con

    def _ledger(self, ssm_id: int, **values: Any) -> None:
        columns = ["ssm_id", *values, "run_id"]
        with self._con() as con:
            con.execute(
                f"INSERT INTO {written_table(self.resource)} ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT (ssm_id) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in columns[1:]),
                [ssm_id, *values.values(), self.run_id],
            )

    def _forget(self, ssm_id: int) -> None:
        with self._con() as con:
            con.execute(
                f"DELETE FROM {written_table(self.resource)} WHERE ssm_id = ?",  # noqa: S608
                [ssm_id],
            )

    def _change(
        self, v: Version | int, operation: str, outcome: str, key: str | None, message: str,
        fields: list[str] | None = None,
    ) -> None:  # fmt: skip
        ssm_id = v.ssm_id if isinstance(v, Version) else v
        with self._con() as con:
            ledger.record_changes(
                con,
                self.run_id,
                [
                    ledger.Change(
                        self.entity, str(ssm_id), ssm_id, operation, outcome,
                        changed_fields=fields or [], message=(f"{key}: " if key else "") + message,
                    )
                ],
            )  # fmt: skip

    def decide(self, v: Version, decision: Decision, reason: str) -> None:
        self.decisions.append((v.ssm_id, v.version, decision, reason))
        self.report.note(v.ssm_id, decision, reason)
        counter = {
            "echo": "echoes", "skipped": "skipped", "deferred": "deferred",
            "dead_letter": "failed", "retry_later": "retry_later",
        }.get(decision)  # fmt: skip
        if counter:
            setattr(self.report, counter, getattr(self.report, counter) + 1)

    def dead_letter(self, v: Version, operation: str, reason: str, code: Any, values: dict) -> None:
        """Not written: the reason in `sync.dead_letters` and on the SSM record for the rep."""
        payload = json.dumps(values, sort_keys=True, default=str)
        with self._con() as con:
            ledger.record_dead_letters(
                con,
                self.run_id,
                [
                    ledger.DeadLetter(
                        self.entity, str(v.ssm_id), operation, v.ssm_id, reason,
                        None if code is None else str(code), payload, _hash(values),
                    )
                ],
            )  # fmt: skip
        self._change(v, f"sage_{operation}", "failed", None, reason)
        self._show_in_ssm(v, f"Not in Sage: {reason}")
        self.decide(v, "dead_letter", reason)

    def _show_in_ssm(self, v: Version, message: str | None) -> None:
        name = self.sync.custom_name(self.settings.error_field)
        if _same(v.record.get(name), message):
            return  # already shown: writing it again would only make an echo
        try:
            self.client.update(self.resource, v.ssm_id, {name: message})
        except SSMError as exc:
            self.report.samples.append((str(v.ssm_id), "note", f"reason not shown in SSM: {exc}"))

    def _write_once(
        self, v: Version, kind: str, values: dict[str, Any], write: Callable[[], Any],
        key_of: Callable[[Any], str], pending_key: str | None = None, payload: str | None = None,
    ) -> str | None:  # fmt: skip
        """One Sage create through the outbox: `pending_write` in the ledger before the call,
        `written` with Sage's key after it. Sage's refusal is a dead letter (None); a transient
        error propagates, the record waiting for the next try as `pending_write`, which the next
        run settles by looking the record up in Sage by its SSM id."""
        common = {
            "kind": kind, "content_hash": _hash(values), "ssm_version": v.version,
            "payload": payload or json.dumps(values, default=str),
        }  # fmt: skip
        self._ledger(v.ssm_id, sage_key=pending_key, state=PENDING_WRITE, **common)
        try:
            answer = write()
        except SageWriteError as exc:
            if exc.transient:
                raise
            self._forget(v.ssm_id)
            self.dead_letter(v, "create", str(exc), exc.code, values)
            return None
        key = key_of(answer)
        self._ledger(v.ssm_id, sage_key=key, state=WRITTEN, written_at=ledger.now(), **common)
        return key

    def _open_dead_letter(self, v: Version, values: dict[str, Any]) -> str | None:
        """The reason of an open dead letter for exactly these values (nothing new to try)."""
        with self._con() as con:
            # open: waits for the rep; discarded: skipped until the record changes; requeued
            # (open with 0 attempts, the ssm_dead_letters job): tried again now.
            row = con.execute(
                "SELECT message FROM sync.dead_letters WHERE resource = ? AND ext_id = ? "
                "AND payload_hash = ? AND (status = 'discarded' OR "
                "(status = 'open' AND attempts > 0))",
                [self.entity, str(v.ssm_id), _hash(values)],
            ).fetchall()
        return row[0][0] if row else None

    def _resolve_dead_letter(self, v: Version) -> None:
        with self._con() as con:
            ledger.resolve_dead_letters(con, self.entity, [str(v.ssm_id)])

    def _conflict(
        self, key: str, ssm_id: int, name: str, ssm_value: Any, sage_value: Any, acked: Any,
        ssm_at: datetime | None, sage_at: datetime | None, winner: str,
    ) -> None:  # fmt: skip
        with self._con() as con:
            con.execute(
                "INSERT INTO sync.conflicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    self.run_id, self.entity, key, ssm_id, name,
                    None if ssm_value is None else str(ssm_value),
                    None if sage_value is None else str(sage_value),
                    None if acked is None else str(acked),
                    ssm_at, sage_at, winner, CONFLICT_RULE, ledger.now(),
                ],
            )  # fmt: skip
        self.report.conflicts += 1

    def _acknowledge_push_ledger(
        self, ext_id: str, ssm_id: int, values: dict[str, Any], table: str | None = None
    ) -> None:
        """Tell the push SSM already holds `values` for `ext_id`, so it sends nothing back. A
        record new to the push is `from_ssm` until the extract reads it back from Sage."""
        table = table or ("accounts" if self.resource == "accounts" else "contacts")
        with self._con() as con:
            rows = con.execute(
                f"SELECT payload, state, created_by_connector FROM {ledger.ledger_table(table)} "  # noqa: S608
                "WHERE ext_id = ? AND ssm_id = ?",
                [ext_id, ssm_id],
            ).fetchall()
            # A row of the key for another SSM record (a Sage number given again after a delete)
            # is history: this record starts its own.
            payload, state, ours = rows[0] if rows else (None, ledger.FROM_SSM, True)
            acknowledged = json.loads(payload or "{}")
            acknowledged.update(values)
            ledger.upsert(
                con,
                table,
                [
                    ledger.LedgerRow(
                        ext_id, ssm_id, state, None, json.dumps(acknowledged, default=str),
                        bool(ours),
                    )
                ],
                self.run_id,
            )  # fmt: skip

    # --- the run

    def run(self) -> ReverseReport:
        started = time.perf_counter()
        calls0, writes0 = self.client.api_calls, self.client.write_calls
        started_at = ledger.now()
        with self._con() as con:
            ensure_tables(con)
            self.lookups = Lookups(con, self.sync)
            pending = con.execute(
                f"SELECT ssm_id, sage_key, kind, state, payload FROM {written_table(self.resource)} "  # noqa: S608
                "WHERE state IN (?, ?) ORDER BY ssm_id",
                [PENDING_WRITE, WRITTEN],
            ).fetchall()
            versions = [
                Version(int(r[0]), r[1], flat(json.loads(r[4])))
                for r in con.execute(feed.undecided_sql(self.resource)).fetchall()
            ]
        self.report.read = len(versions)
        undecided = {v.ssm_id: v for v in versions}
        try:
            for ssm_id, key, kind, state, payload in pending:
                try:
                    self._finish_interrupted(ssm_id, key, kind, state,
                                             json.loads(payload or "{}"), undecided)  # fmt: skip
                except (SageWriteError, SSMError) as exc:
                    waiting = undecided.pop(ssm_id, None)
                    if waiting is not None:
                        self.decide(waiting, "retry_later", f"interrupted write unsettled: {exc}")
            for v in list(undecided.values()):
                if not self.lookups.have_lists:
                    self.decide(v, "deferred", "SSM's value lists are not read yet: run a sync")
                    continue
                try:
                    self._handle(v)
                except SageWriteError as exc:
                    if exc is self._writer_failed:  # Sage unreachable or misconfigured
                        self.decide(v, "retry_later", str(exc))
                    elif exc.transient:
                        self._change(v, "sage_write", "unknown", None, str(exc))
                        self.decide(v, "retry_later", str(exc))
                    else:
                        self.dead_letter(v, exc.operation or "write", str(exc), exc.code, {})
                except SSMError as exc:
                    self.decide(v, "retry_later", f"SSM did not take the acknowledgement: {exc}")
        finally:
            if self._writer_failed is not None:
                self.report.problem = str(self._writer_failed)
                self.report.stopped = not self._writer_failed.transient
            with self._con() as con:
                feed.decide(con, self.resource, self.decisions, self.run_id)
            if self._writer is not None:
                self.report.sage_writes = self._writer.writes
            self.report.api_calls = self.client.api_calls - calls0
            self.report.write_calls = self.client.write_calls - writes0
            self.report.seconds = time.perf_counter() - started
            self._record_run(started_at)
        return self.report

    def _record_run(self, started_at: datetime) -> None:
        r = self.report
        row = {
            "run_id": r.run_id, "resource": r.resource, "started_at": started_at,
            "finished_at": ledger.now(), "dry_run": False, "status": r.status,
            "message": r.problem or (f"{r.conflicts} conflicts" if r.conflicts else None),
            "desired": r.read, "planned": r.planned, "created": r.created,
            "updated": r.updated, "deleted": 0, "unchanged": r.echoes, "deferred": r.deferred,
            "skipped": r.skipped, "failed": r.failed, "ssm_deleted": 0, "resolved": r.resolved,
            "api_calls": r.api_calls, "write_calls": r.write_calls,
            "seconds": round(r.seconds, 3), "deletes_held_back": 0,
            "retry_later": r.retry_later,
        }  # fmt: skip
        with self._con() as con:
            con.execute(
                f"INSERT INTO sync.runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608
                list(row.values()),
            )

    def _handle(self, v: Version) -> None:
        """Decide one version (and write what the rules say)."""
        if self.resource == "accounts":
            self._account(v)
        else:
            self._contact(v)

    # --- interrupted runs

    def _finish_interrupted(
        self, ssm_id: int, key: str, kind: str, state: str, payload: dict,
        undecided: dict[int, Version],
    ) -> None:  # fmt: skip
        """A write whose outcome a dead run never recorded: find it in Sage by its SSM id."""
        if state == PENDING_WRITE:
            marker = ssm_marker(ssm_id)
            if self.resource == "accounts":
                found = self.writer.find_customer_by(self.settings.ssm_id_field, marker)
            else:
                account = key.split("/", 1)[0]
                found = next(
                    (
                        f"{account}/{c['AddressNumber']}"
                        for c in self.writer.contacts(account)
                        if marker in str(c.get(CONTACT_MARKER_PROPERTY) or "")
                    ),
                    None,
                )
            if found is None:
                self._forget(ssm_id)  # Sage never got it: planned again from the inbox
                self.lookups.written_accounts.pop(ssm_id, None)
                self._change(ssm_id, "resolve", "not_found", key, "not in Sage: written again")
                return
            key = found
            self._ledger(ssm_id, sage_key=key, kind=kind, state=WRITTEN, written_at=ledger.now())
            if self.resource == "accounts":
                self.lookups.written_accounts[ssm_id] = (key, kind, WRITTEN)
            self._change(ssm_id, "resolve", "ok", key, "found in Sage by its SSM id")
            self.report.resolved += 1
        v = undecided.pop(ssm_id, None)
        if v is not None:
            self._acknowledge(v, key, kind, payload)
            self.decide(v, "created", f"Sage {kind} {key} (the interrupted write, finished)")
            return
        with self._con() as con:
            rows = con.execute(
                f"SELECT id, version, record FROM {feed.inbox_table(self.resource)} "  # noqa: S608
                "WHERE id = ? ORDER BY version DESC LIMIT 1",
                [ssm_id],
            ).fetchall()
        for id_, version, record in rows:
            self._acknowledge(Version(int(id_), version, flat(json.loads(record))), key, kind,
                              payload)  # fmt: skip

    # --- accounts

    def _account(self, v: Version) -> None:
        r, look = v.record, self.lookups
        self.entity = CLIENT_COMPANIES
        written = look.written_accounts.get(v.ssm_id)
        if r.get("deleted"):
            self.decide(v, "skipped", "deleted in SSM: an SSM delete never reaches Sage")
            return
        if not self.sync.writes_parties:
            self.decide(v, "skipped", ANOTHER_COMPANY + SHARED_NOT_OWNER)
            return
        ext_id = self.sync.sage_key(clean(r.get("extId")))
        if ext_id is None and clean(r.get("extId")) is not None:
            self.decide(v, "skipped", f"{ANOTHER_COMPANY} (extId {r.get('extId')})")
            return
        if written and ext_id in (None, written[0]):
            key, kind, _state = written
            if kind == "prospect" and key in look.prospects and not r.get("readOnly"):
                self.entity = PROSPECTS
                self._two_way(v, key)
            else:
                self.decide(v, "echo", f"written to Sage as {key}: nothing more to write")
            return
        if ext_id is not None:
            if ext_id in look.prospects and not r.get("readOnly"):
                self.entity = PROSPECTS
                self._two_way(v, str(ext_id))
            else:
                self.decide(v, "skipped", f"Sage-owned ({ext_id}): SSM edits never reach Sage")
            return
        if r.get("readOnly"):
            self.decide(v, "skipped", "read-only in SSM without a Sage code: not a rep's record")
            return
        if not look.claims_new_account(r.get("branchId")):
            self.decide(v, "skipped", f"{ANOTHER_COMPANY}: a rep's new account {NEW_ACCOUNTS}")
            return
        status = r.get("statusId")
        status = int(status) if status is not None else None
        if status in look.client_statuses:
            self._create_customer(v, "client")
        elif status in look.prospect_statuses and self._prospects_to_sage():
            self._create_customer(v, "prospect")
        else:
            self.decide(v, "skipped", f"status {status} is neither Client nor a prospect for Sage")

    def _prospects_to_sage(self) -> bool:
        return self.sync.prospects_in_sage

    def _marker_values(self) -> dict[str, str]:
        field, value = self.sync.prospect_marker_sdo
        return {field: value}

    def _create_customer(self, v: Version, kind: str) -> None:
        r, look = v.record, self.lookups
        values = customer_values(r, look)
        rep = r.get("salesRepId1")
        values[self.settings.rep_field] = look.user_name.get(int(rep)) if rep else None
        values[self.settings.ssm_id_field] = ssm_marker(v.ssm_id)
        if self.settings.price_list:
            values["PRICE_LIST_REF"] = self.settings.price_list
        if kind == "prospect":
            values.update(self._marker_values())
        entity = CLIENT_COMPANIES if kind == "client" else PROSPECTS
        self.entity = entity
        reason = self._open_dead_letter(v, values)
        if reason is not None:
            self.decide(v, "dead_letter", f"unchanged since it failed: {reason}")
            return
        problems = [f"{name} is missing" for name in missing(CUSTOMER_FIELDS, values)]
        if r.get("countryId") is not None and values.get("COUNTRY_CODE") is None:
            problems.append(f"country {r.get('countryId')} has no ISO code in SSM's countries")
        problems += too_long(values, self._lengths("SalesRecord", values))
        if problems:
            self.dead_letter(v, "create", "; ".join(problems), "invalid", values)
            return
        self.report.planned += 1
        taken = self.writer.account_refs() | look.sage_refs
        code = account_code(str(values["NAME"]), taken.__contains__, self.settings.account_code,
                            sequence=self._sequence(taken))  # fmt: skip
        for _attempt in range(3):
            self._ledger(
                v.ssm_id, sage_key=code, kind=kind, state=PENDING_WRITE,
                content_hash=_hash(values), payload=json.dumps(values, default=str),
                ssm_version=v.version,
            )  # fmt: skip
            try:
                outcome = self.writer.create_customer(
                    code, {k: val for k, val in values.items() if val is not None},
                    (self.settings.ssm_id_field, ssm_marker(v.ssm_id)),
                )  # fmt: skip
            except SageWriteError as exc:
                if exc.code == 84:  # the code was taken meanwhile: the next free one
                    taken.add(code)
                    code = account_code(str(values["NAME"]), taken.__contains__,
                                        self.settings.account_code, self._sequence(taken))  # fmt: skip
                    continue
                if not exc.transient:
                    self._forget(v.ssm_id)
                    self.dead_letter(v, "create", str(exc), exc.code, values)
                    return
                raise
            break
        else:
            self._forget(v.ssm_id)
            self.dead_letter(v, "create", "no free account code after 3 tries", 84, values)
            return
        self._ledger(v.ssm_id, sage_key=code, kind=kind, state=WRITTEN, content_hash=_hash(values),
                     payload=json.dumps(values, default=str), ssm_version=v.version,
                     written_at=ledger.now())  # fmt: skip
        look.written_accounts[v.ssm_id] = (code, kind, WRITTEN)
        look.sage_refs.add(code)
        if kind == "prospect":
            look.prospects.add(code)
        self.report.created += 1
        self._change(v, "sage_create", "ok", code, f"{outcome} in Sage as a {kind}",
                     sorted(k for k, val in values.items() if val is not None))  # fmt: skip
        self._acknowledge(v, code, kind, values)
        self.decide(v, "created", f"Sage {kind} {code}")

    def _sequence(self, taken: set[str]) -> int:
        prefix = self.settings.account_code.partition(":")[2]
        numbers = [int(c[len(prefix):]) for c in taken
                   if prefix and c.startswith(prefix) and c[len(prefix):].isdigit()]  # fmt: skip
        return max(numbers, default=0)

    def _acknowledge(self, v: Version, key: str, kind: str, values: dict[str, Any]) -> None:
        """SSM gets the Sage key (and read-only, the admin user) once Sage has the record."""
        r = v.record
        ext_id = self.sync.ssm_ext_id(key)  # as the push sends it: the company's prefix
        if self.resource == "accounts":
            changes: dict[str, Any] = {"extId": ext_id, "readOnly": kind == "client"}
            if r.get("salesRepId1") is None and self.lookups.admin_user is not None:
                changes["salesRepId1"] = self.lookups.admin_user  # at creation only (seed 000)
        else:
            changes = {"extId": ext_id}
        error_name = self.sync.custom_name(self.settings.error_field)
        if r.get(error_name):
            changes[error_name] = None
        contract = pushed(self.resource)
        stamp = sync_stamp(contract, self.sync)
        self.client.update(self.resource, v.ssm_id, {**changes, **stamp})
        self.report.acknowledged += 1
        self._ledger(v.ssm_id, sage_key=key, kind=kind, state=ACKNOWLEDGED,
                     content_hash=_hash(values), payload=json.dumps(values, default=str),
                     ssm_version=v.version, acknowledged_at=ledger.now())  # fmt: skip
        if self.resource == "accounts":
            self.lookups.written_accounts[v.ssm_id] = (key, kind, ACKNOWLEDGED)
        # What SSM holds now, in the push's field names: the push then sends only what Sage
        # adds or changes (an account's balance, its Sage-computed fields), nothing back.
        acked = {
            ssm_name(rule, self.sync): r.get(ssm_name(rule, self.sync)) for rule in contract.fields
        }
        acked.update({k: val for k, val in changes.items() if k != error_name})
        self._acknowledge_push_ledger(key, v.ssm_id, acked)
        self._change(v, "ssm_acknowledge", "ok", key, "SSM carries the Sage key",
                     sorted(changes))  # fmt: skip
        self._resolve_dead_letter(v)

    def _lengths(self, record: str, values: Mapping[str, Any]) -> dict[str, int]:
        """Sage's length of each text field in `values` (from `Fields`, read once)."""
        infos = self.writer.check_fields(record, list(values))
        return {name: info.length for name, info in infos.items() if info.length}

    def _fields(self) -> tuple[SageField, ...]:
        return CUSTOMER_FIELDS if self.resource == "accounts" else CONTACT_FIELDS

    # --- contacts

    def _contact(self, v: Version) -> None:
        r, look = v.record, self.lookups
        if r.get("deleted"):
            self.decide(v, "skipped", "deleted in SSM: an SSM delete never reaches Sage")
            return
        if not self.sync.writes_parties:
            self.decide(v, "skipped", ANOTHER_COMPANY + SHARED_NOT_OWNER)
            return
        ext_id = self.sync.sage_key(clean(r.get("extId")))
        if ext_id is None and clean(r.get("extId")) is not None:
            self.decide(v, "skipped", f"{ANOTHER_COMPANY} (extId {r.get('extId')})")
            return
        if ext_id is not None:
            if str(ext_id) in look.contact_ack:
                self._two_way(v, str(ext_id))
            else:
                self.decide(v, "skipped", f"extId {ext_id} is not a Sage contact the push knows")
            return
        account = look.sage_ref_of_account(r.get("accountId"))
        if account is None and look.another_companys_account(r.get("accountId")):
            self.decide(v, "skipped", f"{ANOTHER_COMPANY}: its account is another company's")
            return
        if account is None:
            self.decide(v, "deferred", "its account is not a Sage customer yet")
            return
        if account in look.prospects:
            self.decide(v, "deferred", f"its account {account} is a prospect: contacts of a "
                        "prospect reach Sage once Sage converts it")  # fmt: skip
            return
        self._create_contact(v, account)

    def _create_contact(self, v: Version, account: str) -> None:
        values = contact_values(v.record)
        values["Name"] = values.get("Contact")
        reason = self._open_dead_letter(v, values)
        if reason is not None:
            self.decide(v, "dead_letter", f"unchanged since it failed: {reason}")
            return
        problems = [f"{name} is missing" for name in missing(CONTACT_FIELDS, values)]
        problems += too_long(values, self._lengths("CustomerAddress", values))
        if problems:
            self.dead_letter(v, "create", "; ".join(problems), "invalid", values)
            return
        self.report.planned += 1
        key = self._write_once(
            v, "contact", values,
            lambda: self.writer.create_contact(
                account, {k: val for k, val in values.items() if val is not None},
                (CONTACT_MARKER_PROPERTY, ssm_marker(v.ssm_id)),
            ),
            key_of=lambda number: f"{account}/{number}", pending_key=f"{account}/",
        )  # fmt: skip
        if key is None:
            return
        self.report.created += 1
        self._change(v, "sage_create", "ok", key, "contact address written to Sage",
                     sorted(k for k, val in values.items() if val is not None))  # fmt: skip
        self._acknowledge(v, key, "contact", values)
        self.decide(v, "created", f"Sage contact {key}")

    # --- edits on both sides

    def _two_way(self, v: Version, key: str) -> None:
        """An SSM edit of a record Sage owns jointly (a prospect, a contact): write what SSM
        changed since the push last acknowledged, deciding fields Sage changed too."""
        look, r = self.lookups, v.record
        fields = self._fields()
        acks = look.account_ack if self.resource == "accounts" else look.contact_ack
        if key not in acks:
            self.decide(v, "deferred", f"{key} is not pushed yet: its edits wait for the push")
            return
        _ssm_id, acked = acks[key]
        names = ssm_fields(fields)
        ssm_changed = [n for n in names if n in acked and not _same(r.get(n), acked.get(n))]
        if not ssm_changed:
            self.decide(v, "echo", "nothing changed in SSM since the push acknowledged it")
            return
        if self.resource == "accounts":
            sage_raw = self.writer.customer(key, [*(f.sage for f in fields), MODIFIED])
            sage_at = feed.parse_date((sage_raw or {}).get(MODIFIED))
        else:
            account, _, number = key.partition("/")
            sage_raw = next(
                (c for c in self.writer.contacts(account) if str(c["AddressNumber"]) == number),
                None,
            )
            sage_at = feed.parse_date((sage_raw or {}).get("ModifyDate"))
        if sage_raw is None:
            self.decide(v, "skipped", f"{key} is no longer in Sage: the push marks it deleted")
            return
        sage = as_ssm(fields, sage_raw, look)
        ssm_at = feed.parse_date(r.get("dateUpdated")) or v.version
        to_sage: dict[str, Any] = {}
        for name in ssm_changed:
            if name in sage and not _same(sage[name], acked.get(name)):
                if _same(sage[name], r.get(name)):
                    to_sage[name] = r.get(name)  # the same edit on both sides
                    continue
                ssm_wins = sage_at is not None and ssm_at > sage_at
                self._conflict(key, v.ssm_id, name, r.get(name), sage[name], acked.get(name),
                               ssm_at, sage_at, "SSM" if ssm_wins else "Sage")  # fmt: skip
                if not ssm_wins:
                    continue  # the push sends Sage's value to SSM
            to_sage[name] = r.get(name)
        if not to_sage:
            self.decide(v, "conflict", "every field SSM changed was changed in Sage later")
            return
        merged = dict(r)
        merged.update(to_sage)
        values = (
            customer_values(merged, look) if self.resource == "accounts"
            else contact_values(merged)
        )  # fmt: skip
        changed_sage = {
            f.sage: values[f.sage]
            for f in fields
            if any(
                n in to_sage for n in (["firstName", "lastName"] if f.ssm == FULL_NAME else [f.ssm])
            )  # fmt: skip
            and not _same(values[f.sage], sage_raw.get(f.sage))
        }
        lengths = self._lengths(
            "SalesRecord" if self.resource == "accounts" else "CustomerAddress", changed_sage
        )
        problems = too_long(changed_sage, lengths) + [
            f"{n} is missing" for n in missing(fields, {**sage_raw, **changed_sage})
        ]
        if problems:
            self.dead_letter(v, "edit", "; ".join(problems), "invalid", changed_sage)
            return
        if changed_sage:
            self.report.planned += 1
            try:
                if self.resource == "accounts":
                    self.writer.edit_customer(key, changed_sage)
                else:
                    self.writer.edit_contact(key.partition("/")[0], int(key.partition("/")[2]),
                                             changed_sage)  # fmt: skip
            except SageWriteError as exc:
                if exc.transient:
                    raise
                self.dead_letter(v, "edit", str(exc), exc.code, changed_sage)
                return
            self.report.updated += 1
            self._change(v, "sage_edit", "ok", key, "SSM edit written to Sage",
                         sorted(changed_sage))  # fmt: skip
        # A writer whose edits reach Sage later (Sage 50 FR's import files): the push's ledger
        # learns SSM's values from the export that shows them; told now, the push would send the
        # export's older values back over the rep's edit meanwhile.
        if not getattr(self._writer, "reads_back_later", False):
            self._acknowledge_push_ledger(key, v.ssm_id, to_sage)
        self._resolve_dead_letter(v)
        self.decide(v, "edited", f"{key}: {', '.join(sorted(to_sage))} from SSM")
