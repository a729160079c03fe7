"""The stand-in SDO engine on a tiny demo company: the object model's shapes, SDO's validation
codes, each fault, contact address numbering, and written rows read back by the extract."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from resources.sage_schema import table_columns
from sandbox.sdo import SDOEngine, com_error, faults
from sandbox.sdo.errors import RPC_E_DISCONNECTED
from tests.assets.test_sage_extract import figures, materialize, query


def rows(company: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    con = sqlite3.connect(company)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def connect(company: Path | str, user: str = "SSMSYNC") -> tuple[SDOEngine, Any]:
    engine = SDOEngine()
    workspace = engine.Workspaces.Add("test")
    assert workspace.Connect(str(company), user, "", "test"), engine.LastError.Text
    return engine, workspace


def new_customer(workspace: Any, ref: str, **values: object) -> Any:
    record = workspace.CreateObject("SalesRecord")
    assert record.AddNew()
    record.Fields.Item("ACCOUNT_REF").Value = ref
    record.Fields.Item("NAME").Value = values.pop("NAME", f"{ref} Ltd")
    for name, value in values.items():
        record.Fields.Item(name).Value = value
    return record


def first_ref(company: Path) -> str:
    return rows(company, 'SELECT min(ACCOUNT_REF) FROM "SALES_LEDGER"')[0][0]


# -- shapes -------------------------------------------------------------------------------------


def test_engine_workspaces_and_last_error_are_shaped_like_the_typelib(company: Path) -> None:
    engine = SDOEngine()
    assert (engine.LastError.Code, engine.LastError.Text) == (0, "")
    first = engine.Workspaces.Add("one")
    engine.Workspaces.Add("two")
    assert engine.Workspaces.Count == 2
    assert engine.Workspaces.Item("two").Name == "two"
    engine.Workspaces.Remove("one")
    assert engine.Workspaces.Count == 1
    assert first.Connect(str(company.parent), "SSMSYNC", "", "one")  # the ACCDATA-style folder
    assert first.Version == "32.0"
    assert {o.Name for o in first.DataObjects} >= {"SalesRecord", "CustomerAddress", "Customer"}
    first.Disconnect()


def test_sales_record_fields_are_the_ledger_columns_with_sdo_spellings(company: Path) -> None:
    _engine, workspace = connect(company)
    fields = workspace.CreateObject("SalesRecord").Fields
    assert fields.Count == len(table_columns("SALES_LEDGER"))
    names = [f.Name for f in fields]
    assert "PRICE_LIST_REF" in names and "PRICING_REF" not in names
    name = fields.Item("NAME")
    assert (name.Name, name.Length, name.Type, name.State) == ("NAME", 60, 12, 1)
    assert fields.Item("ACCOUNT_REF").Length == 8 and fields.Item("ACCOUNT_REF").State == 1
    assert fields.Item("BALANCE").State == 3 and fields.Item("BALANCE").Type == 8
    assert fields.Item("CURRENCY").State == 2
    assert fields.Item(0).Name == "ACCOUNT_REF"
    with pytest.raises(com_error):
        fields.Item("SALES_REP")  # unconfirmed in Sage: the stand-in does not have it
    workspace.Disconnect()


def test_cursor_walks_every_customer_in_key_order_and_find_is_exact_or_partial(
    company: Path,
) -> None:
    _engine, workspace = connect(company)
    record = workspace.CreateObject("SalesRecord")
    seen = []
    assert record.MoveFirst()
    while not record.IsEOF():
        seen.append(record.Fields.Item("ACCOUNT_REF").Value)
        record.MoveNext()
    expected = [r[0] for r in rows(company, 'SELECT ACCOUNT_REF FROM "SALES_LEDGER" ORDER BY 1')]
    assert seen == expected and record.Count == len(expected)
    assert record.MoveLast() and record.Fields.Item("ACCOUNT_REF").Value == expected[-1]
    assert record.MovePrev() and record.Fields.Item("ACCOUNT_REF").Value == expected[-2]

    record.Fields.Item("ACCOUNT_REF").Value = expected[3].lower()  # Sage's index ignores case
    assert record.Find(False) and record.Fields.Item("ACCOUNT_REF").Value == expected[3]
    name = rows(company, 'SELECT NAME FROM "SALES_LEDGER" WHERE ACCOUNT_REF = ?', (expected[3],))
    assert record.Fields.Item("NAME").Value == name[0][0]
    record.Fields.Item("ACCOUNT_REF").Value = expected[3][:3]
    assert record.Find(True) and record.Fields.Item("ACCOUNT_REF").Value.startswith(expected[3][:3])
    record.Fields.Item("ACCOUNT_REF").Value = "ZZZNONE"
    assert not record.Find(False) and not record.Find(True)
    workspace.Disconnect()


# -- connect ------------------------------------------------------------------------------------


def test_connect_refuses_an_empty_user_a_bad_path_and_a_user_already_logged_in(
    company: Path, tmp_path: Path
) -> None:
    engine = SDOEngine()
    workspace = engine.Workspaces.Add("w")
    assert not workspace.Connect(str(company), "", "", "w") and engine.LastError.Code == 21
    assert not workspace.Connect(str(tmp_path / "nowhere"), "A", "", "w")
    assert engine.LastError.Code == 25

    _first_engine, first = connect(company, "SSMSYNC")
    assert not workspace.Connect(str(company), "ssmsync", "", "other-unique")
    assert (engine.LastError.Code, engine.LastError.Text) == (23, "Username is already in use")
    first.Disconnect()
    assert workspace.Connect(str(company), "ssmsync", "", "w")
    workspace.Disconnect()


def test_a_login_left_by_a_dead_process_is_cleared(company: Path) -> None:
    _engine, workspace = connect(company)
    workspace.Disconnect()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],  # noqa: S603
                          capture_output=True, text=True, check=True)  # fmt: skip
    con = sqlite3.connect(company)
    con.execute(
        "INSERT INTO _SDO_SESSIONS VALUES ('stale', 'SSMSYNC', 'x', ?, ?, '')",
        (socket.gethostname(), int(dead.stdout)),
    )
    con.commit()
    con.close()
    _engine, again = connect(company)
    again.Disconnect()


# -- writing customers ----------------------------------------------------------------------------


def test_a_new_customer_is_written_as_the_generator_writes_a_fresh_record(company: Path) -> None:
    engine, workspace = connect(company)
    record = new_customer(workspace, "NEWCU001", ADDRESS_1="1 High Street", ADDRESS_3="Leeds",
                          ANALYSIS_2="Jane Smith", PRICE_LIST_REF="TRADE", CURRENCY=1)  # fmt: skip
    assert record.Update(), engine.LastError.Text
    assert record.Fields.Item("ACCOUNT_REF").Value == "NEWCU001"  # positioned on the new row
    row = dict(
        rows(company, 'SELECT * FROM "SALES_LEDGER" WHERE ACCOUNT_REF = ?', ("NEWCU001",))[0]
    )
    assert row["PRICING_REF"] == "TRADE" and row["CURRENCY"] == 2  # SDO 0-based, ODBC 1-based
    assert (row["BALANCE"], row["RECORD_DELETED"], row["TERMS_AGREED"]) == (0.0, 0, 1)
    assert (row["C_ADDRESS_1"], row["C_ADDRESS_2"]) == ("1 High Street", "Leeds")
    assert row["ADDRESS_2"] == "" and row["DEPT_NAME"] == "Default"
    assert row["RECORD_CREATE_DATE"] == row["RECORD_MODIFY_DATE"]
    assert len(row["RECORD_CREATE_DATE"]) == 19 and row["RECORD_CREATE_DATE"][10] == " "
    workspace.Disconnect()


def test_edit_changes_only_what_was_set_and_the_modify_date(company: Path) -> None:
    engine, workspace = connect(company)
    ref = first_ref(company)
    before = dict(rows(company, 'SELECT * FROM "SALES_LEDGER" WHERE ACCOUNT_REF = ?', (ref,))[0])
    record = workspace.CreateObject("SalesRecord")
    record.Fields.Item("ACCOUNT_REF").Value = ref
    assert record.Find(False) and record.Edit()
    record.Fields.Item("TELEPHONE").Value = "0113 000 0000"
    assert record.Update(), engine.LastError.Text
    after = dict(rows(company, 'SELECT * FROM "SALES_LEDGER" WHERE ACCOUNT_REF = ?', (ref,))[0])
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"TELEPHONE", "RECORD_MODIFY_DATE"}
    workspace.Disconnect()


@pytest.mark.parametrize(
    ("ref", "values", "code"),
    [
        ("NEW CU1", {}, 82),
        ("NEW-CU1", {}, 86),
        ("newcu001", {}, 86),  # lower case is refused, never upper-cased
        ("", {}, 63),
        ("NEWCU0012", {}, 18),  # longer than ACCOUNT_REF's 8
        ("NEWCU001", {"ADDRESS_1": "x" * 61}, 83),
        ("NEWCU001", {"NAME": "x" * 61}, 18),
        ("NEWCU001", {"NAME": ""}, 18),
        ("NEWCU001", {"CREDIT_LIMIT": "lots"}, 18),
        ("NEWCU001", {"BALANCE": 10.0}, 19),
    ],
)
def test_update_refuses_bad_data_with_sdo_codes_and_writes_nothing(
    company: Path, ref: str, values: dict[str, object], code: int
) -> None:
    engine, workspace = connect(company)
    count = rows(company, 'SELECT count(*) FROM "SALES_LEDGER"')[0][0]
    record = new_customer(workspace, ref, **values)
    assert record.Update() is False
    assert engine.LastError.Code == code and engine.LastError.Text
    assert rows(company, 'SELECT count(*) FROM "SALES_LEDGER"')[0][0] == count
    workspace.Disconnect()


def test_an_existing_account_ref_is_84_and_update_without_addnew_is_27(company: Path) -> None:
    engine, workspace = connect(company)
    assert new_customer(workspace, first_ref(company)).Update() is False
    assert engine.LastError.Code == 84
    record = workspace.CreateObject("SalesRecord")
    assert record.MoveFirst()
    record.Fields.Item("NAME").Value = "Not in edit mode"
    assert record.Update() is False and engine.LastError.Code == 27
    workspace.Disconnect()


# -- contact addresses ----------------------------------------------------------------------------


def test_a_new_contact_address_takes_the_next_number_of_its_account(company: Path) -> None:
    engine, workspace = connect(company)
    ref = first_ref(company)
    highest = rows(company, 'SELECT max(ADDRESS_REF) FROM "SALES_DEL_ADDR" WHERE ACCOUNT_REF = ?',
                   (ref,))[0][0]  # fmt: skip
    customer = workspace.CreateCustomer()
    assert customer.Load(ref) and customer.Reference == ref
    address = workspace.CreateCustomerAddress()
    with pytest.raises(com_error):
        address.Customer = ref  # an IDispatch property takes the Customer object
    address.Customer = customer
    address.AddressType = 1
    address.Contact = address.Description = "Jane Doe"
    address.Role, address.EMail, address.Notes = "Buyer", "jane@example.com", "[ssm:42]"
    assert address.AddressNumber == 0
    assert address.Update(), engine.LastError.Text
    assert address.AddressNumber == highest + 1
    row = dict(rows(company, 'SELECT * FROM "SALES_DEL_ADDR" WHERE ACCOUNT_REF = ? AND ADDRESS_REF = ?',
                    (ref, highest + 1))[0])  # fmt: skip
    company_row = rows(company, 'SELECT * FROM "SALES_LEDGER" WHERE ACCOUNT_REF = ?', (ref,))[0]
    assert row["REFERENCE"] == f"{ref:<8}{highest + 1:04d}"
    assert (row["ADDRESS_TYPE"], row["ADDRESS_TYPE_NAME"]) == (1, "Contact")
    assert (row["CONTACT_NAME"], row["CONTACT_ROLE"], row["NOTES"]) == (
        "Jane Doe",
        "Buyer",
        "[ssm:42]",
    )
    assert (row["NAME"], row["COUNTRY_CODE"]) == (company_row["NAME"], company_row["COUNTRY_CODE"])
    assert row["RECORD_DELETED"] == 0 and row["RECORD_CREATE_DATE"] == row["RECORD_MODIFY_DATE"]

    loaded = workspace.CreateCustomerAddress()
    assert loaded.Load(ref, highest + 1)
    assert (loaded.Contact, loaded.AddressType, loaded.Customer.Reference) == ("Jane Doe", 1, ref)
    assert loaded.Country.Code == company_row["COUNTRY_CODE"]
    loaded.Telephone = "0113 111 1111"
    assert loaded.Update() and loaded.AddressNumber == highest + 1
    assert rows(company, 'SELECT count(*) FROM "SALES_DEL_ADDR" WHERE ACCOUNT_REF = ?',
                (ref,))[0][0] == highest + 1  # fmt: skip
    assert not workspace.CreateCustomerAddress().Load(ref, highest + 2)
    assert engine.LastError.Code == 17
    workspace.Disconnect()


def test_contact_address_validation(company: Path) -> None:
    engine, workspace = connect(company)
    address = workspace.CreateCustomerAddress()
    address.AddressType = 1
    assert address.Update() is False and engine.LastError.Code == 63  # no customer
    customer = workspace.CreateCustomer()
    assert customer.Load(first_ref(company))
    address.Customer = customer
    address.AddressLine1 = "x" * 61
    assert address.Update() is False and engine.LastError.Code == 83
    address.AddressLine1 = ""
    address.Notes = "n" * 201
    assert address.Update() is False and engine.LastError.Code == 18
    workspace.Disconnect()


# -- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [23, 24, 30])
def test_connect_faults_fire_as_often_as_asked(company: Path, code: int) -> None:
    faults.inject(company, "connect", code, times=2)
    engine = SDOEngine()
    workspace = engine.Workspaces.Add("w")
    for _ in range(2):
        assert not workspace.Connect(str(company), "SSMSYNC", "", "w")
        assert engine.LastError.Code == code
    assert workspace.Connect(str(company), "SSMSYNC", "", "w")
    assert faults.armed(company) == []
    workspace.Disconnect()


@pytest.mark.parametrize("code", [48, 93, 82, 84])
def test_update_faults_refuse_the_write_and_leave_it_to_the_next_update(
    company: Path, code: int
) -> None:
    faults.inject(company, "update", code, account_ref="NEWCU001")
    engine, workspace = connect(company)
    assert new_customer(workspace, "OTHER01").Update()  # another account: not this fault's
    record = new_customer(workspace, "NEWCU001")
    assert record.Update() is False and engine.LastError.Code == code
    assert not rows(company, "SELECT 1 FROM SALES_LEDGER WHERE ACCOUNT_REF = 'NEWCU001'")
    assert record.Update(), engine.LastError.Text  # still in AddNew mode; the fault is used up
    assert rows(company, "SELECT 1 FROM SALES_LEDGER WHERE ACCOUNT_REF = 'NEWCU001'")
    workspace.Disconnect()


@pytest.mark.parametrize("code", [91, 108])
def test_update_then_disconnect_commits_then_raises_and_the_workspace_is_dead(
    company: Path, code: int
) -> None:
    faults.inject(company, "update_then_disconnect", code)
    engine, workspace = connect(company)
    record = new_customer(workspace, "NEWCU001")
    with pytest.raises(com_error) as raised:
        record.Update()
    assert raised.value.hresult == RPC_E_DISCONNECTED and len(raised.value.args) == 4
    assert engine.LastError.Code == code
    assert (
        rows(company, "SELECT count(*) FROM SALES_LEDGER WHERE ACCOUNT_REF = 'NEWCU001'")[0][0] == 1
    )
    with pytest.raises(com_error):
        record.MoveFirst()
    with pytest.raises(com_error):
        workspace.CreateObject("SalesRecord")
    _engine, again = connect(company)  # the lost login is gone: the same user logs in again
    again.Disconnect()


def test_update_then_exit_commits_and_the_process_dies_with_137(company: Path) -> None:
    faults.inject(company, "update_then_exit", 0)
    program = textwrap.dedent(f"""
        from sandbox.sdo import SDOEngine
        ws = SDOEngine().Workspaces.Add("w")
        assert ws.Connect({str(company)!r}, "SSMSYNC", "", "w")
        record = ws.CreateObject("CustomerAddress")
        customer = ws.CreateCustomer()
        assert customer.Load({first_ref(company)!r})
        record.Customer = customer
        record.AddressType = 1
        record.Contact = "Killed Midway"
        record.Update()
        print("survived")
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,  # noqa: S603
                          cwd=Path(__file__).resolve().parents[2], timeout=120)  # fmt: skip
    assert done.returncode == faults.KILLED_EXIT_CODE, done.stderr
    assert "survived" not in done.stdout
    assert (
        rows(company, "SELECT count(*) FROM SALES_DEL_ADDR WHERE CONTACT_NAME = 'Killed Midway'")[
            0
        ][0]
        == 1
    )
    _engine, again = connect(company)  # the killed process's login is cleared
    again.Disconnect()


# -- read back by the extract ---------------------------------------------------------------------


@pytest.mark.parametrize("via", ["sqlalchemy", "odbc"])
def test_written_records_are_read_by_the_next_incremental_extract(
    company: Path, tmp_path: Path, via: str, request: pytest.FixtureRequest
) -> None:
    driver = request.getfixturevalue("sqlite_odbc_driver") if via == "odbc" else "SQLite3"
    warehouse = tmp_path / "warehouse.duckdb"
    tables = ["SALES_LEDGER", "SALES_DEL_ADDR"]
    materialize(company, warehouse, tables, via=via, driver=driver, chunk_rows=500)

    engine, workspace = connect(company)
    assert new_customer(workspace, "NEWCU001", ANALYSIS_2="Jane Smith").Update()
    customer = workspace.CreateCustomer()
    assert customer.Load("NEWCU001")
    address = workspace.CreateCustomerAddress()
    address.Customer, address.AddressType, address.Contact = customer, 1, "Jane Doe"
    assert address.Update(), engine.LastError.Text
    workspace.Disconnect()

    result = materialize(company, warehouse, tables, via=via, driver=driver, chunk_rows=500)
    for table in tables:
        assert figures(result, table)["mode"] == "incremental"
        assert (figures(result, table)["inserted"], figures(result, table)["quarantined"]) == (1, 0)
    assert query(warehouse, "SELECT name, analysis_2, balance, deleted_at FROM sage.sales_ledger "
                 "WHERE account_ref = 'NEWCU001'") == [("NEWCU001 Ltd", "Jane Smith", 0.0, None)]  # fmt: skip
    assert query(warehouse, "SELECT address_ref, address_type, contact_name FROM sage.sales_del_addr "
                 "WHERE account_ref = 'NEWCU001'") == [(1, 1, "Jane Doe")]  # fmt: skip
