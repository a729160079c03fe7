"""The `where` filter: the parser on its own, filters through the app, and properties."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.ssm.testing import TestClient, in_process_sandbox
from sandbox.ssm.where import (
    BoolOp,
    Compare,
    FieldRef,
    In,
    Like,
    Literal,
    Not,
    WhereError,
    parse_where,
)

API = "/api/v4"


def test_parser_builds_the_expected_tree() -> None:
    tree = parse_where("typeId.id=36 AND vatNumber<>'' AND id NOT IN (101,102)")
    assert tree == BoolOp(
        "AND",
        (
            Compare("=", FieldRef("typeId", "id"), Literal(36)),
            Compare("<>", FieldRef("vatNumber", None), Literal("")),
            In(FieldRef("id", None), (101, 102), negated=True),
        ),
    )
    assert parse_where("name = 'O''Brien'") == Compare(
        "=", FieldRef("name", None), Literal("O'Brien")
    )
    assert parse_where("NOT (a=1 or b like 'x%')") == Not(
        BoolOp(
            "OR",
            (
                Compare("=", FieldRef("a", None), Literal(1)),
                Like(FieldRef("b", None), Literal("x%"), negated=False),
            ),
        )
    )
    assert parse_where("   ") is None


@pytest.mark.parametrize(
    "source",
    [
        "name = 'x",
        "name ==",
        "(a=1",
        "a=1)",
        "a = 1 AND",
        "a IN ()",
        "a NOT = 1",
        "a ~ 1",
        "a IS 1",
    ],
)
def test_parser_refuses_malformed_input(source: str) -> None:
    with pytest.raises(WhereError):
        parse_where(source)


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Four accounts, hand-made: the expected ids below are read off this table."""
    with in_process_sandbox(tmp_path_factory.mktemp("where")) as client:
        rows = [
            # id 1
            {"name": "Acme Ltd", "typeId": 1, "statusId": 2, "city": "Leeds", "vatNumber": "GB1"},
            # id 2
            {"name": "O'Brien & Sons", "typeId": 2, "statusId": 1, "city": "Cork", "vatNumber": ""},
            # id 3
            {"name": "Zeta GmbH", "typeId": 1, "statusId": 1, "city": None, "Z_Tier": 3},
            # id 4
            {"name": "acme trading", "typeId": 3, "statusId": 2, "city": "York", "Z_Tier": 1},
        ]
        for row in rows:
            answer = client.post(f"{API}/accounts", json={"branchId": 1, "salesRepId1": 2, **row})
            assert answer.status_code == 200
        client.delete(f"{API}/accounts/3")
        yield client


def ids(crm: TestClient, where: str) -> list[int]:
    answer = crm.get(f"{API}/accounts", params={"where": where})
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("typeId.id=1", [1, 3]),
        ("typeId=1", [1, 3]),
        ("TYPEID.ID = 1 and statusId.id = 1", [3]),
        ("statusId.value = 'client'", [1, 4]),
        ("name = 'O''Brien & Sons'", [2]),
        ("name LIKE 'acme%'", [1, 4]),
        ("name NOT LIKE '%acme%'", [2, 3]),
        ("name like '_eta%'", [3]),
        ("id IN (1, 4, 99)", [1, 4]),
        ("id NOT IN (1,4)", [2, 3]),
        ("vatNumber <> ''", [1]),
        ("city IS NULL", [3]),
        ("city = null", [3]),
        ("city IS NOT NULL AND (city = 'Cork' OR city = 'York')", [2, 4]),
        ("deleted = true", [3]),
        ("deleted = false AND id >= 2", [2, 4]),
        ("Z_Tier > 1", [3]),
        ("id > 1 AND id < 4 OR id = 1", [1, 2, 3]),
        ("NOT (typeId.id = 1)", [2, 4]),
        ("dateCreated > '2000-01-01 00:00:00'", [1, 2, 3, 4]),
        ("dateCreated < '2000-01-01T00:00:00Z' OR dateDeleted IS NOT NULL", [3]),
        ("dateUpdated IS NOT NULL", []),
    ],
)
def test_filters(crm: TestClient, where: str, expected: list[int]) -> None:
    assert ids(crm, where) == expected


@pytest.mark.parametrize(
    "where", ["name = 'unterminated", "colour = 'red'", "name.id = 1", "id = = 1", "(id = 1"]
)
def test_malformed_or_unknown_is_400_with_code_901(crm: TestClient, where: str) -> None:
    answer = crm.get(f"{API}/accounts", params={"where": where})
    assert answer.status_code == 400
    body = answer.json()
    assert body["statusCode"] == 400 and body["code"] == 901 and body["message"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    where=st.text(
        alphabet=st.sampled_from(list("ab'()=<>!% ,._09-ANDORLIKEINSTUnotd")), max_size=40
    )
    | st.text(max_size=30)
)
def test_any_where_gets_2xx_or_4xx(crm: TestClient, where: str) -> None:
    answer = crm.get(f"{API}/accounts", params={"where": where})
    assert 200 <= answer.status_code < 500
    if answer.status_code >= 400:
        assert answer.json()["code"] == 901


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with in_process_sandbox(tmp_path_factory.mktemp("round-trip")) as client:
        yield {"client": client, "count": 0}


def sql_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@settings(max_examples=60, deadline=None)
@given(model=st.text(min_size=1, max_size=60).filter(lambda t: "\x00" not in t))
def test_quoted_value_round_trips(products: dict[str, Any], model: str) -> None:
    client: TestClient = products["client"]
    products["count"] += 1
    ext_id = f"RT{products['count']}"
    created = client.post(f"{API}/products", json={"model": model, "extId": ext_id})
    assert created.status_code == 200
    where = f"model = {sql_quote(model)} AND extId = {sql_quote(ext_id)}"
    found = client.get(f"{API}/products", params={"where": where}).json()
    assert [(p["id"], p["model"]) for p in found] == [(created.json()["id"], model)]
