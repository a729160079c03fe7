"""The whole connector, end to end: the tiny demo Sage company → the real `sage_ssm_sync` job of
`pipelines.definitions` → the SSM sandbox server as a process.

1. The first run leaves SSM holding exactly the desired records: every pushed resource's keys
   once, nothing else, every Sage-owned value as desired (`tests/ssm/compare.py`).
2. A second run with Sage unchanged makes no write call.
3. Ten Sage records changed in the company file as Sage changes them (RECORD_MODIFY_DATE moved
   past the last load): eight edited, a customer inserted, a product deleted (its STOCK row gone
   and a DELETED_RECORDS entry written). Exactly those reach SSM: eight updates, one account
   created, one product deleted with its price-list prices, and nothing else is written.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest

from pipelines.definitions import defs
from resources.sage import SageSourceResource
from resources.ssm import SSMResource
from resources.warehouse import WarehouseResource
from sandbox.sage_demo import generate
from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.ssm.compare import assert_ssm_holds_desired
from tests.ssm.conftest import ssm_records, ssm_writes

pytestmark = pytest.mark.xdist_group("end_to_end")

CHANGED_CUSTOMERS = 4  # SALES_LEDGER rows whose telephone changes
CHANGED_PRODUCTS = 4  # STOCK rows whose description changes
NEW_CUSTOMER = "NEW001"  # a SALES_LEDGER row inserted in Sage
# What SSM holds after the first sync of the tiny company (seed 1), pinned: one per SALES_LEDGER
# row (30), STOCK row (40), STOCK_CAT row (10) and PRICE_LIST (3) of the Sage file, and one rate
# per customer with special prices (4); 165 of its 166 INVOICE rows, 41 of its 45 orders with
# their 165 lines and 41 contacts, as the issue 13 trial counted them in the sandbox.
TINY_IN_SSM = {
    "rates": 7,
    "accounts": 30,
    "contacts": 41,
    "product_categories": 10,
    "products": 41,  # + the SSM product of Sage's message code M (free-text lines)
    "product_rates": 88,  # 77 list prices + 11 special prices (PRICE type S)
    "sales_orders": 41,
    "sales_order_lines": 167,  # + the two M message lines
    "sales": 165,
}
SDO_STOCK_DATA = 4  # DELETED_RECORDS.TABLE_ID of a STOCK row, as Sage writes it


def _resources(tmp_path: Path, company: Path, ssm: SandboxProcess) -> dict[str, object]:
    """As pipelines/resources.py builds them, on the test's files and sandbox."""
    return {
        "warehouse": WarehouseResource(database=str(tmp_path / "warehouse.duckdb")),
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
    # Every asset of the job materialized and every check evaluated (the launched sync is held
    # to the same, tests/pipelines/test_launched.py).
    graph = defs.resolve_job_def("sage_ssm_sync").asset_layer.asset_graph
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == set(graph.executable_asset_keys)
    evaluated = {(e.asset_key, e.check_name) for e in result.get_asset_check_evaluations()}
    assert evaluated == {(k.asset_key, k.name) for k in graph.asset_check_keys}
    pushes: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization  # type: ignore[union-attr]
        group, name = materialization.asset_key.path
        if group == "ssm" and name.startswith("push_"):
            pushes[name.removeprefix("push_")] = {
                k: v.value for k, v in materialization.metadata.items()
            }
    return pushes


def _later(con: sqlite3.Connection, table: str) -> str:
    """A RECORD_MODIFY_DATE an hour past the table's latest, so the next extract reads it."""
    (latest,) = con.execute(f"SELECT max(RECORD_MODIFY_DATE) FROM {table}").fetchone()  # noqa: S608
    return (dt.datetime.fromisoformat(latest) + dt.timedelta(hours=1)).isoformat(sep=" ")


def _product_to_delete(warehouse: Path, avoid: list[str]) -> tuple[str, int]:
    """A product on no open order line, and how many price-list prices it has (every product
    has some: deleting it in Sage deletes those prices in SSM too)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """
            SELECT p.ext_id, count(r.ext_id) FROM ssm.desired_products p
            LEFT JOIN ssm.desired_product_rates r ON r.product_ext_id = p.ext_id
            WHERE p.ext_id NOT IN (SELECT product_ext_id FROM ssm.desired_sales_order_lines)
            GROUP BY ALL ORDER BY 2, 1
            """
        ).fetchall()
    candidates = [(code, int(prices)) for code, prices in rows if code not in avoid]
    assert candidates, "every product of the tiny company is on an open order line"
    return candidates[0]


def _change_ten_sage_records(
    company: Path, warehouse: Path
) -> tuple[list[str], list[str], str, int]:
    """As Sage does it: edit 4 customers and 4 products, insert a customer (a copy of the first
    one under a new code), delete a product (its row goes, DELETED_RECORDS remembers it)."""
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
            marks = ",".join("?" * len(keys))
            con.execute(
                f"UPDATE {table} SET {column} = {value}, RECORD_MODIFY_DATE = ? "  # noqa: S608
                f"WHERE {key} IN ({marks})",
                [_later(con, table), *keys],
            )
        later = _later(con, "SALES_LEDGER")
        con.execute(
            "CREATE TEMP TABLE new_customer AS SELECT * FROM SALES_LEDGER WHERE ACCOUNT_REF = ?",
            [customers[-1]],
        )
        con.execute(
            "UPDATE new_customer SET ACCOUNT_REF = ?, NAME = 'New Customer Ltd', BALANCE = 0, "
            "TELEPHONE = '0113 000 0001', RECORD_CREATE_DATE = ?, RECORD_MODIFY_DATE = ?",
            [NEW_CUSTOMER, later, later],
        )
        con.execute("INSERT INTO SALES_LEDGER SELECT * FROM new_customer")
        deleted, prices = _product_to_delete(warehouse, avoid=products)
        later = _later(con, "DELETED_RECORDS")
        con.execute("DELETE FROM STOCK WHERE STOCK_CODE = ?", [deleted])
        con.execute(
            "INSERT INTO DELETED_RECORDS (TABLE_ID, FOREIGN_REF, DELETION_DATE_TIME, "
            "FOREIGN_REF_TYPE, RECORD_CREATE_DATE, RECORD_MODIFY_DATE) VALUES (?, ?, ?, 0, ?, ?)",
            [SDO_STOCK_DATA, deleted, later, later, later],
        )
    return customers, products, deleted, prices


def test_demo_company_reaches_ssm_and_only_changes_follow(tmp_path: Path) -> None:
    company = tmp_path / "sage50-demo.sqlite"
    generate(company, size="tiny", seed=1)
    warehouse = tmp_path / "warehouse.duckdb"
    with running_sandbox(tmp_path, rate=200) as ssm, dg.DagsterInstance.ephemeral() as instance:
        resources = _resources(tmp_path, company, ssm)

        first = _sync(resources, instance)
        assert all(p["failed"] == 0 and p["deferred"] == 0 for p in first.values()), first
        assert all(p["completion_ratio"] == 1.0 for p in first.values())
        held = assert_ssm_holds_desired(warehouse, ssm)
        assert held == TINY_IN_SSM
        assert {name: first[name]["created"] for name in held} == TINY_IN_SSM

        writes = ssm_writes(ssm)
        second = _sync(resources, instance)
        assert ssm_writes(ssm) == writes  # an unchanged Sage costs no write call
        assert all(p["planned"] == 0 for p in second.values()), second

        products_before = {p["extId"]: p["id"] for p in ssm_records(ssm, "products")}
        customers, products, deleted, prices = _change_ten_sage_records(company, warehouse)
        third = _sync(resources, instance)
        changed = {
            n: (p["created"], p["updated"], p["deleted"])
            for n, p in third.items()
            if p["created"] or p["updated"] or p["deleted"]
        }
        assert changed == {
            "accounts": (1, CHANGED_CUSTOMERS, 0),
            "products": (0, CHANGED_PRODUCTS, 1),
            "product_rates": (0, 0, prices),  # the deleted product's prices go with it
        }
        assert all(p["failed"] == 0 for p in third.values()), third
        # Nothing newly skipped (unmatched reps are skipped users on every run).
        assert {n: p["skipped"] for n, p in third.items()} == {
            n: p["skipped"] for n, p in second.items()
        }
        # One bulk call per resource and verb: accounts POST + PUT, products PUT + DELETE, and
        # the deleted product's prices DELETE.
        assert ssm_writes(ssm) - writes == 5
        assert_ssm_holds_desired(warehouse, ssm)
        accounts = {a["extId"]: a for a in ssm_records(ssm, "accounts")}
        assert {c: accounts[c]["phone"] for c in customers} == {
            c: f"0113 000 {c}" for c in customers
        }
        assert accounts[NEW_CUSTOMER]["name"] == "New Customer Ltd"
        assert accounts[NEW_CUSTOMER]["readOnly"] is True
        models = {p["extId"]: p["model"] for p in ssm_records(ssm, "products")}
        assert {p: models[p] for p in products} == {p: f"Renamed {p}" for p in products}
        # Deleted in Sage: deleted (logically) in SSM, not merely made unavailable.
        assert deleted not in models
        state = httpx.get(
            ssm.control_url + "/state", params={"resource": "products"}, timeout=10
        ).json()
        gone = next(p for p in next(iter(state.values())) if p["id"] == products_before[deleted])
        assert gone["deleted"] is True
