"""The whole connector, end to end: the tiny demo Sage company → the real `sage_ssm_sync` job of
`pipelines.definitions` → the SSM sandbox server as a process.

1. The first run leaves SSM holding exactly the desired records (each extId once, Sage-owned
   fields as desired) for accounts, products, contacts and sales.
2. A second run with Sage unchanged makes no write call.
3. Ten Sage records changed in the company file (RECORD_MODIFY_DATE moved past the last load)
   reach SSM as exactly ten updates, and nothing else is written.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from assets.ssm.contract import pushed
from pipelines.definitions import defs
from resources.sage import SageSourceResource
from resources.ssm import SSMResource
from sandbox.sage_demo import generate
from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.ssm.conftest import ssm_records, ssm_writes

pytestmark = pytest.mark.xdist_group("end_to_end")

CHECKED = ("accounts", "products", "contacts", "sales")  # resources compared record by record
CHANGED_CUSTOMERS = 6  # SALES_LEDGER rows whose telephone changes
CHANGED_PRODUCTS = 4  # STOCK rows whose description changes


def _resources(tmp_path: Path, company: Path, ssm: SandboxProcess) -> dict[str, object]:
    """As pipelines/resources.py builds them, on the test's files and sandbox."""
    return {
        "warehouse": DuckDBResource(database=str(tmp_path / "warehouse.duckdb")),
        "sage": SageSourceResource(database_url=f"sqlite:///{company}"),
        "ssm": SSMResource(
            base_url=ssm.base_url,
            public_key=ssm.public_key,
            private_key=ssm.private_key,
            requests_per_second=200,
        ),
    }


def _sync(resources: dict[str, object], instance: dg.DagsterInstance) -> dict[str, dict[str, Any]]:
    """One run of the real job; the push assets' metadata, by resource name."""
    result = defs.resolve_job_def("sage_ssm_sync").execute_in_process(
        resources=resources, instance=instance, raise_on_error=False
    )
    failures = [e.message for e in result.all_events if e.is_failure]
    assert result.success, failures
    pushes: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization  # type: ignore[union-attr]
        group, name = materialization.asset_key.path
        if group == "ssm" and name.startswith("push_"):
            pushes[name.removeprefix("push_")] = {
                k: v.value for k, v in materialization.metadata.items()
            }
    return pushes


def _same(api: object, warehouse: object) -> bool:
    """The API's value is the warehouse's (a date comes back as a UTC midnight timestamp)."""
    if isinstance(warehouse, Decimal):
        return api == float(warehouse)
    if isinstance(warehouse, dt.date):
        return isinstance(api, str) and api[:10] == warehouse.isoformat()[:10]
    return api == warehouse


def _desired(warehouse: Path, name: str) -> dict[str, dict[str, Any]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM ssm.desired_{name}")  # noqa: S608
        columns = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


def _assert_ssm_holds_desired(warehouse: Path, ssm: SandboxProcess) -> dict[str, int]:
    """SSM holds each desired record once, nothing else, with its plain Sage-owned fields."""
    counts: dict[str, int] = {}
    for name in CHECKED:
        desired = _desired(warehouse, name)
        records = ssm_records(ssm, pushed(name).ssm_resource)
        ext_ids = Counter(r["extId"] for r in records)
        assert [e for e, n in ext_ids.items() if n > 1] == [], name
        assert set(ext_ids) == set(desired), name
        plain_fields = [
            f
            for f in pushed(name).fields
            if f.column and f.ssm != "extId" and not (f.lookup or f.parent or f.keep_when_null)
        ]
        by_ext_id = {r["extId"]: r for r in records}
        for ext_id, row in desired.items():
            for f in plain_fields:
                got, want = by_ext_id[ext_id].get(f.ssm), row[f.column]
                assert _same(got, want), (name, ext_id, f.ssm, got, want)
        counts[name] = len(records)
    return counts


def _change_ten_sage_records(company: Path) -> tuple[list[str], list[str]]:
    """Edit 6 customers and 4 products in the Sage company, modified after the last load."""
    with sqlite3.connect(company) as con:
        customers = [
            r[0]
            for r in con.execute(
                "SELECT ACCOUNT_REF FROM SALES_LEDGER ORDER BY ACCOUNT_REF LIMIT ?",
                [CHANGED_CUSTOMERS],
            )
        ]
        products = [
            r[0]
            for r in con.execute(
                "SELECT STOCK_CODE FROM STOCK ORDER BY STOCK_CODE LIMIT ?", [CHANGED_PRODUCTS]
            )
        ]
        for table, key, column, value, keys in (
            ("SALES_LEDGER", "ACCOUNT_REF", "TELEPHONE", "'0113 000 ' || ACCOUNT_REF", customers),
            ("STOCK", "STOCK_CODE", "DESCRIPTION", "'Renamed ' || STOCK_CODE", products),
        ):
            (latest,) = con.execute(f"SELECT max(RECORD_MODIFY_DATE) FROM {table}").fetchone()  # noqa: S608
            later = (dt.datetime.fromisoformat(latest) + dt.timedelta(hours=1)).isoformat(sep=" ")
            marks = ",".join("?" * len(keys))
            con.execute(
                f"UPDATE {table} SET {column} = {value}, RECORD_MODIFY_DATE = ? "  # noqa: S608
                f"WHERE {key} IN ({marks})",
                [later, *keys],
            )
    return customers, products


def test_demo_company_reaches_ssm_and_only_changes_follow(tmp_path: Path) -> None:
    company = tmp_path / "sage50-demo.sqlite"
    generate(company, size="tiny", seed=1)
    warehouse = tmp_path / "warehouse.duckdb"
    with running_sandbox(tmp_path, rate=200) as ssm, dg.DagsterInstance.ephemeral() as instance:
        resources = _resources(tmp_path, company, ssm)

        first = _sync(resources, instance)
        assert all(p["failed"] == 0 and p["deferred"] == 0 for p in first.values()), first
        assert all(p["completion_ratio"] == 1.0 for p in first.values())
        held = _assert_ssm_holds_desired(warehouse, ssm)
        assert all(held.values()), held  # the tiny company has some of each
        for name, count in held.items():
            assert first[name]["created"] == count, name

        writes = ssm_writes(ssm)
        second = _sync(resources, instance)
        assert ssm_writes(ssm) == writes  # an unchanged Sage costs no write call
        assert all(p["planned"] == 0 for p in second.values()), second

        customers, products = _change_ten_sage_records(company)
        third = _sync(resources, instance)
        changed = {
            n: (p["created"], p["updated"], p["deleted"])
            for n, p in third.items()
            if p["created"] or p["updated"] or p["deleted"]
        }
        assert changed == {
            "accounts": (0, CHANGED_CUSTOMERS, 0),
            "products": (0, CHANGED_PRODUCTS, 0),
        }
        assert ssm_writes(ssm) - writes == 2  # one bulk update per resource
        _assert_ssm_holds_desired(warehouse, ssm)
        accounts = {a["extId"]: a for a in ssm_records(ssm, "accounts")}
        assert {c: accounts[c]["phone"] for c in customers} == {
            c: f"0113 000 {c}" for c in customers
        }
        models = {p["extId"]: p["model"] for p in ssm_records(ssm, "products")}
        assert {p: models[p] for p in products} == {p: f"Renamed {p}" for p in products}
