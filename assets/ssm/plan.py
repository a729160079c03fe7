"""The plan of a push: desired state compared with the ledger, in DuckDB.

For one resource, the payload of every desired record is built in SQL from the contract (value
lists and parents' SSM ids joined in), hashed, and compared with the hash SSM last acknowledged.
Only the records that differ leave DuckDB; for those, the changed fields are found by comparing
the desired payload with the acknowledged one, so an update sends only what changed.

A record `desired.py` holds back (its figures are wrong in Sage or staging; listed in
`ssm.held_<resource>`) is absent from the desired table but is not deleted: it is skipped, and
SSM keeps its last good values until it is right again.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from assets.ssm import ledger
from assets.ssm.contract import SYNCED_AT, FieldRule, ResourceContract, When
from assets.ssm.settings import EXT_ID_LENGTH, SyncSettings
from assets.ssm.value_lists import DEFAULT_KEY

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
DEFERRED = "deferred"
RESOLVE = "resolve"  # a pending create of a crashed run: look it up by extId first
# Gone from Sage, not created by the connector (adopted, or a matched user): left live in SSM,
# reported as a skipped delete.
RELEASE = "release"
SKIP_SSM_DELETED = "skip_ssm_deleted"
# Gone from the desired state because `desired.py` holds it back (its figures are wrong in
# Sage or staging): not deleted, SSM keeps its last good values until it is right again.
SKIP_HELD = "skip_held"
SKIP_DISCARDED = "skip_discarded"
# A parent (the account of an invoice or order) was deleted in SSM by a rep: the record cannot
# be written there. Reported once (this operation), then the ledger row's state
# PARENT_DELETED keeps it out of every plan until the parent is back in SSM.
SKIP_PARENT_DELETED = "skip_parent_deleted"
PARENT_DELETED = "parent_ssm_deleted"
UNCHANGED = "unchanged"
REFRESH = "refresh"  # content hash moved but no field SSM sees changed: ledger only

WRITES = (CREATE, UPDATE, DELETE)


def desired_table(resource: str) -> str:
    return f"ssm.desired_{resource}"


def held_table(resource: str) -> str:
    """The records `desired.py` holds back from the push (ext_id, reason), left out of the
    desired table."""
    return f"ssm.held_{resource}"


def _sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def ssm_name(rule: FieldRule, settings: SyncSettings) -> str:
    return settings.custom_name(rule.ssm) if rule.custom else rule.ssm


def _setting_value(rule: FieldRule, settings: SyncSettings) -> str:
    value = getattr(settings, rule.setting or "")
    return DEFAULT_KEY if value is None else str(value)


def payload_sql(contract: ResourceContract, settings: SyncSettings) -> str:
    """SELECT ext_id, payload (JSON text), waiting_for, parent_deleted FROM the desired table,
    joined. `parent_deleted`: the parents a rep deleted in SSM (ledger `ssm_deleted`)."""
    joins: list[str] = []
    pairs: list[str] = []
    waits: list[str] = []
    gone_parents: list[str] = []  # parents a rep deleted in SSM
    for i, rule in enumerate(contract.fields):
        if rule.column is not None:
            source = f'd."{rule.column}"'
            if rule.instead is not None and getattr(settings, rule.instead[1]):
                flag, setting = rule.instead
                value = _sql_literal(getattr(settings, setting))
                source = f'CASE WHEN coalesce(d."{flag}", false) THEN {value} ELSE {source} END'
        elif rule.setting is not None:
            source = _sql_literal(_setting_value(rule, settings))
        else:
            source = _sql_literal(rule.literal)
        if rule.lookup is not None:
            alias = f"vl{i}"
            joins.append(
                f"LEFT JOIN (SELECT key, min(id) AS id FROM ssm.value_lists "  # noqa: S608
                f"WHERE list_name = {_sql_literal(rule.lookup.name)} GROUP BY key) {alias} "
                f"ON {alias}.key = lower(trim(CAST({source} AS VARCHAR)))"
            )
            value = f"{alias}.id"
        elif rule.parent is not None:
            alias = f"p{i}"
            joins.append(
                f"LEFT JOIN {ledger.ledger_table(rule.parent)} {alias} "
                f"ON {alias}.ext_id = CAST({source} AS VARCHAR) AND {alias}.state IN ('synced', 'from_ssm')"
            )
            value = f"{alias}.ssm_id"
            if rule.user_ext_id:
                user = f"u{i}"
                joins.append(
                    f"LEFT JOIN (SELECT id, min(item_value) AS ext_id FROM ssm.value_lists "  # noqa: S608
                    f"WHERE list_name = 'users' AND item_field = 'extId' GROUP BY id) {user} "
                    f"ON {user}.id = {alias}.ssm_id"
                )
                value = (
                    f"CASE WHEN {alias}.ssm_id IS NOT NULL "
                    f"THEN coalesce({user}.ext_id, CAST({source} AS VARCHAR)) END"
                )
            if not rule.parent_optional:
                waits.append(
                    f"CASE WHEN {source} IS NOT NULL AND {alias}.ssm_id IS NULL "
                    f"THEN '{rule.parent} ' || CAST({source} AS VARCHAR) END"
                )
                gone = f"g{i}"
                joins.append(
                    f"LEFT JOIN {ledger.ledger_table(rule.parent)} {gone} "
                    f"ON {gone}.ext_id = CAST({source} AS VARCHAR) "
                    f"AND {gone}.state = '{ledger.SSM_DELETED}'"
                )
                gone_parents.append(
                    f"CASE WHEN {gone}.ext_id IS NOT NULL "
                    f"THEN '{rule.parent} ' || CAST({source} AS VARCHAR) END"
                )
        elif rule.sage_key and settings.ext_id_prefix:
            # The one place a company's Sage key becomes the extId SSM sees (SSM_EXT_ID_PREFIX);
            # the ledger stays keyed by the Sage key, parents resolve through SSM ids.
            value = f"{_sql_literal(settings.ext_id_prefix)} || CAST({source} AS VARCHAR)"
        else:
            value = source
        pairs.append(f"{_sql_literal(ssm_name(rule, settings))}, {value}")
    waiting = f"concat_ws(', ', {', '.join(waits)})" if waits else "''"
    gone = f"concat_ws(', ', {', '.join(gone_parents)})" if gone_parents else "''"
    return (
        f"SELECT CAST(d.ext_id AS VARCHAR) AS ext_id, "  # noqa: S608
        f"CAST(json_object({', '.join(pairs)}) AS VARCHAR) AS payload, "
        f"{waiting} AS waiting_for, {gone} AS parent_deleted "
        f"FROM {desired_table(contract.name)} d {' '.join(joins)}"
    )


def classify_sql(contract: ResourceContract, settings: SyncSettings, held: bool = False) -> str:
    """Each record's operation. `held`: read `held_table`, whose records are never deleted."""
    ours = "true" if settings.delete_adopted else "l.created_by_connector"
    held_rows = (
        f"SELECT ext_id, any_value(reason) AS reason FROM {held_table(contract.name)} GROUP BY 1"  # noqa: S608
        if held
        else "SELECT NULL::VARCHAR AS ext_id, NULL::VARCHAR AS reason WHERE false"
    )
    return f"""
        WITH d AS ({payload_sql(contract, settings)}),
        l AS (SELECT * FROM {ledger.ledger_table(contract.name)}),
        dl AS (SELECT ext_id, status, payload_hash FROM sync.dead_letters
               WHERE resource = {_sql_literal(contract.name)}),
        h AS ({held_rows})
        SELECT coalesce(d.ext_id, l.ext_id) AS ext_id, l.ssm_id, l.state,
               d.payload, md5(d.payload) AS content_hash, l.payload AS acknowledged,
               l.created_by_connector, d.waiting_for, d.parent_deleted,
               h.reason AS held_reason,
               CASE
                 WHEN d.ext_id IS NULL THEN CASE
                     WHEN l.state = 'synced' AND h.ext_id IS NOT NULL THEN '{SKIP_HELD}'
                     WHEN l.state = 'synced' AND {ours} THEN '{DELETE}'
                     WHEN l.state = 'synced' THEN '{RELEASE}'
                     WHEN l.state = 'pending_create' THEN '{RESOLVE}'
                     WHEN l.state = '{PARENT_DELETED}' AND l.ssm_id IS NOT NULL AND {ours}
                         THEN '{DELETE}'
                     ELSE NULL END
                 WHEN l.state = 'pending_create' THEN '{RESOLVE}'
                 WHEN l.state = 'ssm_deleted' THEN '{SKIP_SSM_DELETED}'
                 WHEN dl.status = 'discarded' AND dl.payload_hash = md5(d.payload)
                     THEN '{SKIP_DISCARDED}'
                 WHEN l.state IN ('synced', 'released') AND l.content_hash = md5(d.payload)
                     THEN '{UNCHANGED}'
                 -- its parent was deleted in SSM: said once, then quiet until it comes back
                 WHEN d.waiting_for <> '' AND d.parent_deleted <> ''
                      AND l.state = '{PARENT_DELETED}' THEN NULL
                 WHEN d.waiting_for <> '' AND d.parent_deleted <> '' THEN '{SKIP_PARENT_DELETED}'
                 WHEN d.waiting_for <> '' THEN '{DEFERRED}'
                 WHEN l.state IS NULL OR l.state = 'deleted' THEN '{CREATE}'
                 WHEN l.state = '{PARENT_DELETED}' AND l.ssm_id IS NULL THEN '{CREATE}'
                 ELSE '{UPDATE}'
               END AS operation
        FROM d FULL OUTER JOIN l ON d.ext_id = l.ext_id
        LEFT JOIN dl ON dl.ext_id = coalesce(d.ext_id, l.ext_id)
        LEFT JOIN h ON h.ext_id = coalesce(d.ext_id, l.ext_id)
    """  # noqa: S608


@dataclass
class PlannedOp:
    ext_id: str
    operation: str
    ssm_id: int | None = None
    payload: str | None = None  # the desired payload (JSON text), what the ledger keeps
    content_hash: str | None = None
    body: dict[str, Any] = field(default_factory=dict)  # what is sent to SSM
    reason: str = ""
    created_by_connector: bool = True
    # the SSM name of the sync-time field a write carries (contract.SYNCED_AT), or None
    synced_at: str | None = None

    @property
    def changed_fields(self) -> list[str]:
        return sorted(self.body)

    def request_body(self, written_at: str) -> dict[str, Any]:
        """What a write sends: the body, and the time of the write in the sync-time field. Kept
        out of `body` and `payload`: never compared, so it never makes a record changed."""
        return {**self.body, self.synced_at: written_at} if self.synced_at else self.body


def write_time() -> str:
    """Now, as SSM writes its own dates (ISO 8601 UTC with milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sync_stamp(contract: ResourceContract, settings: SyncSettings) -> dict[str, str]:
    """The sync-time field (contract.SYNCED_AT) a write of the resource's records carries, now:
    the reverse flow's writes are stamped like the push's."""
    return {settings.custom_name(SYNCED_AT): write_time()} if contract.synced_at else {}


@dataclass
class Plan:
    resource: str
    desired: int
    synced_before: int  # ledger rows in state synced, the base of the delete share
    counts: Counter[str]
    ops: list[PlannedOp]
    # updates whose extId moves (SSM holds the record under another prefix): (ext_id, old, new)
    rekeyed: list[tuple[str, str, str]] = field(default_factory=list)
    # with a prefix, the records whose extId would be longer than SSM holds: (count, longest)
    too_long: tuple[int, str | None] = (0, None)

    def of(self, operation: str) -> list[PlannedOp]:
        return [op for op in self.ops if op.operation == operation]

    @property
    def planned_writes(self) -> int:
        return sum(self.counts[o] for o in WRITES)


def _create_body(
    contract: ResourceContract, settings: SyncSettings, desired: dict[str, Any], defaults: dict
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for rule in contract.fields:
        name = ssm_name(rule, settings)
        value = desired.get(name)
        if value is None and rule.create_default is not None:
            value = defaults.get(rule.create_default)
        if value is not None:  # a new record has nothing to clear
            body[name] = value
    return body


def _update_body(
    contract: ResourceContract,
    settings: SyncSettings,
    desired: dict[str, Any],
    acknowledged: dict[str, Any],
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for rule in contract.fields:
        name = ssm_name(rule, settings)
        if rule.when is When.CREATE:
            continue
        value = desired.get(name)
        if value is None and rule.keep_when_null:
            continue  # e.g. the rep: a record without one keeps whoever SSM has
        if name in acknowledged and _blank(acknowledged[name]) and _blank(value):
            continue  # Sage's empty text and SSM's null both mean nothing: no write for it
        if name not in acknowledged or acknowledged[name] != value:
            body[name] = value
    return body


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def build_plan(
    con: duckdb.DuckDBPyConnection,
    contract: ResourceContract,
    settings: SyncSettings,
    defaults: dict[str, Any],
) -> Plan:
    """Compare `ssm.desired_<resource>` with `ssm.synced_<resource>`; only differences leave SQL.

    `defaults` holds the values of `create_default` names (e.g. the admin user's id).
    """
    ledger.ensure_tables(con, [contract.name, *contract.parents])
    schema, name = held_table(contract.name).split(".")
    (held,) = con.execute(  # type: ignore[misc]
        "SELECT count(*) > 0 FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
        [schema, name],
    ).fetchone()
    classify = classify_sql(contract, settings, held=bool(held))
    con.execute(f"CREATE OR REPLACE TEMP VIEW plan_{contract.name} AS {classify}")
    counts: Counter[str] = Counter(
        {
            op: int(n)
            for op, n in con.execute(
                f"SELECT operation, count(*) FROM plan_{contract.name} "  # noqa: S608
                "WHERE operation IS NOT NULL GROUP BY ALL"
            ).fetchall()
        }
    )
    (desired,) = con.execute(f"SELECT count(*) FROM {desired_table(contract.name)}").fetchone()  # type: ignore[misc]  # noqa: S608
    (synced,) = con.execute(
        f"SELECT count(*) FROM {ledger.ledger_table(contract.name)} WHERE state = 'synced'"  # noqa: S608
    ).fetchone()  # type: ignore[misc]
    rows = con.execute(
        f"""
        SELECT ext_id, ssm_id, payload, content_hash, acknowledged, created_by_connector,
               waiting_for, parent_deleted, held_reason, operation
        FROM plan_{contract.name}
        WHERE operation IS NOT NULL AND operation <> '{UNCHANGED}'
        ORDER BY ext_id
        """  # noqa: S608
    ).fetchall()
    ops: list[PlannedOp] = []
    rekeyed: list[tuple[str, str, str]] = []
    for (
        ext_id,
        ssm_id,
        payload,
        content_hash,
        acked,
        by_us,
        waiting,
        parent_deleted,
        held_reason,
        operation,
    ) in rows:
        op = PlannedOp(
            ext_id=ext_id,
            operation=operation,
            ssm_id=ssm_id,
            payload=payload,
            content_hash=content_hash,
            created_by_connector=True if by_us is None else bool(by_us),
        )
        desired_values = json.loads(payload) if payload else {}
        if operation in (CREATE, UPDATE) and contract.synced_at:
            op.synced_at = settings.custom_name(SYNCED_AT)
        if operation == CREATE:
            op.body = _create_body(contract, settings, desired_values, defaults)
            op.reason = "new in Sage"
        elif operation == UPDATE:
            op.body = _update_body(contract, settings, desired_values, json.loads(acked or "{}"))
            if not op.body:
                op.operation = REFRESH
                op.reason = "no field SSM sees changed"
                counts[UPDATE] -= 1
                counts[UNCHANGED] += 1
            else:
                op.reason = "changed in Sage: " + ", ".join(op.changed_fields)
                old = json.loads(acked or "{}").get("extId")
                if "extId" in op.body and old:
                    rekeyed.append((op.ext_id, str(old), str(op.body["extId"])))
                    op.reason = f"re-keyed: extId {old} → {op.body['extId']}; " + op.reason
        elif operation == DEFERRED:
            op.reason = f"waits for {waiting}"
        elif operation == DELETE:
            op.reason = "deleted in Sage"
        elif operation == RELEASE and contract.match_only:
            op.reason = "no longer a rep in Sage; SSM users are never deleted by the connector"
        elif operation == RELEASE:
            op.reason = (
                "deleted in Sage, but adopted from SSM rather than created by the connector: "
                "left live in SSM (SSM_DELETE_ADOPTED=true deletes adopted records)"
            )
        elif operation == RESOLVE:
            op.reason = "create of an interrupted run: looked up by extId before re-creating"
        elif operation == SKIP_SSM_DELETED:
            op.reason = "deleted in SSM: not re-created, not propagated to Sage"
        elif operation == SKIP_DISCARDED:
            op.reason = "dead letter discarded; waits for a change in Sage"
        elif operation == SKIP_PARENT_DELETED:
            op.reason = (
                f"{parent_deleted} was deleted in SSM: not written (said once, then left out "
                "of every push until it is back in SSM)"
            )
            op.payload = acked  # the ledger keeps what SSM last acknowledged
        elif operation == SKIP_HELD:
            op.reason = f"held back, not deleted; SSM keeps its last good values: {held_reason}"
        ops.append(op)
    return Plan(
        resource=contract.name,
        desired=int(desired),
        synced_before=int(synced),
        counts=+counts,
        ops=ops,
        rekeyed=rekeyed,
        too_long=_too_long(con, contract, settings),
    )


def _too_long(
    con: duckdb.DuckDBPyConnection, contract: ResourceContract, settings: SyncSettings
) -> tuple[int, str | None]:
    """With a prefix: how many desired records would carry an extId longer than SSM holds,
    and the longest. Without one the keys are Sage's own, as they always were."""
    if not settings.ext_id_prefix or not any(
        r.ssm == "extId" and r.sage_key for r in contract.fields
    ):
        return 0, None
    ((count, longest),) = con.execute(
        f"""SELECT count(*), arg_max(ext_id, length(ext_id)) FROM (
                SELECT json_extract_string(payload, '$.extId') AS ext_id
                FROM plan_{contract.name} WHERE payload IS NOT NULL)
            WHERE length(ext_id) > {EXT_ID_LENGTH}"""  # noqa: S608
    ).fetchall()
    return int(count), longest


@dataclass(frozen=True)
class DeleteBreaker:
    """Holds back a push's deletes when they exceed a share of what is synced (a half-empty
    extract). Only the deletes: the push's creates and updates still go through.

    `allowance` is a number of deletes always let through, whatever the share. It is 0 unless
    configured: a fixed floor would let most of a small entity go (10 of 12 records), so by
    default the share alone applies, and a small company that deletes often sets a small
    floor (or allows a run's deletes) explicitly.
    """

    share: float = 0.05
    allowance: int = 0

    def limit(self, synced: int) -> int:
        # The epsilon keeps an exact share (5 of 100) inside the limit despite float rounding.
        return max(self.allowance, math.floor(self.share * synced + 1e-9))

    def refusal(self, plan: Plan, allowed: bool) -> str | None:
        """Why the plan's deletes are held back (how many, how to allow them), or None."""
        deletes = plan.counts[DELETE]
        limit = self.limit(plan.synced_before)
        if allowed or deletes <= limit:
            return None
        floor = f", floor {self.allowance}" if self.allowance else ""
        return (
            f"{deletes} deletes of {plan.resource} held back: {deletes} of "
            f"{plan.synced_before} synced records would be deleted, more than the "
            f"{self.share:.0%} limit ({limit}{floor}); creates and updates went through. Check "
            "the Sage extract; if the deletes are real, run again with allow_mass_delete=true "
            "(run config resources.ssm_push.config.allow_mass_delete)."
        )
