"""Unit tests of the SSM client against an in-test fake SSM (httpx.MockTransport).

The fake is deliberately small: it keeps records per resource, speaks login/list/get/create/
update/delete/bulk the way the API reference describes, and plays scripted faults on the next
matching requests, so each test states the exact sequence it studies. Time is a fake clock:
sleeps advance it instead of waiting, and tests read what was slept.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import dagster as dg
import httpx
import pytest

from resources.ssm import (
    NOT_SENT,
    OUTCOME_UNKNOWN,
    SSMAuthError,
    SSMClient,
    SSMConfigurationError,
    SSMError,
    SSMNotFoundError,
    SSMRateLimitError,
    SSMResource,
    SSMUnavailableError,
    SSMValidationError,
)
from resources.ssm.client import read_again
from resources.ssm.ratelimit import RequestPacer

PUBLIC_KEY = "pub-KEY-4f1c9a"
PRIVATE_KEY = "priv-KEY-77e0b2d5"
BASE_URL = "https://ssm.test/api/v4"


# ----------------------------------------------------------------------------- fake SSM


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@dataclass
class Fault:
    """Played on the next request whose method and path match."""

    method: str
    path: str  # path after /api/v4/, e.g. "accounts" or "accounts/bulk"; "*" for any
    kind: str  # "500", "503", "408", "429", "401", "timeout", "connect", "lost", "partial_lost"
    retry_after: str | None = None
    keep: int = 0  # partial_lost: items committed before the connection dies


def _literals(text: str) -> list[Any]:
    """Literals of a where expression's right-hand side: 'a''b', 12, true, null."""
    values: list[Any] = []
    for match in re.finditer(r"'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)|(true|false|null)", text):
        if match.group(1) is not None:
            values.append(match.group(1).replace("''", "'"))
        elif match.group(2) is not None:
            values.append(float(match.group(2)) if "." in match.group(2) else int(match.group(2)))
        else:
            values.append({"true": True, "false": False, "null": None}[match.group(3)])
    return values


def _matches(record: dict, clause: str) -> bool:
    clause = clause.strip()
    if clause.startswith("(") and clause.endswith(")") and " OR " in clause:
        return any(_matches(record, part.strip()[1:-1]) for part in clause.split(" OR "))
    found = re.fullmatch(r"([A-Za-z_][\w.]*)(=|>| IN )(.*)", clause, flags=re.S)
    assert found, f"fake SSM cannot read where {clause!r}"
    name, op, rest = found.groups()
    value = record.get(name)
    literals = _literals(rest)
    if op == "=":
        # SQL Server compares strings ignoring case, as the real API is said to.
        return (
            isinstance(value, str)
            and value.lower() == str(literals[0]).lower()
            or value == literals[0]
        )
    if op == " IN ":
        return value in literals
    return value is not None and str(value) > str(literals[0]).replace(" ", "T")


@dataclass
class FakeSSM:
    public_key: str = PUBLIC_KEY
    private_key: str = PRIVATE_KEY
    records: dict[str, dict[int, dict]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    headers: list[httpx.Headers] = field(default_factory=list)
    urls: list[httpx.URL] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)  # live sessions
    issued: list[str] = field(default_factory=list)  # every token ever handed out
    next_id: int = 1
    max_page_size: int | None = None  # a tenant that holds pages below the asked Count

    def fault(self, method: str, path: str, kind: str, times: int = 1, **options: Any) -> None:
        self.faults.extend(Fault(method, path, kind, **options) for _ in range(times))

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r == (method, path))

    def rows(self, resource: str) -> list[dict]:
        return list(self.records.get(resource, {}).values())

    def add(self, resource: str, **data: Any) -> int:
        record_id = self.next_id
        self.next_id += 1
        self.records.setdefault(resource, {})[record_id] = {
            "id": record_id,
            "extId": None,
            "deleted": False,
            "dateCreated": "2024-01-01T00:00:00.000Z",
            "dateUpdated": None,
            "dateDeleted": None,
            **data,
        }
        return record_id

    # -- transport

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v4/")
        method = request.method
        self.requests.append((method, path))
        self.headers.append(request.headers)
        self.urls.append(request.url)
        body = json.loads(request.content) if request.content else None
        self.bodies.append(body)
        fault = self._take_fault(method, path)
        if fault and fault.kind in ("500", "503", "408"):
            return httpx.Response(
                int(fault.kind),
                json={
                    "statusCode": int(fault.kind),
                    "code": 900,
                    "message": "Internal Server Error",
                },
                headers={"Retry-After": fault.retry_after} if fault.retry_after else {},
            )
        if fault and fault.kind == "429":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return httpx.Response(429, json={"message": "Too Many Requests"}, headers=headers)
        if fault and fault.kind == "401":
            return httpx.Response(401, json={"statusCode": 401, "message": "Unauthorized"})
        if fault and fault.kind == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if fault and fault.kind == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if fault and fault.kind == "partial_lost":
            body = body[: fault.keep]
        response = self._handle(method, path, request, body)
        if fault and fault.kind in ("lost", "partial_lost"):
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return response

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.method in (method, "*") and fault.path in (path, "*"):
                return self.faults.pop(index)
        return None

    def _handle(self, method: str, path: str, request: httpx.Request, body: Any) -> httpx.Response:
        if path == "login":
            if body != {"username": self.public_key, "password": self.private_key}:
                return httpx.Response(401, json={"statusCode": 401, "message": "Unauthorized"})
            token = f"tok-{self.count('POST', 'login')}-9d8c7b"
            self.tokens.append(token)
            self.issued.append(token)
            return httpx.Response(200, json={"token": token})
        if request.headers.get("X-Session-Key") not in self.tokens:
            return httpx.Response(401, json={"statusCode": 401, "message": "Unauthorized"})
        parts = path.split("/")
        resource = parts[0]
        table = self.records.setdefault(resource, {})
        if len(parts) == 1 and method == "GET":
            query = parse_qs(request.url.query.decode(), keep_blank_values=True)
            size = int(request.headers.get("Count", "50"))
            size = min(size, self.max_page_size or size)  # capped silently, no header says so
            page = int(query.get("page", ["0"])[0])
            rows = sorted(table.values(), key=lambda r: r["id"], reverse="order" in query)
            if "where" in query:
                rows = [r for r in rows if _matches(r, query["where"][0])]
            return httpx.Response(200, json=rows[page * size : (page + 1) * size])
        if len(parts) == 1 and method == "POST":
            problem = self._invalid(body)
            if problem:
                return httpx.Response(
                    400, json={"statusCode": 400, "code": 400, "message": problem, "field": "name"}
                )
            return httpx.Response(
                200, json={"Message": "entity created", "id": self.add(resource, **body)}
            )
        if parts[1] == "bulk":
            return httpx.Response(
                200, json=[self._bulk_item(resource, method, item) for item in body]
            )
        record = table.get(int(parts[1]))
        if record is None:
            return httpx.Response(400, json={"statusCode": 400, "message": "Bad Request"})
        if method == "GET":
            return httpx.Response(200, json=record)
        if record["deleted"]:
            return httpx.Response(
                400, json={"statusCode": 400, "code": 400, "message": "record is deleted"}
            )
        if method == "PUT":
            if "bogus" in body:
                return httpx.Response(
                    400,
                    json={
                        "statusCode": 400,
                        "code": 400,
                        "message": "field 'bogus' does not exist",
                        "field": "bogus",
                    },
                )
            record.update(body, dateUpdated="2024-06-01T00:00:00.000Z")
            return httpx.Response(200, json={"Message": "entity updated"})
        record.update(deleted=True, dateDeleted="2024-06-02T00:00:00.000Z")
        return httpx.Response(200, json={"Message": "entity deleted"})

    @staticmethod
    def _invalid(data: dict) -> str | None:
        return None if data.get("name") else "field 'name' is required"

    def _bulk_item(self, resource: str, method: str, item: dict) -> dict:
        guid = item["guid"]
        if method == "POST":
            problem = self._invalid(item["data"])
            if problem:
                return {"code": 400, "guid": guid, "id": None, "message": problem, "field": "name"}
            return {
                "code": 1,
                "guid": guid,
                "id": self.add(resource, **item["data"]),
                "message": "Entity create success",
            }
        record = self.records[resource].get(item["id"])
        if record is None or record["deleted"]:
            return {"code": 400, "guid": guid, "id": item["id"], "message": "Bad Request"}
        if method == "PUT":
            record.update(item["data"])
            return {"code": 1, "guid": guid, "id": item["id"], "message": "Entity update success"}
        record.update(deleted=True)
        return {"code": 1, "guid": guid, "id": item["id"], "message": "Entity delete success"}


@pytest.fixture
def fake() -> FakeSSM:
    return FakeSSM()


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(fake: FakeSSM, clock: FakeTime) -> Iterator[Callable[..., SSMClient]]:
    clients: list[SSMClient] = []

    def make(**options: Any) -> SSMClient:
        client = SSMClient(
            BASE_URL,
            PUBLIC_KEY,
            PRIVATE_KEY,
            transport=httpx.MockTransport(fake),
            clock=clock.clock,
            sleep=clock.sleep,
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def assert_no_secrets(text: str, fake: FakeSSM) -> None:
    for secret in (PUBLIC_KEY, PRIVATE_KEY, *fake.issued):
        assert secret not in text


# ----------------------------------------------------------------------------- auth


def test_logs_in_lazily_once_and_sends_the_token(make_client, fake: FakeSSM) -> None:
    client = make_client()
    assert fake.requests == []  # constructing the client sends nothing

    client.get("accounts", fake.add("accounts", name="Acme"))
    client.get("accounts", 1)

    assert fake.requests == [("POST", "login"), ("GET", "accounts/1"), ("GET", "accounts/1")]
    assert fake.bodies[0] == {"username": PUBLIC_KEY, "password": PRIVATE_KEY}
    assert fake.headers[1]["X-Session-Key"] == "tok-1-9d8c7b"
    assert "X-Session-Key" not in fake.headers[0]
    assert (client.api_calls, client.write_calls) == (3, 0)  # a login is not a write


def test_logs_in_again_once_when_the_session_is_refused(make_client, fake: FakeSSM) -> None:
    client = make_client()
    record_id = fake.add("accounts", name="Acme")
    client.get("accounts", record_id)
    fake.tokens.remove("tok-1-9d8c7b")  # SSM ended the session

    assert client.get("accounts", record_id)["name"] == "Acme"
    assert fake.requests[2:] == [("GET", "accounts/1"), ("POST", "login"), ("GET", "accounts/1")]
    assert fake.headers[-1]["X-Session-Key"] == "tok-2-9d8c7b"


def test_gives_up_after_a_second_401_with_an_auth_error(make_client, fake: FakeSSM) -> None:
    client = make_client()
    fake.fault("GET", "accounts", "401", times=3)

    with pytest.raises(SSMAuthError) as raised:
        list(client.list("accounts"))

    assert fake.count("POST", "login") == 2
    assert fake.count("GET", "accounts") == 2
    assert raised.value.status == 401
    assert "SSM_PUBLIC_KEY" in str(raised.value)
    assert_no_secrets(str(raised.value) + repr(raised.value), fake)


def test_wrong_keys_fail_with_a_message_that_names_the_settings(fake: FakeSSM, clock) -> None:
    with SSMClient(
        BASE_URL, "wrong-public", "wrong-private",
        transport=httpx.MockTransport(fake), clock=clock.clock, sleep=clock.sleep,
    ) as client:  # fmt: skip
        with pytest.raises(SSMAuthError) as raised:
            client.get("accounts", 1)
    message = str(raised.value)
    assert "SSM_PUBLIC_KEY" in message and "SSM_PRIVATE_KEY" in message
    assert "wrong-public" not in message and "wrong-private" not in message
    assert fake.count("POST", "login") == 1  # a refused login is not retried


def test_refreshes_the_session_before_it_expires(make_client, fake: FakeSSM, clock) -> None:
    client = make_client(token_refresh_seconds=600)
    record_id = fake.add("accounts", name="Acme")
    client.get("accounts", record_id)
    clock.now += 599
    client.get("accounts", record_id)
    clock.now += 2  # 601 s after the login

    client.get("accounts", record_id)

    # the second login comes before the third GET: no request was refused on the way
    assert fake.requests == [
        ("POST", "login"),
        *[("GET", "accounts/1")] * 2,
        ("POST", "login"),
        ("GET", "accounts/1"),
    ]
    assert fake.headers[-1]["X-Session-Key"] == "tok-2-9d8c7b"


# ----------------------------------------------------------------------------- retries


def test_429_waits_as_long_as_retry_after_says(make_client, fake: FakeSSM, clock) -> None:
    client = make_client(requests_per_second=1000)
    fake.fault("GET", "accounts", "429", retry_after="7")

    assert list(client.list("accounts")) == []

    assert fake.count("GET", "accounts") == 2
    assert max(clock.sleeps) == pytest.approx(7.0, abs=0.01)


def test_429_without_retry_after_backs_off_exponentially(make_client, fake: FakeSSM, clock) -> None:
    client = make_client(requests_per_second=1000, backoff_seconds=1.0)
    fake.fault("GET", "accounts", "429", times=3)

    list(client.list("accounts"))

    waits = [s for s in clock.sleeps if s > 0.01]
    # attempt n waits between half and all of 1 s * 2^(n-1)
    assert len(waits) == 3
    for attempt, wait in enumerate(waits, start=1):
        assert 2 ** (attempt - 1) / 2 <= wait <= 2 ** (attempt - 1)


def test_endless_429_ends_in_a_rate_limit_error_that_says_what_to_change(
    make_client, fake: FakeSSM
) -> None:
    client = make_client(max_attempts=3)
    fake.fault("GET", "accounts", "429", times=5, retry_after="1")

    with pytest.raises(SSMRateLimitError) as raised:
        list(client.list("accounts"))

    assert fake.count("GET", "accounts") == 3
    message = str(raised.value)
    assert "4 or 13 requests/s" in message and "SSM_REQUESTS_PER_SECOND" in message


def test_server_errors_are_retried_until_an_answer(make_client, fake: FakeSSM) -> None:
    client = make_client()
    fake.add("accounts", name="Acme")
    fake.fault("GET", "accounts", "500", times=2)
    fake.fault("GET", "accounts", "408")

    assert [r["name"] for r in client.list("accounts")] == ["Acme"]
    assert fake.count("GET", "accounts") == 4


def test_timeouts_and_refused_connections_are_retried(make_client, fake: FakeSSM) -> None:
    client = make_client()
    record_id = fake.add("accounts", name="Acme")
    fake.fault("GET", f"accounts/{record_id}", "timeout")
    fake.fault("GET", f"accounts/{record_id}", "connect")

    assert client.get("accounts", record_id)["name"] == "Acme"
    assert fake.count("GET", f"accounts/{record_id}") == 3


def test_ssm_down_ends_in_an_unavailable_error_after_max_attempts(
    make_client, fake: FakeSSM
) -> None:
    client = make_client(max_attempts=4)
    fake.fault("GET", "accounts", "500", times=10)

    with pytest.raises(SSMUnavailableError) as raised:
        list(client.list("accounts"))

    assert fake.count("GET", "accounts") == 4
    assert "after 4 attempts" in str(raised.value)


@pytest.mark.parametrize("kind", ["503", "500", "408"])
def test_retry_after_on_server_errors_is_a_floor_under_the_backoff(
    make_client, fake: FakeSSM, clock, kind: str
) -> None:
    client = make_client(requests_per_second=1000, backoff_seconds=0.5)
    fake.fault("GET", "accounts", kind, retry_after="7")

    assert list(client.list("accounts")) == []

    assert fake.count("GET", "accounts") == 2
    assert max(clock.sleeps) == pytest.approx(7.0, abs=0.01)  # not the 0.25-0.5 s backoff


def test_a_backoff_longer_than_retry_after_wins_and_retry_after_is_capped(
    make_client, fake: FakeSSM, clock
) -> None:
    client = make_client(requests_per_second=1000, backoff_seconds=10.0)
    fake.fault("GET", "accounts", "503", retry_after="1")
    list(client.list("accounts"))
    assert 5.0 <= max(clock.sleeps) <= 10.0  # the backoff: half fixed, half jitter

    clock.sleeps.clear()
    fake.fault("GET", "accounts", "503", retry_after="86400")
    list(client.list("accounts"))
    assert max(clock.sleeps) == pytest.approx(300.0)  # a day is not waited for


def test_retry_after_on_a_503_to_a_create_or_login_is_honoured(
    make_client, fake: FakeSSM, clock
) -> None:
    client = make_client(requests_per_second=1000)
    fake.fault("POST", "login", "503", retry_after="6")
    fake.fault("POST", "accounts", "503", retry_after="9")

    assert client.create("accounts", {"name": "Acme", "extId": "A1"}) == 1

    big = sorted(s for s in clock.sleeps if s > 1)
    assert big == [pytest.approx(6.0, abs=0.01), pytest.approx(9.0, abs=0.01)]
    assert fake.count("POST", "accounts") == 2  # looked up by extId in between, then resent
    assert fake.count("GET", "accounts") == 1


def test_requests_are_paced_to_the_plan_rate(make_client, fake: FakeSSM, clock) -> None:
    client = make_client(requests_per_second=4)
    record_id = fake.add("accounts", name="Acme")
    start = clock.now

    for _ in range(8):
        client.get("accounts", record_id)

    # login + 8 GETs = 9 requests, at most one every 0.25 s: 8 gaps of 0.25 s
    assert client.api_calls == 9
    assert clock.now - start == pytest.approx(2.0)


def test_pacer_gives_concurrent_callers_distinct_slots() -> None:
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    pacer = RequestPacer(4, clock=lambda: 0.0, sleep=record)  # time stands still
    threads = [threading.Thread(target=pacer.acquire) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # the first caller goes at once, the others at 0.25 s intervals, whatever the order
    assert sorted(waits) == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


# ----------------------------------------------------------------------------- creates


def test_a_create_whose_answer_was_lost_is_not_duplicated(make_client, fake: FakeSSM) -> None:
    client = make_client()
    fake.fault("POST", "accounts", "lost")  # SSM commits, then the connection dies

    record_id = client.create("accounts", {"name": "Acme", "extId": "ACME01"})

    assert [(r["id"], r["extId"]) for r in fake.rows("accounts")] == [(record_id, "ACME01")]
    assert fake.count("POST", "accounts") == 1
    assert fake.count("GET", "accounts") == 1  # the extId lookup


def test_a_create_that_failed_before_committing_is_sent_again(make_client, fake: FakeSSM) -> None:
    client = make_client()
    fake.fault("POST", "accounts", "500")  # refused, nothing written
    fake.fault("POST", "accounts", "timeout")  # no answer, nothing written

    record_id = client.create("accounts", {"name": "Acme", "extId": "ACME01"})

    assert [r["id"] for r in fake.rows("accounts")] == [record_id]
    assert fake.count("POST", "accounts") == 3
    assert fake.count("GET", "accounts") == 2  # looked up after each unanswered try


def test_a_create_lookup_ignores_deleted_records_and_other_spellings(
    make_client, fake: FakeSSM
) -> None:
    client = make_client()
    fake.add("accounts", name="Old Acme", extId="ACME01", deleted=True)
    fake.add("accounts", name="Other", extId="acme01")  # matched by SSM's case-blind compare
    fake.fault("POST", "accounts", "timeout")

    record_id = client.create("accounts", {"name": "Acme", "extId": "ACME01"})

    assert record_id == 3
    assert fake.count("POST", "accounts") == 2


def test_a_create_still_looks_after_its_last_unanswered_attempt(make_client, fake: FakeSSM) -> None:
    client = make_client(max_attempts=2)
    fake.fault("POST", "accounts", "timeout")  # nothing written
    fake.fault("POST", "accounts", "lost")  # written, answer lost, no attempt left

    assert client.create("accounts", {"name": "Acme", "extId": "ACME01"}) == 1
    assert fake.count("GET", "accounts") == 2

    fake.fault("POST", "accounts", "timeout", times=2)
    with pytest.raises(SSMUnavailableError, match="not found by extId") as raised:
        client.create("accounts", {"name": "Beta", "extId": "BETA01"})
    assert "check_existing=True" in str(raised.value)
    assert [r["extId"] for r in fake.rows("accounts")] == ["ACME01"]


def test_refused_connection_on_create_is_retried_without_a_lookup(
    make_client, fake: FakeSSM
) -> None:
    client = make_client()
    fake.fault("POST", "accounts", "connect")
    fake.fault("POST", "accounts", "429", retry_after="1")

    client.create("accounts", {"name": "Acme", "extId": "ACME01"})

    assert fake.count("GET", "accounts") == 0
    assert len(fake.rows("accounts")) == 1


def test_a_create_without_ext_id_is_never_resent_blindly(make_client, fake: FakeSSM) -> None:
    client = make_client()
    fake.fault("POST", "accounts", "lost")

    with pytest.raises(SSMUnavailableError, match="no extId"):
        client.create("accounts", {"name": "Acme"})

    assert fake.count("POST", "accounts") == 1
    assert len(fake.rows("accounts")) == 1


def test_create_with_check_existing_returns_the_existing_id(make_client, fake: FakeSSM) -> None:
    client = make_client()
    existing = fake.add("accounts", name="Acme", extId="ACME01")

    assert (
        client.create("accounts", {"name": "Acme", "extId": "ACME01"}, check_existing=True)
        == existing
    )
    assert fake.count("POST", "accounts") == 0


def test_a_refused_create_raises_a_validation_error_with_the_field(
    make_client, fake: FakeSSM
) -> None:
    client = make_client()

    with pytest.raises(SSMValidationError) as raised:
        client.create("accounts", {"extId": "ACME01"})

    assert raised.value.field == "name"
    assert raised.value.resource == "accounts"
    assert "field 'name' is required" in str(raised.value)


# ----------------------------------------------------------------------------- updates, deletes, reads


def test_update_is_retried_directly_after_a_lost_answer(make_client, fake: FakeSSM) -> None:
    client = make_client()
    record_id = fake.add("accounts", name="Acme")
    fake.fault("PUT", f"accounts/{record_id}", "lost")

    client.update("accounts", record_id, {"name": "Acme Ltd"})

    assert fake.records["accounts"][record_id]["name"] == "Acme Ltd"
    assert fake.count("PUT", f"accounts/{record_id}") == 2


def test_a_delete_retried_on_an_already_deleted_record_succeeds(make_client, fake: FakeSSM) -> None:
    client = make_client()
    record_id = fake.add("accounts", name="Acme")
    fake.fault("DELETE", f"accounts/{record_id}", "lost")

    client.delete("accounts", record_id)  # second DELETE answers 400 "record is deleted"

    assert fake.records["accounts"][record_id]["deleted"] is True
    assert fake.count("DELETE", f"accounts/{record_id}") == 2


def test_unknown_ids_raise_not_found_and_bad_changes_raise_validation(
    make_client, fake: FakeSSM
) -> None:
    client = make_client()
    record_id = fake.add("accounts", name="Acme")

    with pytest.raises(SSMNotFoundError, match="no accounts record with id 999"):
        client.get("accounts", 999)
    with pytest.raises(SSMNotFoundError):
        client.update("accounts", 999, {"name": "x"})
    with pytest.raises(SSMNotFoundError):
        client.delete("accounts", 999)
    with pytest.raises(SSMValidationError, match="field 'bogus' does not exist") as raised:
        client.update("accounts", record_id, {"bogus": 1})
    assert raised.value.field == "bogus"


def test_list_pages_until_a_short_page(make_client, fake: FakeSSM) -> None:
    client = make_client(page_size=50)
    for n in range(120):
        fake.add("accounts", name=f"A{n}")

    names = [r["name"] for r in client.list("accounts")]

    assert names == [f"A{n}" for n in range(120)]
    assert [parse_qs(u.query.decode())["page"] for u in fake.urls[1:]] == [["0"], ["1"], ["2"]]
    assert fake.count("GET", "accounts") == 3  # 50 + 50 + 20
    assert fake.headers[-1]["Count"] == "50"


def test_list_of_an_exact_multiple_of_the_page_size_asks_one_empty_page(
    make_client, fake: FakeSSM
) -> None:
    client = make_client(page_size=50)
    for n in range(100):
        fake.add("accounts", name=f"A{n}")

    assert len(list(client.list("accounts"))) == 100
    assert fake.count("GET", "accounts") == 3  # 50 + 50 + 0


def test_list_reads_every_page_when_the_tenant_caps_the_page_size(
    make_client, fake: FakeSSM
) -> None:
    fake.max_page_size = 60  # asked 100, SSM gives 60 a page and says nothing
    client = make_client(page_size=100)
    for n in range(150):
        fake.add("accounts", name=f"A{n}")

    names = [r["name"] for r in client.list("accounts")]

    assert names == [f"A{n}" for n in range(150)]
    # 60 (short of 100 but not of the documented 50: go on) + 60 (cap learnt) + 30 (< 60: end)
    assert fake.count("GET", "accounts") == 3


def test_list_learns_the_cap_and_then_stops_on_a_short_page(make_client, fake: FakeSSM) -> None:
    fake.max_page_size = 80
    client = make_client(page_size=100)
    for n in range(95):
        fake.add("accounts", name=f"A{n}")

    assert len(list(client.list("accounts"))) == 95  # 80 + 15: 80 pages are SSM's cap
    for n in range(95, 140):
        fake.add("accounts", name=f"A{n}")
    assert len(list(client.list("accounts"))) == 140  # 80 + 60: 60 < 80 ends it

    assert fake.count("GET", "accounts") == 4  # no empty page was needed to see the end


def test_list_stops_on_an_empty_page_when_a_page_is_short_of_page_size(
    make_client, fake: FakeSSM
) -> None:
    client = make_client(page_size=100)
    for n in range(70):
        fake.add("accounts", name=f"A{n}")

    assert len(list(client.list("accounts"))) == 70
    assert fake.count("GET", "accounts") == 2  # 70 could be a cap: one more page says no


def test_list_orders_by_plain_fields_only(make_client, fake: FakeSSM) -> None:
    client = make_client()
    for order in ("id", "typeId", "dateCreated asc", "name DESC"):
        assert list(client.list("accounts", order=order)) == []
    with pytest.raises(ValueError, match="'typeId' rather than 'typeId.id'"):
        list(client.list("accounts", order="typeId.id"))


def test_find_by_ext_id_prefers_the_live_record(make_client, fake: FakeSSM) -> None:
    client = make_client()
    fake.add("accounts", name="Gone", extId="O'BRIEN", deleted=True)
    live = fake.add("accounts", name="Live", extId="O'BRIEN")

    assert client.find_by_ext_id("accounts", "O'BRIEN")["id"] == live
    assert client.find_by_ext_id("accounts", "NOPE") is None
    fake.records["accounts"][live]["deleted"] = True
    assert client.find_by_ext_id("accounts", "O'BRIEN", include_deleted=False) is None
    assert client.find_by_ext_id("accounts", "O'BRIEN")["id"] == 1  # lowest deleted id


def test_changed_since_filters_on_the_three_audit_dates_with_lookback(
    make_client, fake: FakeSSM
) -> None:
    client = make_client()
    fake.add("accounts", name="old", dateCreated="2024-03-01T09:00:00.000Z")
    fake.add("accounts", name="late", dateCreated="2024-03-01T09:56:00.000Z")
    fake.add(
        "accounts",
        name="edited",
        dateCreated="2024-01-01T00:00:00.000Z",
        dateUpdated="2024-03-01T10:30:00.000Z",
    )
    fake.add(
        "accounts",
        name="removed",
        dateCreated="2024-01-01T00:00:00.000Z",
        dateDeleted="2024-03-01T11:00:00.000Z",
        deleted=True,
    )
    since = datetime(2024, 3, 1, 11, 0, tzinfo=UTC) - timedelta(hours=1)  # 10:00 UTC

    rows = list(client.changed_since("accounts", since))

    assert sorted(r["name"] for r in rows) == ["edited", "late", "removed"]
    query = parse_qs(fake.urls[-1].query.decode())
    assert query["where"] == [
        "(dateCreated>'2024-03-01T09:55:00') OR (dateUpdated>'2024-03-01T09:55:00') "
        "OR (dateDeleted>'2024-03-01T09:55:00')"
    ]
    assert query["order"] == ["id"]


# ----------------------------------------------------------------------------- bulk


def test_bulk_create_reports_the_failing_item_and_keeps_the_rest(
    make_client, fake: FakeSSM
) -> None:
    client = make_client()
    items = [{"name": "A", "extId": "A1"}, {"extId": "B1"}, {"name": "C", "extId": "C1"}]

    results = client.bulk_create("accounts", items)

    assert [(r.index, r.ok, r.ext_id) for r in results] == [
        (0, True, "A1"),
        (1, False, "B1"),
        (2, True, "C1"),
    ]
    assert results[1].message == "field 'name' is required" and results[1].code == 400
    assert [r.id for r in results if r.ok] == [1, 2]
    assert fake.bodies[1] == [
        {"guid": r.guid, "data": d} for r, d in zip(results, items, strict=True)
    ]


def test_bulk_writes_are_cut_at_the_batch_limits(make_client, fake: FakeSSM) -> None:
    client = make_client(requests_per_second=1000)
    assert [client.batch_size("accounts", op) for op in ("create", "update", "delete")] == [
        200,
        200,
        120,
    ]
    assert [client.batch_size("products", op) for op in ("create", "update", "delete")] == [
        100,
        100,
        100,
    ]

    client.bulk_create("accounts", [{"name": f"N{n}", "extId": f"E{n}"} for n in range(450)])
    client.bulk_create("products", [{"name": f"P{n}"} for n in range(201)])
    client.bulk_delete("accounts", list(range(1, 251)))

    sizes = {
        (m, p): [
            len(b)
            for (mm, pp), b in zip(fake.requests, fake.bodies, strict=True)
            if (mm, pp) == (m, p)
        ]
        for m, p in [
            ("POST", "accounts/bulk"),
            ("POST", "products/bulk"),
            ("DELETE", "accounts/bulk"),
        ]
    }
    assert sizes == {
        ("POST", "accounts/bulk"): [200, 200, 50],
        ("POST", "products/bulk"): [100, 100, 1],
        ("DELETE", "accounts/bulk"): [120, 120, 10],
    }


def test_bulk_create_after_a_lost_answer_resends_only_what_is_missing(
    make_client, fake: FakeSSM
) -> None:
    client = make_client()
    items = [{"name": f"N{n}", "extId": f"E{n}"} for n in range(5)]
    fake.fault("POST", "accounts/bulk", "partial_lost", keep=3)  # 3 committed, then the line drops

    results = client.bulk_create("accounts", items)

    assert all(r.ok for r in results)
    assert sorted(r["extId"] for r in fake.rows("accounts")) == ["E0", "E1", "E2", "E3", "E4"]
    sent = [
        b
        for (m, p), b in zip(fake.requests, fake.bodies, strict=True)
        if (m, p) == ("POST", "accounts/bulk")
    ]
    assert [[i["data"]["extId"] for i in b] for b in sent] == [
        ["E0", "E1", "E2", "E3", "E4"],
        ["E3", "E4"],
    ]
    assert {r.ext_id: r.id for r in results} == {r["extId"]: r["id"] for r in fake.rows("accounts")}


def test_bulk_create_item_without_ext_id_is_reported_unknown_not_resent(
    make_client, fake: FakeSSM
) -> None:
    client = make_client()
    fake.fault("POST", "accounts/bulk", "lost")

    results = client.bulk_create("accounts", [{"name": "A", "extId": "A1"}, {"name": "B"}])

    assert (results[0].ok, results[0].id) == (True, 1)
    assert (results[1].ok, results[1].code) == (False, OUTCOME_UNKNOWN)
    assert fake.count("POST", "accounts/bulk") == 1 and len(fake.rows("accounts")) == 2


def test_a_bulk_create_without_ext_ids_whose_answer_is_lost_waits_no_backoff(
    make_client, fake: FakeSSM, clock
) -> None:
    """Nothing can be looked up or resent by the client: it answers at once, without the
    backoff a look-up by extId would wait for, and without counting it as giving up."""
    client = make_client(requests_per_second=1000)  # pacing: 1 ms between requests
    fake.fault("POST", "salesordersLines/bulk", "lost")

    results = client.bulk_create("salesordersLines", [{"name": "L1"}, {"name": "L2"}])

    assert {r.code for r in results} == {OUTCOME_UNKNOWN}
    # The first backoff would be at least 0.25 s (half of backoff_seconds 0.5).
    assert max(clock.sleeps, default=0) <= 0.001 and client.gave_up == 0
    assert fake.count("GET", "salesordersLines") == 0


def test_gave_up_counts_the_requests_the_client_stopped_retrying(
    make_client, fake: FakeSSM
) -> None:
    client = make_client(max_attempts=2)
    fake.fault("GET", "accounts", "500", times=1)  # answered on the second attempt
    assert list(client.list("accounts")) == [] and client.gave_up == 0

    fake.fault("GET", "accounts", "500", times=2)
    with pytest.raises(SSMUnavailableError):
        list(client.list("accounts"))
    fake.fault("PUT", "accounts/bulk", "503", times=2)
    (result,) = client.bulk_update("accounts", [(fake.add("accounts", name="A"), {"name": "B"})])
    fake.fault("POST", "accounts/bulk", "lost", times=2)  # committed, answers lost, not found
    fake.fault("GET", "accounts", "500", times=2)
    (created,) = client.bulk_create("accounts", [{"name": "C", "extId": "C1"}])

    assert result.code == OUTCOME_UNKNOWN and created.code == OUTCOME_UNKNOWN
    assert client.gave_up == 3  # the list, the bulk update, the look-up of the lost create


def test_read_again_gives_a_read_a_second_set_of_retries(make_client, fake: FakeSSM) -> None:
    client = make_client(max_attempts=2)
    fake.add("accounts", name="A")
    read = read_again(lambda: list(client.list("accounts")))

    fake.fault("GET", "accounts", "500", times=3)  # the first read gives up, the second answers
    assert [a["name"] for a in read()] == ["A"]
    assert fake.count("GET", "accounts") == 4

    fake.fault("GET", "accounts", "503", times=4)  # down: both give up, the error is raised
    with pytest.raises(SSMUnavailableError):
        read()
    assert fake.count("GET", "accounts") == 8 and client.gave_up == 3


def test_bulk_create_stops_when_ssm_is_down_and_reports_unsent_batches(
    make_client, fake: FakeSSM
) -> None:
    client = make_client(max_attempts=2, requests_per_second=1000)
    fake.fault("POST", "products/bulk", "connect", times=2)

    results = client.bulk_create(
        "products", [{"name": f"P{n}", "extId": f"P{n}"} for n in range(150)]
    )

    assert not any(r.ok for r in results)
    assert {r.code for r in results} == {NOT_SENT}
    assert fake.count("POST", "products/bulk") == 2  # the second batch was never tried


def test_bulk_delete_counts_already_deleted_records_as_done(make_client, fake: FakeSSM) -> None:
    client = make_client()
    ids = [fake.add("accounts", name=f"N{n}") for n in range(3)]
    fake.records["accounts"][ids[0]]["deleted"] = True
    fake.fault(
        "DELETE", "accounts/bulk", "lost"
    )  # applied, answer lost: the resend finds them deleted

    results = client.bulk_delete("accounts", [*ids, 999])

    assert [(r.id, r.ok) for r in results] == [(1, True), (2, True), (3, True), (999, False)]
    assert fake.count("DELETE", "accounts/bulk") == 2


def test_bulk_update_resends_after_a_server_error(make_client, fake: FakeSSM) -> None:
    client = make_client()
    ids = [fake.add("accounts", name=f"N{n}") for n in range(2)]
    fake.fault("PUT", "accounts/bulk", "500")

    results = client.bulk_update(
        "accounts", [(ids[0], {"name": "X"}), (ids[1], {"name": "Y", "extId": "Y1"})]
    )

    assert [(r.ok, r.id, r.ext_id) for r in results] == [(True, 1, None), (True, 2, "Y1")]
    assert [r["name"] for r in fake.rows("accounts")] == ["X", "Y"]


# ----------------------------------------------------------------------------- configuration and secrets


@pytest.mark.parametrize(
    "url",
    [
        "http://api.forcemanager.com/api/v4",
        "http://10.0.0.5:8765/api/v4",
        "ftp://localhost/api/v4",
        "not a url",
    ],
)
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(SSMConfigurationError, match="https"):
        SSMClient(url, PUBLIC_KEY, PRIVATE_KEY)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.forcemanager.com/api/v4",
        "http://localhost:8765/api/v4",
        "http://127.0.0.1:8765/api/v4/",
        "http://[::1]:8765/api/v4",
    ],
)
def test_https_and_local_plain_http_are_accepted(url: str) -> None:
    with SSMClient(url, PUBLIC_KEY, PRIVATE_KEY) as client:
        assert client.base_url == url.rstrip("/")


def test_missing_keys_are_refused_with_the_settings_to_fill() -> None:
    with pytest.raises(SSMConfigurationError, match="SSM_PUBLIC_KEY and SSM_PRIVATE_KEY"):
        SSMClient(BASE_URL, "", "")


def test_secrets_appear_in_no_repr_error_or_log(make_client, fake: FakeSSM, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(max_attempts=2)
    record_id = fake.add("accounts", name="Acme")
    client.get("accounts", record_id)
    texts = [repr(client), str(client)]
    failures: list[tuple[list[tuple[str, str, str]], Callable[[], object]]] = [
        ([("GET", "accounts/1", "401")] * 2, lambda: client.get("accounts", record_id)),
        ([("POST", "accounts", "timeout")], lambda: client.create("accounts", {"name": "x"})),
        ([("GET", "accounts", "429")] * 2, lambda: list(client.list("accounts"))),
        ([("POST", "login", "500")] * 2, lambda: _relogin_then(client, fake)),
        ([], lambda: client.get("accounts", 999)),
        ([], lambda: client.update("accounts", record_id, {"bogus": 1})),
    ]
    for faults, call in failures:
        for method, path, kind in faults:
            fake.fault(method, path, kind)
        with pytest.raises(SSMError) as raised:
            call()
        texts += [str(raised.value), repr(raised.value), repr(raised.value.__cause__)]
    texts += [r.getMessage() for r in caplog.records]

    assert len(fake.issued) == 3
    assert_no_secrets("\n".join(texts), fake)


def test_keys_do_not_show_in_the_clients_attributes(make_client) -> None:
    client = make_client()
    shown = repr(vars(client)) + str(vars(client))
    assert PUBLIC_KEY not in shown and PRIVATE_KEY not in shown


def _relogin_then(client: SSMClient, fake: FakeSSM) -> None:
    fake.tokens.clear()  # the session ends; the new login meets server errors
    client.get("accounts", 1)


def test_resource_builds_a_client_from_env_vars_and_hides_the_keys(monkeypatch) -> None:
    monkeypatch.setenv("SSM_PUBLIC_KEY", PUBLIC_KEY)
    monkeypatch.setenv("SSM_PRIVATE_KEY", PRIVATE_KEY)
    seen: dict[str, Any] = {}

    @dg.asset
    def probe(ssm: SSMResource) -> None:
        seen["repr"] = repr(ssm) + str(ssm)
        with ssm.get_client() as client:
            seen["client"] = (
                client.base_url,
                client.requests_per_second,
                client.max_attempts,
                client.page_size,
                client.token_refresh_seconds,
            )
            seen["repr"] += repr(client)

    resource = SSMResource(
        base_url="http://127.0.0.1:1/api/v4",
        public_key=dg.EnvVar("SSM_PUBLIC_KEY"),
        private_key=dg.EnvVar("SSM_PRIVATE_KEY"),
        requests_per_second=13,
        max_attempts=3,
        page_size=200,
        token_refresh_seconds=900,
    )
    result = dg.materialize([probe], resources={"ssm": resource})

    assert result.success
    assert seen["client"] == ("http://127.0.0.1:1/api/v4", 13.0, 3, 200, 900.0)
    assert PUBLIC_KEY not in seen["repr"] and PRIVATE_KEY not in seen["repr"]
    assert PUBLIC_KEY not in repr(resource) and PRIVATE_KEY not in repr(resource)
