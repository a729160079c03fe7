"""Users SSM requires an e-mail of, and documents whose account a rep deleted in SSM.

On the hand-made company of `staging_fixture.py`: reps Alice Carter and Ben Hughes match SSM
users, Dora Unmatched matches none; CUST004 has order 4 and its contact.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from assets.ssm.contract import pushed
from assets.ssm.plan import CREATE, PARENT_DELETED, SKIP_PARENT_DELETED, build_plan
from assets.ssm.settings import SyncSettings
from resources.ssm.client import SSMClient
from sandbox.ssm.testing import SandboxProcess
from tests.ssm.conftest import ssm_records
from tests.ssm.harness import PRIVATE_KEY, PUBLIC_KEY, push_all


def test_without_an_email_source_a_new_user_is_skipped_with_the_reason(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    reports, _, _ = push_all(warehouse, sandbox.base_url, settings=SyncSettings(create_users=True))
    users = reports["users"]
    assert (users.created, users.failed) == (0, 0)
    assert [(k, r.startswith("SSM requires an e-mail")) for k, r in users.skipped_sample] == [
        ("Dora Unmatched", True)
    ]
    assert "SSM_USER_EMAIL" in users.skipped_sample[0][1]


def test_a_new_user_gets_the_email_of_the_template(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    settings = SyncSettings(create_users=True, user_email="{first}.{last}@example.com")
    reports, _, _ = push_all(warehouse, sandbox.base_url, settings=settings)
    assert (reports["users"].created, reports["users"].failed) == (1, 0)
    dora = next(u for u in ssm_records(sandbox, "users") if u.get("extId") == "Dora Unmatched")
    assert (dora["name"], dora["lastName"], dora["email"]) == (
        "Dora",
        "Unmatched",
        "dora.unmatched@example.com",
    )
    # Dora's accounts now carry her as their rep (CUST004, CUST008, CUST012: i % 4 = 0)
    reps = {a["extId"]: a["salesRepId1"]["id"] for a in ssm_records(sandbox, "accounts")}
    assert {k for k, v in reps.items() if v == dora["id"]} == {"CUST004", "CUST008", "CUST012"}


def test_email_settings() -> None:
    settings = SyncSettings(user_email="{first}.{last}@example.com")
    assert settings.new_user_email("Ben Hughes", "Ben", "Hughes") == "ben.hughes@example.com"
    assert SyncSettings().new_user_email("ann@shop.example", "ann@shop.example", "x") == (
        "ann@shop.example"
    )
    assert SyncSettings().new_user_email("Ann Smith", "Ann", "Smith") is None
    with pytest.raises(ValueError, match="SSM_USER_EMAIL"):
        SyncSettings(user_email="{name}")
    with pytest.raises(ValueError, match="SSM_INACTIVE_STATUS"):
        SyncSettings(inactive_status="Client")
    env = {"SSM_INACTIVE_STATUS": "", "SSM_USER_EMAIL": "{rep}@reps.example"}
    assert (SyncSettings.from_env(env).inactive_status, SyncSettings.from_env(env).user_email) == (
        "",
        "{rep}@reps.example",
    )


def test_documents_of_an_account_deleted_in_ssm_are_reported_once_then_left_out(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    push_all(warehouse, sandbox.base_url)
    # A read-only account: deleted by an SSM administrator's integration, not by a rep.
    account = next(a for a in ssm_records(sandbox, "accounts") if a["extId"] == "CUST004")
    with SSMClient(sandbox.base_url, PUBLIC_KEY, PRIVATE_KEY) as admin:
        admin.delete("accounts", int(account["id"]))
    with duckdb.connect(str(warehouse)) as con:  # Sage: a new invoice, order 4 edited
        con.execute(
            "INSERT INTO staging.posted_sales_invoices (invoice_number, invoice_date, "
            "account_reference, total_net, total_gross, payment_due_date) VALUES "
            "(1005, DATE '2024-05-06', 'CUST004', 10, 12, DATE '2024-06-06')"
        )
        con.execute(
            "UPDATE staging.sales_order_headers SET customer_order_reference = 'PO-4b' "
            "WHERE order_number_accounts_id = 4"
        )
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert reports["accounts"].ssm_deleted == 1
    for name, ext_id in (("sales", "1005"), ("sales_orders", "4")):
        report = reports[name]
        assert report.deferred == 0, name
        assert [
            (k, "accounts CUST004 was deleted in SSM" in r) for k, r in report.skipped_sample
        ] == [(ext_id, True)], name
    with duckdb.connect(str(warehouse)) as con:
        states = con.execute(
            "SELECT 'sales', state, ssm_id IS NULL FROM ssm.synced_sales WHERE ext_id = '1005' "
            "UNION ALL SELECT 'order', state, ssm_id IS NULL FROM ssm.synced_sales_orders "
            "WHERE ext_id = '4'"
        ).fetchall()
    assert sorted(states) == [("order", PARENT_DELETED, False), ("sales", PARENT_DELETED, True)]

    # The next runs say nothing more about them: neither deferred, skipped nor planned.
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    for name in ("sales", "sales_orders"):
        assert (reports[name].deferred, reports[name].skipped, reports[name].planned) == (0, 0, 0)

    # The account back in SSM (the ledger synced again, as a reactivation's comparison leaves
    # it): the invoice is created, the order's edit sent.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE ssm.synced_accounts SET state = 'synced' WHERE ext_id = 'CUST004'")
        settings = SyncSettings()
        sales = build_plan(con, pushed("sales"), settings, {"admin_user": 1})
        orders = build_plan(con, pushed("sales_orders"), settings, {"admin_user": 1})
    assert [(op.ext_id, op.operation) for op in sales.ops] == [("1005", CREATE)]
    assert [(op.ext_id, op.operation, op.changed_fields) for op in orders.ops] == [
        ("4", "update", ["comment"])
    ]
    assert SKIP_PARENT_DELETED not in sales.counts
