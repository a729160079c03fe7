"""SSM where filters: literals are escaped so no value can change the expression's shape."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resources.ssm import where as w


def unquote(literal: str) -> str:
    """Reference reader of one SSM string literal: '...' with '' for a quote, nothing else."""
    assert literal[0] == "'" and literal[-1] == "'" and len(literal) >= 2, literal
    inner = literal[1:-1]
    # every quote inside must be part of a doubled pair, or the literal would end early
    assert re.fullmatch(r"(?:[^']|'')*", inner, flags=re.S), literal
    return inner.replace("''", "'")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("O'Brien", "'O''Brien'"),
        ("''", "''''''"),
        ("C:\\temp\\", "'C:\\temp\\'"),  # backslashes are ordinary characters in SQL
        ("Café ☕ Zoë", "'Café ☕ Zoë'"),
        ("x' OR '1'='1", "'x'' OR ''1''=''1'"),
        ("", "''"),
        (42, "42"),
        (-7, "-7"),
        (2.5, "2.5"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (datetime(2024, 3, 1, 9, 5, 7), "'2024-03-01T09:05:07'"),
        (
            datetime(2024, 3, 1, 10, 5, 7, tzinfo=timezone(timedelta(hours=1))),
            "'2024-03-01T09:05:07'",
        ),
        (date(2024, 3, 1), "'2024-03-01T00:00:00'"),
    ],
)
def test_quote_renders_hand_checked_literals(value: object, expected: str) -> None:
    assert w.quote(value) == expected


def test_date_format_is_configurable() -> None:
    moment = datetime(2024, 3, 1, 9, 5, 7, tzinfo=UTC)
    assert w.quote(moment, date_format="%Y-%m-%d %H:%M:%S") == "'2024-03-01 09:05:07'"
    assert w.gt("dateUpdated", moment, date_format="%Y-%m-%d %H:%M:%S") == (
        "dateUpdated>'2024-03-01 09:05:07'"
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "a\x00b", b"bytes", [1]])
def test_quote_refuses_what_a_filter_cannot_hold(value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        w.quote(value)  # type: ignore[arg-type]


@given(st.text())
def test_quote_round_trips_any_text(text: str) -> None:
    if "\x00" in text:
        with pytest.raises(ValueError):
            w.quote(text)
        return
    assert unquote(w.quote(text)) == text


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00")))
def test_eq_is_always_one_field_and_one_literal(text: str) -> None:
    clause = w.eq("extId", text)
    field, _, literal = clause.partition("=")
    assert field == "extId"
    assert unquote(literal) == text


def test_helpers_build_the_documented_operators() -> None:
    assert w.eq("typeId.id", 36) == "typeId.id=36"
    assert w.ne("vatNumber", "") == "vatNumber<>''"
    assert w.ge("id", 5) == "id>=5"
    assert w.lt("id", 5) == "id<5"
    assert w.le("price", 9.5) == "price<=9.5"
    assert w.like("name", "Acme%") == "name LIKE 'Acme%'"
    assert w.in_("extId", ["A'1", "B"]) == "extId IN ('A''1','B')"
    assert w.and_(w.eq("deleted", False), w.or_(w.eq("a", 1), w.eq("b", 2))) == (
        "(deleted=false) AND ((a=1) OR (b=2))"
    )
    assert w.and_(w.eq("a", 1)) == "a=1"


@pytest.mark.parametrize("name", ["", "1abc", "a b", "a;b", "a'", "name)--", "a..b", "a.", "é"])
def test_field_names_are_validated(name: str) -> None:
    with pytest.raises(ValueError, match="field name"):
        w.eq(name, 1)


def test_empty_combinations_are_refused() -> None:
    with pytest.raises(ValueError):
        w.in_("id", [])
    with pytest.raises(ValueError):
        w.or_()


# ----------------------------------------------------------------------------- date settings


@pytest.mark.parametrize(
    "date_format",
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%d", "%d/%m/%Y"],
)
def test_a_whole_date_format_is_accepted(date_format: str) -> None:
    assert w.checked_date_format(date_format) == date_format


@pytest.mark.parametrize(
    ("date_format", "why"),
    [
        ("", "whole date"),
        ("yesterday", "whole date"),
        ("%Y-%m", "whole date"),  # no day: every day of a month would look the same
        ("%H:%M:%S", "whole date"),
        ("%Y-%m-%d %Q", "strftime"),  # no such directive: cannot be read back
    ],
)
def test_a_format_that_does_not_write_the_date_is_refused(date_format: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        w.checked_date_format(date_format)


def test_the_client_refuses_a_bad_date_format_naming_the_setting() -> None:
    from resources.ssm import SSMClient, SSMConfigurationError

    with pytest.raises(SSMConfigurationError, match="SSM_WHERE_DATE_FORMAT"):
        SSMClient("http://localhost:1/api/v4", "pub", "priv", date_literal_format="%Y")


def test_the_resource_hands_its_date_format_to_the_client() -> None:
    from resources.ssm import SSMResource

    resource = SSMResource(
        base_url="http://localhost:1/api/v4",
        public_key="pub",
        private_key="priv",
        where_date_format="%Y-%m-%d %H:%M:%S",
    )
    with resource.get_client() as client:
        assert client.date_literal_format == "%Y-%m-%d %H:%M:%S"
    assert SSMResource(
        base_url="http://localhost:1/api/v4", public_key="p", private_key="q"
    ).where_date_format == (w.DEFAULT_DATE_FORMAT)


def test_newest_change_is_the_latest_audit_date_in_utc() -> None:
    from resources.ssm.client import newest_change

    rows = [
        {"id": 1, "dateCreated": "2026-12-03T09:00:00.000Z", "dateUpdated": None},
        {
            "id": 2,
            "dateCreated": "2026-12-01T00:00:00.000Z",
            "dateUpdated": "2026-12-03T10:15:30.250Z",
        },
        # offsets are converted; a naive date is UTC, as SSM writes them
        {"id": 3, "dateCreated": "2026-12-03 11:00:00+02:00", "dateDeleted": "nonsense"},
        {"id": 4, "dateCreated": "2026-12-03 10:15:30", "dateUpdated": ""},
    ]
    assert newest_change(rows) == datetime(2026, 12, 3, 10, 15, 30, 250000, tzinfo=UTC)
    assert newest_change(rows[2:]) == datetime(2026, 12, 3, 10, 15, 30, tzinfo=UTC)
    deleted = {
        "id": 5,
        "dateCreated": "2026-12-01T00:00:00Z",
        "dateDeleted": "2026-12-04T00:00:00Z",
    }
    assert newest_change([*rows, deleted]) == datetime(2026, 12, 4, tzinfo=UTC)
    assert newest_change([]) is None
    assert newest_change([{"id": 6, "dateCreated": None}]) is None
