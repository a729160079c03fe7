"""The push against the sandbox server: initial sync, no-op rerun, targeted changes, rejects."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import httpx

from assets.ssm.apply import PushOptions
from assets.ssm.plan import DELETE, DeleteBreaker, Plan
from assets.ssm.settings import SyncSettings
from resources.ssm.client import SSMClient
from sandbox.ssm.testing import SandboxProcess
from tests.ssm.compare import fk_id
from tests.ssm.conftest import deleted_by_a_rep, ssm_records, ssm_writes
from tests.ssm.harness import PRIVATE_KEY, PUBLIC_KEY, push_all

# Hand-counted from tests/ssm/staging_fixture.py.
EXPECTED = {
    "users": 0,  # reps are matched, never created (SSM_CREATE_USERS is off)
    "rates": 2,  # the list TRADE, and CUST001's own rate (its special price)
    "accounts": 12,
    "contacts": 8,
    "product_categories": 3,
    "products": 10,
    "product_rates": 7,  # TRADE's 6; CUST001's special price (its rate holds only its own)
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
    # CUST001 has a special price: its own rate; CUST002 is on TRADE alone: the list
    assert accounts["CUST001"]["rateId"]["value"] == "Special prices CUST001: Customer 1 Ltd"
    assert accounts["CUST001"]["Z_PriceList"] == "TRADE"
    assert accounts["CUST002"]["rateId"]["value"] == "Trade prices"
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
    assert write_calls == 0  # the login is an API call, not a write
    assert all(r.planned == 0 and r.completion_ratio == 1.0 for r in reports.values())
    assert reports["accounts"].unchanged == 12
    assert api_calls > 0  # reads only: login and value lists
    with duckdb.connect(str(warehouse)) as con:
        runs = con.execute(
            "SELECT status, resources, planned, created, write_calls FROM sync.run_summary "
            "ORDER BY started_at"
        ).fetchall()
    total = sum(EXPECTED.values())
    assert runs[0][:4] == ("ok", 10, total, total) and runs[0][4] > 0
    assert runs[1] == ("ok", 10, 0, 0, 0)


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
    # 2 of 12 accounts is over the breaker's 5%: a tiny company sets a small floor explicitly.
    small_company = PushOptions(breaker=DeleteBreaker(allowance=2))
    reports, _, _ = push_all(warehouse, sandbox.base_url, options=small_company)

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
    # a partial update: only the changed fields (the base price shows twice, seed 001)
    assert sent == ('["Z_BasePrice", "price"]',)


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
    assert write_calls == 0 and ssm_writes(sandbox) == 0
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


def test_breaker_holds_back_only_the_deletes_a_rename_and_new_invoices_go_through(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    """Four of twelve accounts gone from the extract trip the breaker (33 % > 5 %): those
    deletes wait; in the same run a customer's rename and a new invoice reach SSM."""
    push_all(warehouse, sandbox.base_url)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE staging.customer_accounts SET deleted_at = now() "
            "WHERE account_reference IN ('CUST009', 'CUST010', 'CUST011', 'CUST012')"
        )
        con.execute(
            "UPDATE staging.customer_accounts SET company_name = 'Renamed Ltd' "
            "WHERE account_reference = 'CUST001'"
        )
        con.execute(
            "INSERT INTO staging.posted_sales_invoices (invoice_number, invoice_date, "
            "account_reference, total_net, total_gross, payment_due_date) VALUES "
            "(1004, DATE '2024-05-05', 'CUST002', 40, 48, DATE '2024-06-05')"
        )
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    accounts = reports["accounts"]
    assert (accounts.planned, accounts.updated, accounts.deleted) == (5, 1, 0)
    assert (accounts.deletes_held_back, accounts.status) == (4, "refused")
    assert accounts.refused is not None
    assert accounts.refused.startswith("4 deletes of accounts held back: 4 of 12 synced")
    assert "allow_mass_delete=true" in accounts.refused
    assert (reports["sales"].created, reports["sales"].status) == (1, "ok")
    live = {a["extId"]: a for a in ssm_records(sandbox, "accounts")}
    assert len(live) == 12 and live["CUST001"]["name"] == "Renamed Ltd"
    sale = next(s for s in ssm_records(sandbox, "sales") if s["extId"] == "1004")
    assert (fk_id(sale["accountId"]), sale["total"]) == (live["CUST002"]["id"], 48)
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute(
            "SELECT status, deletes_held_back, message LIKE '4 deletes of accounts held back%' "
            "FROM sync.runs WHERE resource = 'accounts' ORDER BY finished_at DESC LIMIT 1"
        ).fetchone() == ("refused", 4, True)
        assert con.execute(
            "SELECT list(ext_id ORDER BY ext_id) FROM sync.changes "
            "WHERE operation = 'delete' AND outcome = 'held_back'"
        ).fetchone() == (["CUST009", "CUST010", "CUST011", "CUST012"],)
        assert con.execute(
            "SELECT count(*) FROM ssm.synced_accounts WHERE state = 'synced'"
        ).fetchone() == (12,)
    # Allowed, they go; nothing else is left to do.
    reports, _, _ = push_all(
        warehouse, sandbox.base_url, options=PushOptions(allow_mass_delete=True)
    )
    assert (reports["accounts"].deleted, reports["accounts"].deletes_held_back) == (4, 0)
    assert reports["accounts"].planned == 4 and reports["accounts"].status == "ok"
    assert len(ssm_records(sandbox, "accounts")) == 8


def test_a_held_back_order_is_not_deleted_and_keeps_its_last_values_in_ssm(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    """Order 2's Sage totals stop matching its lines: the desired state holds the order and its
    two lines back (ssm.held_*). They are skipped, not deleted; fixed, they are in step again."""
    push_all(warehouse, sandbox.base_url)
    totals = "UPDATE staging.sales_order_headers SET sage_net_value_base = ? WHERE order_number_accounts_id = 2"  # fmt: skip
    with duckdb.connect(str(warehouse)) as con:
        con.execute(totals, [999])
    writes_before = ssm_writes(sandbox)
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    orders, lines = reports["sales_orders"], reports["sales_order_lines"]
    assert (orders.planned, orders.skipped, orders.status) == (0, 1, "ok")
    assert (lines.planned, lines.skipped, lines.status) == (0, 2, "ok")
    assert orders.skipped_sample[0][0] == "2" and "held back" in orders.skipped_sample[0][1]
    assert ssm_writes(sandbox) == writes_before
    order = next(o for o in ssm_records(sandbox, "salesorders") if o["extId"] == "2")
    assert order["total"] == 240  # 120 * 2, as last pushed
    assert len(ssm_records(sandbox, "salesordersLines")) == 8
    with duckdb.connect(str(warehouse)) as con:
        con.execute(totals, [200])
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert reports["sales_orders"].skipped == 0 and reports["sales_order_lines"].skipped == 0
    assert ssm_writes(sandbox) == writes_before


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
    # The adopted one now holds Sage's name (staging: 'Customer 1 Ltd'); the twin is left alone.
    assert by_id[kept]["name"] == "Customer 1 Ltd" and by_id[twin]["name"] == "Twin"
    assert by_id[other]["name"] == "Rep's own, no extId"
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute(
            "SELECT ext_id, ssm_id, outcome FROM sync.changes WHERE operation = 'adopt' ORDER BY 1"
        ).fetchall() == [("CUST001", kept, "ok"), ("CUST002", gone, "ssm_deleted")]
    writes_before = ssm_writes(sandbox)
    push_all(warehouse, sandbox.base_url)
    assert ssm_writes(sandbox) == writes_before


def _plan(synced: int, deletes: int) -> Plan:
    return Plan("accounts", synced - deletes, synced, Counter({DELETE: deletes}), [])


def test_breaker_lets_5_percent_through_and_refuses_more() -> None:
    breaker = DeleteBreaker()  # 5%, no floor
    assert breaker.refusal(_plan(100, 5), allowed=False) is None  # exactly 5%
    assert breaker.refusal(_plan(40, 2), allowed=False) is None  # 5%
    assert breaker.refusal(_plan(39, 1), allowed=False) is None  # 2.6%
    refusal = breaker.refusal(_plan(100, 6), allowed=False)  # 6%
    assert refusal and "6 of 100" in refusal and "allow_mass_delete" in refusal
    assert breaker.refusal(_plan(40, 3), allowed=False)  # 7.5%
    # A small entity: one delete of 12 is 8%, refused unless a floor is configured.
    assert breaker.refusal(_plan(12, 1), allowed=False)
    assert DeleteBreaker(allowance=1).refusal(_plan(12, 1), allowed=False) is None
    assert DeleteBreaker(allowance=1).refusal(_plan(12, 2), allowed=False)
    assert breaker.refusal(_plan(12, 12), allowed=True) is None


def test_adopted_record_deleted_in_sage_stays_live_in_ssm(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    """Deletes only of records this connector created: an adopted one is reported, not deleted."""
    with SSMClient(sandbox.base_url, PUBLIC_KEY, PRIVATE_KEY, requests_per_second=200) as client:
        old = {"branchId": 1, "salesRepId1": 2, "statusId": 1}
        adopted = client.create("accounts", {**old, "name": "Vendor's", "extId": "CUST012"})
        also_adopted = client.create("accounts", {**old, "name": "Vendor's", "extId": "CUST011"})
    push_all(warehouse, sandbox.base_url)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE staging.customer_accounts SET deleted_at = now() WHERE account_reference = 'CUST012'"
        )
    writes_before = ssm_writes(sandbox)
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    accounts = reports["accounts"]
    assert (accounts.deleted, accounts.skipped, accounts.planned) == (0, 1, 0)
    assert accounts.skipped_sample[0][0] == "CUST012"
    assert "adopted" in accounts.skipped_sample[0][1]
    assert ssm_writes(sandbox) == writes_before
    assert adopted in {a["id"] for a in ssm_records(sandbox, "accounts")}
    with duckdb.connect(str(warehouse)) as con:
        change = con.execute(
            "SELECT operation, outcome, ssm_id, message FROM sync.changes "
            "WHERE ext_id = 'CUST012' AND operation = 'delete'"
        ).fetchall()
    assert [c[:3] for c in change] == [("delete", "skipped", adopted)]
    assert "SSM_DELETE_ADOPTED" in change[0][3]
    # Reported once: the next run has nothing to say about it.
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert reports["accounts"].skipped == 0

    # The setting lets Sage deletes reach adopted records (1 of 11 is over 5%: allowed here).
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE staging.customer_accounts SET deleted_at = now() WHERE account_reference = 'CUST011'"
        )
    reports, _, _ = push_all(
        warehouse, sandbox.base_url,
        settings=SyncSettings(delete_adopted=True),
        options=PushOptions(allow_mass_delete=True),
    )  # fmt: skip
    assert reports["accounts"].deleted == 1
    assert also_adopted not in {a["id"] for a in ssm_records(sandbox, "accounts")}


def test_reps_match_by_ext_id_then_full_name_and_are_never_reassigned(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    with SSMClient(sandbox.base_url, PUBLIC_KEY, PRIVATE_KEY, requests_per_second=200) as client:
        # Erin carries Alice's rep code as extId: the code is hers, whoever is named like it.
        erin = client.create(
            "users",
            {
                "name": "Erin",
                "lastName": "Shaw",
                "email": "erin@x.example",
                "extId": "ALICE CARTER",
            },
        )
        client.update("users", 4, {"extId": "R-CHLOE"})  # Chloe Patel
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE staging.customer_accounts SET analysis_2 = ' r-chloe ' WHERE account_reference = 'CUST003'"
        )
    push_all(warehouse, sandbox.base_url)
    reps = {a["extId"]: a["salesRepId1"]["id"] for a in ssm_records(sandbox, "accounts")}
    assert reps["CUST001"] == erin  # "Alice Carter": Erin's extId before Alice's full name
    assert reps["CUST002"] == 3  # "Ben Hughes": full name (Ben has no extId)
    assert reps["CUST003"] == 4  # "r-chloe": Chloe's extId, case and blanks aside
    assert reps["CUST004"] == 1  # "Dora Unmatched": no user, the admin at creation
    # /sales links its rep by extId: the matched user's own extId.
    sales = {s["extId"]: s for s in ssm_records(sandbox, "sales")}
    assert sales["1001"]["salesRepExtId"] == "ALICE CARTER"
    assert fk_id(sales["1001"]["salesRepId"]) == erin
    assert sales["1003"]["salesRepExtId"] == "R-CHLOE"
    assert sales["1002"]["salesRepExtId"] == "Ben Hughes"  # Ben has none: the rep as Sage says

    # A rep cleared in Sage: SSM keeps the owner, and nothing is written.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE staging.customer_accounts SET analysis_2 = NULL WHERE account_reference = 'CUST002'"
        )
    writes_before = ssm_writes(sandbox)
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert ssm_writes(sandbox) == writes_before
    assert reports["accounts"].planned == 0
    account = next(a for a in ssm_records(sandbox, "accounts") if a["extId"] == "CUST002")
    assert account["salesRepId1"]["id"] == 3


def test_ssm_side_delete_of_an_unchanged_record_is_reported_on_the_next_run(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    push_all(warehouse, sandbox.base_url)
    contact = deleted_by_a_rep(sandbox, "contacts", "CUST003/3")
    writes_before = ssm_writes(sandbox)
    reports, _, _ = push_all(warehouse, sandbox.base_url)  # Sage unchanged
    contacts = reports["contacts"]
    assert (contacts.ssm_deleted, contacts.ssm_deleted_sample) == (1, ["CUST003/3"])
    assert contacts.planned == 0 and ssm_writes(sandbox) == writes_before
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute(
            "SELECT operation, outcome, ssm_id, message LIKE '%by user 2%' FROM sync.changes "
            "WHERE ext_id = 'CUST003/3' AND operation = 'detect'"
        ).fetchall() == [("detect", "ssm_deleted", contact["id"], True)]
        assert con.execute(
            "SELECT state FROM ssm.synced_contacts WHERE ext_id = 'CUST003/3'"
        ).fetchone() == ("ssm_deleted",)
    # Reported once, then skipped: never re-created, never sent to Sage.
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert reports["contacts"].ssm_deleted == 0 and reports["contacts"].skipped == 1
    assert "CUST003/3" not in {c["extId"] for c in ssm_records(sandbox, "contacts")}
