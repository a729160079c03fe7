"""SSM compared with the desired state: every key once, nothing else, every Sage-owned value.

Read straight from the sandbox's state (no API call counted) and from `ssm.desired_*`, not from
the connector's ledger, so a ledger that agrees with itself but not with SSM cannot pass.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from assets.ssm.contract import PUSHED, ResourceContract, pushed
from sandbox.ssm.testing import SandboxProcess
from tests.ssm.conftest import ssm_records

# Users are matched to SSM's own users, never pushed (SSM_CREATE_USERS is off in the tests).
WRITTEN = tuple(c.name for c in PUSHED if not c.match_only)


def same(api: object, warehouse: object) -> bool:
    """The API's value is the warehouse's (a date comes back as a UTC midnight timestamp)."""
    if isinstance(warehouse, Decimal):
        return api == float(warehouse)
    if isinstance(warehouse, dt.date):
        return isinstance(api, str) and api[:10] == warehouse.isoformat()[:10]
    return api == warehouse


def fk_id(value: Any) -> Any:
    """A foreign key as SSM reads it back (`{id, value}`) → its id."""
    return value.get("id") if isinstance(value, dict) else value


def desired_rows(warehouse: Path, name: str) -> dict[str, dict[str, Any]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM ssm.desired_{name}")  # noqa: S608
        columns = [d[0] for d in cursor.description]
        return {str(row[0]): dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


def _key_of_record(contract: ResourceContract, record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(fk_id(record.get(f)) for f in contract.lookup_fields)


def _key_of_desired(
    contract: ResourceContract, row: dict[str, Any], ids: dict[str, dict[str, int]]
) -> tuple[Any, ...]:
    key = []
    for name in contract.lookup_fields:
        rule = contract.field(name)
        value = row[rule.column] if rule.column else rule.literal
        if rule.parent is not None:
            value = ids[rule.parent].get(str(value))
        key.append(str(value) if name == "extId" else value)
    return tuple(key)


def assert_ssm_holds_desired(
    warehouse: Path, ssm: SandboxProcess, names: Iterable[str] = WRITTEN
) -> dict[str, int]:
    """Each desired record is in SSM once, no other keyed record is, and every Sage-owned value
    (plain fields and foreign keys to pushed parents) is the desired one; live records by name."""
    live = {c.name: ssm_records(ssm, c.ssm_resource) for c in PUSHED if not c.match_only}
    # extId -> SSM id of each pushed resource, from SSM itself, to resolve foreign keys.
    ids = {
        name: {str(r["extId"]): int(r["id"]) for r in records if r.get("extId")}
        for name, records in live.items()
    }
    counts: dict[str, int] = {}
    for name in names:
        contract = pushed(name)
        desired = desired_rows(warehouse, name)
        # A record without its key (a rep's own account, a seeded value) is not the connector's.
        records = [r for r in live[name] if all(v is not None for v in _key_of_record(contract, r))]
        keys = Counter(_key_of_record(contract, r) for r in records)
        assert [k for k, n in keys.items() if n > 1] == [], f"{name} duplicated in SSM"
        wanted = {_key_of_desired(contract, row, ids): ext_id for ext_id, row in desired.items()}
        assert set(keys) == set(wanted), (name, set(keys) ^ set(wanted))
        by_key = {_key_of_record(contract, r): r for r in records}
        for key, ext_id in wanted.items():
            record, row = by_key[key], desired[ext_id]
            for rule in contract.fields:
                if rule.column is None or rule.lookup or rule.keep_when_null:
                    continue  # value lists and the rep: matched by SSM's own ids, not Sage's
                want = row[rule.column]
                got = record.get(rule.ssm)
                if rule.parent is not None:
                    want = None if want is None else ids[rule.parent].get(str(want))
                    got = fk_id(got)
                assert same(got, want), (name, ext_id, rule.ssm, got, want)
        counts[name] = len(records)
    return counts
