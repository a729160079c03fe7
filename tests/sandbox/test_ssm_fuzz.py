"""Fuzzing the sandbox with nasty client input (issue 13, item 7).

Writes (POST, PUT, bulk POST/PUT/DELETE, DELETE, a rep's create, login) with valid bodies spiked
with odd values, odd field names, odd ids and junk bodies; list calls with odd `where`, `order`,
`page` and page-size headers. Properties: the sandbox never answers 5xx, and after any accepted
write every read of the resource (the record, the list, /sandbox/state, the page) answers 200.
Deterministic (`derandomize`) and small, so it stays a few seconds of the CI run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.ssm.catalogue import RESOURCES, SERVER_FIELDS
from sandbox.ssm.testing import TestClient, in_process_sandbox

API = "/api/v4"
FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# A valid create body per resource (the module's sandbox holds account 1, product 1, order 1).
VALID: dict[str, dict[str, Any]] = {
    "accounts": {"name": "Acme", "branchId": 1, "salesRepId1": 2},
    "contacts": {"firstName": "Jo", "lastName": "Doe", "accountId": 1, "salesRepId": 2,
                 "branchId": 1},
    "opportunities": {"reference": "O-1", "branchId": 1, "salesRepId": 2, "accountId1": 1,
                      "salesProbability": 5},
    "products": {"model": "Widget"},
    "productCategories": {"descriptionEN": "Category"},
    "productFamilies": {"descriptionEN": "Family"},
    "productRates": {"productId": 1, "rateId": 1},
    "salesorders": {"reference": "Q-1", "branchId": 1, "salesRepId": 2},
    "salesordersLines": {"salesOrderId": 1, "productId": 1, "quantity": 1, "price": 2.5},
    "sales": {"accountExtId": "A1", "accountId": 1, "date": "2024-01-01", "extId": "S1",
              "salesRepExtId": "R1", "total": 10},
    "users": {"name": "Dee", "lastName": "Doe", "email": "dee@example.com"},
}  # fmt: skip
NASTY_TEXT = [
    "", " ", "\ud800", "\udfff", "a\ud83d", "\ud83d\ude00", "\x00", "１", "٣", "\u202e",
    "x" * 300, "'", "''", "%", "_", "\\", "2024-01-01", "2024-01-01 00:00:00",
    "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00", "null", "1_0", "+1", "NaN",
]  # fmt: skip
NASTY_NUMBERS = [0, 1, -1, 2**31 - 1, 2**31, -(2**31) - 1, 10**400, 2.0, 2.5, 1e308, -0.0, 5e-324]
NASTY_IDS = [
    "1",
    "2",
    "01",
    "0",
    "-1",
    "+1",
    "1_0",
    "１",
    "٣",
    " 1",
    "1.0",
    "9" * 30,
    "\ud800",
    "x",
]

texts = st.sampled_from(NASTY_TEXT) | st.text(st.characters(exclude_categories=()), max_size=12)
numbers = st.sampled_from(NASTY_NUMBERS) | st.integers() | st.floats(allow_nan=False)
scalars = st.none() | st.booleans() | numbers | texts
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3)
)
resources = st.sampled_from(sorted(RESOURCES)) | st.sampled_from(["nope", "ACCOUNTS", "Z_x"])
ids = st.sampled_from(NASTY_IDS) | texts


def field_names(resource: str) -> st.SearchStrategy[str]:
    spec = RESOURCES.get(resource)
    known = [f.name for f in spec.fields] + list(spec.aliases) if spec else []
    extra = ["Z_Tier", "Z_", "z_lower", "Z_\ud800", "nmae", *SERVER_FIELDS]
    return st.sampled_from(known + extra) | texts


@st.composite
def bodies(draw: st.DrawFn, resource: str) -> Any:
    """Mostly a valid body with a few fields spiked; sometimes any JSON value at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(values)
    spiked = draw(st.dictionaries(field_names(resource), values, max_size=3))
    return {**VALID.get(resource, {}), **spiked}


@st.composite
def writes(draw: st.DrawFn) -> tuple[str, str, Any]:
    """(method, path, body) of one write call."""
    resource = draw(resources)
    kind = draw(st.sampled_from(["create", "update", "delete", "bulk", "act-as", "login"]))
    if kind == "create":
        return "POST", f"{API}/{resource}", draw(bodies(resource))
    if kind == "update":
        return "PUT", f"{API}/{resource}/{segment(draw(ids))}", draw(bodies(resource))
    if kind == "delete":
        return "DELETE", f"{API}/{resource}/{segment(draw(ids))}", None
    if kind == "act-as":
        return "POST", f"/sandbox/act-as/{segment(draw(ids))}/{resource}", draw(bodies(resource))
    if kind == "login":
        return "POST", f"{API}/login", draw(st.dictionaries(texts, values, max_size=3) | values)
    method = draw(st.sampled_from(["POST", "PUT", "DELETE"]))
    item = st.fixed_dictionaries(
        {"guid": texts | values, "data": bodies(resource)}
        if method == "POST"
        else {"guid": texts, "id": numbers | st.sampled_from([1, 2, 3])}
        | ({"data": bodies(resource)} if method == "PUT" else {}),
    )
    return method, f"{API}/{resource}/bulk", draw(st.lists(item | values, max_size=3))


def segment(text: str) -> str:
    """A path segment as a client would send it (a lone surrogate as its UTF-8-ish bytes)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="") or "%20"


def json_text(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=True).encode()  # keeps lone surrogates as escapes


@pytest.fixture(scope="module")
def ssm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    fuzz_dir = tmp_path_factory.mktemp("fuzz")
    with in_process_sandbox(fuzz_dir, raise_server_exceptions=False) as client:
        client.post(f"{API}/accounts", json=VALID["accounts"]).raise_for_status()
        client.post(f"{API}/products", json=VALID["products"]).raise_for_status()
        client.post(f"{API}/salesorders", json=VALID["salesorders"]).raise_for_status()
        client.post(f"{API}/rates", json={"descriptionEN": "Trade"}).raise_for_status()
        yield client


def accepted_ids(method: str, path: str, answer: httpx.Response) -> list[int]:
    """The records an accepted write touched."""
    payload = answer.json()
    if path.endswith("/bulk"):
        return [r["id"] for r in payload if r.get("code") == 1]
    if method == "POST":
        return [payload["id"]] if "id" in payload else []
    return [int(path.rsplit("/", 1)[1])]


def resource_of(path: str) -> str | None:
    parts = path.strip("/").split("/")
    name = parts[3] if parts[0] == "sandbox" else parts[2]
    return next((r for r in RESOURCES if r.lower() == name.lower()), None)


@FUZZ
@given(call=writes())
def test_writes_never_answer_5xx_and_what_they_store_reads_back(
    ssm: TestClient, call: tuple[str, str, Any]
) -> None:
    method, path, body = call
    content = b"" if body is None else json_text(body)
    answer = ssm.request(
        method, path, content=content, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code < 500, answer.text
    resource = resource_of(path)
    if answer.status_code != 200 or resource is None or path.endswith("/login"):
        return
    for record_id in accepted_ids(method, path, answer):
        assert ssm.get(f"{API}/{resource}/{record_id}").status_code == 200
    assert ssm.get(f"{API}/{resource}", headers={"Count": "500"}).status_code == 200
    assert ssm.get("/sandbox/state", params={"resource": resource}).status_code == 200
    assert ssm.get("/").status_code == 200


WHERE_TOKENS = [
    "id", "name", "model", "extId", "price", "typeId", "typeId.id", "typeId.value", "salesRepId1",
    "dateCreated", "dateUpdated", "deleted", "Z_Tier", "nope", "branchId.colour", "AND", "OR",
    "NOT", "LIKE", "IN", "IS", "NULL", "true", "false", "=", "<>", "!=", ">", "<", ">=", "<=",
    "(", ")", ",", "'", "'%a_'", "'O''Brien'", "'2024-01-01 00:00:00'", "1", "-1.5", "1e999",
    "9" * 5000,
]  # fmt: skip
where_texts = st.lists(st.sampled_from(WHERE_TOKENS) | texts, max_size=8).map(" ".join)
# Header values travel as Latin-1: only those a client can send.
headers = st.fixed_dictionaries(
    {}, optional={"Count": st.sampled_from(["1", "0", "-1", "+1", "1_0", " 5 ", "501", "9" * 30])}
)


@FUZZ
@given(
    resource=resources,
    where=where_texts,
    order=st.sampled_from(["", "id", "name asc", "price desc, id", "typeId.id", "x y z"]) | texts,
    page=st.sampled_from(["0", "1", "１", "-1", "1_0"]),
    page_size=headers,
)
def test_lists_never_answer_5xx(
    ssm: TestClient, resource: str, where: str, order: str, page: str, page_size: dict[str, str]
) -> None:
    query = "&".join(
        f"{name}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
        for name, value in (("where", where), ("order", order), ("page", page))
    )
    answer = ssm.get(f"{API}/{resource}?{query}", headers=page_size)
    assert answer.status_code < 500, answer.text
    if answer.status_code == 200:
        assert isinstance(answer.json(), list)
