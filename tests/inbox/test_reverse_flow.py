"""The reverse flow end to end: reps act in the SSM sandbox (a real server process), the real
Dagster jobs run, the stand-in SDO engine writes the tiny demo company, the extract reads it
back and the push answers SSM.

One company and one sandbox serve the module (a first sync takes ~40 s); each test works on
records of its own. `_cycle` is what the sensor's `ssm_to_sage` job does followed by the part of
a sync that reads Sage's customers and contacts back and pushes them: the same assets the
15-minute sync runs, in the same order, without re-reading the untouched tables.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest

from pipelines.definitions import defs
from resources.sage import SageSourceResource
from resources.sage.writer import SageWriterResource
from resources.ssm import SSMResource
from resources.warehouse import WarehouseResource
from sandbox.sdo import faults
from tests.inbox.conftest import REP, World, _client, _contact, _cycle, _now, _run

pytestmark = pytest.mark.xdist_group("reverse")


def test_a_client_company_with_two_contacts_reaches_sage_in_one_sync(world: World) -> None:
    account = _client(world, "Harbour Lights Ltd")
    contacts = [
        _contact(world, account, "Ada", "Quayle", email="ada@harbour.example",
                 phone1="0117 496 0101"),
        _contact(world, account, "Ben", "Okafor"),
    ]  # fmt: skip

    first = _run(world, "sage_ssm_sync")

    rows = world.sage(
        "SELECT ACCOUNT_REF, NAME, ANALYSIS_2, ANALYSIS_3, COUNTRY_CODE, ADDRESS_5, E_MAIL "
        "FROM SALES_LEDGER WHERE ANALYSIS_3 = ?",
        f"SSM:{account}",
    )
    assert len(rows) == 1, rows
    code, name, rep, marker, country, postcode, email = rows[0]
    assert (code, name, country, postcode, email) == (
        "HARBOURL", "Harbour Lights Ltd", "GB", "BS1 4DJ", "office@example.co.uk",
    )  # fmt: skip
    rep_name = world.query(
        "SELECT any_value(label) FROM ssm.value_lists WHERE list_name = 'users' AND id = ?", REP
    )[0][0]
    assert rep == rep_name
    addresses = world.sage(
        "SELECT ADDRESS_REF, CONTACT_NAME, E_MAIL, NOTES FROM SALES_DEL_ADDR "
        "WHERE ACCOUNT_REF = ? AND ADDRESS_TYPE = 1 ORDER BY ADDRESS_REF",
        code,
    )
    assert [(a[1], a[2]) for a in addresses] == [
        ("Ada Quayle", "ada@harbour.example"), ("Ben Okafor", None),
    ] or [(a[1], a[2] or None) for a in addresses] == [
        ("Ada Quayle", "ada@harbour.example"), ("Ben Okafor", None),
    ]  # fmt: skip
    ssm_account = world.record("accounts", account)
    assert ssm_account["extId"] == code
    assert ssm_account["readOnly"] is True
    assert ssm_account["Z_SyncedAt"]  # marked as synchronised, as the push marks its writes
    for contact_id, (number, *_rest) in zip(contacts, addresses, strict=True):
        contact = world.record("contacts", contact_id)
        assert (contact["extId"], bool(contact["Z_SyncedAt"])) == (f"{code}/{number}", True)
    assert first["inbox/sage_customers"]["created"] == 1
    assert first["inbox/sage_contacts"]["created"] == 2

    writes = int(httpx.get(world.ssm.control_url + "/stats").json()["writes"])
    second = _run(world, "sage_ssm_sync")
    assert second["inbox/sage_customers"]["sage_writes"] == 0
    assert second["inbox/sage_contacts"]["sage_writes"] == 0
    written = {k: (v.get("created"), v.get("updated"), v.get("write_calls"), v.get("decisions"))
               for k, v in second.items() if v.get("write_calls")}  # fmt: skip
    assert int(httpx.get(world.ssm.control_url + "/stats").json()["writes"]) == writes, written
    assert len(world.sage("SELECT 1 FROM SALES_LEDGER WHERE ANALYSIS_3 = ?", f"SSM:{account}")) == 1


def test_a_prospect_syncs_both_ways_until_sage_converts_it(world: World) -> None:
    potential = world.value_id("accountStatuses", "Potential")
    account = _client(world, "Kestrel Prospects", statusId=potential)
    contact = _contact(world, account, "Cleo", "Marsh", email="cleo@kestrel.example")

    _cycle(world)
    ((code, marker, phone),) = world.sage(
        "SELECT ACCOUNT_REF, ANALYSIS_1, TELEPHONE FROM SALES_LEDGER WHERE ANALYSIS_3 = ?",
        f"SSM:{account}",
    )
    assert marker == "Prospect"
    record = world.record("accounts", account)
    assert (record["extId"], record["readOnly"]) == (code, False)
    assert world.sage("SELECT 1 FROM SALES_DEL_ADDR WHERE ACCOUNT_REF = ?", code) == []

    # Edited in Sage (the office) → SSM; edited in SSM (the rep) → Sage.
    world.sage_edit(
        "UPDATE SALES_LEDGER SET TELEPHONE = '0117 000 1111', RECORD_MODIFY_DATE = ? "
        "WHERE ACCOUNT_REF = ?",
        _now(), code,
    )  # fmt: skip
    _cycle(world)
    assert world.record("accounts", account)["phone"] == "0117 000 1111"
    world.rep("PUT", "accounts", account, website="https://kestrel.example")
    _cycle(world)
    assert world.sage("SELECT WEB_ADDRESS, TELEPHONE FROM SALES_LEDGER WHERE ACCOUNT_REF = ?",
                      code) == [("https://kestrel.example", "0117 000 1111")]  # fmt: skip
    assert world.sage("SELECT 1 FROM SALES_DEL_ADDR WHERE ACCOUNT_REF = ?", code) == []

    # Converted in Sage: a read-only Client in SSM, and only now its contact reaches Sage.
    world.sage_edit(
        "UPDATE SALES_LEDGER SET ANALYSIS_1 = 'Trade', RECORD_MODIFY_DATE = ? "
        "WHERE ACCOUNT_REF = ?",
        _now(), code,
    )  # fmt: skip
    for _ in range(2):
        _cycle(world)
    record = world.record("accounts", account)
    assert record["readOnly"] is True
    assert record["statusId"]["id"] == world.value_id("accountStatuses", "Client")
    contacts = world.sage(
        "SELECT ADDRESS_REF, CONTACT_NAME FROM SALES_DEL_ADDR WHERE ACCOUNT_REF = ? "
        "AND ADDRESS_TYPE = 1",
        code,
    )
    assert [c[1] for c in contacts] == ["Cleo Marsh"]
    assert world.record("contacts", contact)["extId"] == f"{code}/{contacts[0][0]}"
    assert len(world.sage("SELECT 1 FROM SALES_LEDGER WHERE ANALYSIS_3 = ?", f"SSM:{account}")) == 1


def _sage_contact(world: World) -> tuple[str, int, int]:
    """A contact the first sync pushed: (account code, address number, SSM id)."""
    ((ext_id, ssm_id),) = world.query(
        "SELECT ext_id, ssm_id FROM ssm.synced_contacts WHERE state = 'synced' "
        "AND ext_id NOT IN (SELECT ext_id FROM ssm.synced_contacts WHERE run_id IS NULL) "
        "ORDER BY ext_id LIMIT 1 OFFSET ?",
        _sage_contact.taken,  # type: ignore[attr-defined]
    )
    _sage_contact.taken += 1  # type: ignore[attr-defined]
    account, _, number = ext_id.partition("/")
    return account, int(number), int(ssm_id)


_sage_contact.taken = 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("newer", ["SSM", "Sage"])
def test_a_contact_edited_on_both_sides_goes_to_the_newer_edit(world: World, newer: str) -> None:
    account, number, contact = _sage_contact(world)
    sage_mail, ssm_mail = f"office-{newer}@sage.example", f"rep-{newer}@ssm.example"

    def in_sage() -> None:
        world.sage_edit(
            "UPDATE SALES_DEL_ADDR SET E_MAIL = ?, RECORD_MODIFY_DATE = ? "
            "WHERE ACCOUNT_REF = ? AND ADDRESS_REF = ?",
            sage_mail, _now(), account, number,
        )  # fmt: skip

    def in_ssm() -> None:
        world.rep("PUT", "contacts", contact, email=ssm_mail, phone2="07700 900123")

    first, second = (in_sage, in_ssm) if newer == "SSM" else (in_ssm, in_sage)
    first()
    time.sleep(1.1)  # Sage's stamps have whole seconds
    second()
    before = len(world.query("SELECT 1 FROM sync.conflicts"))
    _cycle(world)
    _cycle(world)

    winner = ssm_mail if newer == "SSM" else sage_mail
    assert world.sage(
        "SELECT E_MAIL, TELEPHONE_2 FROM SALES_DEL_ADDR WHERE ACCOUNT_REF = ? AND ADDRESS_REF = ?",
        account, number,
    ) == [(winner, "07700 900123")]  # fmt: skip
    assert world.record("contacts", contact)["email"] == winner
    conflicts = world.query(
        "SELECT field, ssm_value, sage_value, winner FROM sync.conflicts WHERE ext_id = ?",
        f"{account}/{number}",
    )
    assert conflicts == [("email", ssm_mail, sage_mail, newer)]
    assert len(world.query("SELECT 1 FROM sync.conflicts")) == before + 1


def test_a_company_without_a_country_waits_with_its_reason_until_the_rep_fixes_it(
    world: World,
) -> None:
    account = _client(world, "Nowhere Traders", countryId=None)
    _cycle(world)
    assert world.sage("SELECT 1 FROM SALES_LEDGER WHERE ANALYSIS_3 = ?", f"SSM:{account}") == []
    ((message, status),) = world.query(
        "SELECT message, status FROM sync.dead_letters WHERE resource = 'client_companies' "
        "AND ext_id = ?",
        str(account),
    )
    assert "countryId is missing" in message and status == "open"
    assert "countryId is missing" in world.record("accounts", account)["Z_SageSync"]
    calls = int(httpx.get(world.ssm.control_url + "/stats").json()["writes"])
    _cycle(world)  # nothing changed: not tried again, no echo
    assert int(httpx.get(world.ssm.control_url + "/stats").json()["writes"]) == calls

    world.rep("PUT", "accounts", account, countryId=world.value_id("countries", "gb"))
    _cycle(world)
    assert len(world.sage("SELECT 1 FROM SALES_LEDGER WHERE ANALYSIS_3 = ?", f"SSM:{account}")) == 1
    record = world.record("accounts", account)
    assert record["extId"] and record["readOnly"] and not record.get("Z_SageSync")
    assert world.query(
        "SELECT status FROM sync.dead_letters WHERE resource = 'client_companies' AND ext_id = ?",
        str(account),
    ) == [("resolved",)]


def test_hostile_input_is_written_exactly_or_refused_with_its_reason(world: World) -> None:
    name = "O'Brien & Søn 100% «Ltd» 東京"
    quoted = _client(world, name, comment="x" * 6000, address2="Rue de l'Église; DROP TABLE")
    too_long = _client(world, "L" * 75)
    _cycle(world)
    assert world.sage(
        "SELECT NAME, ADDRESS_2 FROM SALES_LEDGER WHERE ANALYSIS_3 = ?", f"SSM:{quoted}"
    ) == [(name, "Rue de l'Église; DROP TABLE")]
    assert world.sage("SELECT 1 FROM SALES_LEDGER WHERE ANALYSIS_3 = ?", f"SSM:{too_long}") == []
    reason = world.record("accounts", too_long)["Z_SageSync"]
    assert "NAME is 75 characters, Sage holds 60" in reason
    assert world.record("accounts", quoted)["readOnly"] is True


def _in_sage(world: World, account: int) -> list[tuple[Any, ...]]:
    return world.sage("SELECT ACCOUNT_REF FROM SALES_LEDGER WHERE ANALYSIS_3 = ?", f"SSM:{account}")


def _converge(world: World, account: int, runs: int = 3) -> int:
    """Cycles until SSM carries the account's Sage code; how many it took."""
    for run in range(1, runs + 1):
        _cycle(world)
        if world.record("accounts", account).get("extId"):
            return run
    return runs + 1


@pytest.mark.parametrize(
    ("operation", "code", "times"),
    [
        ("connect", 23, 8),  # user name in use, longer than one run's 5 tries
        ("connect", 24, 2),  # exclusive mode
        ("update", 48, 8),  # accounts busy
        ("update", 93, 2),  # user being edited
        ("update_then_disconnect", 91, 1),  # written, then the connection was lost
        ("update", 84, 1),  # the code was taken meanwhile: the next free one
    ],
)
def test_sdo_faults_converge_without_duplicates(
    world: World, operation: faults.Operation, code: int, times: int
) -> None:
    account = _client(world, f"Fault {operation} {code}")
    faults.inject(world.company, operation, code, times=times)
    try:
        assert _converge(world, account) <= 3
    finally:
        faults.clear(world.company)
    (ref,) = [r for (r,) in _in_sage(world, account)]
    record = world.record("accounts", account)
    assert (record["extId"], record["readOnly"]) == (ref, True)


def test_a_permanent_sdo_error_is_a_dead_letter_shown_to_the_rep(world: World) -> None:
    account = _client(world, "Refused Holdings")
    faults.inject(world.company, "update", 86, times=1)
    try:
        _cycle(world)
    finally:
        faults.clear(world.company)
    assert _in_sage(world, account) == []
    assert "SDO error 86" in world.record("accounts", account)["Z_SageSync"]
    ((message,),) = world.query(
        "SELECT message FROM sync.dead_letters WHERE ext_id = ? AND status = 'open'", str(account)
    )
    assert "86" in message
    _cycle(world)  # unchanged: not tried again
    assert _in_sage(world, account) == []

    # Sage was fixed meanwhile: the office re-queues it (job ssm_dead_letters), the next run
    # writes it.
    requeue = defs.resolve_job_def("ssm_dead_letters").execute_in_process(
        run_config={"ops": {"manage_dead_letters": {"config": {
            "action": "requeue", "entity": "client_companies", "ext_ids": [str(account)],
        }}}},
        resources={"warehouse": WarehouseResource(database=str(world.warehouse))},
        instance=world.instance,
    )  # fmt: skip
    assert requeue.success
    _cycle(world)
    assert len(_in_sage(world, account)) == 1
    assert world.record("accounts", account)["readOnly"] is True


def test_a_run_killed_between_the_sage_write_and_ssm_converges(world: World) -> None:
    account = _client(world, "Killed Midway Ltd")
    faults.inject(world.company, "update_then_exit", 0, times=1)
    killed = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "tests.inbox.test_reverse_flow", "ssm_to_sage", str(world.company),
         str(world.warehouse), world.ssm.base_url, world.ssm.public_key, world.ssm.private_key],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    faults.clear(world.company)
    assert killed.returncode == faults.KILLED_EXIT_CODE, killed.stderr[-2000:]
    assert len(_in_sage(world, account)) == 1, (  # Sage has it; SSM was never told
        world.sage("SELECT ACCOUNT_REF, ANALYSIS_3 FROM SALES_LEDGER WHERE NAME LIKE 'Killed%'"),
        killed.stdout[-3000:],
        killed.stderr[-3000:],
    )
    assert not world.record("accounts", account).get("extId")

    assert _converge(world, account) <= 2
    (ref,) = [r for (r,) in _in_sage(world, account)]
    assert world.record("accounts", account)["extId"] == ref
    assert world.query(
        "SELECT outcome FROM sync.changes WHERE resource = 'client_companies' AND ext_id = ? "
        "AND operation = 'resolve'",
        str(account),
    ) == [("ok",)]


def _reverse_job_in_this_process(argv: list[str]) -> None:
    """`python -m tests.inbox.test_reverse_flow JOB COMPANY WAREHOUSE BASE_URL PUBLIC PRIVATE`:
    a reverse job (ssm_to_sage, ssm_quotes), as a run worker would run it (killed by the
    stand-in's fault)."""
    job, company, warehouse, base_url, public, private = argv
    defs.resolve_job_def(job).execute_in_process(
        resources={
            "warehouse": WarehouseResource(database=warehouse),
            "sage": SageSourceResource(database_url=f"sqlite:///{company}"),
            "ssm": SSMResource(
                base_url=base_url, public_key=public, private_key=private, requests_per_second=200
            ),
            "sage_writer": SageWriterResource(data_path=company),
        },  # fmt: skip
        instance=dg.DagsterInstance.ephemeral(),
    )


if __name__ == "__main__":
    _reverse_job_in_this_process(sys.argv[1:])


def test_a_missing_sdo_field_waits_with_one_sentence_and_the_sync_goes_on(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = _client(world, "Setting Wrong Ltd")
    monkeypatch.setenv("SAGE_SDO_REP_FIELD", "SALES_REP")  # the seeds' name: not in this Sage
    run = _cycle(world)
    problem = run["inbox/sage_customers"]["problem"]
    assert "SALES_REP" in problem and "SAGE_SDO_REP_FIELD" in problem
    assert run["inbox/sage_customers"]["status"] == "stopped"
    assert "sage/sales_ledger" in run and "ssm/push_accounts" in run  # the one-way sync went on
    assert _in_sage(world, account) == []
    assert not world.record("accounts", account).get("Z_SageSync")  # not the rep's to fix

    monkeypatch.delenv("SAGE_SDO_REP_FIELD")
    assert _converge(world, account) == 1
