"""The SSM sandbox's API semantics, in process (no socket): CRUD, validation, lists, bulk."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.ssm import app as sandbox_app
from sandbox.ssm.testing import TestClient, in_process_sandbox

API = "/api/v4"


@pytest.fixture
def ssm(tmp_path: Path) -> Iterator[TestClient]:
    with in_process_sandbox(tmp_path) as client:
        yield client


def account(name: str = "Acme Ltd", **extra: Any) -> dict[str, Any]:
    return {"name": name, "branchId": 1, "salesRepId1": 2, **extra}


def create(ssm: TestClient, resource: str, body: dict[str, Any]) -> int:
    answer = ssm.post(f"{API}/{resource}", json=body)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["id"])


def test_seeded_users_and_value_lists(ssm: TestClient) -> None:
    users = ssm.get(f"{API}/users").json()
    assert [(u["id"], u["name"], u["lastName"]) for u in users] == [
        (1, "Admin", "User"),
        (2, "Alice", "Carter"),
        (3, "Ben", "Hughes"),
        (4, "Chloe", "Patel"),
    ]
    assert users[1]["email"] == "alice.carter@sandbox.example"
    assert users[1]["managerId"] == {"id": 1, "description": "Admin User"}
    statuses = [s["descriptionEN"] for s in ssm.get(f"{API}/accountStatuses").json()]
    assert statuses == ["Potential", "Client", "Lost"]
    order_statuses = [s["descriptionEN"] for s in ssm.get(f"{API}/salesorderStatuses").json()]
    assert order_statuses[:5] == [
        "Quotation - draft",
        "Quotation - sent to ERP",
        "Quotation - priced",
        "Order",
        "Invoiced",
    ]
    assert [c["isoCode"] for c in ssm.get(f"{API}/currencies").json()] == ["GBP", "EUR", "USD"]
    countries = {c["iso2"]: c["id"] for c in ssm.get(f"{API}/countries").json()}
    assert countries == {"GB": 1, "IE": 2, "FR": 3, "DE": 4, "ES": 5, "US": 6}
    assert len(ssm.get(f"{API}/branches").json()) == 1


def test_create_read_update_and_logical_delete(ssm: TestClient) -> None:
    answer = ssm.post(
        f"{API}/accounts", json=account(extId="ACME01", countryId=1, Z_Region="North")
    )
    assert answer.json() == {"Message": "entity created", "id": 1}
    record = ssm.get(f"{API}/accounts/1").json()
    assert record["name"] == "Acme Ltd"
    assert record["branchId"] == {"id": 1, "value": "Main branch"}
    assert record["salesRepId1"] == {"id": 2, "value": "Alice Carter"}
    assert record["countryId"] == {"id": 1, "value": "United Kingdom"}
    assert record["Z_Region"] == "North"
    assert record["dateUpdated"] is None and record["deleted"] is False
    assert record["salesRepIdCreated"] == 1
    assert record["dateCreated"].endswith("Z") and len(record["dateCreated"]) == 24

    answer = ssm.put(f"{API}/accounts/1", json={"city": "Leeds", "statusId": 2})
    assert answer.json() == {"Message": "entity updated"}
    record = ssm.get(f"{API}/accounts/1").json()
    assert (record["name"], record["city"]) == ("Acme Ltd", "Leeds")  # partial update
    assert record["statusId"] == {"id": 2, "value": "Client"}
    assert record["dateUpdated"] is not None

    assert ssm.delete(f"{API}/accounts/1").json() == {"Message": "entity deleted"}
    listed = ssm.get(f"{API}/accounts").json()
    assert [(r["id"], r["deleted"]) for r in listed] == [(1, True)]
    assert listed[0]["dateDeleted"] is not None and listed[0]["salesRepIdDeleted"] == 1
    refused = ssm.put(f"{API}/accounts/1", json={"city": "York"})
    assert refused.status_code == 400
    assert "deleted" in refused.json()["message"]


def test_unknown_id_is_400_bad_request(ssm: TestClient) -> None:
    for answer in (
        ssm.get(f"{API}/accounts/99"),
        ssm.put(f"{API}/accounts/99", json={"name": "x"}),
        ssm.delete(f"{API}/accounts/99"),
        ssm.get(f"{API}/accounts/abc"),
    ):
        assert answer.status_code == 400
        assert answer.json() == {"statusCode": 400, "message": "Bad Request"}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"branchId": 1, "salesRepId1": 2}, "name", "required"),
        (account(address1="x" * 181), "address1", "180"),
        (account(extId="E" * 31), "extId", "30"),
        (account(nmae="typo"), "nmae", "unknown field"),
        (account(salesRepId1=99), "salesRepId1", "does not exist"),
        (account(branchId="1"), "branchId", "integer"),
        (account(dateCreated="2024-01-01"), "dateCreated", "server"),
        (account(name=""), "name", "required"),
    ],
)
def test_validation_names_the_field(
    ssm: TestClient, body: dict[str, Any], field: str, words: str
) -> None:
    answer = ssm.post(f"{API}/accounts", json=body)
    assert answer.status_code == 400
    payload = answer.json()
    assert payload["statusCode"] == 400 and payload["code"] == 400
    assert payload["field"] == field
    assert f"'{field}'" in payload["message"] and words in payload["message"]
    assert ssm.get(f"{API}/accounts").json() == []


def test_custom_fields_only_on_core_entities(ssm: TestClient) -> None:
    assert ssm.post(f"{API}/products", json={"model": "Widget", "Z_SKU": "W-1"}).status_code == 200
    answer = ssm.post(f"{API}/accountTypes", json={"descriptionEN": "Dealer", "Z_X": 1})
    assert answer.status_code == 400 and answer.json()["field"] == "Z_X"


def test_paths_are_case_insensitive(ssm: TestClient) -> None:
    order = {"reference": "Q-1", "branchId": 1, "salesRepId": 2, "statusId": 1}
    assert ssm.post(f"{API}/salesOrders", json=order).json()["id"] == 1
    assert ssm.get("/API/V4/SALESORDERS/1").json()["reference"] == "Q-1"
    line = {"salesOrderId": 1, "productId": create(ssm, "products", {"model": "Widget"})}
    line |= {"quantity": 2, "price": 9.5}
    assert ssm.post(f"{API}/salesOrdersLines", json=line).status_code == 200
    lines = ssm.get(f"{API}/salesordersLines").json()
    assert lines[0]["salesOrderId"] == {"id": 1, "value": "Q-1"}
    assert lines[0]["productId"] == {"id": 1, "value": "Widget"}


def test_paging_with_both_page_size_headers(ssm: TestClient) -> None:
    for n in range(1, 8):
        create(ssm, "products", {"model": f"P{n}"})
    assert len(ssm.get(f"{API}/products").json()) == 7  # default page holds 50
    page1 = ssm.get(f"{API}/products", params={"page": 1}, headers={"Count": "3"})
    assert [p["model"] for p in page1.json()] == ["P4", "P5", "P6"]
    assert page1.headers["X-FM-Entity-Count"] == "3"
    assert page1.headers["Count"] == "3"  # the page size applied
    page2 = ssm.get(f"{API}/products", params={"page": 2}, headers={"X-FM-Entity-Count": "3"})
    assert [p["model"] for p in page2.json()] == ["P7"]
    assert ssm.get(f"{API}/products", params={"page": 3}, headers={"Count": "3"}).json() == []
    assert ssm.get(f"{API}/products", headers={"Count": "zero"}).status_code == 400


def test_order_is_descending_unless_asc(ssm: TestClient) -> None:
    for model, price in (("B", 2.0), ("A", 3.0), ("C", 1.0)):
        create(ssm, "products", {"model": model, "price": price})
    models = lambda q: [p["model"] for p in ssm.get(f"{API}/products", params=q).json()]  # noqa: E731
    assert models({}) == ["B", "A", "C"]  # by id
    assert models({"order": "price"}) == ["A", "B", "C"]
    assert models({"order": "price asc"}) == ["C", "B", "A"]
    assert models({"order": "model DESC"}) == ["C", "B", "A"]
    bad = ssm.get(f"{API}/products", params={"order": "colour"})
    assert bad.status_code == 400 and bad.json()["code"] == 901


def test_order_by_a_foreign_key_is_by_its_id_and_field_id_is_refused(ssm: TestClient) -> None:
    # The reference documents order=<field> only; `.id` belongs to where (the client agrees).
    for n in (1, 2, 3):
        assert create(ssm, "productCategories", {"descriptionEN": f"Category {n}"}) == n
    for model, category in (("B", 2), ("A", 3), ("C", 1)):
        create(ssm, "products", {"model": model, "categoryId": category})
    listed = ssm.get(f"{API}/products", params={"order": "categoryId asc"}).json()
    assert [p["model"] for p in listed] == ["C", "B", "A"]
    dotted = ssm.get(f"{API}/products", params={"order": "categoryId.id"})
    assert dotted.status_code == 400 and dotted.json()["code"] == 901


def test_a_capped_page_size_is_echoed_in_count(tmp_path: Path) -> None:
    with in_process_sandbox(tmp_path, max_page_size=4) as ssm:
        for n in range(6):
            create(ssm, "products", {"model": f"P{n}"})
        first = ssm.get(f"{API}/products", headers={"Count": "10"})
        assert len(first.json()) == 4 and first.headers["Count"] == "4"
        assert ssm.get(f"{API}/products").headers["Count"] == "4"  # the default 50, capped


def test_a_slow_list_does_not_stall_other_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A heavy filter runs in a worker thread: the event loop keeps answering meanwhile."""
    app = sandbox_app.create_app(sandbox_app.SandboxConfig(db_path=tmp_path / "s.db", rate=0))
    compile_where = sandbox_app.compile_where

    def slow_compile(*args: Any) -> Any:
        time.sleep(1.0)  # blocking CPU-bound work, as a heavy where is
        return compile_where(*args)

    monkeypatch.setattr(sandbox_app, "compile_where", slow_compile)

    async def scenario() -> tuple[float, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            login = {"username": "sandbox-public", "password": "sandbox-private"}
            token = (await client.post(f"{API}/login", json=login)).json()["token"]
            started = time.monotonic()
            listing = asyncio.create_task(
                client.get(f"{API}/products", headers={"X-Session-Key": token})
            )
            await asyncio.sleep(0.1)
            assert (await client.get("/sandbox/health")).status_code == 200
            health_after = time.monotonic() - started
            assert (await listing).status_code == 200
            return health_after, time.monotonic() - started

    health_after, list_after = asyncio.run(scenario())
    assert list_after >= 1.0
    assert health_after < 0.6


def test_bulk_create_with_a_failing_item(ssm: TestClient) -> None:
    items = [
        {"guid": "g1", "data": {"model": "Good 1", "extId": "G1"}},
        {"guid": "g2", "data": {"extId": "NO-MODEL"}},
        {"guid": "g3", "data": {"model": "Good 2", "extId": "G2"}},
    ]
    results = ssm.post(f"{API}/products/bulk", json=items).json()
    assert results[0] == {"code": 1, "guid": "g1", "id": 1, "message": "Entity create success"}
    assert results[1]["code"] != 1 and results[1]["guid"] == "g2" and results[1]["id"] is None
    assert "'model'" in results[1]["message"]
    assert results[2] == {"code": 1, "guid": "g3", "id": 2, "message": "Entity create success"}
    assert [p["extId"] for p in ssm.get(f"{API}/products").json()] == ["G1", "G2"]

    updates = [{"guid": "u1", "id": 1, "data": {"price": 5}}, {"guid": "u2", "id": 77, "data": {}}]
    results = ssm.put(f"{API}/products/bulk", json=updates).json()
    assert results[0] == {"code": 1, "guid": "u1", "id": 1, "message": "Entity update success"}
    assert results[1]["code"] != 1 and results[1]["id"] == 77
    assert ssm.get(f"{API}/products/1").json()["price"] == 5

    results = ssm.request("DELETE", f"{API}/products/bulk", json=[{"guid": "d1", "id": 2}]).json()
    assert results == [{"code": 1, "guid": "d1", "id": 2, "message": "Entity delete success"}]
    assert ssm.get(f"{API}/products/2").json()["deleted"] is True


def test_a_bulk_item_needs_a_text_guid(ssm: TestClient) -> None:
    items = [
        {"guid": 5, "data": {"model": "A"}},
        {"data": {"model": "B"}},
        {"guid": "", "data": {"model": "C"}},
        {"guid": "g4", "data": {"model": "D"}},
    ]
    results = ssm.post(f"{API}/products/bulk", json=items).json()
    refusal = {"code": 400, "id": None, "message": "each bulk item needs a text 'guid'"}
    assert results[:3] == [
        {**refusal, "guid": 5, "field": "guid"},
        {**refusal, "guid": None, "field": "guid"},
        {**refusal, "guid": "", "field": "guid"},
    ]
    assert results[3] == {"code": 1, "guid": "g4", "id": 1, "message": "Entity create success"}
    assert [p["model"] for p in ssm.get(f"{API}/products").json()] == ["D"]


@pytest.mark.parametrize(
    ("method", "resource", "limit"),
    [
        ("POST", "products", 100),
        ("PUT", "products", 100),
        ("POST", "accounts", 200),
        ("PUT", "contacts", 200),
        ("DELETE", "accounts", 120),
    ],
)
def test_bulk_batch_limits(ssm: TestClient, method: str, resource: str, limit: int) -> None:
    def item(n: int) -> dict[str, Any]:
        return (
            {"guid": str(n), "id": n, "data": {}}
            if method != "POST"
            else {"guid": str(n), "data": {}}
        )

    too_many = ssm.request(
        method, f"{API}/{resource}/bulk", json=[item(n) for n in range(limit + 1)]
    )
    assert too_many.status_code == 400
    assert str(limit) in too_many.json()["message"]
    at_limit = ssm.request(method, f"{API}/{resource}/bulk", json=[item(n) for n in range(limit)])
    assert at_limit.status_code == 200 and len(at_limit.json()) == limit


def test_read_only_refuses_a_rep_but_not_the_integration(ssm: TestClient) -> None:
    record_id = create(ssm, "accounts", account(readOnly=True))
    assert ssm.put(f"{API}/accounts/{record_id}", json={"city": "Hull"}).status_code == 200
    rep_edit = ssm.put(f"/sandbox/act-as/2/accounts/{record_id}", json={"city": "York"})
    assert rep_edit.status_code == 403 and "read-only" in rep_edit.json()["message"]
    assert ssm.delete(f"/sandbox/act-as/2/accounts/{record_id}").status_code == 403
    assert ssm.get(f"{API}/accounts/{record_id}").json()["city"] == "Hull"

    editable = create(ssm, "accounts", account("Prospect Co"))
    assert (
        ssm.put(f"/sandbox/act-as/3/accounts/{editable}", json={"city": "York"}).status_code == 200
    )
    record = ssm.get(f"{API}/accounts/{editable}").json()
    assert (record["city"], record["salesRepIdUpdated"]) == ("York", 3)
    assert (
        ssm.put(f"/sandbox/act-as/3/accounts/{editable}", json={"readOnly": True}).status_code
        == 403
    )

    created = ssm.post("/sandbox/act-as/4/accounts", json=account("Rep Lead", statusId=2))
    assert created.status_code == 200
    assert ssm.get(f"{API}/accounts/{created.json()['id']}").json()["salesRepIdCreated"] == 4


def test_login_and_session_checks(ssm: TestClient) -> None:
    assert ssm.get(f"{API}/accounts", headers={"X-Session-Key": "nope"}).status_code == 401
    wrong = ssm.post(f"{API}/login", json={"username": "sandbox-public", "password": "x"})
    assert wrong.status_code == 401 and wrong.json()["message"] == "Unauthorized"
    assert ssm.post("/sandbox/expire-sessions").json()["expired"] == 1
    assert ssm.get(f"{API}/accounts").status_code == 401
    token = ssm.post(
        f"{API}/login", json={"publicKey": "sandbox-public", "privateKey": "sandbox-private"}
    ).json()["token"]
    assert ssm.get(f"{API}/accounts", headers={"X-Session-Key": token}).status_code == 200


def test_state_reset_and_stats(ssm: TestClient) -> None:
    create(ssm, "products", {"model": "Widget"})
    ssm.put(f"{API}/products/1", json={"price": 2})
    ssm.request("DELETE", f"{API}/products/bulk", json=[{"guid": "a", "id": 1}])
    stats = ssm.get("/sandbox/stats").json()
    assert stats["requests"]["POST /products"] == 1
    assert stats["requests"]["PUT /products/{id}"] == 1
    assert stats["requests"]["DELETE /products/bulk"] == 1
    assert stats["writes"] == 3  # login is not a write
    assert stats["bulk_items"] == {"DELETE /products/bulk": 1}
    assert len(ssm.get("/sandbox/state", params={"resource": "products"}).json()["products"]) == 1
    ssm.post("/sandbox/reset")
    assert ssm.get(f"{API}/products").json() == []
    assert len(ssm.get(f"{API}/users").json()) == 4


def test_queued_lost_answer_commits_the_write(ssm: TestClient) -> None:
    ssm.put("/sandbox/faults", json={"lost_answer_mode": "504", "queue": ["lost_answer"]})
    answer = ssm.post(f"{API}/products", json={"model": "Ghost"})
    assert answer.status_code == 504
    assert [p["model"] for p in ssm.get(f"{API}/products").json()] == ["Ghost"]
    assert ssm.get("/sandbox/stats").json()["faults"] == {"lost_answer": 1}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"{API}/products"),
        ("POST", f"{API}/products/bulk"),
        ("PUT", f"{API}/products/bulk"),
        ("PUT", f"{API}/products/1"),
        ("PUT", "/sandbox/faults"),
        ("PUT", "/sandbox/rate-limit"),
        ("POST", "/sandbox/act-as/2/products"),
    ],
)
def test_a_deeply_nested_body_is_400(ssm: TestClient, method: str, path: str) -> None:
    create(ssm, "products", {"model": "Widget"})
    for body in ("[" * 100_000, '{"model": "x", "Z_Deep": ' + "[" * 40 + "]" * 40 + "}"):
        answer = ssm.request(
            method, path, content=body.encode(), headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400, answer.text
        assert "nested" in answer.json()["message"]
    assert [p["model"] for p in ssm.get(f"{API}/products").json()] == ["Widget"]


def test_bad_fault_settings_are_refused(ssm: TestClient) -> None:
    assert ssm.put("/sandbox/faults", json={"5xx": 0.7, "408": 0.5}).status_code == 400
    assert ssm.put("/sandbox/faults", json={"teapot": 1}).status_code == 400
    assert ssm.put("/sandbox/faults", json={"queue": ["meteor"]}).status_code == 400


@pytest.mark.parametrize("raw", ['{"model": NaN}', '{"model": "x", "price": 1e999}', "{", ""])
def test_bodies_that_are_not_json_are_400(ssm: TestClient, raw: str) -> None:
    answer = ssm.post(
        f"{API}/products", content=raw.encode(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["statusCode"] == 400
    assert ssm.get(f"{API}/products").json() == []


# --- issue 13, item 7: client input never answers 500 ----------------------------------------


@pytest.fixture
def answering(tmp_path: Path) -> Iterator[TestClient]:
    """A sandbox whose server errors come back as 500 answers, not exceptions in the test."""
    with in_process_sandbox(tmp_path, raise_server_exceptions=False) as client:
        yield client


def raw_json(ssm: TestClient, method: str, path: str, text: str) -> httpx.Response:
    """Send JSON text as written: `"\\ud800"` stays a lone surrogate escape."""
    return ssm.request(
        method, path, content=text.encode(), headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize(
    ("username", "password"),
    [("sandbox-públic", "sandbox-private"), ("sandbox-public", "pässwörd"), ("ключ", "秘密")],
)
def test_a_non_ascii_login_is_401(answering: TestClient, username: str, password: str) -> None:
    answer = answering.post(f"{API}/login", json={"username": username, "password": password})
    assert answer.status_code == 401
    assert answer.json() == {"statusCode": 401, "message": "Unauthorized"}


def test_a_login_with_a_lone_surrogate_is_401(answering: TestClient) -> None:
    answer = raw_json(answering, "POST", f"{API}/login", '{"username": "\\ud800", "password": "x"}')
    assert answer.status_code == 401
    assert answer.json() == {"statusCode": 401, "message": "Unauthorized"}


def test_non_ascii_keys_log_in(tmp_path: Path) -> None:
    with in_process_sandbox(tmp_path, public_key="clé", private_key="secrèt") as ssm:
        answer = ssm.post(f"{API}/login", json={"username": "clé", "password": "secrèt"})
        assert answer.status_code == 200 and answer.json()["token"]


@pytest.mark.parametrize(
    ("method", "path", "body", "message", "field"),
    [
        ("POST", "/products", '{"model": "\\ud800"}', "field 'model'", "model"),
        ("PUT", "/products/1", '{"description": "ok \\ud83d"}', "field 'description'", "description"),
        (
            "POST",
            "/accounts",
            '{"name": "Acme", "branchId": 1, "salesRepId1": 2, "Z_Region": "\\udfff"}',
            "field 'Z_Region'",
            "Z_Region",
        ),
        ("POST", "/products", '{"model": "x", "Z_\\ud800": 1}', "field name 'Z_\\ud800'", "Z_\\ud800"),
        (
            "POST",
            "/products/bulk",
            '[{"guid": "g1", "data": {"model": "Fine"}}, {"guid": "g2", "data": {"model": "\\ud800"}}]',
            "field 'model' of bulk item 1",
            "model",
        ),
        (
            "PUT",
            "/products/bulk",
            '[{"guid": "g1", "id": 1, "data": {"extId": "\\udc00"}}]',
            "field 'extId' of bulk item 0",
            "extId",
        ),
        ("POST", "/products/bulk", '[{"guid": "\\ud800", "data": {"model": "x"}}]', "field 'guid' of bulk item 0", "guid"),
    ],
)  # fmt: skip
def test_invalid_unicode_is_refused_at_write_time(
    answering: TestClient, method: str, path: str, body: str, message: str, field: str
) -> None:
    """A lone surrogate stored made every later read a 500 (UTF-8 cannot encode it)."""
    create(answering, "products", {"model": "Widget", "extId": "W1"})
    answer = raw_json(answering, method, API + path, body)
    assert answer.status_code == 400
    payload = answer.json()
    assert (payload["statusCode"], payload["code"], payload["field"]) == (400, 400, field)
    assert payload["message"].startswith(message + " is not valid Unicode: it holds a lone")
    # nothing stored, and every read still answers
    products = answering.get(f"{API}/products").json()
    assert [(p["model"], p["extId"], p["description"]) for p in products] == [
        ("Widget", "W1", None)
    ]
    assert answering.get(f"{API}/accounts").json() == []
    assert answering.get("/sandbox/state").status_code == 200
    assert answering.get("/").status_code == 200


def test_invalid_unicode_is_refused_to_a_rep_too(answering: TestClient) -> None:
    answer = raw_json(answering, "POST", "/sandbox/act-as/2/products", '{"model": "\\ud800"}')
    assert answer.status_code == 400 and answer.json()["field"] == "model"
    assert answering.get(f"{API}/products").json() == []


def test_a_surrogate_pair_is_valid_unicode(answering: TestClient) -> None:
    """Only lone surrogates are refused: an escaped pair is one character (U+1F600)."""
    record_id = int(
        raw_json(answering, "POST", f"{API}/products", '{"model": "\\ud83d\\ude00"}').json()["id"]
    )
    assert answering.get(f"{API}/products/{record_id}").json()["model"] == "\U0001f600"
    assert "\U0001f600" in answering.get("/").text


@pytest.mark.parametrize(
    "segment", ["1_0", "+1", "１", "１０", "٣", " 1", "1 ", "1.0", "1e1", "0x1", "0", "-1", "00"]
)
def test_a_path_id_is_plain_positive_ascii_digits(answering: TestClient, segment: str) -> None:
    """int() takes "1_0" (10), "+1", " 1" and other scripts' digits: the API answers 400."""
    for n in range(1, 11):
        create(answering, "products", {"model": f"P{n}"})
    for method in ("GET", "PUT", "DELETE"):
        body = {"price": 1} if method == "PUT" else None
        answer = answering.request(method, f"{API}/products/{segment}", json=body)
        assert answer.status_code == 400, (method, answer.text)
        assert answer.json() == {"statusCode": 400, "message": "Bad Request"}
    assert answering.get(f"{API}/products/10").json()["model"] == "P10"
    assert answering.get(f"{API}/products/01").json()["model"] == "P1"  # plain digits still
    listed = answering.get(f"{API}/products").json()
    assert [(p["price"], p["deleted"]) for p in listed] == [(None, False)] * 10


@pytest.mark.parametrize("segment", ["+2", "２", "2_0"])
def test_act_as_ids_are_plain_digits(ssm: TestClient, segment: str) -> None:
    answer = ssm.post(f"/sandbox/act-as/{segment}/products", json={"model": "Widget"})
    assert answer.status_code == 400
    assert ssm.get(f"{API}/products").json() == []


@pytest.mark.parametrize(
    ("params", "headers", "field"),
    [
        ({"page": "１"}, {}, "page"),
        ({"page": "+0"}, {}, "page"),
        ({"page": "-1"}, {}, "page"),
        ({}, {"Count": "1_0"}, None),
        ({}, {"Count": "+5"}, None),
    ],
)
def test_page_and_page_size_are_plain_digits(
    ssm: TestClient, params: dict[str, str], headers: dict[str, str], field: str | None
) -> None:
    answer = ssm.get(f"{API}/products", params=params, headers=headers)
    assert answer.status_code == 400
    assert answer.json().get("field") == field


@pytest.mark.parametrize(
    ("resource", "body", "field", "message"),
    [
        # booleans are true/false only (0/1 were taken)
        ("products", {"model": "W", "notAvailable": 1}, "notAvailable", "must be true or false"),
        (
            "accounts",
            account(public=0),
            "public",
            "must be true or false",
        ),
        # integers are not booleans, and fit int32 (the OpenAPI's format)
        (
            "opportunities",
            {"reference": "O", "branchId": 1, "salesRepId": 2, "accountId1": 1, "salesProbability": True},
            "salesProbability",
            "must be an integer",
        ),
        (
            "salesordersLines",
            {"salesOrderId": 1, "productId": 1, "quantity": 2**31, "price": 1.5},
            "quantity",
            "must be between -2147483648 and 2147483647",
        ),
        ("salesorders", {"reference": "Q", "branchId": 1, "salesRepId": 2, "number": 2.5}, "number", "must be an integer"),
        ("accounts", account(typeId=2**31), "typeId", "must be between -2147483648 and 2147483647"),
        # numbers fit a double
        ("products", {"model": "W", "price": 10**400}, "price", "is too large a number"),
        # text is text
        ("accounts", account(name=5), "name", "must be a string"),
        ("products", {"model": "W", "extId": 123}, "extId", "must be a string"),
        # custom fields hold plain values; branchVisibility is the OpenAPI's array
        ("accounts", account(Z_Region={"a": 1}), "Z_Region", "must be a text, number, true/false or null"),
        ("products", {"model": "W", "Z_Big": 10**400}, "Z_Big", "is too large a number"),
        ("accountTypes", {"descriptionEN": "Dealer", "branchVisibility": 5}, "branchVisibility", "must be an array"),
        # required and non-empty
        ("accounts", account(name=""), "name", "is required"),
        ("users", {"name": "Dee", "lastName": "Doe", "email": ""}, "email", "is required"),
        ("productCategories", {"descriptionEN": None}, "descriptionEN", "is required"),
        # a date past datetime's range once in UTC (was a 500)
        ("accounts", account(dateGeocoded="9999-12-31T23:00:00-05:00"), "dateGeocoded", "must be an ISO 8601"),
    ],
)  # fmt: skip
def test_field_types_follow_the_vendor_openapi(
    answering: TestClient, resource: str, body: dict[str, Any], field: str, message: str
) -> None:
    create(answering, "accounts", account("Parent"))
    create(answering, "products", {"model": "Parent product"})
    create(answering, "salesorders", {"reference": "Q-0", "branchId": 1, "salesRepId": 2})
    before = answering.get("/sandbox/state").json()
    answer = answering.post(f"{API}/{resource}", json=body)
    assert answer.status_code == 400
    payload = answer.json()
    assert (payload["statusCode"], payload["code"], payload["field"]) == (400, 400, field)
    assert payload["message"].startswith(f"field '{field}' {message}")
    assert answering.get("/sandbox/state").json() == before


def test_an_update_that_clears_a_required_field_is_refused(ssm: TestClient) -> None:
    record_id = create(ssm, "accounts", account())
    for value in ("", None):
        answer = ssm.put(f"{API}/accounts/{record_id}", json={"name": value})
        assert answer.status_code == 400
        assert answer.json()["message"] == "field 'name' is required and cannot be cleared"
    assert ssm.get(f"{API}/accounts/{record_id}").json()["name"] == "Acme Ltd"


def test_integer_valued_numbers_are_integers(ssm: TestClient) -> None:
    """2.0 is an integer (a JavaScript server cannot tell it from 2); it is stored as 2."""
    order = {"reference": "Q-1", "branchId": 1.0, "salesRepId": 2, "number": 17.0, "year": 2024}
    record = ssm.get(f"{API}/salesorders/{create(ssm, 'salesorders', order)}").json()
    assert (record["number"], record["branchId"]["id"]) == (17, 1)
    assert isinstance(record["number"], int)


def test_a_body_that_stops_short_is_408(tmp_path: Path) -> None:
    """A body shorter than its Content-Length is waited for read_timeout, then answered 408
    with the connection closed; the server answers other calls meanwhile."""
    app = sandbox_app.create_app(
        sandbox_app.SandboxConfig(db_path=tmp_path / "s.db", rate=0, read_timeout=0.5)
    )

    async def stalled_body() -> Any:
        yield b'{"model": '
        await asyncio.Event().wait()  # the rest never comes

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            login = {"username": "sandbox-public", "password": "sandbox-private"}
            token = (await client.post(f"{API}/login", json=login)).json()["token"]
            stalled = asyncio.create_task(
                client.post(
                    f"{API}/products", content=stalled_body(), headers={"X-Session-Key": token}
                )
            )
            health = await client.get("/sandbox/health")
            return health, await stalled

    health, stalled = asyncio.run(scenario())
    assert health.json() == {"status": "ok"}
    assert stalled.status_code == 408
    assert stalled.json() == {"statusCode": 408, "message": "Request Timeout"}
    assert stalled.headers["connection"] == "close"
