"""The push against the sandbox server: initial sync, no-op rerun, targeted changes, rejects."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import httpx

from assets.ssm.apply import PushOptions
from resources.ssm.client import SSMClient
from sandbox.ssm.testing import SandboxProcess
from tests.ssm.conftest import ssm_records, ssm_writes
from tests.ssm.harness import PRIVATE_KEY, PUBLIC_KEY, push_all

# Hand-counted from tests/ssm/staging_fixture.py.
EXPECTED = {
    "users": 0,  # reps are matched, never created (SSM_CREATE_USERS is off)
    "rates": 1,
    "accounts": 12,
    "contacts": 8,
    "product_categories": 3,
    "products": 10,
    "product_rates": 6,
    "sales_orders": 4,
    "sales_order_lines": 8,
    "sales": 6,
}
RESOURCE = {"accounts": "accounts", "contacts": "contacts", "products": "products",
            "sales": "sales", "product_categories": "productCategories",
            "sales_orders": "salesorders", "sales_order_lines": "salesordersLines",
            "product_rates": "productRates"}  # fmt: skip


def test_initial_sync_then_a_rerun_writes_nothing(warehouse: Path, sandbox: SandboxProcess) -> None:
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert {name: r.created for name, r in reports.items()} == EXPECTED
    assert all(r.failed == 0 and r.deferred == 0 for r in reports.values())

    accounts = {a["extId"]: a for a in ssm_records(sandbox, "accounts")}
    assert sorted(accounts) == [f"CUST{i:03d}" for i in range(1, 13)]
    assert all(a["readOnly"] for a in accounts.values())
    # Rep matched by full name; no rep or an unmatched rep: the admin user (id 1).
    assert accounts["CUST001"]["salesRepId1"]["id"] == 2  # Alice Carter
    assert accounts["CUST002"]["salesRepId1"]["id"] == 3  # Ben Hughes
    assert accounts["CUST003"]["salesRepId1"]["id"] == 1
    assert accounts["CUST004"]["salesRepId1"]["id"] == 1  # "Dora Unmatched"
    assert accounts["CUST004"]["countryId"]["value"] == "Ireland"
    assert accounts["CUST001"]["Z_Balance"] == 100.25
    assert accounts["CUST001"]["rateId"]["value"] == "Trade prices"
    products = {p["extId"]: p for p in ssm_records(sandbox, "products")}
    assert products["PROD001"]["stock"] == 100  # 101 in stock - 1 allocated
    assert products["PROD009"]["stock"] is None  # not tracked: a dash
    assert products["PROD010"]["notAvailable"] is True
    assert products["PROD001"]["categoryId"]["value"] == "Category 2"
    sales = {s["extId"]: s for s in ssm_records(sandbox, "sales")}
    assert sales["1001"]["Z_PaymentStatus"] == "Paid"
    assert sales["1002"]["Z_PaymentStatus"] == "Part paid"
    assert sales["3001"]["total"] == -6
    # Order 5 is a Sage quotation: neither it nor its lines reach SSM.
    assert sorted(o["extId"] for o in ssm_records(sandbox, "salesorders")) == ["1", "2", "3", "4"]
    with duckdb.connect(str(warehouse)) as con:
        quotation_rows = con.execute(
            "SELECT (SELECT count(*) FROM ssm.desired_sales_orders WHERE ext_id = '5'), "
            "(SELECT count(*) FROM ssm.desired_sales_order_lines WHERE order_ext_id = '5'), "
            "(SELECT count(*) FROM ssm.synced_sales_order_lines WHERE ext_id LIKE '5/%')"
        ).fetchone()
    assert quotation_rows == (0, 0, 0)
    contacts = {c["extId"]: c for c in ssm_records(sandbox, "contacts")}
    assert (contacts["CUST008/8"]["firstName"], contacts["CUST008/8"]["lastName"]) == (
        "Madonna", "Madonna",
    )  # fmt: skip
    for name, resource in RESOURCE.items():  # each record once, nothing else
        records = ssm_records(sandbox, resource)
        assert len(records) == EXPECTED[name], name
        keys = Counter(
            (r["productId"]["id"], r["rateId"]["id"]) if name == "product_rates"
            else (r["salesOrderId"]["id"], r["order"]) if name == "sales_order_lines"
            else r["extId"]
            for r in records
        )  # fmt: skip
        assert max(keys.values()) == 1, name

    writes_before = ssm_writes(sandbox)
    reports, api_calls, write_calls = push_all(warehouse, sandbox.base_url)
    assert ssm_writes(sandbox) == writes_before
    assert write_calls == 1  # the login: the client counts every POST, and no other write
    assert all(r.planned == 0 and r.completion_ratio == 1.0 for r in reports.values())
    assert reports["accounts"].unchanged == 12
    assert api_calls > 0  # reads only: login and value lists


def test_ten_changes_reach_ssm_and_nothing_else(warehouse: Path, sandbox: SandboxProcess) -> None:
    push_all(warehouse, sandbox.base_url)
    con = duckdb.connect(str(warehouse))
    con.execute(
        "UPDATE staging.customer_accounts SET telephone = '0999' WHERE account_reference IN ('CUST001', 'CUST002', 'CUST003')"
    )
    con.execute(
        "UPDATE staging.product_items SET sales_price = 1.5 WHERE product_reference IN ('PROD001', 'PROD002')"
    )
    con.execute(
        "UPDATE staging.customer_accounts SET deleted_at = now() WHERE account_reference IN ('CUST011', 'CUST012')"
    )
    con.execute(
        "UPDATE staging.product_items SET deleted_at = now() WHERE product_reference = 'PROD008'"
    )
    con.execute("""INSERT INTO staging.product_categories VALUES ('4', 'Category 4', NULL)""")
    con.execute(
        """INSERT INTO staging.contacts VALUES ('CUST001', '99', 'New Person', NULL, NULL, NULL, NULL, NULL, NULL)"""
    )
    con.close()
    writes_before = ssm_writes(sandbox)
    reports, _, _ = push_all(warehouse, sandbox.base_url)

    changed = {n: (r.created, r.updated, r.deleted) for n, r in reports.items() if r.planned}
    assert changed == {
        "accounts": (0, 3, 2),
        "products": (0, 2, 1),
        "product_categories": (1, 0, 0),
        "contacts": (1, 0, 0),
    }
    # one bulk call per resource and verb: accounts PUT+DELETE, products PUT+DELETE, 2 POSTs
    assert ssm_writes(sandbox) - writes_before == 6
    accounts = {a["extId"]: a for a in ssm_records(sandbox, "accounts")}
    assert "CUST011" not in accounts and accounts["CUST001"]["phone"] == "0999"
    assert accounts["CUST004"]["phone"] == "0113 496 0004"
    with duckdb.connect(str(warehouse)) as con:
        sent = con.execute(
            "SELECT changed_fields FROM sync.changes WHERE resource = 'products' "
            "AND operation = 'update' AND ext_id = 'PROD001'"
        ).fetchone()
    assert sent == ('["price"]',)  # a partial update: only the changed field


def test_rejected_record_waits_in_dead_letters_until_fixed(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute(
        "UPDATE staging.customer_accounts SET company_name = repeat('x', 300) WHERE account_reference = 'CUST005'"
    )
    con.close()
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert (reports["accounts"].created, reports["accounts"].failed) == (11, 1)
    assert "name" in reports["accounts"].failures[0][2]
    # CUST005's contact and sales wait for their account: deferred, not failed.
    assert reports["contacts"].deferred == 1 and reports["contacts"].failed == 0
    reports, _, _ = push_all(warehouse, sandbox.base_url)  # retried, fails again
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute(
            "SELECT ext_id, status, attempts, payload IS NOT NULL FROM sync.dead_letters"
        ).fetchall() == [("CUST005", "open", 2, True)]
        con.execute(
            "UPDATE staging.customer_accounts SET company_name = 'Fixed Ltd' WHERE account_reference = 'CUST005'"
        )
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert reports["accounts"].created == 1 and reports["contacts"].created == 1
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("SELECT status FROM sync.dead_letters").fetchall() == [("resolved",)]
    assert len(ssm_records(sandbox, "accounts")) == 12


def test_rep_cannot_edit_read_only_account_and_ssm_delete_is_reported(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    push_all(warehouse, sandbox.base_url)
    cust1 = next(a for a in ssm_records(sandbox, "accounts") if a["extId"] == "CUST001")
    refused = httpx.put(
        f"{sandbox.control_url}/act-as/2/accounts/{cust1['id']}", json={"name": "Hacked"}
    )
    assert refused.status_code == 403
    # A contact (editable) deleted in SSM by a rep is not re-created, and is reported.
    contact = next(c for c in ssm_records(sandbox, "contacts") if c["extId"] == "CUST002/2")
    assert httpx.delete(f"{sandbox.control_url}/act-as/3/contacts/{contact['id']}").is_success
    con = duckdb.connect(str(warehouse))
    con.execute("UPDATE staging.contacts SET email = 'new@x.example' WHERE address_ref = '2'")
    con.close()
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert reports["contacts"].ssm_deleted == 1 and reports["contacts"].created == 0
    writes_before = ssm_writes(sandbox)
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert reports["contacts"].skipped == 1 and ssm_writes(sandbox) == writes_before
    assert "CUST002/2" not in {c["extId"] for c in ssm_records(sandbox, "contacts")}


def test_dry_run_plans_without_writing_and_breaker_refuses_mass_delete(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    reports, _, write_calls = push_all(
        warehouse, sandbox.base_url, options=PushOptions(dry_run=True)
    )
    assert write_calls == 1 and ssm_writes(sandbox) == 0  # the login only
    assert reports["accounts"].plan_counts == {"create": 12}
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute(
            "SELECT count(*) FROM sync.plans WHERE resource = 'accounts' AND operation = 'create'"
        ).fetchone() == (12,)
    push_all(warehouse, sandbox.base_url)
    con = duckdb.connect(str(warehouse))
    con.execute("UPDATE staging.customer_accounts SET deleted_at = now()")  # a broken extract
    con.close()
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert reports["accounts"].refused and "12 of 12" in reports["accounts"].refused
    assert len(ssm_records(sandbox, "accounts")) == 12


def test_first_push_adopts_what_ssm_already_holds(warehouse: Path, sandbox: SandboxProcess) -> None:
    """A tenant that ran the vendor's connector: its records are adopted, never twinned."""
    with SSMClient(sandbox.base_url, PUBLIC_KEY, PRIVATE_KEY, requests_per_second=200) as client:
        old = {"branchId": 1, "salesRepId1": 2, "statusId": 1}
        kept = client.create("accounts", {**old, "name": "Old name", "extId": "CUST001"})
        twin = client.create("accounts", {**old, "name": "Twin", "extId": "CUST001"})
        gone = client.create("accounts", {**old, "name": "Deleted by a rep", "extId": "CUST002"})
        client.delete("accounts", gone)
        other = client.create("accounts", {**old, "name": "Rep's own, no extId"})

    reports, _, _ = push_all(warehouse, sandbox.base_url)
    accounts = reports["accounts"]
    assert (accounts.adopted, accounts.created, accounts.updated) == (2, 10, 1)
    assert accounts.skipped == 1  # CUST002: deleted in SSM, so not re-created
    live = Counter(a.get("extId") for a in ssm_records(sandbox, "accounts"))
    assert live["CUST001"] == 2 and live["CUST002"] == 0 and live[None] == 1  # twin left alone
    by_id = {a["id"]: a for a in ssm_records(sandbox, "accounts")}
    assert by_id[kept]["name"] != "Old name" and by_id[twin]["name"] == "Twin"
    assert by_id[other]["name"] == "Rep's own, no extId"
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute(
            "SELECT ext_id, ssm_id, outcome FROM sync.changes WHERE operation = 'adopt' ORDER BY 1"
        ).fetchall() == [("CUST001", kept, "ok"), ("CUST002", gone, "ssm_deleted")]
    writes_before = ssm_writes(sandbox)
    push_all(warehouse, sandbox.base_url)
    assert ssm_writes(sandbox) == writes_before
