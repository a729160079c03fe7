"""Apply a push plan to SSM, recording every acknowledgement in the ledger as it arrives.

Order of work for one resource:
1. pending creates of an interrupted run are looked up in SSM and adopted, or forgotten so that
   they are created again; on a resource's first push, records SSM already holds under the same
   key are adopted, not created again (adopted records are not the connector's: a Sage delete
   leaves them live unless `SSM_DELETE_ADOPTED=true`);
2. records deleted in SSM since the previous push are found (one read) and reported;
3. the plan is built (`plan.py`) and stored in `sync.plans`; a dry run stops here;
4. the delete breaker may hold back the plan's deletes (too many for the share it allows): only
   the deletes. Creates and updates go on, so a rename or a new invoice is never held hostage
   by a half-empty extract, and the pushes after this one find their parents; the run's status
   is `refused` and its message says how many deletes wait and how to allow them;
5. creates, then updates, then deletes, in bulk batches. Before a create batch is sent its rows
   are committed as `pending_create`; after each batch the answers are committed (ledger,
   `sync.changes`, `sync.dead_letters`), before the next request leaves (for creates, in the
   same transaction as the next batch's pending rows). A crash therefore loses no
   acknowledgement and never duplicates a record: the next run resolves the pending rows first.

Look-ups of pending creates go by list calls, never one read per record: `extId IN (...)`, or
for a resource without extId (order lines, product rates) its first lookup field, `salesOrderId.id
IN (...)` / `productId.id IN (...)` (the documented `field.id` form), matched to the pending
records by the full lookup key client-side: a few calls per hundred records. Each group of
look-ups is committed as it is answered.

What SSM does not confirm is settled in the same run where it can be: creates whose answer was
lost are looked up and the ones SSM never got are sent again, updates and deletes SSM did not
answer are sent again (both idempotent), for a few rounds. A request that runs out of the
client's retries never fails the push: its records stay as they are (a pending create, an
acknowledged old version), are reported as `retry_later` (status `retry_later`, and the run's
message says how many) and are taken up by the next run. When SSM gives up on a request, the
rest of that pass waits for the next round instead of spending its own retries on an API that
is down, and a round in which SSM gave up without settling anything ends the resource's push.
Only what nothing can fix (refused keys, a misconfigured client) stops a push (`stopped`).

Rejected records (a 4xx answer for the item) go to `sync.dead_letters` and are tried again by
later runs. An update SSM refuses because the record is gone (deleted in SSM, or an id SSM no
longer knows) is not a dead letter and is not re-created: per the contract and the seeds,
a delete in SSM never reaches Sage and the connector does not silently undo it, so the record
becomes `ssm_deleted` in the ledger, is reported, and is skipped from then on (found with one
list call per 40 refused ids).

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

from assets import company
from assets.ssm import ledger
from assets.ssm import plan as planning
from assets.ssm.contract import ResourceContract
from assets.ssm.settings import EXT_ID_LENGTH, SyncSettings
from assets.ssm.value_lists import lookup
from resources.ssm import where as w
from resources.ssm.client import GAVE_UP, NOT_SENT, OUTCOME_UNKNOWN, read_again
from resources.ssm.errors import SSMError, SSMNotFoundError, SSMValidationError

# Client outcomes that say nothing about the record itself: SSM was unreachable or its answer
# was lost. Such a record is sent again (this run or the next), never dead-lettered.
TRANSIENT = frozenset({NOT_SENT, OUTCOME_UNKNOWN})
# Values per `where field IN (...)`, to keep URLs short: 40 extIds, or the lines of 40 orders.
_LOOKUP_CHUNK = 40
# Rounds, after the first send, of "send again what SSM did not confirm" within one push (for
# creates: look up those whose answer was lost first, send again only what SSM never got).
_RETRY_ROUNDS = 4
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
    gave_up: int  # requests the client stopped retrying
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
    # Compare every record with what SSM holds now (a company active again after a pause)
    full_compare: bool = False
    allow_mass_delete: bool = False
    breaker: planning.DeleteBreaker = field(default_factory=planning.DeleteBreaker)
    failure_sample: int = 10


_REPORT_COUNTS = (
    "desired", "planned", "created", "updated", "deleted", "unchanged", "deferred", "skipped",
    "failed",
)  # fmt: skip


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
    retry_later: int = 0  # SSM did not confirm them (unreachable, answer lost): next run
    deletes_held_back: int = 0  # by the breaker (allow_mass_delete lets them through)
    resolved: int = 0
    adopted: int = 0  # first push: records SSM already held under the same key
    api_calls: int = 0
    write_calls: int = 0
    seconds: float = 0.0
    refused: str | None = None  # why the breaker held back the deletes
    stopped: bool = False  # nothing could work (keys refused...): the step fails
    notes: list[str] = field(default_factory=list)  # what the push could not check, in words
    plan_counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # ext_id, op, message
    deferred_sample: list[tuple[str, str]] = field(default_factory=list)
    skipped_sample: list[tuple[str, str]] = field(default_factory=list)
    ssm_deleted_sample: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The plan's and the outcome's record counts, by name (sync.runs, metadata)."""
        return {name: getattr(self, name) for name in _REPORT_COUNTS}

    @property
    def status(self) -> str:
        """`sync.runs.status`: the first that applies of stopped, refused (deletes held back),
        dry_run, failed_records (dead letters), retry_later (records left for the next run)."""
        if self.stopped:
            return "stopped"
        if self.refused:
            return "refused"
        if self.dry_run:
            return "dry_run"
        if self.failed:
            return "failed_records"
        return "retry_later" if self.retry_later else "ok"

    @property
    def completion_ratio(self) -> float:
        """Share of the planned writes that SSM acknowledged (1.0 when nothing was to do)."""
        if self.dry_run:
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


@read_again
def _read(client: SSMWriter, resource: str, where: str | None = None) -> list[dict[str, Any]]:
    """Every record a list call returns (all pages)."""
    return list(client.list(resource, where=where))


def _field(record: dict[str, Any], name: str) -> Any:
    """A field of an SSM record by name, in any letter case: SSM reads an order line's
    `salesOrderId` back as `salesorderId`."""
    if name in record:
        return record[name]
    lowered = name.lower()
    return next((value for key, value in record.items() if key.lower() == lowered), None)


def _as_written(value: Any) -> Any:
    """A field as the connector writes it: SSM reads foreign keys back as `{id, value}`."""
    return value.get("id") if isinstance(value, dict) else value


def lookup_key(contract: ResourceContract, values: dict[str, Any]) -> tuple[str, ...] | None:
    """The record's lookup fields as text (FKs by id); None when one of them is empty."""
    key = []
    for name in contract.lookup_fields:
        value = _as_written(_field(values, name))
        if value is None or value == "":
            return None
        key.append(str(value))
    return tuple(key)


def _lookup_where(contract: ResourceContract, payload: dict[str, Any]) -> str | None:
    """A `where` that finds one record by the contract's lookup fields."""
    parts = []
    for name in contract.lookup_fields:
        value = payload.get(name)
        if value is None:
            return None
        parts.append(w.eq(name, value))
    return w.and_(*parts)


def _filter_field(contract: ResourceContract, name: str) -> str:
    """How `where` names a field: a foreign key by `field.id`, the form SSM documents."""
    return f"{name}.id" if any(r.ssm == name and r.parent for r in contract.fields) else name


Pending = tuple[str, dict[str, Any]]  # (ext_id, desired payload) of a create to look up


def _lookup_groups(contract: ResourceContract, pending: Sequence[Pending]) -> list[list[Pending]]:
    """Pending creates in groups one list call finds: up to `_LOOKUP_CHUNK` values of the first
    lookup field (40 extIds; the lines of 40 orders; the rates of 40 products), in the values'
    natural order (ids 1..40 first)."""
    first = contract.lookup_fields[0]
    by_value: dict[str, list[Pending]] = {}
    for ext_id, payload in pending:
        by_value.setdefault(str(_as_written(payload.get(first))), []).append((ext_id, payload))
    values = sorted(by_value, key=lambda value: (len(value), value))
    return [
        [item for value in values[start : start + _LOOKUP_CHUNK] for item in by_value[value]]
        for start in range(0, len(values), _LOOKUP_CHUNK)
    ]


def _records_of(
    client: SSMWriter, contract: ResourceContract, group: Sequence[Pending]
) -> list[dict[str, Any]]:
    """SSM's records that may be the group's creates: one `first IN (...)` list (paged)."""
    first = contract.lookup_fields[0]
    values = {_as_written(payload.get(first)) for _, payload in group} - {None, ""}
    if not values:
        return []
    where = w.in_(_filter_field(contract, first), sorted(values, key=str))
    try:
        return list(client.list(contract.ssm_resource, where=where))
    except SSMValidationError:
        # A tenant that refuses this filter: one look-up per record, slow but sure.
        return [
            record
            for _, payload in group
            if (one := _lookup_where(contract, payload)) is not None
            for record in client.list(contract.ssm_resource, where=one)
        ]


@read_again
def _find_live(
    client: SSMWriter, contract: ResourceContract, group: Sequence[Pending]
) -> dict[str, dict[str, Any]]:
    """ext_id -> the live SSM record a pending create became (the lowest id).

    Deleted matches are ignored: one may be the record's earlier life (the connector deleted it
    when Sage did, then Sage restored it), and taking it for the interrupted create would report
    a live Sage record as deleted in SSM on every later run. The price: a create that landed and
    that someone deleted in SSM before the next run is sent once more.
    """
    wanted: dict[tuple[str, ...], list[str]] = {}
    for ext_id, payload in group:
        key = lookup_key(contract, payload)
        if key is not None:
            wanted.setdefault(key, []).append(ext_id)
    found: dict[str, dict[str, Any]] = {}
    if not wanted:
        return found
    for record in _records_of(client, contract, group):
        if _is_deleted(record):
            continue
        for ext_id in wanted.get(lookup_key(contract, record) or (), []):
            best = found.get(ext_id)
            if best is None or int(record["id"]) < int(best["id"]):
                found[ext_id] = record
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
    """What a look-up of pending creates found: SSM ids, the creates SSM never got, and the
    ones whose look-up SSM did not answer (still pending: looked up again later)."""

    found: dict[str, int] = field(default_factory=dict)
    not_found: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)

    @property
    def looked_up(self) -> int:
        return len(self.found) + len(self.not_found)


def _resolution_of_group(
    contract: ResourceContract,
    group: Sequence[Pending],
    found: dict[str, dict[str, Any]],
    acknowledged: dict[str, tuple[str | None, str | None]],
    resolution: Resolution,
) -> tuple[list[ledger.LedgerRow], list[ledger.Change]]:
    """Ledger rows and changes for one answered group of look-ups (`resolution` filled in)."""
    rows: list[ledger.LedgerRow] = []
    changes: list[ledger.Change] = []
    for ext_id, _ in group:
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
        content_hash, payload = acknowledged[ext_id]
        rows.append(ledger.LedgerRow(ext_id, ssm_id, ledger.SYNCED, content_hash, payload, True))
        changes.append(
            ledger.Change(
                contract.name, ext_id, ssm_id, "resolve", "ok",
                message="the create whose answer was lost had reached SSM; kept, not re-created",
            )
        )  # fmt: skip
    return rows, changes


def resolve_pending(
    warehouse: Warehouse,
    client: SSMWriter,
    contract: ResourceContract,
    recorder: _Recorder,
    only: Sequence[str] | None = None,
) -> Resolution:
    """Look up creates sent without a recorded answer (all pending ones, or `only` those).

    A live match is the create: recorded as synced. No live match: SSM never got it; the row is
    forgotten so that the record is created again. Each list call's group is committed as soon
    as it is answered. When SSM gives up on a look-up, that group and the ones after it stay
    pending (`unsettled`): looked up again by a later round or run, without spending more
    retries on an API that is not answering.
    """
    with warehouse() as con:
        rows = con.execute(
            f"SELECT ext_id, content_hash, payload FROM {ledger.ledger_table(contract.name)} "  # noqa: S608
            "WHERE state = 'pending_create' ORDER BY ext_id"
        ).fetchall()
    if only is not None:
        wanted = set(only)
        rows = [row for row in rows if row[0] in wanted]
    acknowledged = {ext_id: (content_hash, payload) for ext_id, content_hash, payload in rows}
    pending = [(ext_id, json.loads(payload or "{}")) for ext_id, _, payload in rows]
    resolution = Resolution()
    groups = _lookup_groups(contract, pending)
    for number, group in enumerate(groups):
        try:
            found = _find_live(client, contract, group)
        except GAVE_UP as exc:
            waiting = [ext_id for later in groups[number:] for ext_id, _ in later]
            resolution.unsettled.extend(waiting)
            message = f"look-up not answered ({exc.message}); looked up again later"
            recorder.commit(
                changes=[
                    ledger.Change(contract.name, e, None, "resolve", "unknown", message=message)
                    for e in waiting
                ]
            )
            break
        settled, changes = _resolution_of_group(contract, group, found, acknowledged, resolution)
        recorder.commit(
            rows=settled,
            changes=changes,
            resolved=[r.ext_id for r in settled],
            forget=[e for e, _ in group if e not in found],
        )
    return resolution


def _own_keys(contract: ResourceContract, settings: SyncSettings) -> str:
    """The `where` of the records that can be this company's: with an extId prefix, only those
    under it (a company's first push read every other company's records too: 939 and 1,678
    calls against 204 for the first of three small companies, bench.companies)."""
    keyed = any(f.ssm == "extId" and f.sage_key for f in contract.fields)
    prefix = settings.ext_id_prefix if keyed else ""
    return w.like("extId", prefix + "%") if prefix else w.ne("extId", "")


def _created_in_run(
    warehouse: Warehouse, contract: ResourceContract, run_id: str
) -> dict[str, set[Any]]:
    """lookup field -> the SSM ids of its parent records this run created itself."""
    fresh: dict[str, set[Any]] = {}
    with warehouse() as con:
        for name in contract.lookup_fields:
            rule = next((r for r in contract.fields if r.ssm == name and r.parent), None)
            if rule is not None and rule.parent is not None:
                ids = con.execute(
                    "SELECT DISTINCT ssm_id FROM sync.changes WHERE run_id = ? AND resource = ? "
                    "AND operation = 'create' AND outcome = 'ok' AND ssm_id IS NOT NULL",
                    [run_id, rule.parent],
                ).fetchall()
                fresh[name] = {int(i) for (i,) in ids}
    return fresh


def _adoptable(
    warehouse: Warehouse,
    client: SSMWriter,
    contract: ResourceContract,
    settings: SyncSettings,
    run_id: str,
    desired: Sequence[tuple[str, str]],
) -> list[dict[str, Any]]:
    """SSM's records that may be some of `desired` already: with an extId, those under the
    company's keys. Without one (product rates, order lines), only a record whose parents all
    existed before this run can already be in SSM: a parent this run created has no children
    but those this run sends. So the first push into a fresh tenant reads nothing, and with
    several companies a company reads under its own adopted parents (`IN`, 40 per call), never
    the others' records (south read 940 and east 1,590 calls against north's 292, all three
    the same records, bench.companies before this)."""
    if contract.lookup_fields == ("extId",):
        return _read(client, contract.ssm_resource, _own_keys(contract, settings))
    fresh = _created_in_run(warehouse, contract, run_id)
    pending: list[Pending] = []
    for ext_id, payload in desired:
        values = json.loads(payload)
        if not any(_as_written(values.get(f)) in ids for f, ids in fresh.items()):
            pending.append((ext_id, values))
    if not pending:
        return []
    if not company.several():  # the tenant is the company's: one paged read (one call if empty)
        return _read(client, contract.ssm_resource)
    groups = _lookup_groups(contract, pending)
    return [record for group in groups for record in _records_of(client, contract, group)]


def adopt_existing(
    warehouse: Warehouse,
    client: SSMWriter,
    contract: ResourceContract,
    settings: SyncSettings,
    recorder: _Recorder,
) -> int | None:
    """First push of a resource: adopt what SSM already holds under the same key.

    A tenant that ran the vendor's connector, or imported its ERP, already has the Sage records
    with the Sage key as extId; creating them again would make twins. While a resource's ledger
    is empty, its SSM records are read once (one call when there are none) and each desired
    record matching one by the contract's lookup fields is adopted with that record's current
    values, so the plan then sends only the fields that differ. A match SSM holds as deleted is
    `ssm_deleted`: reported, never re-created. Adopted records are saved as not created by the
    connector, so a Sage delete leaves them live in SSM (unless `SSM_DELETE_ADOPTED=true`).
    Returns how many were adopted, or None when SSM did not answer the read: then nothing can
    be created safely this run.
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
    held: dict[tuple[str, ...], dict[str, Any]] = {}
    try:
        records = _adoptable(warehouse, client, contract, settings, recorder.run_id, desired)
    except GAVE_UP:
        return None
    for record in records:
        key = lookup_key(contract, record)
        best = held.get(key) if key else None
        if key and (best is None or _live_first(record) < _live_first(best)):
            held[key] = record
    rows: list[ledger.LedgerRow] = []
    changes: list[ledger.Change] = []
    for ext_id, payload in desired:
        values = json.loads(payload)
        key = lookup_key(contract, values)
        record = held.get(key) if key else None
        if record is None:
            continue
        ssm_id = int(record["id"])
        if _is_deleted(record):
            rows.append(ledger.LedgerRow(ext_id, ssm_id, ledger.SSM_DELETED, None, None, False))
        else:
            # No content hash: the plan compares the desired payload with SSM's current values.
            # A `Z_` field SSM never received is absent from its record: it holds null.
            current = {name: _as_written(record.get(name)) for name in values}
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


def compare_with_ssm(
    warehouse: Warehouse,
    client: SSMWriter,
    contract: ResourceContract,
    settings: SyncSettings,
    recorder: _Recorder,
) -> int | None:
    """A full comparison: what SSM holds now replaces what it last acknowledged in the ledger.

    After a company was deactivated, SSM may have changed while nothing synced (an admin edited
    a read-only field, a record was deleted), and the ledger only knows what SSM acknowledged
    before. The resource's SSM records are read once, as on a first push, and each synced
    record's acknowledged payload becomes SSM's current values of the fields the push sends, so
    the plan sends every Sage-owned field that differs, and nothing of the fields SSM owns (they
    are not in the payload). A record SSM now holds as deleted becomes `ssm_deleted`. Returns
    how many records differed, or None when SSM did not answer the read.
    """
    payloads = planning.payload_sql(contract, settings)
    table = ledger.ledger_table(contract.name)
    with warehouse() as con:
        known = con.execute(
            f"SELECT d.ext_id, d.payload, l.ssm_id, l.payload, l.created_by_connector "  # noqa: S608
            f"FROM ({payloads}) AS d JOIN {table} AS l ON l.ext_id = d.ext_id "
            f"WHERE l.state = '{ledger.SYNCED}' AND l.ssm_id IS NOT NULL ORDER BY d.ext_id"
        ).fetchall()
    if not known:
        return 0
    try:
        if contract.lookup_fields == ("extId",):
            records = _read(client, contract.ssm_resource, _own_keys(contract, settings))
        elif company.several():  # under this company's own parents, not the whole tenant
            pending = [(ext_id, json.loads(payload)) for ext_id, payload, *_ in known]
            groups = _lookup_groups(contract, pending)
            records = [r for group in groups for r in _records_of(client, contract, group)]
        else:
            records = _read(client, contract.ssm_resource)
    except GAVE_UP:
        return None
    by_id = {int(r["id"]): r for r in records if r.get("id") is not None}
    rows: list[ledger.LedgerRow] = []
    changes: list[ledger.Change] = []
    for ext_id, payload, ssm_id, acknowledged, ours in known:
        record = by_id.get(int(ssm_id))
        if record is None:
            continue  # not listed at all: the delete detection says what became of it
        if _is_deleted(record):
            rows.append(ledger.LedgerRow(ext_id, ssm_id, ledger.SSM_DELETED, None, None, ours))
            changes.append(ledger.Change(contract.name, ext_id, ssm_id, "compare", "ssm_deleted",
                                         message="deleted in SSM while the company was paused"))  # fmt: skip
            continue
        current = {n: _as_written(record[n]) for n in json.loads(payload) if n in record}
        before = json.loads(acknowledged or "{}")
        moved = sorted(n for n, v in current.items() if before.get(n) != v)
        if not moved:
            continue
        rows.append(
            ledger.LedgerRow(ext_id, ssm_id, ledger.SYNCED, None, json.dumps(current), ours)
        )
        changes.append(
            ledger.Change(
                contract.name, ext_id, ssm_id, "compare", "ok",
                changed_fields=moved,
                message="SSM held other values than it had acknowledged: the plan compares "
                "with what it holds now",
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


def _with_emails(
    creates: list[planning.PlannedOp], settings: SyncSettings
) -> list[planning.PlannedOp]:
    """The user creates that can be sent: SSM requires an e-mail, from SSM_USER_EMAIL or the
    rep's own value; the others are skipped, each with the reason, in the run's report."""
    ready = []
    for op in creates:
        email = settings.new_user_email(
            op.ext_id, str(op.body.get("name") or ""), str(op.body.get("lastName") or "")
        )
        if email is None:
            op.operation = "skip_no_email"
            op.reason = (
                "SSM requires an e-mail of a new user and Sage has none for this rep: set "
                "SSM_USER_EMAIL (e.g. {first}.{last}@example.com), or create the user in SSM"
            )
            continue
        op.body["email"] = email
        ready.append(op)
    return ready


def _defaults(con: duckdb.DuckDBPyConnection, settings: SyncSettings) -> dict[str, Any]:
    admin = lookup(con, "users", settings.admin_user)

    def admin_field(name: str) -> str | None:
        row = con.execute(
            "SELECT min(item_value) FROM ssm.value_lists "
            "WHERE list_name = 'users' AND item_field = ? AND id = ?",
            [name, admin],
        ).fetchone()
        return row[0] if row else None

    return {
        "admin_user": admin,
        # /sales links its rep by extId: the admin user's, else its full name, as a matched rep
        # without an extId is sent by name (never the setting's text, e.g. its id "1").
        "admin_user_ext_id": admin_field("extId") or admin_field("fullName"),
    }


def ensure_inactive_status(
    warehouse: Warehouse, client: SSMWriter, contract: ResourceContract, settings: SyncSettings
) -> str | None:
    """Create the account status SSM_INACTIVE_STATUS in SSM when an inactive account needs it
    and SSM has none (as the quote statuses are); a note for the report, else None."""
    rule = next((f for f in contract.fields if f.instead is not None), None)
    if rule is None or rule.lookup is None or not settings.inactive_status:
        return None
    flag, _ = rule.instead  # type: ignore[misc]
    name = settings.inactive_status
    with warehouse() as con:
        (needed,) = con.execute(  # type: ignore[misc]
            f'SELECT count(*) FROM {planning.desired_table(contract.name)} WHERE "{flag}"'  # noqa: S608
        ).fetchone()
        known = lookup(con, rule.lookup.name, name)
    if not needed or known is not None:
        return None
    (result,) = client.bulk_create(rule.lookup.name, [{"descriptionEN": name, "description": name}])
    if not result.ok or result.id is None:
        raise SSMError(
            f"SSM has no account status {name!r} and did not let the connector create it "
            f"({result.message}): create it in SSM's settings, name an existing status in "
            "SSM_INACTIVE_STATUS, or set it empty to keep inactive customers as Clients",
            resource=rule.lookup.name,
        )
    with warehouse() as con:
        con.execute(
            "INSERT INTO ssm.value_lists VALUES (?, ?, ?, ?, 'descriptionEN', ?)",
            [rule.lookup.name, int(result.id), name.strip().lower(), name, name],
        )
    return f"created the account status {name!r} in SSM for {needed} inactive accounts"


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
    again: list[planning.PlannedOp] = field(default_factory=list)  # to send again

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

    def transient(self, op: planning.PlannedOp, message: str, outcome: str) -> None:
        """SSM did not confirm it: sent again in a later round, or by the next run."""
        self.change(op, op.ssm_id, outcome, message)
        self.again.append(op)
        self.report.retry_later += 1

    def unanswered(self, op: planning.PlannedOp, result: Any) -> None:
        outcome = "unknown" if result.code == OUTCOME_UNKNOWN else "not_sent"
        self.transient(op, _message(result), outcome)

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


_HELD_FOR_A_LATER_ROUND = (
    "not sent: SSM gave up on the batch before (out of retries); sent in a later round or run"
)


def _in_batches(
    client: SSMWriter,
    recorder: _Recorder,
    ops: Sequence[planning.PlannedOp],
    size: int,
    send: Callable[[Sequence[planning.PlannedOp]], _BatchOutcome],
    before_sending: Callable[[Sequence[planning.PlannedOp]], list[ledger.LedgerRow]] | None = None,
) -> list[planning.PlannedOp]:
    """Send `ops` batch by batch (`send` sends one and says what its answers mean); return the
    ops to send again.

    A batch's answers are committed before the next request leaves, in one transaction with the
    next batch's `before_sending` rows (a create's `pending_create` rows: if its answer is lost
    to a crash, the next run looks them up instead of creating them twice). When the client
    gives up on a batch (out of retries), the batches after it are not sent in this pass: they
    would only spend their own retries on an API that is down or throttling hard. They are
    logged as not sent and returned with the batch's own unconfirmed ops, for a later round.
    """
    again: list[planning.PlannedOp] = []
    answered: _BatchOutcome | None = None  # the previous batch's answers, not yet committed
    size = max(1, size)
    for start in range(0, len(ops), size):
        batch = ops[start : start + size]
        rows = before_sending(batch) if before_sending else []
        if answered is not None:
            answered.rows.extend(rows)
            answered.commit(recorder)
        elif rows:
            recorder.commit(rows=rows)
        gave_up = client.gave_up
        answered = send(batch)
        again.extend(answered.again)
        if client.gave_up > gave_up:
            rest = ops[start + size :]
            for op in rest:
                answered.transient(op, _HELD_FOR_A_LATER_ROUND, "not_sent")
            again.extend(rest)
            break
    if answered is not None:
        answered.commit(recorder)
    return again


def _settle(
    client: SSMWriter,
    report: PushReport,
    again: list[planning.PlannedOp],
    send_again: Callable[[list[planning.PlannedOp]], list[planning.PlannedOp]],
) -> None:
    """Send again, in the same run, what SSM did not confirm: a few rounds, until nothing is
    left, or a round in which the client gave up settled nothing (SSM is down or throttling
    hard: the rest waits for the next run, counted in `retry_later`)."""
    for _ in range(_RETRY_ROUNDS):
        if not again:
            return
        gave_up, before = client.gave_up, len(again)
        report.retry_later -= before  # each one is settled below, or counted again
        again = send_again(again)
        if client.gave_up > gave_up and len(again) >= before:
            return


def _apply_creates(
    client: SSMWriter,
    contract: ResourceContract,
    ops: Sequence[planning.PlannedOp],
    recorder: _Recorder,
    report: PushReport,
) -> list[planning.PlannedOp]:
    """Send the creates; return those SSM did not confirm: outcome unknown (still
    `pending_create`, looked up before any resend) or not sent."""

    def pending(batch: Sequence[planning.PlannedOp]) -> list[ledger.LedgerRow]:
        return [
            ledger.LedgerRow(
                op.ext_id, None, ledger.PENDING_CREATE, op.content_hash, op.payload, True
            )
            for op in batch
        ]

    def send(batch: Sequence[planning.PlannedOp]) -> _BatchOutcome:
        outcome = _BatchOutcome(contract, "create", report)
        written_at = planning.write_time()
        bodies = [op.request_body(written_at) for op in batch]
        for result in client.bulk_create(contract.ssm_resource, bodies):
            op = batch[result.index]
            if result.ok and result.id is not None:
                row = ledger.LedgerRow(
                    op.ext_id, int(result.id), ledger.SYNCED, op.content_hash, op.payload, True
                )
                outcome.ok(op, row)
                report.created += 1
            elif result.code in TRANSIENT:
                if result.code == NOT_SENT:  # SSM never got it: nothing to look up
                    outcome.forget.append(op.ext_id)
                outcome.unanswered(op, result)
            else:
                outcome.forget.append(op.ext_id)
                outcome.failed(op, result)
        return outcome

    size = client.batch_size(contract.ssm_resource, "create")
    return _in_batches(client, recorder, ops, size, send, pending)


def _create_again(
    warehouse: Warehouse,
    client: SSMWriter,
    contract: ResourceContract,
    ops: list[planning.PlannedOp],
    recorder: _Recorder,
    report: PushReport,
) -> list[planning.PlannedOp]:
    """One more round for creates SSM did not confirm: those whose answer was lost are looked
    up (a few list calls, also for records without extId, which the client cannot settle) and
    kept when found; the others are sent again. Returns what is still unconfirmed."""
    resolution = resolve_pending(
        warehouse, client, contract, recorder, only=[op.ext_id for op in ops]
    )
    report.created += len(resolution.found)
    unsettled = set(resolution.unsettled)
    report.retry_later += len(unsettled)
    waiting = [op for op in ops if op.ext_id in unsettled]
    resend = [op for op in ops if op.ext_id not in resolution.found and op.ext_id not in unsettled]
    return waiting + _apply_creates(client, contract, resend, recorder, report)


def _deleted_in_ssm(client: SSMWriter, contract: ResourceContract, ssm_id: int) -> bool:
    try:
        return _is_deleted(client.get(contract.ssm_resource, ssm_id))
    except SSMNotFoundError:
        return True


@read_again
def _gone_from_ssm(client: SSMWriter, contract: ResourceContract, ids: Sequence[int]) -> set[int]:
    """Of `ids`, those SSM holds as deleted or no longer knows: one list call per 40 ids."""
    wanted = sorted(set(ids))
    live: set[int] = set()
    try:
        for chunk in _batches(wanted, _LOOKUP_CHUNK):
            where = w.in_("id", list(chunk))
            live.update(
                int(r["id"]) for r in client.list(contract.ssm_resource, where=where)
                if not _is_deleted(r)
            )  # fmt: skip
    except SSMValidationError:
        # A tenant that cannot filter on id: one read per record.
        return {i for i in wanted if _deleted_in_ssm(client, contract, i)}
    return set(wanted) - live


def _settle_refused_updates(
    client: SSMWriter,
    contract: ResourceContract,
    refused: list[tuple[planning.PlannedOp, Any]],
    outcome: _BatchOutcome,
) -> None:
    """Updates SSM refused: of a record gone from SSM, `ssm_deleted` (reported, never
    re-created, no dead letter: see the module docstring); otherwise a dead letter."""
    report = outcome.report
    try:
        gone = _gone_from_ssm(client, contract, [int(op.ssm_id or 0) for op, _ in refused])
    except GAVE_UP as exc:
        for op, _ in refused:
            message = f"refused; whether SSM still holds it went unanswered ({exc.message})"
            outcome.transient(op, message, "unknown")
        return
    for op, result in refused:
        if int(op.ssm_id or 0) not in gone:
            outcome.failed(op, result)
            continue
        outcome.rows.append(
            ledger.LedgerRow(
                op.ext_id, op.ssm_id, ledger.SSM_DELETED, None, None, op.created_by_connector
            )
        )
        outcome.change(op, op.ssm_id, "ssm_deleted", _message(result))
        outcome.resolved.append(op.ext_id)
        report.ssm_deleted += 1
        report.ssm_deleted_sample.append(op.ext_id)


def _apply_updates(
    client: SSMWriter,
    contract: ResourceContract,
    ops: Sequence[planning.PlannedOp],
    recorder: _Recorder,
    report: PushReport,
) -> list[planning.PlannedOp]:
    """Send the partial updates; return those SSM did not confirm (sent again: idempotent)."""

    def send(batch: Sequence[planning.PlannedOp]) -> _BatchOutcome:
        outcome = _BatchOutcome(contract, "update", report)
        refused: list[tuple[planning.PlannedOp, Any]] = []
        written_at = planning.write_time()
        items = [(int(op.ssm_id or 0), op.request_body(written_at)) for op in batch]
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
                outcome.unanswered(op, result)
            else:
                refused.append((op, result))
        if refused:
            _settle_refused_updates(client, contract, refused, outcome)
        return outcome

    size = client.batch_size(contract.ssm_resource, "update")
    return _in_batches(client, recorder, ops, size, send)


def _apply_deletes(
    client: SSMWriter,
    contract: ResourceContract,
    ops: Sequence[planning.PlannedOp],
    recorder: _Recorder,
    report: PushReport,
) -> list[planning.PlannedOp]:
    """Send the deletes; return those SSM did not confirm (sent again: a delete of a record
    already deleted counts as done)."""

    def send(batch: Sequence[planning.PlannedOp]) -> _BatchOutcome:
        outcome = _BatchOutcome(contract, "delete", report)
        ids = [int(op.ssm_id or 0) for op in batch]
        for result in client.bulk_delete(contract.ssm_resource, ids):
            op = batch[result.index]
            if result.ok:  # the client counts an already-deleted record as deleted
                row = ledger.LedgerRow(op.ext_id, op.ssm_id, ledger.DELETED, None, None, True)
                outcome.ok(op, row, result.message)
                report.deleted += 1
            elif result.code in TRANSIENT:
                outcome.unanswered(op, result)
            else:
                outcome.failed(op, result)
        return outcome

    size = client.batch_size(contract.ssm_resource, "delete")
    return _in_batches(client, recorder, ops, size, send)


def _record_run(
    warehouse: Warehouse, report: PushReport, started_at: Any, message: str | None
) -> None:
    row = {
        "run_id": report.run_id,
        "resource": report.resource,
        "started_at": started_at,
        "finished_at": ledger.now(),
        "dry_run": report.dry_run,
        "status": report.status,
        "message": message,
        **report.counts(),
        "ssm_deleted": report.ssm_deleted,
        "resolved": report.resolved,
        "api_calls": report.api_calls,
        "write_calls": report.write_calls,
        "seconds": round(report.seconds, 3),
        "deletes_held_back": report.deletes_held_back,
        "retry_later": report.retry_later,
    }
    with warehouse() as con:
        ledger.ensure_tables(con, [])
        con.execute(
            f"INSERT INTO sync.runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608
            list(row.values()),
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
            for record in _read(client, contract.ssm_resource, where)
            if _is_deleted(record)
        }
    except (SSMValidationError, *GAVE_UP) as exc:
        # The date literal SSM takes is unconfirmed, and SSM may not answer: neither stops the
        # push, whose updates still find records deleted in SSM (`_settle_refused_updates`).
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


_NOT_OWNER = "shared key: the owning company writes it in SSM (SSM_SHARED_KEYS_OWNER=false here)"


def _find_shared(
    client: SSMWriter,
    contract: ResourceContract,
    ops: Sequence[planning.PlannedOp],
    recorder: _Recorder,
    report: PushReport,
) -> None:
    """Shared keys, not the owner: the records this company would create are looked up by
    extId (one list call per 40) and recorded as SSM holds them, so this company's orders and
    invoices attach to the owner's records; those SSM does not hold yet wait for the owner's
    push (deferred, looked up again next run). Nothing is written to SSM."""
    pending = [(op.ext_id, json.loads(op.payload or "{}")) for op in ops]
    by_ext_id = {op.ext_id: op for op in ops}
    waiting: list[planning.PlannedOp] = []
    for group in _lookup_groups(contract, pending):
        try:
            found = _find_live(client, contract, group)
        except GAVE_UP as exc:
            report.retry_later += len(group)
            report.notes.append(f"{contract.name} look-up by extId not answered: {exc.message}")
            continue
        rows, changes = [], []
        for ext_id, _ in group:
            op, record = by_ext_id[ext_id], found.get(ext_id)
            if record is None:
                op.operation, op.reason = planning.DEFERRED, "waits for the owning company's push"
                waiting.append(op)
                continue
            ssm_id = int(record["id"])
            rows.append(
                ledger.LedgerRow(ext_id, ssm_id, ledger.SYNCED, op.content_hash, op.payload, False)
            )
            changes.append(
                ledger.Change(
                    contract.name, ext_id, ssm_id, "adopt", "ok",
                    message=f"shared key: the owning company's record, id {ssm_id}",
                )
            )  # fmt: skip
        report.adopted += len(rows)
        recorder.commit(rows=rows, changes=changes)
    report.deferred += len(waiting)
    report.deferred_sample += [(op.ext_id, op.reason) for op in waiting][:10]


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
    except SSMError as exc:
        # Nothing can work (keys refused, a misconfigured client, an answer SSM should never
        # give): what was acknowledged is in the ledger, pending creates are resolved next run.
        # Record the run, then stop. SSM not answering is not this: see GAVE_UP.
        report.stopped = True
        finish(f"stopped: {exc}")
        raise
    if report.retry_later:
        report.notes.append(
            f"{report.retry_later} {contract.name} not confirmed by SSM (it did not answer, or "
            "its answer was lost): left for the next run, which sends or looks them up again"
        )
    return finish("; ".join(m for m in (message, *report.notes) if m) or None)


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
    adopted: int | None = 0
    if not options.dry_run:
        resolution = resolve_pending(warehouse, client, contract, recorder)
        report.resolved = resolution.looked_up
        report.retry_later += len(resolution.unsettled)
        if not contract.match_only:
            adopted = adopt_existing(warehouse, client, contract, settings, recorder)
            report.adopted = adopted or 0
            if options.full_compare and adopted == 0:
                differed = compare_with_ssm(warehouse, client, contract, settings, recorder)
                report.notes.append(
                    "full comparison with SSM: SSM did not answer, compared with the ledger"
                    if differed is None
                    else f"full comparison with SSM: {differed} records held other values"
                )
            detect_ssm_deletes(warehouse, client, contract, recorder, report)
        if settings.writes_parties:
            created = ensure_inactive_status(warehouse, client, contract, settings)
            if created:
                report.notes.append(created)

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
        creates = _with_emails(creates, settings)
        for op in updates:
            op.operation = planning.REFRESH
        for op in deletes:
            op.operation = planning.RELEASE
            op.reason = "no longer a rep in Sage; SSM users are never deleted by the connector"
        updates, deletes = [], []
    # Shared keys, not the owner: accounts and contacts are the owning company's to write.
    shared_reader = contract.shared and not settings.writes_parties
    to_find: list[planning.PlannedOp] = []
    if shared_reader:
        for op in updates:
            op.operation, op.reason = planning.REFRESH, _NOT_OWNER
        for op in deletes:
            op.operation, op.reason = planning.RELEASE, _NOT_OWNER
        to_find, creates, updates, deletes = creates, [], [], []
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
    parent_gone = plan.of(planning.SKIP_PARENT_DELETED)
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

    if plan.too_long[0]:
        count, longest = plan.too_long
        raise ValueError(
            f"SSM_EXT_ID_PREFIX={settings.ext_id_prefix!r} makes {count} {contract.name} keys "
            f"longer than SSM's {EXT_ID_LENGTH}-character extId (e.g. {longest!r}): use a "
            "shorter prefix"
        )
    if plan.rekeyed and not settings.rekey_ext_ids and not options.dry_run:
        _, old, new = plan.rekeyed[0]
        raise ValueError(
            f"{len(plan.rekeyed)} {contract.name} are held in SSM under another extId than "
            f"SSM_EXT_ID_PREFIX={settings.ext_id_prefix!r} gives them (e.g. {old} → {new}): "
            "the prefix changed on a live tenant; set SSM_EXT_ID_REKEY=true for one run to "
            "re-key them by update, or set the prefix back"
        )
    if shared_reader:
        report.notes.append(
            f"shared keys, not the owner (SSM_SHARED_KEYS_OWNER=false): no {contract.name} "
            "written to SSM; new ones are found by extId once the owning company pushed them"
        )
    if options.dry_run:
        return "dry run: plan stored in sync.plans, nothing written to SSM"
    if to_find:
        _find_shared(client, contract, to_find, recorder, report)
    if adopted is None and creates:
        # Creating without knowing what SSM already holds could make twins.
        report.notes.append(
            f"SSM did not answer the read of the {contract.name} it already holds: the "
            "creates of this first push wait for the next run"
        )
        report.retry_later += len(creates)
        creates = []
    held: list[planning.PlannedOp] = []
    refusal = options.breaker.refusal(plan, options.allow_mass_delete)
    if refusal:
        # Only the deletes wait: creates and updates go on, and so do the pushes after this one.
        report.refused = refusal
        report.deletes_held_back = len(deletes)
        held, deletes = deletes, []

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
            *(
                ledger.LedgerRow(
                    op.ext_id,
                    op.ssm_id,
                    planning.PARENT_DELETED,
                    None,
                    op.payload,
                    op.created_by_connector,
                )
                for op in parent_gone
            ),
        ],
        changes=[
            *(
                ledger.Change(
                    contract.name, op.ext_id, op.ssm_id, "delete", "skipped", (), op.reason
                )
                for op in release
            ),
            *(
                ledger.Change(
                    contract.name, op.ext_id, op.ssm_id, "write", "skipped", (), op.reason
                )
                for op in parent_gone
            ),
            *(
                ledger.Change(
                    contract.name, op.ext_id, op.ssm_id, "delete", "held_back", (),
                    "held back by the delete breaker (allow_mass_delete=true lets it through)",
                )
                for op in held
            ),
        ],
    )  # fmt: skip
    _settle(
        client,
        report,
        _apply_creates(client, contract, creates, recorder, report),
        lambda again: _create_again(warehouse, client, contract, again, recorder, report),
    )
    _settle(
        client,
        report,
        _apply_updates(client, contract, updates, recorder, report),
        lambda again: _apply_updates(client, contract, again, recorder, report),
    )
    _settle(
        client,
        report,
        _apply_deletes(client, contract, deletes, recorder, report),
        lambda again: _apply_deletes(client, contract, again, recorder, report),
    )
    return refusal
