"""Sync status in SSM (seed 004, issue 19): `Z_SyncedAt`, the last time the connector wrote a
Sage-owned record, rides on the writes the push makes anyway and never makes a record changed.

On the hand-made staging warehouse (tests/ssm/staging_fixture.py) and a sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from assets.ssm.contract import PUSHED, SYNCED_AT
from assets.ssm.plan import write_time
from assets.ssm.settings import SyncSettings
from sandbox.ssm.catalogue import RESOURCES
from sandbox.ssm.testing import SandboxProcess
from tests.ssm.conftest import ssm_records, ssm_writes
from tests.ssm.harness import push_all

STAMPED = [c for c in PUSHED if c.synced_at]
CHANGED = "CUST003"  # its telephone changes in Sage between the second and third runs


def _times(ssm: SandboxProcess, resource: str, field: str = SYNCED_AT) -> dict[str, str | None]:
    return {str(r.get("extId") or r["id"]): r.get(field) for r in ssm_records(ssm, resource)}


def test_the_stamped_resources_are_the_written_ones_that_take_custom_fields() -> None:
    # Every pushed resource whose SSM resource takes `Z_` fields and that the push writes (not
    # the matched users) carries it; rates, product rates and categories cannot.
    expected = {
        c.name for c in PUSHED if RESOURCES[c.ssm_resource].custom_fields and not c.match_only
    }
    assert (
        {c.name for c in STAMPED}
        == expected
        == {
            "accounts",
            "contacts",
            "products",
            "sales_orders",
            "sales_order_lines",
            "sales",
        }
    )


def test_a_write_carries_its_time_and_an_unchanged_record_is_not_sent_again(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    before = write_time()
    first, _, _ = push_all(warehouse, sandbox.base_url)
    after = write_time()
    assert all(r.failed == 0 for r in first.values())
    for contract in STAMPED:
        times = _times(sandbox, contract.ssm_resource)
        assert times and first[contract.name].created == len(times), contract.name
        # ISO 8601 UTC as SSM writes dates, at the time of the write
        assert all(t is not None and before <= t <= after for t in times.values()), times
    assert all(SYNCED_AT not in r for r in ssm_records(sandbox, "rates"))
    # The acknowledged payloads never hold it: it is not compared, so it changes nothing.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for contract in STAMPED:
            payloads = con.execute(f"SELECT payload FROM ssm.synced_{contract.name}").fetchall()  # noqa: S608
            assert payloads and all(SYNCED_AT not in json.loads(p) for (p,) in payloads)
    accounts = _times(sandbox, "accounts")

    # Nothing changed in Sage: no write at all, and every record keeps the time of its write.
    writes = ssm_writes(sandbox)
    second, _, write_calls = push_all(warehouse, sandbox.base_url)
    assert write_calls == 0 and ssm_writes(sandbox) == writes
    assert all(r.planned == 0 for r in second.values()), {n: r.planned for n, r in second.items()}
    assert _times(sandbox, "accounts") == accounts

    # One account changed in Sage: it alone is written, with the changed field and a new time.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE staging.customer_accounts SET telephone = '0113 496 9999' "
            "WHERE account_reference = ?",
            [CHANGED],
        )
    third, _, _ = push_all(warehouse, sandbox.base_url)
    assert {n: (r.created, r.updated) for n, r in third.items() if r.planned} == {
        "accounts": (0, 1)
    }
    now = _times(sandbox, "accounts")
    assert now[CHANGED] is not None and accounts[CHANGED] is not None
    assert now[CHANGED] > accounts[CHANGED]
    assert {k: v for k, v in now.items() if k != CHANGED} == {
        k: v for k, v in accounts.items() if k != CHANGED
    }
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (sent,) = con.execute(
            "SELECT changed_fields FROM sync.changes WHERE resource = 'accounts' "
            "AND ext_id = ? AND operation = 'update'",
            [CHANGED],
        ).fetchone()  # type: ignore[misc]
    assert json.loads(sent) == ["phone"]  # the change log names what changed in Sage


def test_the_field_is_renamed_like_the_other_custom_fields(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    settings = SyncSettings(custom_fields={SYNCED_AT: "Z_LastSync"})
    reports, _, _ = push_all(warehouse, sandbox.base_url, settings=settings)
    assert all(r.failed == 0 for r in reports.values())
    products = ssm_records(sandbox, "products")
    assert products and all(p.get("Z_LastSync") and SYNCED_AT not in p for p in products)
