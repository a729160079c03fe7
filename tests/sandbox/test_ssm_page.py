"""Acting as a sales rep on the sandbox's page, through the sandbox as a real server process:
the forms write what the API's create and update would, and show every value escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from resources.ssm import SSMClient
from resources.ssm.client import parse_ssm_datetime
from sandbox.ssm.testing import SandboxProcess, running_sandbox

REP = 2  # Alice Carter
OTHER_REP = 3  # Ben Hughes
CLIENT_STATUS = 2
UNITED_KINGDOM = 1
FRANCE = 3
HOSTILE = "<script>alert('x')</script> \"Dupont & Fils\" 100% Zoë 東京 O'Brien"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with running_sandbox(tmp_path_factory.mktemp("ssm-page")) as process:
        yield process


@pytest.fixture
def page(server: SandboxProcess) -> Iterator[httpx.Client]:
    """A browser on the page: form posts, redirects not followed (the test reads them)."""
    httpx.post(server.control_url + "/reset", timeout=5.0).raise_for_status()
    with httpx.Client(base_url=server.root_url, timeout=5.0) as browser:
        yield browser


@pytest.fixture
def api(server: SandboxProcess, page: httpx.Client) -> Iterator[httpx.Client]:
    headers = {"X-Session-Key": server.login()}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=5.0) as client:
        yield client


def company_form(**fields: str) -> dict[str, str]:
    return {
        "actingUserId": str(REP),
        "name": "Harbour Foods",
        "statusId": str(CLIENT_STATUS),
        "salesRepId1": str(REP),
        "branchId": "1",
        "countryId": str(UNITED_KINGDOM),
        "address1": "1 Quay Street",
        "address2": "Unit 4",
        "city": "Bristol",
        "postcode": "BS1 4DJ",
        "phone": "+44 117 496 0000",
        "email": "orders@harbour.example",
        "website": "https://harbour.example",
        "vatNumber": "GB123456789",
        **fields,
    }


def created_id(answer: httpx.Response, resource: str) -> int:
    assert answer.status_code == 303, answer.text
    match = re.fullmatch(rf"/page/{resource}/(\d+)\?done=created", answer.headers["location"])
    assert match, answer.headers["location"]
    return int(match.group(1))


def read(api: httpx.Client, resource: str, record_id: int) -> dict[str, Any]:
    answer = api.get(f"/{resource}/{record_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_rep_creates_a_company_as_the_api_would(page: httpx.Client, api: httpx.Client) -> None:
    home = page.get("/")
    assert home.status_code == 200
    assert 'action="/page/accounts"' in home.text and 'action="/page/contacts"' in home.text
    assert ">Client (#2)</option>" in home.text and ">Alice Carter (#2)</option>" in home.text

    account_id = created_id(page.post("/page/accounts", data=company_form()), "accounts")

    account = read(api, "accounts", account_id)
    assert {
        key: account[key]
        for key in ("name", "address1", "address2", "city", "postcode", "phone", "email")
    } == {
        "name": "Harbour Foods",
        "address1": "1 Quay Street",
        "address2": "Unit 4",
        "city": "Bristol",
        "postcode": "BS1 4DJ",
        "phone": "+44 117 496 0000",
        "email": "orders@harbour.example",
    }
    assert (account["website"], account["vatNumber"]) == ("https://harbour.example", "GB123456789")
    assert account["statusId"] == {"id": CLIENT_STATUS, "value": "Client"}
    assert account["salesRepId1"] == {"id": REP, "value": "Alice Carter"}
    assert account["countryId"] == {"id": UNITED_KINGDOM, "value": "United Kingdom"}
    # a rep's record: no ERP key, editable, created by the rep, never updated yet
    assert (account["extId"], account["readOnly"], account["deleted"]) == (None, False, False)
    assert (account["salesRepIdCreated"], account["salesRepIdUpdated"]) == (REP, None)
    assert account["dateUpdated"] is None
    created = parse_ssm_datetime(account["dateCreated"])
    assert created is not None and abs(datetime.now(UTC) - created) < timedelta(seconds=30)
    assert account["dateCreated"].endswith("Z") and len(account["dateCreated"]) == 24

    shown = page.get(f"/page/accounts/{account_id}?done=created")
    assert shown.status_code == 200 and "Created." in shown.text


def test_a_rep_adds_a_contact_to_an_existing_company(page: httpx.Client, api: httpx.Client) -> None:
    account_id = created_id(page.post("/page/accounts", data=company_form()), "accounts")
    form = {
        "actingUserId": str(OTHER_REP),
        "accountId": str(account_id),
        "firstName": "Zoë",
        "lastName": "O'Brien",
        "email": "zoe@harbour.example",
        "phone1": "0117 496 0001",
        "phone2": "07700 900123",
        "salesRepId": str(OTHER_REP),
        "branchId": "1",
    }

    contact_id = created_id(page.post("/page/contacts", data=form), "contacts")

    contact = read(api, "contacts", contact_id)
    assert contact["accountId"] == {"id": account_id, "value": "Harbour Foods"}
    assert (contact["firstName"], contact["lastName"]) == ("Zoë", "O'Brien")
    assert (contact["email"], contact["phone1"], contact["phone2"]) == (
        "zoe@harbour.example",
        "0117 496 0001",
        "07700 900123",
    )
    assert (contact["extId"], contact["readOnly"], contact["salesRepIdCreated"]) == (
        None,
        False,
        OTHER_REP,
    )
    listed = api.get("/contacts", params={"where": f"accountId.id={account_id}"}).json()
    assert [row["id"] for row in listed] == [contact_id]


def test_every_value_is_escaped_on_the_page(page: httpx.Client, api: httpx.Client) -> None:
    account_id = created_id(
        page.post("/page/accounts", data=company_form(name=HOSTILE, city=HOSTILE)), "accounts"
    )
    assert read(api, "accounts", account_id)["name"] == HOSTILE  # stored as typed

    for url in ("/", f"/page/accounts/{account_id}"):
        text = page.get(url).text
        assert "<script>" not in text, url
        assert html.escape(HOSTILE) in text, url  # in cells, inputs and option labels alike
        # the value attribute holds the whole text: its quote did not end the attribute
        if url != "/":
            assert f'name="name" value="{html.escape(HOSTILE)}"' in text

    contact_form = {
        "actingUserId": str(REP),
        "accountId": str(account_id),
        "firstName": HOSTILE,
        "lastName": "100%",
        "salesRepId": str(REP),
        "branchId": "1",
    }
    contact_id = created_id(page.post("/page/contacts", data=contact_form), "contacts")
    text = page.get(f"/page/contacts/{contact_id}").text
    assert "<script>" not in text and html.escape(HOSTILE) in text and "100%" in text


def test_a_refused_form_says_why_keeps_what_was_typed_and_writes_nothing(
    page: httpx.Client, api: httpx.Client
) -> None:
    answer = page.post("/page/accounts", data=company_form(salesRepId1="", city=HOSTILE))
    assert answer.status_code == 400
    assert "field &#x27;salesRepId1&#x27; is required" in answer.text
    assert f'value="{html.escape(HOSTILE)}"' in answer.text and "<script>" not in answer.text

    too_long = page.post("/page/accounts", data=company_form(postcode="X" * 21))
    assert too_long.status_code == 400 and "longer than 20 characters" in too_long.text
    not_a_choice = page.post("/page/accounts", data=company_form(countryId="1 OR 1=1"))
    assert not_a_choice.status_code == 400 and "choose the country from the list" in (
        not_a_choice.text
    )
    inactive = page.post("/page/accounts", data=company_form(actingUserId="99"))
    assert inactive.status_code == 400 and "user 99 does not exist" in inactive.text
    as_json = page.post("/page/accounts", json=company_form())
    assert as_json.status_code == 415

    assert api.get("/accounts").json() == []


def test_a_rep_edits_only_what_changed(page: httpx.Client, api: httpx.Client) -> None:
    account_id = created_id(page.post("/page/accounts", data=company_form()), "accounts")
    url = f"/page/accounts/{account_id}"

    unchanged = page.post(url, data=company_form())
    assert unchanged.headers["location"] == f"{url}?done=unchanged"
    assert read(api, "accounts", account_id)["dateUpdated"] is None  # nothing was written

    edit = company_form(actingUserId=str(OTHER_REP), city="Bath", countryId=str(FRANCE), phone="")
    saved = page.post(url, data=edit)
    assert saved.status_code == 303 and saved.headers["location"] == f"{url}?done=saved"

    account = read(api, "accounts", account_id)
    assert (account["city"], account["countryId"]["id"], account["phone"]) == ("Bath", FRANCE, None)
    assert account["name"] == "Harbour Foods"
    assert (account["salesRepIdCreated"], account["salesRepIdUpdated"]) == (REP, OTHER_REP)
    assert account["dateUpdated"] is not None
    assert "Saved." in page.get(f"{url}?done=saved").text


def test_a_read_only_company_refuses_the_rep(
    server: SandboxProcess, page: httpx.Client, api: httpx.Client
) -> None:
    account_id = created_id(page.post("/page/accounts", data=company_form()), "accounts")
    # the integration adopts it: extId and readOnly, as after the company reached Sage
    adopted = api.put(f"/accounts/{account_id}", json={"extId": "HARBOUR", "readOnly": True})
    assert adopted.status_code == 200
    before = read(api, "accounts", account_id)

    shown = page.get(f"/page/accounts/{account_id}")
    assert "Read-only" in shown.text and "disabled" in shown.text
    refused = page.post(f"/page/accounts/{account_id}", data=company_form(city="Bath"))

    assert refused.status_code == 403
    assert "read-only: a sales rep cannot change it" in refused.text
    assert read(api, "accounts", account_id) == before


def test_a_company_created_on_the_page_is_in_the_change_feed(
    server: SandboxProcess, page: httpx.Client
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=2)
    account_id = created_id(page.post("/page/accounts", data=company_form()), "accounts")

    with SSMClient(server.base_url, server.public_key, server.private_key) as client:
        rows = list(client.changed_since("accounts", since, lookback=timedelta(0)))

    assert [(row["id"], row["extId"], row["readOnly"]) for row in rows] == [
        (account_id, None, False)
    ]


# --- a quote, as a rep makes it (issue 15) -----------------------------------------------------


@dataclass
class QuoteWorld:
    account: int
    products: tuple[int, int]
    pending: int
    priced: int


@pytest.fixture
def quote_world(api: httpx.Client) -> QuoteWorld:
    """What the sync leaves in SSM before a rep quotes: a Sage customer (extId, read-only),
    two Sage products and the connector's quote statuses."""

    def create(resource: str, body: dict[str, Any]) -> int:
        answer = api.post(f"/{resource}", json=body)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["id"])

    account = create(
        "accounts",
        {"name": "Birchwood Stationers", "branchId": 1, "salesRepId1": REP, "extId": "BIR001",
         "readOnly": True},
    )  # fmt: skip
    products = (
        create("products", {"model": "PAPER001", "description": "A4 copier paper", "extId": "PAPER001"}),
        create("products", {"model": "PEN002", "description": "Gel pen, black", "extId": "PEN002"}),
    )  # fmt: skip
    pending = create("salesorderStatuses", {"descriptionEN": "Quote - pending"})
    priced = create("salesorderStatuses", {"descriptionEN": "Quote - priced"})
    return QuoteWorld(account, products, pending, priced)


def quote_form(world: QuoteWorld, **fields: str) -> dict[str, str]:
    return {
        "actingUserId": str(REP),
        "accountId": str(world.account),
        "salesRepId": str(REP),
        "branchId": "1",
        "statusId": str(world.pending),
        "reference": "Visit 12 May",
        "productId1": str(world.products[0]),
        "quantity1": "12",
        "productId2": str(world.products[1]),
        "quantity2": "1",
        **fields,
    }


def quote_lines(api: httpx.Client, order_id: int) -> list[dict[str, Any]]:
    listed = api.get("/salesordersLines", params={"where": f"salesOrderId.id={order_id}"})
    assert listed.status_code == 200, listed.text
    return sorted(listed.json(), key=lambda line: line["order"])


def test_a_rep_creates_a_quote_of_products_and_quantities(
    page: httpx.Client, api: httpx.Client, quote_world: QuoteWorld
) -> None:
    home = page.get("/").text
    assert 'action="/page/salesorders"' in home and 'name="productId5"' in home
    # The connector's quote status is preselected; products show their code and description.
    assert f'<option value="{quote_world.pending}" selected>Quote - pending' in home
    assert "PAPER001 – A4 copier paper" in home and "Birchwood Stationers [BIR001]" in home

    order_id = created_id(
        page.post("/page/salesorders", data=quote_form(quote_world)), "salesorders"
    )

    order = read(api, "salesorders", order_id)
    assert order["statusId"] == {"id": quote_world.pending, "value": "Quote - pending"}
    assert order["accountId"]["id"] == quote_world.account
    assert (order["salesRepId"]["id"], order["salesRepIdCreated"]) == (REP, REP)
    assert (order["reference"], order["extId"], order["readOnly"]) == ("Visit 12 May", None, False)
    lines = quote_lines(api, order_id)
    assert [
        (line["productId"]["id"], line["quantity"], line["price"], line["order"], line["readOnly"])
        for line in lines
    ] == [(quote_world.products[0], 12, 0, 1, False), (quote_world.products[1], 1, 0, 2, False)]
    assert {line["salesRepIdCreated"] for line in lines} == {REP}
    # What the sensor ssm_quotes asks for: the orders in the quote status.
    waiting = api.get("/salesorders", params={"where": f"statusId.id={quote_world.pending}"})
    assert [row["id"] for row in waiting.json()] == [order_id]

    shown = page.get(f"/page/salesorders/{order_id}?done=created")
    assert shown.status_code == 200 and "Created." in shown.text
    assert "Waiting for Sage's prices" in shown.text
    assert '<meta http-equiv="refresh"' in shown.text  # the person watches it come back
    assert f'<a href="/page/salesorders/{order_id}">' in page.get("/").text


def test_a_quote_priced_by_the_integration_shows_sages_figures_read_only(
    page: httpx.Client, api: httpx.Client, quote_world: QuoteWorld
) -> None:
    order_id = created_id(
        page.post("/page/salesorders", data=quote_form(quote_world)), "salesorders"
    )
    first, second = quote_lines(api, order_id)
    # What the quote flow writes back: Sage's prices per line, totals, number, status, read-only.
    priced_lines = [
        {"id": first["id"], "price": 4.5, "discount1": 5.0, "total": 51.3, "readOnly": True},
        {"id": second["id"], "price": 1.25, "discount1": 0.0, "total": 1.25, "readOnly": True},
    ]
    for line in priced_lines:
        assert api.put(f"/salesordersLines/{line.pop('id')}", json=line).status_code == 200
    answer = api.put(
        f"/salesorders/{order_id}",
        json={"extId": "57", "reference": "57", "statusId": quote_world.priced, "total": 63.06,
              "Z_NetTotal": 52.55, "Z_TaxTotal": 10.51, "readOnly": True},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text

    shown = page.get(f"/page/salesorders/{order_id}").text
    assert "Priced by Sage: quotation <strong>57</strong>" in shown
    assert '<meta http-equiv="refresh"' not in shown
    assert "Quote - priced" in shown and "63.06" in shown and "10.51" in shown
    for figure in ("<td>4.5</td><td>5.0</td><td>51.3</td><td>yes</td>", "<td>1.25</td>"):
        assert figure in shown
    # The rep cannot change it any more, through the app or the page.
    refused = httpx.put(
        f"{page.base_url.copy_with(path='/sandbox/act-as/2/salesorders/')}{order_id}",
        json={"reference": "mine"},
    )
    assert refused.status_code == 403
    assert page.post(f"/page/salesorders/{order_id}", data={"reference": "x"}).status_code == 405
    assert read(api, "salesorders", order_id)["reference"] == "57"


def test_a_refused_quote_says_why_and_writes_nothing(
    page: httpx.Client, api: httpx.Client, quote_world: QuoteWorld
) -> None:
    cases = {
        "line 1 has a quantity but no product": quote_form(quote_world, productId1=""),
        "line 2: the quantity must be a whole number": quote_form(quote_world, quantity2="1.5"),
        "add at least one line": quote_form(
            quote_world, productId1="", quantity1="", productId2="", quantity2=""
        ),
        "field &#x27;reference&#x27; is required": quote_form(quote_world, reference=""),
        "line 1: product 999 does not exist": quote_form(quote_world, productId1="999"),
        "user 99 does not exist": quote_form(quote_world, actingUserId="99"),
    }
    for reason, form in cases.items():
        answer = page.post("/page/salesorders", data=form)
        assert answer.status_code == 400, reason
        assert reason in answer.text, reason
        assert 'id="new-quote"><h2>New quote</h2><p class="error"' in answer.text
    assert api.get("/salesorders").json() == []
    assert api.get("/salesordersLines").json() == []
    # A quantity of 0 is the rep's to make: the quote flow refuses it with its reason.
    zero = page.post("/page/salesorders", data=quote_form(quote_world, quantity1="0"))
    assert [line["quantity"] for line in quote_lines(api, created_id(zero, "salesorders"))] == [
        0,
        1,
    ]


@pytest.mark.parametrize(
    "path", ["/page/products", "/page/accounts/999", "/page/accounts/x1", "/page/users/1"]
)
def test_only_companies_and_contacts_have_forms(page: httpx.Client, path: str) -> None:
    assert page.get(path).status_code in (404, 405)
    assert page.post(path, data={"name": "x"}).status_code == 404
