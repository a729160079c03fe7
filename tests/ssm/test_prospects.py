"""Prospects in the one-way push (seeds 001, 004): a Sage customer carrying the prospect marker
is an editable Potential in SSM until Sage converts it; its contacts wait for the conversion.

Fixture: tests/ssm/staging_fixture.py (CUSTnnn has contact CUSTnnn/n for n = 1..8, and every
customer has a last invoice date). Statuses are the sandbox's: Potential, Client, Lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from assets.ssm.contract import pushed
from assets.ssm.desired import build_desired
from assets.ssm.settings import (
    ProspectConversion,
    ProspectsIn,
    SdoValue,
    SyncSettings,
)
from sandbox.ssm.testing import SandboxProcess
from tests.ssm.conftest import ssm_records, ssm_writes
from tests.ssm.harness import push_all

FIRST_INVOICE = SyncSettings(prospect_conversion=ProspectConversion.FIRST_INVOICE)
SSM_ONLY = SyncSettings(prospects=ProspectsIn.SSM_ONLY)


def _sage(warehouse: Path, sql: str, *params: object) -> None:
    """An edit in Sage, as the next extract leaves it in staging."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(sql, list(params))


def _mark(warehouse: Path, account: str, value: str | None = "Prospect") -> None:
    _sage(
        warehouse,
        "UPDATE staging.customer_accounts SET analysis_1 = ? WHERE account_reference = ?",
        value,
        account,
    )


def _account(ssm: SandboxProcess, ext_id: str) -> dict[str, Any]:
    return next(a for a in ssm_records(ssm, "accounts") if a["extId"] == ext_id)


def _contact_ids(ssm: SandboxProcess) -> set[str]:
    return {c["extId"] for c in ssm_records(ssm, "contacts")}


def _desired_accounts(warehouse: Path, settings: SyncSettings) -> dict[str, tuple[str, bool]]:
    """ext_id -> (status, read_only) of ssm.desired_accounts built with `settings`."""
    with duckdb.connect(str(warehouse)) as con:
        build_desired(con, pushed("accounts"), settings)
        rows = con.execute("SELECT ext_id, status, read_only FROM ssm.desired_accounts").fetchall()
    return {ext_id: (status, read_only) for ext_id, status, read_only in rows}


# --- settings --------------------------------------------------------------------------------


def test_settings_defaults_and_the_sdo_field_of_the_marker() -> None:
    settings = SyncSettings.from_env({})
    assert settings.prospects is ProspectsIn.SAGE and settings.prospects_in_sage
    assert (settings.prospect_column, settings.prospect_marker) == ("analysis_1", "Prospect")
    assert settings.prospect_conversion is ProspectConversion.MARKER
    assert not settings.first_invoice_converts
    assert settings.prospect_status == "Potential"
    assert settings.prospect_marker_sdo == SdoValue("ANALYSIS_1", "Prospect")

    custom = SyncSettings.from_env(
        {
            "SAGE_PROSPECTS": " SSM_ONLY ",
            "SAGE_PROSPECT_MARKER": " Analysis_3 = Lead = warm ",
            "SAGE_PROSPECT_CONVERSION": "first_invoice",
            "SSM_PROSPECT_STATUS": " Lead ",
        }
    )
    assert custom.prospects is ProspectsIn.SSM_ONLY and not custom.prospects_in_sage
    assert custom.prospect_marker_sdo == SdoValue("ANALYSIS_3", "Lead = warm")
    assert custom.first_invoice_converts and custom.prospect_status == "Lead"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SAGE_PROSPECTS": "both"}, "SAGE_PROSPECTS='both' is not one of sage, ssm_only"),
        (
            {"SAGE_PROSPECT_CONVERSION": "invoice"},
            "SAGE_PROSPECT_CONVERSION='invoice' is not one of marker, first_invoice",
        ),
        (
            {"SAGE_PROSPECT_MARKER": "analysis_1"},
            "SAGE_PROSPECT_MARKER='analysis_1' is not <column>=<value>; use e.g. "
            "analysis_1=Prospect",
        ),
        (
            {"SAGE_PROSPECT_MARKER": "analysis_1= "},
            "SAGE_PROSPECT_MARKER='analysis_1= ' is not <column>=<value>",
        ),
        (
            {"SAGE_PROSPECT_MARKER": "a.b; drop=x"},
            "SAGE_PROSPECT_MARKER='a.b; drop=x' is not <column>=<value>",
        ),
        (
            {"SAGE_PROSPECT_MARKER": "analysis_2=Prospect"},
            "SAGE_PROSPECT_MARKER's column analysis_2 is also SAGE_REP_FIELD",
        ),
        (
            {"SSM_PROSPECT_STATUS": " client "},
            "SSM_PROSPECT_STATUS and SSM_CLIENT_STATUS are both 'Client'",
        ),
    ],
)
def test_settings_refuse_with_one_sentence(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        SyncSettings.from_env(env)
    assert str(refused.value).startswith(message)


def test_the_rep_column_may_hold_the_marker_only_when_prospects_stay_in_ssm() -> None:
    settings = SyncSettings.from_env(
        {"SAGE_PROSPECTS": "ssm_only", "SAGE_PROSPECT_MARKER": "analysis_2=Prospect"}
    )
    assert settings.prospect_column == settings.rep_column == "analysis_2"
    with pytest.raises(ValueError, match="SAGE_PROSPECTS='x'"):
        SyncSettings(prospects="x")  # type: ignore[arg-type]


# --- the desired state -----------------------------------------------------------------------


def test_desired_status_follows_the_marker_the_conversion_and_the_setting(
    warehouse: Path,
) -> None:
    _mark(warehouse, "CUST001", "  pROSPECT ")  # trimmed, any case
    _mark(warehouse, "CUST002")
    _mark(warehouse, "CUST003", "Trade")  # another customer type: a Client
    _sage(
        warehouse,
        "UPDATE staging.customer_accounts SET last_invoice_date = NULL "
        "WHERE account_reference = 'CUST002'",
    )
    potential, client = ("Potential", False), ("Client", True)

    desired = _desired_accounts(warehouse, SyncSettings())
    assert (desired["CUST001"], desired["CUST002"], desired["CUST003"]) == (potential,) * 2 + (
        client,
    )
    assert sum(d == client for d in desired.values()) == 10

    # first_invoice: CUST001 has one, so Sage has converted it although the marker stays.
    desired = _desired_accounts(warehouse, FIRST_INVOICE)
    assert (desired["CUST001"], desired["CUST002"]) == (client, potential)

    desired = _desired_accounts(warehouse, SSM_ONLY)
    assert set(desired.values()) == {client}

    custom = SyncSettings(prospect_column="analysis_3", prospect_marker="O'Lead")
    _sage(
        warehouse,
        "UPDATE staging.customer_accounts SET analysis_3 = 'o''lead' "
        "WHERE account_reference = 'CUST004'",
    )
    desired = _desired_accounts(warehouse, custom)
    assert [k for k, v in desired.items() if v == potential] == ["CUST004"]


# --- the push against the sandbox ------------------------------------------------------------


def test_prospect_is_pushed_editable_then_converted_by_one_update(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    """Seeds 001 and 004: a marked customer is an editable Potential without its contacts; a
    rep's edit of a field Sage did not change stays; once the marker is removed in Sage, the
    next push makes the same SSM account a read-only Client and pushes its contacts."""
    _mark(warehouse, "CUST001")
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert (reports["accounts"].created, reports["contacts"].created) == (12, 7)
    prospect = _account(sandbox, "CUST001")
    assert prospect["statusId"]["value"] == "Potential" and prospect["readOnly"] is False
    assert prospect["salesRepId1"]["id"] == 2  # the rep rule is unchanged: Alice Carter
    assert _account(sandbox, "CUST002")["statusId"]["value"] == "Client"
    assert _account(sandbox, "CUST002")["readOnly"] is True
    assert "CUST001/1" not in _contact_ids(sandbox) and "CUST002/2" in _contact_ids(sandbox)
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("SELECT ext_id, reason FROM ssm.held_contacts").fetchall() == [
            ("CUST001/1", "account is a prospect")
        ]
        assert con.execute(
            "SELECT resource, row_key, reason FROM quarantine.held_back WHERE layer = 'ssm'"
        ).fetchall() == [("contacts", "CUST001/1", "account is a prospect")]

    # A rep edits the prospect in SSM; Sage changes another field; the push sends only that one.
    edit = httpx.put(
        f"{sandbox.control_url}/act-as/2/accounts/{prospect['id']}",
        json={"website": "https://rep.example"},
        timeout=10,
    )
    edit.raise_for_status()
    _sage(
        warehouse,
        "UPDATE staging.customer_accounts SET telephone = '0113 111' "
        "WHERE account_reference = 'CUST001'",
    )
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert (reports["accounts"].updated, reports["accounts"].planned) == (1, 1)
    edited = _account(sandbox, "CUST001")
    assert (edited["phone"], edited["website"]) == ("0113 111", "https://rep.example")
    assert edited["readOnly"] is False

    # Sage converts it: the marker is removed.
    _mark(warehouse, "CUST001", None)
    writes_before = ssm_writes(sandbox)
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    accounts, contacts = reports["accounts"], reports["contacts"]
    assert (accounts.created, accounts.updated, accounts.deleted) == (0, 1, 0)
    assert (contacts.created, contacts.updated, contacts.deleted) == (1, 0, 0)
    assert ssm_writes(sandbox) - writes_before == 2  # one bulk PUT of accounts, one POST
    with duckdb.connect(str(warehouse)) as con:
        (changed,) = con.execute(
            "SELECT changed_fields FROM sync.changes WHERE resource = 'accounts' "
            "AND ext_id = 'CUST001' AND operation = 'update' ORDER BY changed_at DESC LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        assert con.execute("SELECT count(*) FROM ssm.held_contacts").fetchone() == (0,)
    assert sorted(json.loads(changed)) == ["readOnly", "statusId"]
    client = _account(sandbox, "CUST001")
    assert client["id"] == prospect["id"]  # the same account, updated
    assert client["statusId"]["value"] == "Client" and client["readOnly"] is True
    assert client["website"] == "https://rep.example"  # the rep's edit was not overwritten
    assert len(ssm_records(sandbox, "accounts")) == 12
    contact = next(c for c in ssm_records(sandbox, "contacts") if c["extId"] == "CUST001/1")
    assert contact["accountId"]["id"] == client["id"]
    refused = httpx.put(
        f"{sandbox.control_url}/act-as/2/accounts/{client['id']}",
        json={"website": "https://again.example"},
        timeout=10,
    )
    assert refused.status_code == 403  # read-only now: reps can no longer edit it

    writes_before = ssm_writes(sandbox)
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert ssm_writes(sandbox) == writes_before


def test_contact_pushed_before_its_account_became_a_prospect_is_held_not_deleted(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    push_all(warehouse, sandbox.base_url)
    before = next(c for c in ssm_records(sandbox, "contacts") if c["extId"] == "CUST002/2")
    _mark(warehouse, "CUST002")  # marked in Sage after its first push
    _sage(
        warehouse,
        "UPDATE staging.contacts SET email = 'new@customer2.example' "
        "WHERE account_reference = 'CUST002'",
    )
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    accounts, contacts = reports["accounts"], reports["contacts"]
    assert (accounts.created, accounts.updated) == (0, 1)
    assert _account(sandbox, "CUST002")["statusId"]["value"] == "Potential"
    assert _account(sandbox, "CUST002")["readOnly"] is False
    assert (contacts.planned, contacts.deleted, contacts.skipped) == (0, 0, 1)
    assert contacts.skipped_sample[0][0] == "CUST002/2"
    assert "account is a prospect" in contacts.skipped_sample[0][1]
    held = next(c for c in ssm_records(sandbox, "contacts") if c["extId"] == "CUST002/2")
    assert (held["id"], held["email"]) == (before["id"], before["email"])  # last values kept

    _mark(warehouse, "CUST002", "")  # converted: the Sage edit now reaches SSM
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert (reports["contacts"].updated, reports["contacts"].skipped) == (1, 0)
    after = next(c for c in ssm_records(sandbox, "contacts") if c["extId"] == "CUST002/2")
    assert (after["id"], after["email"]) == (before["id"], "new@customer2.example")


def test_first_invoice_converts_even_with_the_marker(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    _mark(warehouse, "CUST001")  # already invoiced (the fixture's last invoice date)
    _mark(warehouse, "CUST002")
    no_invoice = (
        "UPDATE staging.customer_accounts SET last_invoice_date = ? "
        "WHERE account_reference = 'CUST002'"
    )
    _sage(warehouse, no_invoice, None)
    push_all(warehouse, sandbox.base_url, settings=FIRST_INVOICE)
    assert _account(sandbox, "CUST001")["statusId"]["value"] == "Client"
    assert _account(sandbox, "CUST001")["readOnly"] is True
    assert _account(sandbox, "CUST002")["statusId"]["value"] == "Potential"
    assert {"CUST001/1", "CUST002/2"} & _contact_ids(sandbox) == {"CUST001/1"}

    _sage(warehouse, no_invoice, "2024-07-01")  # its first invoice; the marker stays
    reports, _, _ = push_all(warehouse, sandbox.base_url, settings=FIRST_INVOICE)
    assert (reports["accounts"].created, reports["accounts"].updated) == (0, 1)
    converted = _account(sandbox, "CUST002")
    assert converted["statusId"]["value"] == "Client" and converted["readOnly"] is True
    assert converted["Z_LastInvoiceDate"] == "2024-07-01"
    assert reports["contacts"].created == 1 and "CUST002/2" in _contact_ids(sandbox)


def test_prospects_kept_in_ssm_only_ignore_the_marker(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    _mark(warehouse, "CUST001")
    reports, _, _ = push_all(warehouse, sandbox.base_url, settings=SSM_ONLY)
    assert (reports["accounts"].created, reports["contacts"].created) == (12, 8)
    accounts = ssm_records(sandbox, "accounts")
    assert {(a["statusId"]["value"], a["readOnly"]) for a in accounts} == {("Client", True)}
    assert "CUST001/1" in _contact_ids(sandbox)
