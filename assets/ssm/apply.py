"""Apply a push plan to SSM, recording every acknowledgement in the ledger as it arrives.

Order of work for one resource:
1. pending creates of an interrupted run are looked up in SSM (by extId, or by the contract's
   lookup fields) and adopted, or forgotten so that they are created again; on a resource's
   first push, records SSM already holds under the same key are adopted, not created again
   (adopted records are not the connector's: a Sage delete leaves them live unless
   `SSM_DELETE_ADOPTED=true`);
2. records deleted in SSM since the previous push are found (one read) and reported;
3. the plan is built (`plan.py`) and stored in `sync.plans`; a dry run stops here;
4. the delete breaker may refuse the whole push, in one sentence;
5. creates, then updates, then deletes, in bulk batches. Before a create batch is sent its rows
   are committed as `pending_create`; after each batch the answers are committed (ledger,
   `sync.changes`, `sync.dead_letters`), before the next request leaves (for creates, in the
   same transaction as the next batch's pending rows). A crash therefore loses no
   acknowledgement and never duplicates a record: the next run resolves the pending rows first.
   Creates whose answer was lost are looked up in the same run and the ones SSM never got are
   sent again (a few rounds), so a lost answer rarely waits for the next run.

Every write of the bookkeeping is set-based (`ledger.py` stages a batch's rows as one Arrow
table), and the warehouse is opened once per bulk batch, so the push waits on the API's rate,
not on itself.

The warehouse is opened only for short transactions, so a long push never holds DuckDB's single
writer lock while it waits for the API.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import duckdb

from assets.ssm import ledger
from assets.ssm import plan as planning
from assets.ssm.contract import ResourceContract
from assets.ssm.settings import SyncSettings
from assets.ssm.value_lists import lookup
from resources.ssm import where as w
from resources.ssm.client import NOT_SENT, OUTCOME_UNKNOWN
from resources.ssm.errors import SSMError, SSMNotFoundError, SSMValidationError

# Client outcomes that say nothing about the record itself: SSM was unreachable or its answer
# was lost. Such a record is retried next run, never dead-lettered.
TRANSIENT = frozenset({NOT_SENT, OUTCOME_UNKNOWN})
_LOOKUP_CHUNK = 40  # extIds per `where extId IN (...)`, to keep URLs short
# Rounds of "look up the creates whose answer was lost, send again those SSM never got" after
# the first send, within one push.
_CREATE_RETRY_ROUNDS = 2
# Reads of SSM-side deletes start this long before the previous push, for late commits.
_DELETE_LOOKBACK = timedelta(minutes=5)

Warehouse = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


class BulkOutcome(Protocol):
    index: int
    ok: bool
    id: int | None
    code: Any
    message: str | None


class SSMWriter(Protocol):
    """The part of `resources.ssm.SSMClient` the push uses."""

    api_calls: int
    write_calls: int
    date_literal_format: str

    def list(
        self, resource: str, where: str | None = None, order: str | None = None
    ) -> Iterator[dict[str, Any]]: ...

    def get(self, resource: str, id: int) -> dict[str, Any]: ...

    def bulk_create(self, resource: str, items: list[dict[str, Any]]) -> list[Any]: ...

    def bulk_update(self, resource: str, items: list[tuple[int, dict[str, Any]]]) -> list[Any]: ...

    def bulk_delete(self, resource: str, ids: list[int]) -> list[Any]: ...

    def batch_size(self, resource: str, op: str) -> int: ...


@dataclass(frozen=True)
class PushOptions:
    dry_run: bool = False
    allow_mass_delete: bool = False
    breaker: planning.DeleteBreaker = field(default_factory=planning.DeleteBreaker)
    failure_sample: int = 10


@dataclass
class PushReport:
    resource: str
    run_id: str
    dry_run: bool = False
    desired: int = 0
    planned: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    deferred: int = 0
    skipped: int = 0
    failed: int = 0
    ssm_deleted: int = 0
    retry_later: int = 0  # SSM unreachable or answer lost: retried by the next run
    resolved: int = 0
    adopted: int = 0  # first push: records SSM already held under the same key
    api_calls: int = 0
    write_calls: int = 0
    seconds: float = 0.0
    refused: str | None = None
    stopped: bool = False  # the API gave up mid-push: the next run carries on from the ledger
    notes: list[str] = field(default_factory=list)  # what the push could not check, in words
    plan_counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # ext_id, op, message
    deferred_sample: list[tuple[str, str]] = field(default_factory=list)
    skipped_sample: list[tuple[str, str]] = field(default_factory=list)
    ssm_deleted_sample: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.refused:
            return "refused"
        if self.stopped:
            return "stopped"
        if self.dry_run:
            return "dry_run"
        return "failed_records" if self.failed else "ok"

    @property
    def completion_ratio(self) -> float:
        """Share of the planned writes that SSM acknowledged (1.0 when nothing was to do)."""
        if self.dry_run or self.refused:
            return 0.0 if self.planned else 1.0
        if not self.planned:
            return 1.0
        return round((self.created + self.updated + self.deleted) / self.planned, 4)


# --- helpers ---------------------------------------------------------------------------------


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    size = max(1, size)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _message(result: Any) -> str:
    return str(getattr(result, "message", None) or f"SSM answered code {result.code}")


def _is_deleted(record: dict[str, Any] | None) -> bool:
    return record is None or bool(record.get("deleted"))


def _live_first(record: dict[str, Any]) -> tuple[bool, int]:
    """Of several SSM records under one key, a live one first, then the oldest."""
    return _is_deleted(record), int(record["id"])


def _lookup_where(contract: ResourceContract, payload: dict[str, Any]) -> str | None:
    """A `where` that finds a record by the contract's lookup fields (FKs by `.id`)."""
    parts = []
    for name in contract.lookup_fields:
        value = payload.get(name)
        if value is None:
            return None
        parts.append(w.eq(name, value))
    return w.and_(*parts)


def _find_live(
    client: SSMWriter, contract: ResourceContract, pending: Sequence[tuple[str, dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """ext_id -> the live SSM record a pending create became (the lowest id).

    Deleted matches are ignored: one may be the record's earlier life (the connector deleted it
    when Sage did, then Sage restored it), and taking it for the interrupted create would report
    a live Sage record as deleted in SSM on every later run. The price: a create that landed and
    that someone deleted in SSM before the next run is sent once more.
    """
    found: dict[str, dict[str, Any]] = {}

    def keep(ext_id: str, record: dict[str, Any]) -> None:
        best = found.get(ext_id)
        if not _is_deleted(record) and (best is None or int(record["id"]) < int(best["id"])):
            found[ext_id] = record

    if contract.lookup_fields == ("extId",):
        ext_ids = [ext_id for ext_id, _ in pending]
        for start in range(0, len(ext_ids), _LOOKUP_CHUNK):
            chunk = ext_ids[start : start + _LOOKUP_CHUNK]
            for record in client.list(contract.ssm_resource, where=w.in_("extId", chunk)):
                if record.get("extId") in chunk:
                    keep(str(record["extId"]), record)
        return found
    for ext_id, payload in pending:
        where = _lookup_where(contract, payload)
        if where is not None:
            for record in client.list(contract.ssm_resource, where=where):
                keep(ext_id, record)
    return found


class _Recorder:
    """Writes ledger rows, changes and dead letters in one short transaction per batch."""

    def __init__(self, warehouse: Warehouse, contract: ResourceContract, run_id: str) -> None:
        self.warehouse = warehouse
        self.contract = contract
        self.run_id = run_id

    def commit(
        self,
        rows: Sequence[ledger.LedgerRow] = (),
        changes: Sequence[ledger.Change] = (),
        dead: Sequence[ledger.DeadLetter] = (),
        resolved: Sequence[str] = (),
        forget: Sequence[str] = (),
    ) -> None:
        with self.warehouse() as con:
            con.execute("BEGIN")
            try:
                ledger.forget(con, self.contract.name, forget)
                ledger.upsert(con, self.contract.name, rows, self.run_id)
                ledger.record_changes(con, self.run_id, changes)
                ledger.record_dead_letters(con, self.run_id, dead)
                ledger.resolve_dead_letters(con, self.contract.name, resolved)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise


# --- phases ----------------------------------------------------------------------------------


@dataclass
class Resolution:
    """What a look-up of pending creates found: SSM ids, and the creates SSM never got."""

    found: dict[str, int] = field(default_factory=dict)
    not_found: list[str] = field(default_factory=list)

    @property
    def looked_up(self) -> int:
        return len(self.found) + len(self.not_found)


def resolve_pending(
    warehouse: Warehouse,
    client: SSMWriter,
    contract: ResourceContract,
    recorder: _Recorder,
    only: Sequence[str] | None = None,
) -> Resolution:
    """Look up creates sent without a recorded answer (all pending ones, or `only` those).

    A live match is the create: recorded as synced. No live match: SSM never got it; the row is
    forgotten so that the record is created again.
    """
    with warehouse() as con:
        pending = con.execute(
            f"SELECT ext_id, content_hash, payload FROM {ledger.ledger_table(contract.name)} "  # noqa: S608
            "WHERE state = 'pending_create' ORDER BY ext_id"
        ).fetchall()
    if only is not None:
        wanted = set(only)
        pending = [row for row in pending if row[0] in wanted]
    found = _find_live(client, contract, [(e, json.loads(p or "{}")) for e, _, p in pending])
    # Every answer of the look-up in one transaction (a crash before it just looks again).
    resolution = Resolution()
    rows: list[ledger.LedgerRow] = []
    changes: list[ledger.Change] = []
    for ext_id, content_hash, payload in pending:
        record = found.get(ext_id)
        if record is None:
            resolution.not_found.append(ext_id)
            changes.append(
                ledger.Change(
                    contract.name, ext_id, None, "resolve", "not_found",
                    message="SSM never recorded the create whose answer was lost; sent again",
                )
            )  # fmt: skip
            continue
        ssm_id = int(record["id"])
        resolution.found[ext_id] = ssm_id
        rows.append(ledger.LedgerRow(ext_id, ssm_id, ledger.SYNCED, content_hash, payload, True))
        changes.append(
            ledger.Change(
                contract.name, ext_id, ssm_id, "resolve", "ok",
                message="the create whose answer was lost had reached SSM; kept, not re-created",
            )
        )  # fmt: skip
    if pending:
        recorder.commit(
            rows=rows,
            changes=changes,
            resolved=list(resolution.found),
            forget=resolution.not_found,
        )
    return resolution


def _as_written(value: Any) -> Any:
    """A field as the connector writes it: SSM reads foreign keys back as `{id, value}`."""
    return value.get("id") if isinstance(value, dict) else value


def _lookup_key(contract: ResourceContract, values: dict[str, Any]) -> tuple[str, ...] | None:
    key = tuple(str(_as_written(values.get(f)) or "") for f in contract.lookup_fields)
    return None if "" in key else key


def adopt_existing(
    warehouse: Warehouse,
    client: SSMWriter,
    contract: ResourceContract,
    settings: SyncSettings,
    recorder: _Recorder,
) -> int:
    """First push of a resource: adopt what SSM already holds under the same key.

    A tenant that ran the vendor's connector, or imported its ERP, already has the Sage records
    with the Sage key as extId; creating them again would make twins. While a resource's ledger
    is empty, its SSM records are read once (one call when there are none) and each desired
    record matching one by the contract's lookup fields is adopted with that record's current
    values, so the plan then sends only the fields that differ. A match SSM holds as deleted is
    `ssm_deleted`: reported, never re-created. Adopted records are saved as not created by the
    connector, so a Sage delete leaves them live in SSM (unless `SSM_DELETE_ADOPTED=true`).
    """
    payloads = planning.payload_sql(contract, settings)
    with warehouse() as con:
        if con.execute(f"SELECT count(*) FROM {ledger.ledger_table(contract.name)}").fetchone()[0]:  # type: ignore[index]  # noqa: S608
            return 0
        desired = con.execute(
            f"SELECT ext_id, payload FROM ({payloads}) WHERE waiting_for = '' ORDER BY ext_id"  # noqa: S608
        ).fetchall()
    if not desired:
        return 0
    by_ext_id = contract.lookup_fields == ("extId",)
    held: dict[tuple[str, ...], dict[str, Any]] = {}
    for record in client.list(
        contract.ssm_resource, where=w.ne("extId", "") if by_ext_id else None
    ):
        key = _lookup_key(contract, record)
        best = held.get(key) if key else None
        if key and (best is None or _live_first(record) < _live_first(best)):
            held[key] = record
    rows: list[ledger.LedgerRow] = []
    changes: list[ledger.Change] = []
    for ext_id, payload in desired:
        values = json.loads(payload)
        key = _lookup_key(contract, values)
        record = held.get(key) if key else None
        if record is None:
            continue
        ssm_id = int(record["id"])
        if _is_deleted(record):
            rows.append(ledger.LedgerRow(ext_id, ssm_id, ledger.SSM_DELETED, None, None, False))
        else:
            # No content hash: the plan compares the desired payload with SSM's current values.
            current = {name: _as_written(record[name]) for name in values if name in record}
            rows.append(
                ledger.LedgerRow(ext_id, ssm_id, ledger.SYNCED, None, json.dumps(current), False)
            )
        changes.append(
            ledger.Change(
                contract.name, ext_id, ssm_id, "adopt",
                "ssm_deleted" if _is_deleted(record) else "ok",
                message=f"already in SSM as id {ssm_id}; adopted instead of created (not "
                "created by the connector: a Sage delete leaves it live)",
            )
        )  # fmt: skip
    if rows:
        recorder.commit(rows=rows, changes=changes)
    return len(rows)


def match_users(
    warehouse: Warehouse, contract: ResourceContract, settings: SyncSettings, run_id: str
) -> int:
    """Map new Sage reps to existing SSM users, without API calls.

    A rep matches a user's extId first, then full name, then e-mail (case-insensitive), the
    lowest id among equals: a rep code that is one user's extId is that user, even if another
    user happens to carry it as a name. A rep once matched keeps its user (never re-matched).
    """
    sql = planning.payload_sql(contract, settings)
    with warehouse() as con:
        ledger.ensure_tables(con, [contract.name])
        count_sql = f"SELECT count(*) FROM {ledger.ledger_table(contract.name)}"  # noqa: S608
        before = con.execute(count_sql).fetchone()
        con.execute(
            f"""
            INSERT INTO {ledger.ledger_table(contract.name)}
            SELECT d.ext_id, u.id, 'synced', md5(d.payload), d.payload, false,
                   current_timestamp AT TIME ZONE 'UTC', ?
            FROM ({sql}) d
            JOIN (SELECT key, id FROM ssm.value_lists
                  WHERE list_name = 'users' AND item_field IN ('extId', 'fullName', 'email')
                  QUALIFY row_number() OVER (
                      PARTITION BY key
                      ORDER BY CASE item_field WHEN 'extId' THEN 1 WHEN 'fullName' THEN 2
                               ELSE 3 END, id) = 1
                 ) u ON u.key = lower(trim(d.ext_id))
            WHERE d.ext_id NOT IN (SELECT ext_id FROM {ledger.ledger_table(contract.name)})
            """,  # noqa: S608
            [run_id],
        )
        after = con.execute(count_sql).fetchone()
    return int(after[0]) - int(before[0])  # type: ignore[index]


def _defaults(con: duckdb.DuckDBPyConnection, settings: SyncSettings) -> dict[str, Any]:
    admin = lookup(con, "users", settings.admin_user)
    ext_id = con.execute(
        "SELECT min(item_value) FROM ssm.value_lists "
        "WHERE list_name = 'users' AND item_field = 'extId' AND id = ?",
        [admin],
    ).fetchone()
    return {
        "admin_user": admin,
        # /sales links its rep by extId: the admin user's, else the setting as given.
        "admin_user_ext_id": (ext_id[0] if ext_id else None) or settings.admin_user,
    }


@dataclass
class _BatchOutcome:
    """What one bulk batch's answers mean for the ledger, the change log and dead letters."""

    contract: ResourceContract
    operation: str
    report: PushReport
    rows: list[ledger.LedgerRow] = field(default_factory=list)
    changes: list[ledger.Change] = field(default_factory=list)
    dead: list[ledger.DeadLetter] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    forget: list[str] = field(default_factory=list)

    def change(
        self, op: planning.PlannedOp, ssm_id: int | None, outcome: str, message: str | None = None
    ) -> None:
        self.changes.append(
            ledger.Change(
                self.contract.name, op.ext_id, ssm_id, self.operation, outcome,
                op.changed_fields, message, op.body or None,
            )
        )  # fmt: skip

    def ok(self, op: planning.PlannedOp, row: ledger.LedgerRow, message: str | None = None) -> None:
        self.rows.append(row)
        self.change(op, row.ssm_id, "ok", message)
        self.resolved.append(op.ext_id)

    def transient(self, op: planning.PlannedOp, result: Any, outcome: str) -> None:
        self.change(op, op.ssm_id, outcome, _message(result))
        self.report.retry_later += 1

    def failed(self, op: planning.PlannedOp, result: Any) -> None:
        message = _message(result)
        self.change(op, op.ssm_id, "failed", message)
        self.dead.append(
            ledger.DeadLetter(
                self.contract.name, op.ext_id, self.operation, op.ssm_id, message,
                str(result.code), json.dumps(op.body, default=str) if op.body else None,
                op.content_hash,
            )
        )  # fmt: skip
        self.report.failed += 1
        self.report.failures.append((op.ext_id, self.operation, message))

    def commit(self, recorder: _Recorder) -> None:
        recorder.commit(self.rows, self.changes, self.dead, self.resolved, self.forget)


def _apply_creates(
    client: SSMWriter,
    contract: ResourceContract,
    ops: list[planning.PlannedOp],
    recorder: _Recorder,
    report: PushReport,
) -> list[planning.PlannedOp]:
    """Send the creates; return those whose outcome is unknown (still `pending_create`)."""
    unknown: list[planning.PlannedOp] = []
    answered: _BatchOutcome | None = None  # the previous batch's answers, not yet committed
    for batch in _batches(ops, client.batch_size(contract.ssm_resource, "create")):
        # Committed before sending: if the answer is lost to a crash, the next run looks
        # these up instead of creating them twice. The previous batch's answers go in the
        # same transaction (one warehouse round trip per batch): either way every answer is
        # in the ledger before the next request leaves.
        pending = [
            ledger.LedgerRow(
                op.ext_id, None, ledger.PENDING_CREATE, op.content_hash, op.payload, True
            )
            for op in batch
        ]
        if answered is None:
            recorder.commit(rows=pending)
        else:
            answered.rows.extend(pending)
            answered.commit(recorder)
        outcome = _BatchOutcome(contract, "create", report)
        for result in client.bulk_create(contract.ssm_resource, [op.body for op in batch]):
            op = batch[result.index]
            if result.ok and result.id is not None:
                row = ledger.LedgerRow(
                    op.ext_id, int(result.id), ledger.SYNCED, op.content_hash, op.payload, True
                )
                outcome.ok(op, row)
                report.created += 1
            elif result.code == OUTCOME_UNKNOWN:
                outcome.transient(op, result, "unknown")  # stays pending_create: looked up
                unknown.append(op)
            elif result.code == NOT_SENT:
                outcome.forget.append(op.ext_id)
                outcome.transient(op, result, "not_sent")
            else:
                outcome.forget.append(op.ext_id)
                outcome.failed(op, result)
        answered = outcome
    if answered is not None:
        answered.commit(recorder)
    return unknown


def _create_all(
    warehouse: Warehouse,
    client: SSMWriter,
    contract: ResourceContract,
    ops: list[planning.PlannedOp],
    recorder: _Recorder,
    report: PushReport,
) -> None:
    """Creates, then in the same run the look-up of those whose answer was lost.

    A record without extId (an order line, a product rate) cannot be settled by the client: one
    5xx on its bulk create leaves the whole batch unknown. Looking them up by their lookup
    fields right away, and sending again only what SSM never got, keeps a flaky API from
    pushing them to the next run.
    """
    unknown = _apply_creates(client, contract, ops, recorder, report)
    for _ in range(_CREATE_RETRY_ROUNDS):
        if not unknown:
            return
        resolution = resolve_pending(
            warehouse, client, contract, recorder, only=[op.ext_id for op in unknown]
        )
        report.created += len(resolution.found)
        report.retry_later -= len(unknown)  # each one is settled now, or sent again below
        missing = set(resolution.not_found)
        unknown = _apply_creates(
            client, contract, [op for op in unknown if op.ext_id in missing], recorder, report
        )


def _deleted_in_ssm(client: SSMWriter, contract: ResourceContract, ssm_id: int) -> bool:
    try:
        return _is_deleted(client.get(contract.ssm_resource, ssm_id))
    except SSMNotFoundError:
        return True


def _apply_updates(
    client: SSMWriter,
    contract: ResourceContract,
    ops: list[planning.PlannedOp],
    recorder: _Recorder,
    report: PushReport,
) -> None:
    for batch in _batches(ops, client.batch_size(contract.ssm_resource, "update")):
        items = [(int(op.ssm_id or 0), op.body) for op in batch]
        outcome = _BatchOutcome(contract, "update", report)
        for result in client.bulk_update(contract.ssm_resource, items):
            op = batch[result.index]
            if result.ok:
                row = ledger.LedgerRow(
                    op.ext_id, op.ssm_id, ledger.SYNCED, op.content_hash, op.payload,
                    op.created_by_connector,
                )  # fmt: skip
                outcome.ok(op, row)
                report.updated += 1
            elif result.code in TRANSIENT:
                outcome.transient(op, result, "not_sent")
            elif _deleted_in_ssm(client, contract, int(op.ssm_id or 0)):
                # Someone deleted it in SSM: never re-created silently, never sent to Sage.
                outcome.rows.append(
                    ledger.LedgerRow(
                        op.ext_id, op.ssm_id, ledger.SSM_DELETED, None, None,
                        op.created_by_connector,
                    )
                )  # fmt: skip
                outcome.change(op, op.ssm_id, "ssm_deleted", _message(result))
                outcome.resolved.append(op.ext_id)
                report.ssm_deleted += 1
                report.ssm_deleted_sample.append(op.ext_id)
            else:
                outcome.failed(op, result)
        outcome.commit(recorder)


def _apply_deletes(
    client: SSMWriter,
    contract: ResourceContract,
    ops: list[planning.PlannedOp],
    recorder: _Recorder,
    report: PushReport,
) -> None:
    for batch in _batches(ops, client.batch_size(contract.ssm_resource, "delete")):
        outcome = _BatchOutcome(contract, "delete", report)
        ids = [int(op.ssm_id or 0) for op in batch]
        for result in client.bulk_delete(contract.ssm_resource, ids):
            op = batch[result.index]
            if result.ok:  # the client counts an already-deleted record as deleted
                row = ledger.LedgerRow(op.ext_id, op.ssm_id, ledger.DELETED, None, None, True)
                outcome.ok(op, row, result.message)
                report.deleted += 1
            elif result.code in TRANSIENT:
                outcome.transient(op, result, "not_sent")
            else:
                outcome.failed(op, result)
        outcome.commit(recorder)


def _record_run(
    warehouse: Warehouse, report: PushReport, started_at: Any, message: str | None
) -> None:
    with warehouse() as con:
        ledger.ensure_tables(con, [])
        con.execute(
            "INSERT INTO sync.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                report.run_id,
                report.resource,
                started_at,
                ledger.now(),
                report.dry_run,
                report.status,
                message,
                report.desired,
                report.planned,
                report.created,
                report.updated,
                report.deleted,
                report.unchanged,
                report.deferred,
                report.skipped,
                report.failed,
                report.ssm_deleted,
                report.resolved,
                report.api_calls,
                report.write_calls,
                round(report.seconds, 3),
            ],
        )


def detect_ssm_deletes(
    warehouse: Warehouse,
    client: SSMWriter,
    contract: ResourceContract,
    recorder: _Recorder,
    report: PushReport,
) -> None:
    """Report records deleted in SSM since the previous push: one read per resource and run.

    Without it an unchanged record deleted in SSM goes unnoticed until Sage changes it. A
    match still in Sage becomes `ssm_deleted`: reported now, then skipped (never re-created,
    never propagated to Sage). A match Sage no longer has is left to the plan, whose delete of
    an already-deleted record succeeds.
    """
    table = ledger.ledger_table(contract.name)
    with warehouse() as con:
        (since,) = con.execute(  # type: ignore[misc]
            "SELECT max(started_at) FROM sync.runs WHERE resource = ? AND NOT dry_run",
            [contract.name],
        ).fetchone()
        (synced,) = con.execute(f"SELECT count(*) FROM {table} WHERE state = 'synced'").fetchone()  # type: ignore[misc]  # noqa: S608
    if since is None or not synced:
        return  # nothing pushed yet: nothing of ours can have been deleted
    cutoff = since - _DELETE_LOOKBACK
    where = w.gt("dateDeleted", cutoff, date_format=client.date_literal_format)
    try:
        deleted = {
            int(record["id"]): record
            for record in client.list(contract.ssm_resource, where=where)
            if _is_deleted(record)
        }
    except SSMValidationError as exc:
        # The date literal SSM takes is unconfirmed: a refused filter must not stop the push,
        # whose updates still find deleted records one by one.
        report.notes.append(f"SSM-side deletes not checked: {exc}")
        return
    if not deleted:
        return
    with warehouse() as con:
        hits = con.execute(
            f"""
            SELECT l.ext_id, l.ssm_id, l.created_by_connector
            FROM {table} l
            JOIN {planning.desired_table(contract.name)} d ON CAST(d.ext_id AS VARCHAR) = l.ext_id
            WHERE l.state = 'synced' AND list_contains(?, l.ssm_id)
            ORDER BY l.ext_id
            """,  # noqa: S608
            [sorted(deleted)],
        ).fetchall()
    rows: list[ledger.LedgerRow] = []
    changes: list[ledger.Change] = []
    for ext_id, ssm_id, by_connector in hits:
        record = deleted[int(ssm_id)]
        by = _as_written(record.get("salesRepIdDeleted"))
        message = (
            f"deleted in SSM on {record.get('dateDeleted')}"
            + (f" by user {by}" if by is not None else "")
            + ": not re-created, not propagated to Sage"
        )
        rows.append(
            ledger.LedgerRow(ext_id, ssm_id, ledger.SSM_DELETED, None, None, bool(by_connector))
        )
        changes.append(
            ledger.Change(contract.name, ext_id, ssm_id, "detect", "ssm_deleted", message=message)
        )
        report.ssm_deleted += 1
        report.ssm_deleted_sample.append(ext_id)
    if rows:
        recorder.commit(rows=rows, changes=changes, resolved=[r.ext_id for r in rows])


# --- the push --------------------------------------------------------------------------------


def push_resource(
    warehouse: Warehouse,
    client: SSMWriter,
    contract: ResourceContract,
    settings: SyncSettings,
    run_id: str,
    options: PushOptions | None = None,
) -> PushReport:
    """Bring SSM's `contract.ssm_resource` to `ssm.desired_<name>`; see the module docstring."""
    options = options or PushOptions()
    started, started_at = time.perf_counter(), ledger.now()
    calls0, writes0 = client.api_calls, client.write_calls
    report = PushReport(resource=contract.name, run_id=run_id, dry_run=options.dry_run)

    def finish(message: str | None = None) -> PushReport:
        report.api_calls = client.api_calls - calls0
        report.write_calls = client.write_calls - writes0
        report.seconds = time.perf_counter() - started
        report.failures = report.failures[: options.failure_sample]
        report.ssm_deleted_sample = report.ssm_deleted_sample[: options.failure_sample]
        _record_run(warehouse, report, started_at, message)
        return report

    try:
        message = _push(warehouse, client, contract, settings, options, report)
        message = "; ".join(m for m in (message, *report.notes) if m) or None
    except SSMError as exc:
        # The API itself gave up (after the client's retries): what was acknowledged is in the
        # ledger, pending creates are resolved next run. Record the run, then stop.
        report.stopped = True
        finish(f"stopped: {exc}")
        raise
    return finish(message)


def _push(
    warehouse: Warehouse,
    client: SSMWriter,
    contract: ResourceContract,
    settings: SyncSettings,
    options: PushOptions,
    report: PushReport,
) -> str | None:
    """The phases of `push_resource`, filling `report`; the run's message, if any."""
    run_id = report.run_id
    recorder = _Recorder(warehouse, contract, run_id)
    with warehouse() as con:
        ledger.ensure_tables(con, [contract.name, *contract.parents])
    if contract.match_only and not options.dry_run:
        match_users(warehouse, contract, settings, run_id)
    if not options.dry_run:
        report.resolved = resolve_pending(warehouse, client, contract, recorder).looked_up
        if not contract.match_only:
            report.adopted = adopt_existing(warehouse, client, contract, settings, recorder)
            detect_ssm_deletes(warehouse, client, contract, recorder, report)

    with warehouse() as con:
        defaults = _defaults(con, settings)
        plan = planning.build_plan(con, contract, settings, defaults)
        ledger.record_plan(
            con,
            run_id,
            contract.name,
            [
                (
                    op.ext_id,
                    op.ssm_id,
                    op.operation,
                    json.dumps(op.changed_fields),
                    op.reason,
                    json.dumps(op.body, default=str) if op.body else op.payload,
                )
                for op in plan.ops
            ],
        )
    creates, updates, deletes = (
        plan.of(planning.CREATE),
        plan.of(planning.UPDATE),
        plan.of(planning.DELETE),
    )
    if contract.match_only:
        # Users are billable: unmatched reps are created only when configured; never edited
        # or deleted by the connector.
        if not settings.create_users:
            for op in creates:
                op.operation, op.reason = "skip_unmatched", "no SSM user matches this rep"
            creates = []
        for op in updates:
            op.operation = planning.REFRESH
        for op in deletes:
            op.operation = planning.RELEASE
            op.reason = "no longer a rep in Sage; SSM users are never deleted by the connector"
        updates, deletes = [], []
    needs_admin = [
        op.ext_id
        for op in creates
        if any(r.create_default == "admin_user" and r.ssm not in op.body for r in contract.fields)
    ]
    if needs_admin and defaults.get("admin_user") is None:
        raise ValueError(
            f"SSM_ADMIN_USER={settings.admin_user!r} matches no SSM user, and "
            f"{len(needs_admin)} new {contract.name} need it; set SSM_ADMIN_USER to an existing "
            "user's id, e-mail or full name."
        )

    refresh = [op for op in plan.ops if op.operation == planning.REFRESH]
    release = [op for op in plan.ops if op.operation == planning.RELEASE]
    report.desired = plan.desired
    report.plan_counts = dict(plan.counts)
    report.planned = len(creates) + len(updates) + len(deletes)
    report.unchanged = plan.counts[planning.UNCHANGED]
    deferred = plan.of(planning.DEFERRED)
    report.deferred = len(deferred)
    report.deferred_sample = [(op.ext_id, op.reason) for op in deferred[: options.failure_sample]]
    # A release is a delete the connector declines (not its record): reported as skipped.
    skipped = [op for op in plan.ops if op.operation.startswith("skip")] + release
    report.skipped = len(skipped)
    report.skipped_sample = [(op.ext_id, op.reason) for op in skipped[: options.failure_sample]]

    if options.dry_run:
        return "dry run: plan stored in sync.plans, nothing written to SSM"
    refusal = options.breaker.refusal(plan, options.allow_mass_delete)
    if refusal:
        report.refused = refusal
        return refusal

    # Ledger-only moves, no API call.
    recorder.commit(
        rows=[
            *(
                ledger.LedgerRow(
                    op.ext_id,
                    op.ssm_id,
                    ledger.SYNCED,
                    op.content_hash,
                    op.payload,
                    op.created_by_connector,
                )
                for op in refresh
                if op.ssm_id is not None
            ),
            *(
                ledger.LedgerRow(op.ext_id, op.ssm_id, ledger.RELEASED, None, None, False)
                for op in release
            ),
        ],
        changes=[
            ledger.Change(contract.name, op.ext_id, op.ssm_id, "delete", "skipped", (), op.reason)
            for op in release
        ],
    )
    _create_all(warehouse, client, contract, creates, recorder, report)
    _apply_updates(client, contract, updates, recorder, report)
    _apply_deletes(client, contract, deletes, recorder, report)
    return None
