"""The change feed the reverse flow polls, through the sandbox as a real server process.

The sandbox reads `where` date literals in every form a client may send and compares them as
instants; the client's `changed_since` costs one call when nothing changed, keeps each record
once (its newest version) and hands rows over oldest change first.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from resources.ssm import SSMClient, SSMResource
from resources.ssm.client import newest_change, parse_ssm_datetime
from sandbox.ssm.testing import SandboxProcess, running_sandbox

API_USER = 1
REP = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with running_sandbox(tmp_path_factory.mktemp("ssm-change-feed")) as process:
        yield process


@pytest.fixture
def ssm(server: SandboxProcess) -> SandboxProcess:
    httpx.post(server.control_url + "/reset", timeout=5.0).raise_for_status()
    return server


@pytest.fixture
def api(ssm: SandboxProcess) -> Iterator[httpx.Client]:
    headers = {"X-Session-Key": ssm.login()}
    with httpx.Client(base_url=ssm.base_url, headers=headers, timeout=5.0) as client:
        yield client


# Milliseconds in the where literal, so a test need not wait for the next second.
EXACT = "%Y-%m-%dT%H:%M:%S.%fZ"


def client_for(ssm: SandboxProcess, **options: Any) -> SSMClient:
    return SSMClient(ssm.base_url, ssm.public_key, ssm.private_key, **options)


def new_account(api: httpx.Client, name: str, **fields: Any) -> int:
    body = {"name": name, "branchId": 1, "salesRepId1": REP, **fields}
    answer = api.post("/accounts", json=body)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["id"])


def record(api: httpx.Client, resource: str, record_id: int) -> dict[str, Any]:
    answer = api.get(f"/{resource}/{record_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def names(api: httpx.Client, where: str) -> list[str]:
    answer = api.get("/accounts", params={"where": where})
    assert answer.status_code == 200, answer.text
    return sorted(row["name"] for row in answer.json())


def instant(text: str) -> datetime:
    moment = parse_ssm_datetime(text)
    assert moment is not None, text
    return moment


def pause_past_millisecond() -> None:
    """The sandbox stamps dates to the millisecond: two writes 5 ms apart differ."""
    time.sleep(0.005)


# --- date literals in where --------------------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    [
        "{t:%Y-%m-%dT%H:%M:%S}",
        "{t:%Y-%m-%d %H:%M:%S}",
        "{t:%Y-%m-%dT%H:%M:%S}.{ms:03d}",
        "{t:%Y-%m-%dT%H:%M:%S}.{ms:03d}0000",  # .NET's seven digits
        "{t:%Y-%m-%dT%H:%M:%S}Z",
        "{t:%Y-%m-%dT%H:%M:%S}.{ms:03d}Z",
        "{t:%Y-%m-%dT%H:%M:%S}+00:00",
        "{t:%Y-%m-%d %H:%M:%S}+0000",
        "{local:%Y-%m-%dT%H:%M:%S}+02:00",  # the same instant, written two hours ahead
    ],
)
def test_date_literals_in_every_common_form_compare_as_instants(
    api: httpx.Client, literal: str
) -> None:
    """Two accounts created a second apart; the literal names the second one's creation
    second (plus its milliseconds where the form has them): only it is not before."""
    new_account(api, "before")
    time.sleep(1.1)
    second = record(api, "accounts", new_account(api, "after"))
    created = instant(second["dateCreated"])
    text = literal.format(
        t=created, local=created + timedelta(hours=2), ms=created.microsecond // 1000
    )
    exact = "." in text  # the forms with milliseconds name the creation exactly

    assert names(api, f"dateCreated >= '{text}'") == ["after"]
    assert names(api, f"dateCreated < '{text}'") == ["before"]
    assert names(api, f"dateCreated > '{text}'") == ([] if exact else ["after"])
    assert names(api, f"dateCreated = '{text}'") == (["after"] if exact else [])


def test_a_date_alone_is_midnight_utc(api: httpx.Client) -> None:
    new_account(api, "today")
    today = datetime.now(UTC).date()

    assert names(api, f"dateCreated > '{today:%Y-%m-%d}'") == ["today"]
    assert names(api, f"dateCreated < '{today + timedelta(days=1):%Y-%m-%d}'") == ["today"]
    assert names(api, f"dateCreated < '{today:%Y-%m-%d}'") == []
    # LIKE still reads the stored text, as SSM's database would
    assert names(api, f"dateCreated LIKE '{today:%Y-%m-%d}T%Z'") == ["today"]


@pytest.mark.parametrize(
    "literal",
    ["yesterday", "2026-13-01", "2026-02-30T10:00:00", "03/12/2026", "2026-12-03T25:00", "42"],
)
def test_a_date_literal_that_is_no_date_is_refused_with_code_901(
    api: httpx.Client, literal: str
) -> None:
    """Refused even when no record would be compared (an empty resource): it is the
    expression that is wrong, as SSM's 'SQL not generated correctly'."""
    quoted = literal if literal.isdigit() else f"'{literal}'"
    for resource in ("accounts", "opportunities"):  # opportunities: none in a fresh sandbox
        answer = api.get(f"/{resource}", params={"where": f"dateUpdated > {quoted}"})
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert (body["statusCode"], body["code"]) == (400, 901)
        assert "dateUpdated" in body["message"]


# --- audit dates the feed relies on ------------------------------------------------------------


def test_audit_dates_are_milliseconds_and_set_on_every_write(
    ssm: SandboxProcess, api: httpx.Client
) -> None:
    account_id = new_account(api, "Audit Ltd")
    created = record(api, "accounts", account_id)
    assert created["dateUpdated"] is None  # SSM: null until the first edit
    assert created["dateCreated"].endswith("Z") and len(created["dateCreated"]) == 24
    pause_past_millisecond()

    assert api.put(f"/accounts/{account_id}", json={"city": "Leeds"}).status_code == 200
    first_update = record(api, "accounts", account_id)["dateUpdated"]
    pause_past_millisecond()
    bulk = [{"guid": "g1", "id": account_id, "data": {"city": "York"}}]
    assert api.put("/accounts/bulk", json=bulk).json()[0]["code"] == 1
    after_bulk = record(api, "accounts", account_id)
    pause_past_millisecond()
    edited = httpx.put(
        f"{ssm.control_url}/act-as/{REP}/accounts/{account_id}", json={"city": "Hull"}, timeout=5
    )
    assert edited.status_code == 200, edited.text
    by_rep = record(api, "accounts", account_id)

    moments = [
        instant(created["dateCreated"]),
        instant(first_update),
        instant(after_bulk["dateUpdated"]),
        instant(by_rep["dateUpdated"]),
    ]
    assert moments == sorted(moments) and len(set(moments)) == 4
    assert all(m.microsecond % 1000 == 0 for m in moments)  # milliseconds, as SSM writes them
    assert (after_bulk["salesRepIdUpdated"], by_rep["salesRepIdUpdated"]) == (API_USER, REP)
    assert by_rep["dateCreated"] == created["dateCreated"]


# --- changed_since -----------------------------------------------------------------------------


def test_an_idle_poll_costs_one_call_per_resource_and_a_fresh_client_one_login(
    ssm: SandboxProcess, api: httpx.Client
) -> None:
    new_account(api, "Old news")
    time.sleep(0.05)
    since = datetime.now(UTC)
    with client_for(ssm, date_literal_format=EXACT) as client:
        for resource in ("accounts", "contacts"):
            assert list(client.changed_since(resource, since, lookback=timedelta(0))) == []
        assert client.api_calls == 3  # one login, then one list call per resource
        for resource in ("accounts", "contacts"):
            assert list(client.changed_since(resource, since, lookback=timedelta(0))) == []
        assert client.api_calls == 5  # the session is kept: one call per resource per poll


@pytest.mark.parametrize(
    "date_format",
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S.%fZ",
        "%Y-%m-%dT%H:%M:%S+00:00",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d",
    ],
)
def test_every_date_format_setting_finds_what_changed(
    ssm: SandboxProcess, api: httpx.Client, date_format: str
) -> None:
    """SSM_WHERE_DATE_FORMAT, through the Dagster resource: a coarser format rounds the cutoff
    down, so it may read more, never less."""
    new_account(api, "Untouched")
    time.sleep(1.1)
    since = datetime.now(UTC)
    changed = new_account(api, "Created after")
    resource = SSMResource(
        base_url=ssm.base_url,
        public_key=ssm.public_key,
        private_key=ssm.private_key,
        where_date_format=date_format,
    )
    with resource.get_client() as client:
        assert client.date_literal_format == date_format
        rows = list(client.changed_since("accounts", since, lookback=timedelta(0)))

    got = [row["id"] for row in rows]
    assert changed in got
    if date_format.endswith(("%S", "Z", "+00:00")):
        assert got == [changed]


def test_changed_since_finds_creates_updates_and_deletes_oldest_first(
    ssm: SandboxProcess, api: httpx.Client
) -> None:
    untouched = new_account(api, "Untouched")
    edited = new_account(api, "Edited")
    removed = new_account(api, "Removed")
    time.sleep(0.05)
    since = datetime.now(UTC)
    pause_past_millisecond()
    created = new_account(api, "Created")
    pause_past_millisecond()
    assert api.delete(f"/accounts/{removed}").status_code == 200
    pause_past_millisecond()
    assert api.put(f"/accounts/{edited}", json={"city": "Bath"}).status_code == 200

    with client_for(ssm, date_literal_format=EXACT) as client:
        rows = list(client.changed_since("accounts", since, lookback=timedelta(0)))

    assert [row["id"] for row in rows] == [created, removed, edited]
    assert untouched not in [row["id"] for row in rows]
    assert rows[1]["deleted"] is True
    assert newest_change(rows) == instant(record(api, "accounts", edited)["dateUpdated"])


class UpdatesWhilePaging(httpx.HTTPTransport):
    """The network between client and sandbox; once the first list page has been answered,
    a rep edits a record and creates one in SSM (before the client asks for page 1)."""

    def __init__(self, act: Any) -> None:
        super().__init__()
        self.act = act
        self.pages: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "GET" and "where" in request.url.params:
            self.pages.append(request.url.params["page"])
            if len(self.pages) == 1:
                response.read()
                self.act()
        return response


def test_a_record_updated_while_paging_is_kept_once_as_its_newest_version(
    ssm: SandboxProcess, api: httpx.Client
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    ids = [new_account(api, f"Account {n}") for n in range(5)]  # read newest id first
    edited = ids[3]  # on page 0 (ids 5, 4) of 2 rows a page
    late: list[int] = []

    def rep_works() -> None:
        late.append(new_account(api, "Created while paging"))  # pushes edited to page 1
        pause_past_millisecond()
        answer = httpx.put(
            f"{ssm.control_url}/act-as/{REP}/accounts/{edited}", json={"city": "Ely"}, timeout=5
        )
        assert answer.status_code == 200, answer.text

    network = UpdatesWhilePaging(rep_works)
    with client_for(ssm, page_size=2, transport=network, date_literal_format=EXACT) as client:
        rows = list(client.changed_since("accounts", since, lookback=timedelta(0)))

    got = [row["id"] for row in rows]
    assert network.pages[:2] == ["0", "1"]  # the rep worked between two pages
    assert sorted(got) == sorted(set(got))  # each id once
    assert set(ids) <= set(got)
    kept = next(row for row in rows if row["id"] == edited)
    assert kept["city"] == "Ely" and kept["dateUpdated"] is not None  # the newest version
    assert got[-1] == edited  # its change is the newest
    changes = [newest_change([row]) for row in rows]
    assert changes == sorted(changes)  # oldest change first

    # The create that landed mid-read, before the edit, was not read, and the watermark (the
    # edit) is past it: only the next poll's overlap window finds it.
    assert late[0] not in got
    watermark = newest_change(rows)
    assert watermark is not None
    with client_for(ssm, date_literal_format=EXACT) as client:
        without_overlap = client.changed_since("accounts", watermark, lookback=timedelta(0))
        assert late[0] not in [row["id"] for row in without_overlap]
        with_overlap = client.changed_since("accounts", watermark, lookback=timedelta(seconds=5))
        assert late[0] in [row["id"] for row in with_overlap]
