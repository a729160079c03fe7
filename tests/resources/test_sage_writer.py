"""The Sage writer against the stand-in SDO engine on a tiny demo company: creates and edits,
SDO's faults retried or reported, field checks, lengths, and the password kept out of sight."""

from __future__ import annotations

import datetime as dt
import pickle
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from resources.sage.writer import (
    RetryPolicy,
    SageWriteError,
    SageWriter,
    SageWriterResource,
    dispatch,
    session_lock,
)
from sandbox.sdo import com_error, faults

STAND_IN = "python:sandbox.sdo:SDOEngine"
PASSWORD = "Sup3r-Secret!"
FAST = RetryPolicy(attempts=4, first_wait_seconds=0.001, max_wait_seconds=0.005)
MARKER = ("ANALYSIS_3", "SSM-1001")


@pytest.fixture
def writer(company: Path) -> Any:
    with SageWriter(STAND_IN, str(company), "SSMSYNC", PASSWORD, retry=FAST) as w:
        yield w


def rows(company: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(company)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def customers(company: Path, ref: str) -> int:
    return rows(company, "SELECT count(*) FROM SALES_LEDGER WHERE ACCOUNT_REF = ?", (ref,))[0][0]


def first_ref(company: Path) -> str:
    return rows(company, "SELECT min(ACCOUNT_REF) FROM SALES_LEDGER")[0][0]


def test_dispatch_gives_the_stand_in_and_its_com_error() -> None:
    engine, error = dispatch(STAND_IN)
    assert type(engine).__name__ == "SDOEngine" and error is com_error
    with pytest.raises(SageWriteError, match="python:<module>:<Class>"):
        dispatch("python:sandbox.sdo")


def test_every_sdo_call_runs_on_one_thread(company: Path, writer: SageWriter) -> None:
    threads: set[str] = set()
    original = writer._connected

    def spy() -> Any:
        threads.add(threading.current_thread().name)
        return original()

    writer._connected = spy  # type: ignore[method-assign]
    writer.account_refs()
    writer.create_customer("NEWCU001", {"NAME": "New Ltd"}, MARKER)
    writer.contacts("NEWCU001")
    assert len(threads) == 1
    (sdo_thread,) = threads
    assert sdo_thread.startswith("sage-sdo") and sdo_thread != threading.current_thread().name


def test_create_and_edit_a_customer(company: Path, writer: SageWriter) -> None:
    values = {"NAME": "Brand New Ltd", "ADDRESS_1": "1 High St", "ANALYSIS_2": "Jane Smith"}
    assert writer.create_customer("NEWCU001", values, MARKER) == "created"
    assert writer.writes == 1
    assert writer.customer("NEWCU001", ["NAME", "ANALYSIS_2", "ANALYSIS_3"]) == {
        "NAME": "Brand New Ltd", "ANALYSIS_2": "Jane Smith", "ANALYSIS_3": "SSM-1001"}  # fmt: skip
    assert writer.customer("NOSUCH", ["NAME"]) is None
    assert "NEWCU001" in writer.account_refs()
    assert len(writer.account_refs()) == rows(company, "SELECT count(*) FROM SALES_LEDGER")[0][0]
    assert writer.find_customer_by("ANALYSIS_3", "SSM-1001") == "NEWCU001"
    assert writer.find_customer_by("ANALYSIS_3", "SSM-none") is None

    # The same create again (a replay): Find sees the marker, nothing is written.
    assert writer.create_customer("NEWCU001", values, MARKER) == "existing"
    assert writer.writes == 1 and customers(company, "NEWCU001") == 1

    writer.edit_customer("NEWCU001", {"TELEPHONE": "0113 496 0000"})
    assert writer.customer("NEWCU001", ["TELEPHONE"]) == {"TELEPHONE": "0113 496 0000"}
    assert writer.writes == 2
    with pytest.raises(SageWriteError, match="no customer NOSUCH") as missing:
        writer.edit_customer("NOSUCH", {"TELEPHONE": "1"})
    assert not missing.value.transient


def test_create_and_edit_a_contact_address(company: Path, writer: SageWriter) -> None:
    ref = first_ref(company)
    before = writer.contacts(ref)
    expected = rows(company, "SELECT ADDRESS_REF FROM SALES_DEL_ADDR WHERE ACCOUNT_REF = ? "
                    "AND ADDRESS_TYPE = 1 ORDER BY 1", (ref,))  # fmt: skip
    assert [c["AddressNumber"] for c in before] == [r[0] for r in expected]
    highest = rows(company, "SELECT max(ADDRESS_REF) FROM SALES_DEL_ADDR WHERE ACCOUNT_REF = ?",
                   (ref,))[0][0]  # fmt: skip

    values = {"Contact": "Jane Doe", "Description": "Jane Doe", "Role": "Buyer",
              "EMail": "jane@example.com", "Notes": "Met at the fair", "Country": "FR"}  # fmt: skip
    number = writer.create_contact(ref, values, ("Notes", "[ssm:c77]"))
    assert number == highest + 1
    assert writer.create_contact(ref, values, ("Notes", "[ssm:c77]")) == number  # a replay
    after = {c["AddressNumber"]: c for c in writer.contacts(ref)}
    assert len(after) == len(before) + 1
    new = after[number]
    assert (new["Contact"], new["Role"], new["Country"]) == ("Jane Doe", "Buyer", "FR")
    assert new["Notes"] == "Met at the fair [ssm:c77]" and new["ModifyDate"] is not None

    writer.edit_contact(ref, number, {"Telephone": "0113 222 3333", "Notes": "Call on Mondays"},
                        marker=("Notes", "[ssm:c77]"))  # fmt: skip
    edited = {c["AddressNumber"]: c for c in writer.contacts(ref)}[number]
    assert edited["Telephone"] == "0113 222 3333"
    assert edited["Notes"] == "Call on Mondays [ssm:c77]"  # the edit keeps the SSM id token
    assert writer.writes == 2
    with pytest.raises(SageWriteError, match="not a contact|no address"):
        writer.edit_contact(ref, highest + 50, {"Telephone": "1"})
    with pytest.raises(SageWriteError, match="AddressNumber cannot be given"):
        writer.create_contact(ref, {"AddressNumber": 3}, ("Notes", "[ssm:c78]"))


@pytest.mark.parametrize("code", [23, 24])
def test_a_refused_logon_is_retried_until_sage_lets_the_user_in(
    company: Path, writer: SageWriter, code: int
) -> None:
    faults.inject(company, "connect", code, times=2)
    assert writer.create_customer("NEWCU001", {"NAME": "New Ltd"}, MARKER) == "created"
    assert writer.retries == 2 and customers(company, "NEWCU001") == 1


@pytest.mark.parametrize("code", [48, 93])
def test_a_busy_update_is_retried_to_success(company: Path, writer: SageWriter, code: int) -> None:
    faults.inject(company, "update", code, times=2)
    assert writer.create_customer("NEWCU001", {"NAME": "New Ltd"}, MARKER) == "created"
    assert (writer.retries, writer.writes, customers(company, "NEWCU001")) == (2, 1, 1)
    faults.inject(company, "update", code)
    writer.edit_customer("NEWCU001", {"NAME": "Renamed Ltd"})
    assert writer.customer("NEWCU001", ["NAME"]) == {"NAME": "Renamed Ltd"}


def test_a_lost_connection_after_the_update_reconnects_and_finds_the_record(
    company: Path, writer: SageWriter
) -> None:
    faults.inject(company, "update_then_disconnect", 91)
    assert writer.create_customer("NEWCU001", {"NAME": "New Ltd"}, MARKER) == "existing"
    assert customers(company, "NEWCU001") == 1 and writer.retries == 1
    ref = first_ref(company)
    faults.inject(company, "update_then_disconnect", 108)
    number = writer.create_contact(ref, {"Contact": "Once Only"}, ("Notes", "[ssm:c1]"))
    assert rows(company, "SELECT ADDRESS_REF FROM SALES_DEL_ADDR WHERE CONTACT_NAME = 'Once Only'") == [
        (number,)]  # fmt: skip
    assert writer.retries == 2


def test_a_transient_fault_that_outlasts_the_retries_is_raised_as_transient(
    company: Path, writer: SageWriter
) -> None:
    faults.inject(company, "update", 48, times=FAST.attempts)
    with pytest.raises(SageWriteError) as raised:
        writer.create_customer("NEWCU001", {"NAME": "New Ltd"}, MARKER)
    error = raised.value
    assert (error.code, error.transient, error.operation) == (48, True, "create")
    assert "Accounts application is busy" in str(error) and "next run" in str(error)
    assert writer.retries == FAST.attempts - 1 and customers(company, "NEWCU001") == 0
    assert writer.create_customer("NEWCU001", {"NAME": "New Ltd"}, MARKER) == "created"


def test_user_name_in_use_names_the_user_to_log_out(company: Path) -> None:
    faults.inject(company, "connect", 23, times=10)
    with SageWriter(STAND_IN, str(company), "SSMSYNC", PASSWORD, retry=FAST) as writer:
        with pytest.raises(SageWriteError) as raised:
            writer.account_refs()
    assert raised.value.code == 23 and raised.value.transient
    assert "log the Sage user SSMSYNC out of Sage or use a user only the connector uses" in str(
        raised.value
    )


@pytest.mark.parametrize(
    ("ref", "code"), [("NEW CU1", 82), ("NEW-CU1", 86), ("newcu001", 86)]
)  # fmt: skip
def test_bad_account_refs_are_permanent_with_sage_code_and_text(
    company: Path, writer: SageWriter, ref: str, code: int
) -> None:
    with pytest.raises(SageWriteError) as raised:
        writer.create_customer(ref, {"NAME": "New Ltd"}, MARKER)
    assert (raised.value.code, raised.value.transient) == (code, False)
    assert raised.value.text.startswith("Account reference contains")
    assert writer.retries == 0 and writer.writes == 0


@pytest.mark.parametrize("code", [83, 84, 86])
def test_an_injected_permanent_code_is_not_retried(
    company: Path, writer: SageWriter, code: int
) -> None:
    faults.inject(company, "update", code)
    with pytest.raises(SageWriteError) as raised:
        writer.create_customer("NEWCU001", {"NAME": "New Ltd"}, MARKER)
    assert (raised.value.code, raised.value.transient, writer.retries) == (code, False, 0)
    assert f"SDO error {code}" in str(raised.value)


def test_an_account_ref_held_by_another_customer_is_84(company: Path, writer: SageWriter) -> None:
    with pytest.raises(SageWriteError) as raised:
        writer.create_customer(first_ref(company), {"NAME": "Impostor"}, MARKER)
    assert (raised.value.code, raised.value.transient) == (84, False)
    assert "choose another code" in str(raised.value)


def test_a_missing_field_is_one_sentence_naming_it_and_its_setting(writer: SageWriter) -> None:
    infos = writer.check_fields("SalesRecord", ["NAME", "ANALYSIS_2", "BALANCE"])
    assert (infos["NAME"].length, infos["NAME"].required) == (60, True)
    assert infos["BALANCE"].length is None  # a number: no text length
    with pytest.raises(SageWriteError) as raised:
        writer.check_fields(
            "SalesRecord", ["NAME", "SALES_REP"], {"SALES_REP": "SAGE_SDO_REP_FIELD"}
        )
    message = str(raised.value)
    assert "SALES_REP" in message and "SAGE_SDO_REP_FIELD" in message
    assert message.count(".") == 1 and message.endswith(".") and not raised.value.transient
    contact = writer.check_fields("CustomerAddress", ["Notes", "Contact"])
    assert (contact["Notes"].length, contact["Contact"].length) == (200, 30)
    with pytest.raises(SageWriteError, match="SAGE_SDO_CONTACT_MARKER"):
        writer.check_fields("CustomerAddress", ["Remarks"], {"Remarks": "SAGE_SDO_CONTACT_MARKER"})


@pytest.mark.parametrize(
    ("field", "length"), [("NAME", 60), ("ADDRESS_1", 60), ("E_MAIL", 255), ("ANALYSIS_2", 30)]
)
def test_a_too_long_value_is_refused_before_anything_is_written(
    company: Path, writer: SageWriter, field: str, length: int
) -> None:
    values = {"NAME": "New Ltd", field: "é" * (length + 1)}
    with pytest.raises(SageWriteError) as raised:
        writer.create_customer("NEWCU001", values, MARKER)
    assert not raised.value.transient and raised.value.code is None
    assert field in str(raised.value) and str(length + 1) in str(raised.value)
    assert str(length) in str(raised.value) and "never cut short" in str(raised.value)
    assert customers(company, "NEWCU001") == 0 and writer.writes == 0
    ref = first_ref(company)
    with pytest.raises(SageWriteError, match="Notes is 2"):
        writer.create_contact(ref, {"Notes": "n" * 190}, ("Notes", "[ssm:too-long]"))


def test_the_password_is_never_shown(company: Path, writer: SageWriter) -> None:
    shown = [repr(writer), str(writer)]
    faults.inject(company, "connect", 23, times=10)
    other = SageWriter(STAND_IN, str(company), "OTHER", PASSWORD, retry=FAST)
    with pytest.raises(SageWriteError) as raised:
        other.account_refs()
    other.close()
    error = raised.value
    shown += [str(error), repr(error), repr(error.args), repr(pickle.loads(pickle.dumps(error)))]
    resource = SageWriterResource(data_path=str(company), password=PASSWORD)
    shown += [repr(resource), str(resource), repr(resource.get_writer())]
    assert all(PASSWORD not in text for text in shown)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.transient, str(copy)) == (23, True, str(error))


def test_close_disconnects_so_the_user_can_log_in_again(company: Path) -> None:
    with SageWriter(STAND_IN, str(company), "SSMSYNC", PASSWORD, retry=FAST) as first:
        first.account_refs()
        assert rows(company, "SELECT count(*) FROM _SDO_SESSIONS")[0][0] == 1
    assert rows(company, "SELECT count(*) FROM _SDO_SESSIONS")[0][0] == 0
    with pytest.raises(RuntimeError, match="closed"):
        first.account_refs()


def test_the_resource_builds_a_writer_from_its_settings(company: Path) -> None:
    resource = SageWriterResource(data_path=str(company), retry_attempts=2,
                                  retry_first_wait_seconds=0.001, retry_max_wait_seconds=0.002)  # fmt: skip
    with resource.get_writer() as writer:
        assert writer.retry == RetryPolicy(2, 0.001, 0.002)
        assert writer.create_customer("NEWCU001", {"NAME": "Via Resource"}, MARKER) == "created"


def test_a_connection_lost_on_every_try_is_a_transient_91(
    company: Path, writer: SageWriter
) -> None:
    ref = first_ref(company)
    faults.inject(company, "update_then_disconnect", 91, times=FAST.attempts)
    with pytest.raises(SageWriteError) as raised:
        writer.edit_customer(ref, {"TELEPHONE": "0113 000 1111"})
    assert (raised.value.code, raised.value.transient) == (91, True)
    assert "Connection kicked out" in str(raised.value)
    assert writer.retries == FAST.attempts - 1 and faults.armed(company) == []
    writer.edit_customer(ref, {"TELEPHONE": "0113 000 2222"})  # reconnects by itself
    assert writer.customer(ref, ["TELEPHONE"]) == {"TELEPHONE": "0113 000 2222"}


# -- quotations -----------------------------------------------------------------------------------


def quote_account(company: Path, currency: int = 1) -> str:
    return rows(
        company, "SELECT min(ACCOUNT_REF) FROM SALES_LEDGER WHERE CURRENCY = ?", (currency,)
    )[0][0]


def stock_codes(company: Path, n: int = 2) -> list[str]:
    return [r[0] for r in rows(company, "SELECT STOCK_CODE FROM STOCK ORDER BY 1 LIMIT ?", (n,))]


@pytest.mark.parametrize("currency", [1, 2])
def test_price_quote_is_the_invoice_calculators_answer(
    company: Path, writer: SageWriter, currency: int
) -> None:
    from resources.sage.pricing import PricingRules
    from sandbox.sdo.pricing import price

    ref, codes = quote_account(company, currency), stock_codes(company)
    lines = writer.price_quote(ref, [(codes[0], Decimal("1")), (codes[1], Decimal("25"))])
    con = sqlite3.connect(company)
    try:
        for got, (code, qty) in zip(lines, [(codes[0], 1), (codes[1], 25)], strict=True):
            expected = price(con, ref, code, qty, PricingRules.from_env())
            description = rows(
                company, "SELECT DESCRIPTION FROM STOCK WHERE STOCK_CODE = ?", (code,)
            )
            assert got == {
                "stock_code": code,
                "description": description[0][0],
                "quantity": Decimal(qty),
                "list_unit_price": expected.list_unit_price,
                "unit_price": expected.unit_price,
                "discount_percent": expected.discount_percent,
                "discount_amount": expected.discount_amount,
                "net": expected.net,
                "tax_code": expected.tax_code,
                "tax_rate": expected.tax_rate,
                "tax": expected.tax,
            }
    finally:
        con.close()
    assert writer.writes == 0


def test_price_quote_refuses_unknown_products_customers_and_empty_lines(
    company: Path, writer: SageWriter
) -> None:
    ref = quote_account(company)
    with pytest.raises(SageWriteError, match="no product NO-SUCH") as unknown:
        writer.price_quote(ref, [("NO-SUCH", Decimal(1))])
    with pytest.raises(SageWriteError, match="no customer NOSUCH") as nobody:
        writer.price_quote("NOSUCH", [(stock_codes(company)[0], Decimal(1))])
    with pytest.raises(SageWriteError, match="no lines") as empty:
        writer.price_quote(ref, [])
    with pytest.raises(SageWriteError, match="quantity above 0") as zero:
        writer.price_quote(ref, [(stock_codes(company)[0], Decimal(0))])
    assert not any(e.value.transient for e in (unknown, nobody, empty, zero))
    assert writer.retries == 0


def test_post_quote_posts_once_and_find_quote_finds_it(company: Path, writer: SageWriter) -> None:
    ref = quote_account(company, 2)
    lines = writer.price_quote(ref, [(c, Decimal(3)) for c in stock_codes(company)])
    assert writer.find_quote("SSM:1234") is None
    number = writer.post_quote(
        ref, "SSM:1234", lines, order_date=dt.date(2026, 11, 30), taken_by="Alice Carter"
    )
    assert writer.find_quote("SSM:1234") == number and writer.writes == 1
    # A replay (the answer was lost): the marker finds the quote, nothing is posted again.
    again = writer.post_quote(
        ref, "SSM:1234", lines, order_date=dt.date(2026, 11, 30), taken_by="Alice Carter"
    )
    assert again == number and writer.writes == 1
    (head,) = rows(
        company,
        "SELECT ACCOUNT_REF, NAME, ADDRESS_1, ORDER_TYPE_CODE, QUOTE_STATUS_ID, CURRENCY, "
        "FOREIGN_RATE, TAKEN_BY, ORDER_DATE, FOREIGN_INVOICE_NET, FOREIGN_INVOICE_TAX "
        "FROM SALES_ORDER WHERE CUST_ORDER_NUMBER = 'SSM:1234'",
    )
    customer = rows(
        company, "SELECT NAME, ADDRESS_1 FROM SALES_LEDGER WHERE ACCOUNT_REF = ?", (ref,)
    )
    assert head[:3] == (ref, *customer[0])
    assert head[3:9] == (1, 1, 2, 1.17, "Alice Carter", "2026-11-30")
    # Sage's answer is what was posted: nets as priced, VAT computed by Sage per line.
    assert Decimal(str(head[9])) == sum(line["net"] for line in lines)
    assert Decimal(str(head[10])) == sum(line["tax"] for line in lines)


def test_post_quote_survives_a_connection_lost_after_the_commit(
    company: Path, writer: SageWriter
) -> None:
    ref = quote_account(company)
    lines = writer.price_quote(ref, [(stock_codes(company)[0], Decimal(2))])
    faults.inject(company, "update_then_disconnect", 91, record="SopPost")
    number = writer.post_quote(
        ref, "SSM:77", lines, order_date=dt.date(2026, 11, 30), taken_by="Ben Hughes"
    )
    assert writer.retries == 1
    assert rows(
        company, "SELECT ORDER_NUMBER FROM SALES_ORDER WHERE CUST_ORDER_NUMBER = 'SSM:77'"
    ) == [(number,)]


def test_post_quote_retries_busy_and_refuses_bad_data_for_good(
    company: Path, writer: SageWriter
) -> None:
    ref = quote_account(company)
    lines = writer.price_quote(ref, [(stock_codes(company)[0], Decimal(2))])
    faults.inject(company, "update", 48, times=2, record="SopPost")
    writer.post_quote(ref, "SSM:5", lines, order_date=dt.date(2026, 11, 30), taken_by="x")
    assert writer.retries == 2
    with pytest.raises(SageWriteError, match="TAKEN_BY is 61 characters") as long:
        writer.post_quote(ref, "SSM:6", lines, order_date=dt.date(2026, 11, 30), taken_by="x" * 61)
    bad = [{**lines[0], "tax_code": 77}]
    with pytest.raises(SageWriteError, match="SDO error 18") as refused:
        writer.post_quote(ref, "SSM:6", bad, order_date=dt.date(2026, 11, 30), taken_by="x")
    with pytest.raises(SageWriteError, match="lacks net") as partial:
        writer.post_quote(
            ref, "SSM:6", [{k: v for k, v in lines[0].items() if k != "net"}],
            order_date=dt.date(2026, 11, 30), taken_by="x",
        )  # fmt: skip
    assert not any(e.value.transient for e in (long, refused, partial))
    assert writer.find_quote("SSM:6") is None


def test_quote_fields_are_checked_with_one_sentence(writer: SageWriter) -> None:
    writer.check_quote_fields()
    with pytest.raises(SageWriteError) as missing:
        writer.check_fields("SopItem", ["NET_AMOUNT", "NO_SUCH_FIELD"])
    message = str(missing.value)
    assert "SopItem has no such field" in message and "NO_SUCH_FIELD" in message
    assert message.endswith(".") and "\n" not in message


def test_two_runs_take_turns_on_the_sage_session(company: Path, tmp_path: Path) -> None:
    """Sage refuses a second login of the user: a second writer of the company (the quote job
    beside a sync's reverse flow) waits on the session lock until the first closes, instead of
    being refused by Sage."""
    lock = session_lock(tmp_path, str(company), "SSMSYNC")
    first = SageWriter(STAND_IN, str(company), "SSMSYNC", PASSWORD, retry=FAST, session_lock=lock)
    first.account_refs()  # connected: holds the session
    second_done = threading.Event()

    def second_writer() -> None:
        with SageWriter(STAND_IN, str(company), "SSMSYNC", PASSWORD, retry=FAST,
                        session_lock=lock) as second:  # fmt: skip
            second.account_refs()
            second_done.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    assert not second_done.wait(1.0)  # waiting for the first, not refused by Sage
    first.close()
    assert second_done.wait(10.0)
    thread.join()


def test_a_session_held_too_long_is_transient_and_says_so(company: Path, tmp_path: Path) -> None:
    lock = session_lock(tmp_path, str(company), "SSMSYNC")
    with SageWriter(STAND_IN, str(company), "SSMSYNC", PASSWORD, retry=FAST,
                    session_lock=lock) as first:  # fmt: skip
        first.account_refs()
        with SageWriter(STAND_IN, str(company), "SSMSYNC", PASSWORD, retry=FAST,
                        session_lock=lock, session_wait_seconds=0.3) as second:  # fmt: skip
            with pytest.raises(SageWriteError) as raised:
                second.account_refs()
    assert raised.value.transient
    assert "kept the Sage session of SSMSYNC for 0 s" in str(raised.value)
    assert PASSWORD not in str(raised.value)
