"""Two Sage companies, one SSM tenant: the reverse flow and the quote flow of each company write
into its own Sage only the SSM records that are its own.

One sandbox process and two tiny hand-made companies (tests/ssm/staging_fixture.py), pushed
with the prefixes NORTH- and SOUTH-; North files accounts under the sandbox's main branch (a
rep's new account there is North's), South takes no new accounts. Each company's reverse run
is the engine itself (`ReverseRun`, `QuoteRun`) against its own warehouse, with a recording
Sage stand-in, so what each would write into its Sage is seen exactly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from assets.inbox import feed
from assets.inbox.engine import ReverseReport, ReverseRun
from assets.inbox.quotes import QuoteRun, ensure_statuses
from assets.inbox.rules import ReverseSettings
from assets.ssm import value_lists
from assets.ssm.settings import SyncSettings
from resources.sage.writer import FieldInfo
from resources.ssm.client import SSMClient
from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.ssm.harness import PRIVATE_KEY, PUBLIC_KEY, push_all, warehouse_of
from tests.ssm.staging_fixture import make_staging

pytestmark = pytest.mark.xdist_group("reverse")


@pytest.fixture(autouse=True)
def _several_companies(monkeypatch: pytest.MonkeyPatch) -> None:
    # As the companies file sets it for each company: new accounts are claimed by branch.
    monkeypatch.setenv("SAGE_COMPANIES", "2")


REP = 2
NORTH = SyncSettings(ext_id_prefix="NORTH-", branch="Main branch")
SOUTH = SyncSettings(ext_id_prefix="SOUTH-", takes_new_accounts=False)
REVERSE = ReverseSettings(quote_settle_seconds=0)
SDO_OF = {  # staging.customer_accounts column → SalesRecord field, as the extract reads them
    "company_name": "NAME", "address_line_1": "ADDRESS_1", "address_line_2": "ADDRESS_2",
    "address_line_3": "ADDRESS_3", "address_line_4": "ADDRESS_4", "postcode": "ADDRESS_5",
    "country_code": "COUNTRY_CODE", "telephone": "TELEPHONE", "fax": "FAX", "email": "E_MAIL",
    "website": "WEB_ADDRESS", "vat_registration_number": "VAT_REG_NUMBER",
}  # fmt: skip


@dataclass
class RecordingSage:
    """A company's Sage as the reverse flow sees it: its customers, and every write asked."""

    customers: dict[str, dict[str, Any]]
    writes: int = 0
    created: list[str] = field(default_factory=list)
    edited: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    posted: list[tuple[str, str]] = field(default_factory=list)

    def check_fields(
        self, record: Any, names: Iterable[str], settings: Mapping[str, str] | None = None
    ) -> dict[str, FieldInfo]:
        return {n: FieldInfo(n, 60, False) for n in names}

    def account_refs(self) -> set[str]:
        return set(self.customers)

    def customer(self, ref: str, fields: Iterable[str]) -> dict[str, Any] | None:
        return self.customers.get(ref)

    def find_customer_by(self, field: str, value: str) -> str | None:
        return None

    def create_customer(self, ref: str, values: dict[str, Any], marker: tuple[str, str]) -> str:
        self.writes += 1
        self.created.append(ref)
        self.customers[ref] = dict(values)
        return "created"

    def edit_customer(self, ref: str, values: dict[str, Any]) -> None:
        self.writes += 1
        self.edited.append((ref, values))

    def contacts(self, ref: str) -> list[dict[str, Any]]:
        return []

    def create_contact(self, ref: str, values: dict[str, Any], marker: tuple[str, str]) -> int:
        raise AssertionError(f"no contact is written in these tests ({ref})")

    def edit_contact(self, ref: str, number: int, values: dict[str, Any]) -> None:
        raise AssertionError(f"no contact is written in these tests ({ref})")

    def price_quote(
        self, account_ref: str, lines: Sequence[tuple[str, Decimal]]
    ) -> list[dict[str, Any]]:
        return [{"STOCK_CODE": code, "QTY_ORDER": qty} for code, qty in lines]

    def post_quote(
        self, account_ref: str, marker: str, lines: Sequence[Mapping[str, Any]], *,
        order_date: date, taken_by: str,
    ) -> int:  # fmt: skip
        self.writes += 1
        self.posted.append((account_ref, marker))
        return 9100 + len(self.posted)

    def find_quote(self, marker: str) -> int | None:
        return None


@dataclass
class Company:
    warehouse: Path
    sync: SyncSettings
    sage: RecordingSage


@dataclass
class Tenant:
    ssm: SandboxProcess
    north: Company
    south: Company

    def client(self) -> SSMClient:
        return SSMClient(self.ssm.base_url, PUBLIC_KEY, PRIVATE_KEY, requests_per_second=200)

    def rep(self, method: str, resource: str, record_id: int | None = None, **body: Any) -> int:
        url = f"{self.ssm.control_url}/act-as/{REP}/{resource}"
        url += f"/{record_id}" if record_id is not None else ""
        answer = httpx.request(method, url, json=body or None, timeout=10)
        assert answer.is_success, answer.text
        return int(answer.json().get("id") or record_id or 0)

    def record(self, resource: str, ext_id: str) -> dict[str, Any]:
        state = httpx.get(self.ssm.control_url + "/state", params={"resource": resource})
        rows = next(iter(state.json().values()))
        return next(r for r in rows if r.get("extId") == ext_id and not r.get("deleted"))

    def value_id(self, list_name: str, key: str) -> int:
        with duckdb.connect(str(self.north.warehouse), read_only=True) as con:
            ((found,),) = con.execute(
                "SELECT min(id) FROM ssm.value_lists WHERE list_name = ? AND key = ?",
                [list_name, key.lower()],
            ).fetchall()
        return int(found)


def _company(path: Path, sync: SyncSettings, prospect: str | None = None) -> Company:
    make_staging(path)
    with duckdb.connect(str(path)) as con:
        if prospect is not None:
            con.execute(
                "UPDATE staging.customer_accounts SET analysis_1 = 'Prospect' "
                "WHERE account_reference = ?",
                [prospect],
            )
        columns = ", ".join(SDO_OF)
        rows = con.execute(
            f"SELECT account_reference, {columns} FROM staging.customer_accounts"  # noqa: S608
        ).fetchall()
    customers = {ref: dict(zip(SDO_OF.values(), values, strict=True)) for ref, *values in rows}
    return Company(path, sync, RecordingSage(customers))


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    tmp = tmp_path_factory.mktemp("companies")
    north = _company(tmp / "north.duckdb", NORTH)
    south = _company(tmp / "south.duckdb", SOUTH, prospect="CUST002")
    with running_sandbox(tmp, rate=200) as ssm:
        for company in (north, south):
            push_all(company.warehouse, ssm.base_url, settings=company.sync)
        world = Tenant(ssm, north, south)
        with world.client() as client:
            for company in (north, south):
                with duckdb.connect(str(company.warehouse)) as con:
                    ensure_statuses(con, client, company.sync)
        yield world


def _reverse(tenant: Tenant, company: Company, resource: str) -> ReverseReport:
    """What the sensor's job does for one company: read the feed, decide, write."""
    run_id = uuid.uuid4().hex
    connect = warehouse_of(company.warehouse)
    with tenant.client() as client:
        with connect() as con:
            value_lists.store(con, value_lists.fetch(client))
            feed.read_feed(con, client, resource, timedelta(seconds=300), run_id)
        common = (connect, client, lambda: company.sage, company.sync, REVERSE, run_id)
        if resource == "salesorders":
            return QuoteRun(*common, lambda number: None).run()
        return ReverseRun(*common, resource).run()  # type: ignore[arg-type]


def _decision(company: Company, resource: str, ssm_id: int) -> tuple[str, str]:
    with duckdb.connect(str(company.warehouse), read_only=True) as con:
        ((decision, reason),) = con.execute(
            f"SELECT decision, reason FROM inbox.{resource} WHERE id = ? "  # noqa: S608
            "ORDER BY version DESC LIMIT 1",
            [ssm_id],
        ).fetchall()
    return decision, reason


def _dead_letters(company: Company) -> int:
    with duckdb.connect(str(company.warehouse), read_only=True) as con:
        ((count,),) = con.execute("SELECT count(*) FROM sync.dead_letters").fetchall()
    return int(count)


def test_a_reps_new_account_in_norths_branch_reaches_only_norths_sage(tenant: Tenant) -> None:
    account = tenant.rep(
        "POST", "accounts", name="Quayside Traders", salesRepId1=REP,
        statusId=tenant.value_id("accountStatuses", "Client"),
        countryId=tenant.value_id("countries", "gb"),
        branchId=tenant.value_id("branches", "Main branch"),
    )  # fmt: skip

    south = _reverse(tenant, tenant.south, "accounts")
    north = _reverse(tenant, tenant.north, "accounts")

    assert tenant.north.sage.created == ["QUAYSIDE"]
    assert tenant.south.sage.created == [] and tenant.south.sage.edited == []
    assert _decision(tenant.south, "accounts", account)[1].startswith("another company's record")
    assert south.skipped >= 1 and south.failed == 0 and _dead_letters(tenant.south) == 0
    assert north.created == 1
    # SSM gets the Sage code with North's prefix, as North's push will send it: nothing echoes.
    assert tenant.record("accounts", "NORTH-QUAYSIDE")["id"] == account
    with duckdb.connect(str(tenant.north.warehouse), read_only=True) as con:
        ((acked,),) = con.execute(
            "SELECT json_extract_string(payload, '$.extId') FROM ssm.synced_accounts "
            "WHERE ext_id = 'QUAYSIDE'"
        ).fetchall()
    assert acked == "NORTH-QUAYSIDE"


def test_a_reps_edit_of_a_south_prospect_is_written_to_south_only(tenant: Tenant) -> None:
    prospect = tenant.record("accounts", "SOUTH-CUST002")
    assert prospect["readOnly"] is False
    tenant.rep("PUT", "accounts", prospect["id"], website="https://south-two.example")
    edits = len(tenant.south.sage.edited)

    north = _reverse(tenant, tenant.north, "accounts")
    _reverse(tenant, tenant.south, "accounts")

    assert tenant.north.sage.edited == [] and north.failed == 0
    assert _decision(tenant.north, "accounts", prospect["id"]) == (
        "skipped", "another company's record (extId SOUTH-CUST002)",
    )  # fmt: skip
    assert tenant.south.sage.edited[edits:] == [
        ("CUST002", {"WEB_ADDRESS": "https://south-two.example"})
    ]


def test_a_quote_on_a_south_account_is_posted_by_south_only(tenant: Tenant) -> None:
    account = tenant.record("accounts", "SOUTH-CUST001")["id"]
    product = tenant.record("products", "SOUTH-PROD002")["id"]
    order = tenant.rep(
        "POST", "salesorders", reference="Rep quote", accountId=account, salesRepId=REP,
        branchId=tenant.value_id("branches", "Main branch"),
        statusId=tenant.value_id("salesorderStatuses", NORTH.quote_status),
    )  # fmt: skip
    tenant.rep(
        "POST", "salesordersLines", salesOrderId=order, productId=product, quantity=3, price=0
    )

    north = _reverse(tenant, tenant.north, "salesorders")
    _reverse(tenant, tenant.south, "salesorders")

    assert tenant.north.sage.posted == [] and north.failed == 0
    assert _decision(tenant.north, "salesorders", order) == (
        "skipped", "another company's quote: its account is another company's",
    )  # fmt: skip
    assert _dead_letters(tenant.north) == 0
    assert tenant.south.sage.posted == [("CUST001", f"SSM:{order}")]
