"""The `where` filter: the parser on its own, filters through the app, and properties."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.ssm.testing import TestClient, in_process_sandbox, running_sandbox
from sandbox.ssm.where import (
    BoolOp,
    Compare,
    FieldRef,
    In,
    Like,
    LikePattern,
    Literal,
    Not,
    WhereError,
    parse_where,
)

API = "/api/v4"
# A where answer slower than this means the filter is not linear (the server is blocked).
BUDGET_SECONDS = 1.5

# Numbers past int()'s 4300-digit limit, in every place a literal can stand.
huge_number_wheres = st.builds(
    lambda template, sign, digits, tail: template.format(sign + digits + tail),
    st.sampled_from(
        [
            "id = {}",
            "{} < id",
            "price >= {}",
            "model = {}",
            "Z_Tier <> {}",
            "id IN (1, {})",
            "id NOT IN ({}, 2)",
            "NOT (id = 1 OR price <= {})",
        ]
    ),
    st.sampled_from(["", "-"]),
    st.integers(min_value=4000, max_value=7000).map(lambda n: "9" * n),
    st.sampled_from(["", ".5", "e3", "e-99999", "e99999"]),
)
# LIKE patterns with many % (each a place a backtracking matcher would retry from).
like_patterns = st.lists(
    st.sampled_from(["a", "A", "_", "b", "aa", "_a", "", "%"]), min_size=1, max_size=16
).map("%".join)


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


@pytest.mark.parametrize(
    "where",
    [
        "id = " + "9" * 5000,
        "id IN (1, -" + "9" * 4301 + ")",
        "Z_Tier > " + "1" * 6000,
    ],
)
def test_a_number_too_long_to_read_is_400_with_code_901(crm: TestClient, where: str) -> None:
    answer = crm.get(f"{API}/accounts", params={"where": where})
    assert answer.status_code == 400
    assert answer.json()["code"] == 901 and "too long" in answer.json()["message"]


def test_huge_but_readable_numbers_just_compare(crm: TestClient) -> None:
    assert ids(crm, "id < " + "9" * 4000) == [1, 2, 3, 4]
    assert ids(crm, "id < 1e99999") == [1, 2, 3, 4]  # a float literal overflows to infinity
    assert ids(crm, "id > -" + "9" * 400 + ".5") == [1, 2, 3, 4]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    where=st.text(
        alphabet=st.sampled_from(list("ab'()=<>!% ,._09-ANDORLIKEINSTUnotd")), max_size=40
    )
    | st.text(max_size=30)
    | huge_number_wheres
    | st.builds("name LIKE '{}'".format, like_patterns)
)
def test_any_where_gets_2xx_or_4xx(crm: TestClient, where: str) -> None:
    answer = crm.get(f"{API}/accounts", params={"where": where})
    assert 200 <= answer.status_code < 500
    if answer.status_code >= 400:
        assert answer.json()["code"] == 901


# --- LIKE: linear time, same answers as the regex it replaced ----------------------------------


def _former_like_regex(pattern: str) -> re.Pattern[str]:
    """The backtracking translation LikePattern replaced: the oracle for its semantics."""
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | re.IGNORECASE)


# Letters whose case rules are odd (sharp s, long s, Kelvin sign, dotless/dotted i), a newline.
_LIKE_ALPHABET = list("aAbB_%\nsSkKiI.*\u00df\u1e9e\u017f\u212a\u0131\u0130")


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(alphabet=_LIKE_ALPHABET, max_size=12),
    pattern=st.text(alphabet=_LIKE_ALPHABET, max_size=8),
)
def test_like_pattern_agrees_with_the_former_regex(text: str, pattern: str) -> None:
    expected = _former_like_regex(pattern).fullmatch(text) is not None
    assert LikePattern(pattern).matches(text) is expected


def _like_oracle(text: str, pattern: str) -> bool:
    """Textbook O(n*m) wildcard matching, for ASCII letters: what LIKE should answer."""
    text, pattern = text.lower(), pattern.lower()
    reach = [True] + [False] * len(text)  # reach[j]: the pattern so far matches text[:j]
    for char in pattern:
        if char == "%":
            seen = False
            reach = [seen := seen or r for r in reach]
        else:
            reach = [False] + [reach[j] and char in ("_", text[j]) for j in range(len(text))]
    return reach[-1]


LONG_MODELS = ["a" * 255, "a" * 254 + "b", "A" * 128 + "b" * 127, "ab" * 127 + "a", "b"]


@pytest.fixture(scope="module")
def long_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A real server process, so a slow filter shows as a timeout, not a stuck test thread."""
    with running_sandbox(tmp_path_factory.mktemp("like")) as server:
        headers = {"X-Session-Key": server.login()}
        with httpx.Client(
            base_url=server.base_url, headers=headers, timeout=BUDGET_SECONDS
        ) as client:
            for model in LONG_MODELS:
                answer = client.post("/products", json={"model": model})
                assert answer.status_code == 200, answer.text
            yield client


def timed_list(client: httpx.Client, where: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = client.get("/products", params={"where": where})
    return answer, time.monotonic() - started


def test_like_with_many_percent_signs_answers_at_once(long_records: httpx.Client) -> None:
    # The audit's case: 118 s with the backtracking regex, holding the store lock throughout.
    answer, elapsed = timed_list(long_records, "model LIKE '%a%a%a%a%b'")
    assert answer.status_code == 200 and elapsed < BUDGET_SECONDS
    assert [p["model"] for p in answer.json()] == [LONG_MODELS[1], LONG_MODELS[2]]
    assert [m for m in LONG_MODELS if _like_oracle(m, "%a%a%a%a%b")] == LONG_MODELS[1:3]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(where=huge_number_wheres | st.builds("model LIKE '{}'".format, like_patterns))
def test_where_on_255_character_records_is_quick_and_never_5xx(
    long_records: httpx.Client, where: str
) -> None:
    answer, elapsed = timed_list(long_records, where)
    assert 200 <= answer.status_code < 500, answer.text
    assert elapsed < BUDGET_SECONDS
    if answer.status_code >= 400:
        assert answer.json()["code"] == 901
    elif where.startswith("model LIKE"):
        pattern = where[len("model LIKE '") : -1]
        expected = [m for m in LONG_MODELS if _like_oracle(m, pattern)]
        assert [p["model"] for p in answer.json()] == expected


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
