"""Two Sage companies, one SSM tenant: each company's change feed and sensor read only the SSM
records that can be its own, and its reverse flow and quote flow write into its own Sage only
those.

One sandbox process and two tiny hand-made companies (tests/ssm/staging_fixture.py), pushed
with the prefixes NORTH- and SOUTH-; North files accounts under the sandbox's main branch (a
rep's new account there is North's), South takes no new accounts. Each company's reverse run
is the engine itself (`ReverseRun`, `QuoteRun`) against its own warehouse, with a recording
Sage stand-in, so what each would write into its Sage is seen exactly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest

from assets.inbox import feed
from assets.inbox.engine import ReverseReport, ReverseRun
from assets.inbox.quotes import QuoteRun, ensure_statuses
from assets.inbox.rules import ReverseSettings
from assets.ssm import value_lists
from assets.ssm.settings import SyncSettings
from pipelines import quotes, reverse
from resources.sage.writer import FieldInfo
from resources.ssm import SSMResource
from resources.ssm.client import SSMClient
from resources.ssm.errors import SSMError
from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.ssm.conftest import REP, act_as_rep
from tests.ssm.harness import PRIVATE_KEY, PUBLIC_KEY, push_all, warehouse_of
from tests.ssm.staging_fixture import make_staging

pytestmark = pytest.mark.xdist_group("reverse")


@pytest.fixture(autouse=True)
def _several_companies(monkeypatch: pytest.MonkeyPatch) -> None:
    # As the companies file sets it for each company: new accounts are claimed by branch.
    monkeypatch.setenv("SAGE_COMPANIES", "2")


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
    contacts_created: list[tuple[str, str]] = field(default_factory=list)

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
        self.writes += 1
        self.contacts_created.append((ref, marker[1]))
        return len(self.contacts_created)

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
        return act_as_rep(self.ssm, method, resource, record_id, **body)

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
        feed.read_feed(connect, client, resource, timedelta(seconds=300), run_id, sync=company.sync)
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


def _landed(company: Company, resource: str, ssm_id: int) -> int:
    """Versions of an SSM record in a company's inbox: what its feed read of it."""
    with duckdb.connect(str(company.warehouse), read_only=True) as con:
        ((count,),) = con.execute(
            f"SELECT count(*) FROM inbox.{resource} WHERE id = ?",
            [ssm_id],  # noqa: S608
        ).fetchall()
    return int(count)


def _ext_ids(company: Company, resource: str) -> set[str]:
    with duckdb.connect(str(company.warehouse), read_only=True) as con:
        rows = con.execute(
            f"SELECT DISTINCT json_extract_string(record, '$.extId') FROM inbox.{resource}"  # noqa: S608
        ).fetchall()
    return {r for (r,) in rows if r}


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
    # South takes no new accounts: its feed does not even read North's new one.
    assert _landed(tenant.south, "accounts", account) == 0
    assert south.failed == 0 and _dead_letters(tenant.south) == 0
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
    assert _landed(tenant.north, "accounts", prospect["id"]) == 0  # never read by North
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


def test_each_companys_feed_reads_only_the_records_under_its_own_prefix(tenant: Tenant) -> None:
    for company in (tenant.north, tenant.south):
        _reverse(tenant, company, "contacts")
    for company, own in ((tenant.north, "NORTH-"), (tenant.south, "SOUTH-")):
        for resource in ("accounts", "contacts"):
            ext_ids = _ext_ids(company, resource)
            assert ext_ids, resource
            assert all(e.startswith(own) for e in ext_ids), (own, resource, sorted(ext_ids))


def test_a_reps_new_contact_on_a_south_account_reaches_only_souths_sage(tenant: Tenant) -> None:
    account = tenant.record("accounts", "SOUTH-CUST001")["id"]
    contact = tenant.rep(
        "POST", "contacts", firstName="Ada", lastName="Quill", accountId=account,
        salesRepId=REP, branchId=tenant.value_id("branches", "Main branch"),
        countryId=tenant.value_id("countries", "gb"),
    )  # fmt: skip

    north = _reverse(tenant, tenant.north, "contacts")
    south = _reverse(tenant, tenant.south, "contacts")

    # North reads the new contact (no extId: its account decides) and that account once.
    assert tenant.north.sage.contacts_created == [] and north.failed == 0
    assert _decision(tenant.north, "contacts", contact) == (
        "skipped", "another company's record: its account is another company's",
    )  # fmt: skip
    assert _landed(tenant.north, "accounts", account) == 1
    assert [ref for ref, _ in tenant.south.sage.contacts_created] == ["CUST001"]
    assert south.failed == 0


class RefusesIsNull:
    """An SSM that answers 901 to a `where` with IS NULL (the vendor shows no sample of it)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.api_calls = 0
        self.wheres: list[str | None] = []

    def read(self, where: str | None) -> list[dict[str, Any]]:
        self.api_calls += 1
        self.wheres.append(where)
        if where is not None and "IS NULL" in where:
            raise SSMError("SQL not generated correctly", status=400, code=901)
        return list(self.records)


def test_a_read_ssm_refuses_as_sql_goes_on_unfiltered_and_is_filtered_after_reading() -> None:
    records = [
        {"id": 1, "extId": "NORTH-A1", "dateCreated": "2026-01-01T10:00:00Z"},
        {"id": 2, "extId": "SOUTH-A1", "dateCreated": "2026-01-01T11:00:00Z"},
        {"id": 3, "extId": None, "branchId": {"id": 1}, "dateCreated": "2026-01-01T09:00:00Z"},
        {"id": 4, "extId": "", "branchId": {"id": 2}, "dateCreated": "2026-01-01T09:00:00Z"},
        {"id": 5, "extId": "NORTHX-A1", "dateCreated": "2026-01-01T09:00:00Z"},
    ]
    ssm = RefusesIsNull(records)
    scoped = feed.scope("accounts", NORTH, branch=1)

    kept, newest = feed.read_scoped(scoped, ssm.read, where="statusId.id=2")

    assert [r["id"] for r in kept] == [1, 3]  # its prefix, and a new account of its branch
    assert newest is not None and newest.hour == 11  # past South's record: not read again
    assert ssm.wheres[0] is not None and "extId LIKE 'NORTH-%'" in ssm.wheres[0]
    assert ssm.wheres[1] == "statusId.id=2"
    # Any other error is the caller's to handle (the watermark does not move).
    with pytest.raises(SSMError):
        feed.read_scoped(scoped, lambda where: (_ for _ in ()).throw(SSMError("down")), None)


def test_shared_keys_a_company_that_does_not_own_them_reads_no_feed() -> None:
    sharing = SyncSettings(shared_keys_owner=False)
    assert all(feed.scope(r, sharing).skip for r in feed.FEEDS)
    assert feed.scope("accounts", SyncSettings()).where is None  # one company: every record
    assert feed.scope("accounts", SOUTH).where == "extId LIKE 'SOUTH-%'"  # takes no new ones


SENSOR_ENV = {
    "north": {"SSM_EXT_ID_PREFIX": "NORTH-", "SSM_BRANCH": "Main branch"},
    "south": {"SSM_EXT_ID_PREFIX": "SOUTH-", "SSM_TAKES_NEW_ACCOUNTS": "false"},
}


@dataclass
class Ticker:
    """`tick(company)`: one evaluation of `sensor` as that company (its environment, its cursor,
    kept between ticks) and the API calls it made."""

    sensor: Callable[[dg.SensorEvaluationContext], Any]
    tenant: Tenant
    instance: dg.DagsterInstance
    monkeypatch: pytest.MonkeyPatch
    cursors: dict[str, str | None] = field(default_factory=lambda: {"north": None, "south": None})

    def __call__(self, name: str) -> tuple[dg.SkipReason | dg.RunRequest, int]:
        resource = SSMResource(
            base_url=self.tenant.ssm.base_url, public_key=PUBLIC_KEY, private_key=PRIVATE_KEY,
            requests_per_second=200,
        )  # fmt: skip
        with self.monkeypatch.context() as env:
            for variable, value in SENSOR_ENV[name].items():
                env.setenv(variable, value)
            reverse._POLL_CLIENTS.clear()
            client = reverse._poll_client(resource)
            list(client.list("branches"))  # the login, which the code server's client keeps
            calls = client.api_calls
            with dg.build_sensor_context(
                instance=self.instance, cursor=self.cursors[name], resources={"ssm": resource}
            ) as context:
                result = self.sensor(context)
                self.cursors[name] = context.cursor
            return result, client.api_calls - calls


def test_a_companys_sensor_reads_and_wakes_up_for_its_own_changes_only(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """South pushes 120 accounts, then a rep adds a contact to a South account: North's tick
    still costs one call per feed and starts no run (not its company's); South's too (its own
    push is the connector's, which SSM leaves out), and South starts one for the contact."""
    with dg.instance_for_test() as instance:
        tick = Ticker(reverse.ssm_changes, tenant, instance, monkeypatch)
        for name in tick.cursors:
            tick(name)  # the cursor from now on (the sync reads what came before)
        assert tick("north")[1] == 2  # idle: accounts and contacts, one call each

        with tenant.client() as connector:  # South's push: its own read-only accounts
            connector.bulk_create("accounts", [
                {"name": f"South Bulk {n}", "extId": f"SOUTH-BULK{n:03}", "readOnly": True,
                 "statusId": 2, "branchId": 1, "salesRepId1": REP}
                for n in range(120)
            ])  # fmt: skip
            state = json.loads(tick.cursors["north"] or "{}")["accounts"]
            unscoped = connector.api_calls
            reverse.poll(
                connector,
                "accounts",
                state,
                timedelta(seconds=30),
                datetime.fromisoformat(state["watermark"]),
            )
            unscoped = connector.api_calls - unscoped
        north, north_calls = tick("north")
        south, south_calls = tick("south")
        assert isinstance(north, dg.SkipReason) and isinstance(south, dg.SkipReason)
        assert north_calls == 2  # not one page more for South's 120 records
        assert south_calls == 2  # nor for South: its push is the connector's own
        assert unscoped >= 3  # what reading them would cost (pages of 50)

        account = tenant.record("accounts", "SOUTH-CUST003")["id"]
        contact = tenant.rep(
            "POST", "contacts", firstName="Bo", lastName="Lane", accountId=account,
            salesRepId=REP, branchId=1,
        )  # fmt: skip
        north, north_calls = tick("north")
        south, _ = tick("south")
        assert isinstance(north, dg.SkipReason), north  # another company's contact
        assert north_calls == 3  # and its account, read once
        assert isinstance(south, dg.RunRequest)
        assert south.tags["sync/reason"] == f"contacts {contact}"
        assert tick("north")[1] == 2  # the account is remembered


def test_a_companys_quote_sensor_wakes_up_for_its_own_quotes_only(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rep's quote on a South account: North's `ssm_quotes` tick reads the quote's account
    once and starts no run; South's starts one; North's next tick is one call again."""
    with dg.instance_for_test() as instance:
        tick = Ticker(quotes.ssm_quotes, tenant, instance, monkeypatch)
        for name in tick.cursors:
            tick(name)  # the cursor from now on, the quote status and the branch remembered
        assert tick("north")[1] == 1  # idle: one call

        order = tenant.rep(
            "POST", "salesorders", reference="Rep quote", branchId=1, salesRepId=REP,
            accountId=tenant.record("accounts", "SOUTH-CUST003")["id"],
            statusId=tenant.value_id("salesorderStatuses", NORTH.quote_status),
        )  # fmt: skip
        north, north_calls = tick("north")
        south, _ = tick("south")
        assert isinstance(north, dg.SkipReason), north  # another company's quote
        assert north_calls == 2  # and its account, read once
        assert isinstance(south, dg.RunRequest), south
        assert south.tags["sync/reason"] == f"quote {order}"
        tenant.rep("PUT", "salesorders", order, reference="Rep quote, edited")
        north, north_calls = tick("north")
        assert isinstance(north, dg.SkipReason) and north_calls == 1  # the account remembered
