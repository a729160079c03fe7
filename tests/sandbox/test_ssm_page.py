"""Acting as a sales rep on the sandbox's page, through the sandbox as a real server process:
the forms write what the API's create and update would, and show every value escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
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


@pytest.mark.parametrize(
    "path", ["/page/products", "/page/accounts/999", "/page/accounts/x1", "/page/users/1"]
)
def test_only_companies_and_contacts_have_forms(page: httpx.Client, path: str) -> None:
    assert page.get(path).status_code in (404, 405)
    assert page.post(path, data={"name": "x"}).status_code == 404
