"""Several Sage companies pushing into one SSM tenant (one sandbox process): prefixed keys,
shared keys, a prefix changed on a live tenant, and the prefix's validation.

Each company is the hand-made tiny company of `staging_fixture.py` in its own warehouse; the
second one renames its customers so a record overwritten by the other company shows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from assets import company
from assets.ssm.apply import PushOptions
from assets.ssm.settings import SyncSettings
from resources.ssm.client import SSMClient
from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.ssm.compare import fk_id
from tests.ssm.conftest import ssm_records, ssm_writes
from tests.ssm.harness import PRIVATE_KEY, PUBLIC_KEY, push_all
from tests.ssm.staging_fixture import add_orders, make_staging

NORTH = SyncSettings(ext_id_prefix="NORTH-")
SOUTH = SyncSettings(ext_id_prefix="SOUTH-")


def _company(path: Path, name: str | None = None) -> Path:
    """The tiny company; `name`: its customers are '<name> <n> Ltd' instead of 'Customer n'."""
    make_staging(path)
    if name is not None:
        with duckdb.connect(str(path)) as con:
            con.execute(
                "UPDATE staging.customer_accounts SET company_name = "
                "replace(company_name, 'Customer', ?)",
                [name],
            )
    return path


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One SSM tenant for the module: each test uses a prefix (or codes) of its own."""
    tmp = tmp_path_factory.mktemp("companies")
    with running_sandbox(tmp, rate=200) as ssm:
        yield ssm


def _live(ssm: SandboxProcess, resource: str, prefix: str) -> dict[str, dict]:
    return {
        r["extId"]: r
        for r in ssm_records(ssm, resource)
        if str(r.get("extId") or "").startswith(prefix)
    }


def _reads(ssm: SandboxProcess) -> Counter[str]:
    stats = httpx.get(ssm.control_url + "/stats", timeout=10).json()
    return Counter({k: n for k, n in stats["requests"].items() if k.startswith("GET ")})


class _Listing:
    """The client, noting the `where` of each list call of one resource."""

    def __init__(self, client: SSMClient, resource: str, wheres: list[str | None]) -> None:
        self._client, self._resource, self._wheres = client, resource, wheres

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def list(self, resource: str, where: str | None = None, **options: Any) -> Any:
        if resource == self._resource:
            self._wheres.append(where)
        return self._client.list(resource, where=where, **options)


def test_two_companies_with_the_same_codes_make_two_sets_in_one_tenant(
    tenant: SandboxProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(company.COUNT_VARIABLE, "2")
    north = _company(tmp_path / "north.duckdb")
    south = _company(tmp_path / "south.duckdb", "Southern")
    first_north, _, _ = push_all(north, tenant.base_url, settings=NORTH)
    before = _reads(tenant)
    first_south, _, _ = push_all(south, tenant.base_url, settings=SOUTH)
    # South's first push reads none of north's rates and order lines: its own products, rates
    # and orders are new, so nothing can be under them yet.
    reads = _reads(tenant) - before
    assert reads["GET /productRates"] == reads["GET /salesordersLines"] == 0, reads
    for reports in (first_north, first_south):
        assert reports["accounts"].created == 12 and reports["sales"].created == 6
        assert all(r.failed == 0 and r.deferred == 0 and r.adopted == 0 for r in reports.values())

    north_accounts = _live(tenant, "accounts", "NORTH-")
    south_accounts = _live(tenant, "accounts", "SOUTH-")
    assert sorted(north_accounts) == [f"NORTH-CUST{i:03d}" for i in range(1, 13)]
    assert sorted(south_accounts) == [f"SOUTH-CUST{i:03d}" for i in range(1, 13)]
    assert north_accounts["NORTH-CUST001"]["name"] == "Customer 1 Ltd"
    assert south_accounts["SOUTH-CUST001"]["name"] == "Southern 1 Ltd"
    # References follow SSM ids: each company's contacts, orders, invoices on its own accounts.
    contact = _live(tenant, "contacts", "SOUTH-")["SOUTH-CUST001/1"]
    assert fk_id(contact["accountId"]) == south_accounts["SOUTH-CUST001"]["id"]
    order = _live(tenant, "salesorders", "NORTH-")["NORTH-1"]
    assert order["reference"] == "NORTH-1"
    assert fk_id(order["accountId"]) == north_accounts[f"NORTH-{order_account(north, '1')}"]["id"]
    sale = _live(tenant, "sales", "SOUTH-")["SOUTH-1001"]
    assert sale["accountExtId"].startswith("SOUTH-CUST")
    assert fk_id(sale["accountId"]) == south_accounts[sale["accountExtId"]]["id"]
    assert len(_live(tenant, "products", "NORTH-")) == len(_live(tenant, "products", "SOUTH-"))
    # Users are the tenant's: matched, never prefixed (reps keep their SSM users).
    assert fk_id(north_accounts["NORTH-CUST001"]["salesRepId1"]) == 2
    assert fk_id(south_accounts["SOUTH-CUST001"]["salesRepId1"]) == 2
    with duckdb.connect(str(north)) as con:  # the ledger stays keyed by the Sage key
        assert con.execute(
            "SELECT count(*) FROM ssm.synced_accounts WHERE ext_id LIKE 'CUST%'"
        ).fetchone() == (12,)

    writes = ssm_writes(tenant)
    for path, settings in ((north, NORTH), (south, SOUTH)):
        again, _, write_calls = push_all(path, tenant.base_url, settings=settings)
        assert write_calls == 0
        assert all(r.planned == 0 for r in again.values())
    assert ssm_writes(tenant) == writes

    # South active again after a pause: a full comparison reads its own order lines (by its
    # orders, 40 a call), not north's, and puts back the line a rep edited meanwhile.
    line = next(r for r in ssm_records(tenant, "salesordersLines")
                if fk_id(r["salesOrderId"]) == _live(tenant, "salesorders", "SOUTH-")["SOUTH-1"]["id"])  # fmt: skip
    with SSMClient(tenant.base_url, PUBLIC_KEY, PRIVATE_KEY, requests_per_second=200) as client:
        client.update("salesordersLines", line["id"], {"quantity": 999})  # an admin's edit
    reads: list[str | None] = []
    compared, _, _ = push_all(
        south, tenant.base_url, settings=SOUTH, options=PushOptions(full_compare=True),
        wrap=lambda client: _Listing(client, "salesordersLines", reads),
    )  # fmt: skip
    # one IN of south's 4 orders, and every run's read of what SSM deleted since the last
    assert len(reads) == 2 and "dateDeleted" in str(reads[1]), reads
    assert str(reads[0]).startswith("salesOrderId.id IN ("), reads
    assert compared["sales_order_lines"].updated == 1
    assert next(r for r in ssm_records(tenant, "salesordersLines")
                if r["id"] == line["id"])["quantity"] == line["quantity"]  # fmt: skip


def order_account(warehouse: Path, order: str) -> str:
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(
            "SELECT account_ext_id FROM ssm.desired_sales_orders WHERE ext_id = ?", [order]
        ).fetchone()[0]  # type: ignore[index]


def test_a_prefix_set_on_a_live_tenant_is_refused_unless_rekeying_is_asked_for(
    tmp_path: Path,
) -> None:
    company = _company(tmp_path / "company.duckdb")
    with running_sandbox(tmp_path, rate=200) as ssm:
        push_all(company, ssm.base_url)
        writes = ssm_writes(ssm)
        # Rates come first in the push: the run stops there, before anything is re-keyed.
        with pytest.raises(ValueError, match=r"^2 rates .* than SSM_EXT_ID_PREFIX='EAST-' .*"
                           r"\(e.g. SPECIAL:CUST001 → EAST-SPECIAL:CUST001\).*"
                           r"SSM_EXT_ID_REKEY=true"):  # fmt: skip
            push_all(company, ssm.base_url, settings=SyncSettings(ext_id_prefix="EAST-"))
        assert ssm_writes(ssm) == writes

        rekey = SyncSettings(ext_id_prefix="EAST-", rekey_ext_ids=True)
        reports, _, _ = push_all(company, ssm.base_url, settings=rekey)
        assert reports["accounts"].updated == 12 and reports["accounts"].created == 0
        assert sorted(_live(ssm, "accounts", "")) == [f"EAST-CUST{i:03d}" for i in range(1, 13)]
        assert sorted(o["extId"] for o in ssm_records(ssm, "salesorders")) == [
            f"EAST-{n}" for n in range(1, 5)
        ]
        again, _, write_calls = push_all(company, ssm.base_url, settings=rekey)
        assert write_calls == 0 and all(r.planned == 0 for r in again.values())


def test_shared_keys_the_owner_writes_accounts_the_other_attaches_its_orders(
    tenant: SandboxProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = _company(tmp_path / "owner.duckdb")
    other = _company(tmp_path / "other.duckdb", "Elsewhere")
    for company_file in (owner, other):  # codes of their own in the module's tenant
        with duckdb.connect(str(company_file)) as con:
            for table, column in (("staging.customer_accounts", "account_reference"),
                                  ("staging.contacts", "account_reference"),
                                  ("derived.price_lists", "price_list_code")):  # fmt: skip
                con.execute(f"UPDATE {table} SET {column} = replace({column}, 'CUST', 'SHRD')")  # noqa: S608
    with duckdb.connect(str(other)) as con:  # the same customer's special price, its own
        con.execute("UPDATE derived.price_lists SET selling_price = 7 WHERE type = 'S'")
        for table in ("staging.sales_order_lines", "staging.sales_order_headers",
                      "derived.sales_order_totals", "staging.posted_sales_invoices",
                      "staging.unposted_sales_invoices", "staging.posted_sales_credits",
                      "derived.invoice_payment_status"):  # fmt: skip
            con.execute(f"DELETE FROM {table}")  # noqa: S608
    add_orders(other, first=9001, orders=3, lines=2)
    with duckdb.connect(str(other)) as con:
        con.execute("UPDATE staging.sales_order_headers SET customer_account = "
                    "replace(customer_account, 'CUST', 'SHRD')")  # fmt: skip

    push_all(owner, tenant.base_url, settings=SyncSettings())  # the owner (the default)
    accounts = _live(tenant, "accounts", "SHRD")
    assert len(accounts) == 12

    writes, before = ssm_writes(tenant), _reads(tenant)
    monkeypatch.setenv(company.COUNT_VARIABLE, "2")
    reports, _, _ = push_all(other, tenant.base_url, settings=SyncSettings(shared_keys_owner=False))
    # The owner's products are adopted, so their rates are looked up (40 products per call);
    # the other's orders are new, so no line is looked for.
    reads = _reads(tenant) - before
    assert reads["GET /productRates"] >= 1 and reads["GET /salesordersLines"] == 0, reads
    for name in ("accounts", "contacts"):
        report = reports[name]
        assert (report.created, report.updated, report.deleted, report.planned) == (0, 0, 0, 0)
        assert report.adopted == report.desired
        assert sum("SSM_SHARED_KEYS_OWNER=false" in n for n in report.notes) == 1
    after = _live(tenant, "accounts", "SHRD")
    assert {k: v["name"] for k, v in after.items()} == {k: v["name"] for k, v in accounts.items()}
    assert after["SHRD001"]["name"] == "Customer 1 Ltd"  # the owner's, not "Elsewhere 1 Ltd"
    orders = {o["extId"]: o for o in ssm_records(tenant, "salesorders")}
    assert {"9001", "9002", "9003"} <= set(orders)
    assert fk_id(orders["9002"]["accountId"]) == accounts["SHRD003"]["id"]  # 1 + 9002 % 12
    # The only writes: its own three orders and their lines (products and rates are the
    # owner's values: adopted, nothing to change).
    assert reports["sales_orders"].created == 3 and reports["sales_order_lines"].created == 6
    # The customer's own rate is the owner's, with the owner's special price: the other
    # company does not write its `SPECIAL:SHRD001` over it.
    special = [r for r in ssm_records(tenant, "rates") if r.get("extId") == "SPECIAL:SHRD001"]
    assert len(special) == 1
    (price,) = [fk_id(r["rateId"]) == special[0]["id"] and r["salePrice"]
                for r in ssm_records(tenant, "productRates") if fk_id(r["rateId"]) == special[0]["id"]]  # fmt: skip
    assert price == 5
    assert sum(r.write_calls for n, r in reports.items() if n not in (
        "sales_orders", "sales_order_lines")) == 0  # fmt: skip
    assert ssm_writes(tenant) > writes


def test_a_prefix_too_long_for_ssm_is_refused_in_one_sentence_naming_the_setting(
    tenant: SandboxProcess, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"^SSM_EXT_ID_PREFIX='VERYLONGPREFIX-' .*at most 10"):
        SyncSettings.from_env({"SSM_EXT_ID_PREFIX": "VERYLONGPREFIX-"})
    with pytest.raises(ValueError, match=r"^SSM_EXT_ID_PREFIX=\"O'NEIL\" must not contain"):
        SyncSettings.from_env({"SSM_EXT_ID_PREFIX": "O'NEIL"})
    assert SyncSettings.from_env({}).ext_id_prefix == ""

    # A prefix that fits, but not in front of a long Sage stock code: the push says so.
    company = _company(tmp_path / "company.duckdb")
    with duckdb.connect(str(company)) as con:
        con.execute("UPDATE staging.product_items SET product_reference = 'A-STOCK-CODE-OF-28-"
                    "CHARACTERS' WHERE product_reference = 'PROD001'")  # fmt: skip
    with pytest.raises(ValueError, match=r"^SSM_EXT_ID_PREFIX='WEST-' makes 1 products keys "
                       r"longer than SSM's 30-character extId \(e.g. 'WEST-A-STOCK"):  # fmt: skip
        push_all(company, tenant.base_url, settings=SyncSettings(ext_id_prefix="WEST-"))
    assert _live(tenant, "products", "WEST-") == {}
