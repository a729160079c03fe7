"""Quotations end to end: a rep builds a quote in the SSM sandbox (a real server process), the
real `ssm_quotes` job prices it through the stand-in SDO engine and posts a Sage quotation into
the tiny demo company, reads it back and returns it to SSM priced and read-only; the 15-minute
sync then mirrors Sage's later edits, its conversion into an order and its delete.

The session's world (tests/inbox/conftest.py) is shared with the reverse-flow tests; each test
makes quotes of its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.sdo import faults
from tests.inbox.conftest import REP, World, _now, _run

pytestmark = pytest.mark.xdist_group("reverse")


def _stats(world: World) -> dict[str, Any]:
    return httpx.get(world.ssm.control_url + "/stats").json()


def _customer(world: World, foreign: bool = False) -> tuple[str, int]:
    """A live Sage customer the push created in SSM: (account code, SSM id); foreign: one
    whose currency is not the base currency."""
    rows = world.query(
        "SELECT a.account_reference, s.ssm_id FROM staging.customer_accounts AS a "
        "JOIN ssm.synced_accounts AS s ON s.ext_id = a.account_reference AND s.state = 'synced' "
        "JOIN ssm.desired_accounts AS d ON d.ext_id = a.account_reference AND d.read_only "
        "WHERE a.deleted_at IS NULL AND NOT coalesce(a.on_stop, false) "
        "AND NOT coalesce(a.closed_inactive, false) "
        f"AND coalesce(a.currency_code, 'GBP') {'<>' if foreign else '='} 'GBP' "
        "ORDER BY a.account_reference"
    )
    assert rows, "the tiny demo company has such a customer"
    return rows[len(rows) // 2 if not foreign else 0]


def _products(world: World, n: int) -> list[tuple[str, int]]:
    """Live Sage products the push created in SSM: (stock code, SSM id)."""
    return world.query(
        "SELECT p.product_reference, s.ssm_id FROM staging.product_items AS p "
        "JOIN ssm.synced_products AS s ON s.ext_id = p.product_reference AND s.state = 'synced' "
        "WHERE p.deleted_at IS NULL AND coalesce(p.sales_price, 0) > 0 "
        "ORDER BY p.product_reference LIMIT ?",
        n,
    )


def _quote(world: World, account: int, lines: list[tuple[int | None, Any]], **fields: Any) -> int:
    """A quote as a rep makes it: the order in the quote status, then its lines."""
    body = {
        "reference": "Rep quote",
        "accountId": account,
        "salesRepId": REP,
        "branchId": world.value_id("branches", "__default__"),
        "statusId": world.value_id("salesorderStatuses", "quote - pending"),
        "comment": "Visit of the day",
    }
    body.update(fields)
    order = world.rep("POST", "salesorders", **body)
    for product, quantity in lines:
        line = {"salesOrderId": order, "quantity": quantity, "price": 0}
        if product is not None:
            line["productId"] = product
        world.rep("POST", "salesordersLines", **line)
    return order


def _lines(world: World, order: int) -> list[dict[str, Any]]:
    state = httpx.get(world.ssm.control_url + "/state", params={"resource": "salesordersLines"})
    rows = next(iter(state.json().values()))
    own = [
        r for r in rows if (r.get("salesOrderId") or {}).get("id", r.get("salesOrderId")) == order
    ]
    return sorted(own, key=lambda r: (r.get("order") or 0, r["id"]))


def _quotations(world: World, order: int) -> list[tuple[Any, ...]]:
    return world.sage(
        "SELECT ORDER_NUMBER, ACCOUNT_REF, ORDER_OR_QUOTE, QUOTE_STATUS_ID FROM SALES_ORDER "
        "WHERE CUST_ORDER_NUMBER = ?",
        f"SSM:{order}",
    )


def _quotes(world: World) -> dict[str, dict]:
    return _run(world, "ssm_quotes")


def _quote_job_killed_after_the_post(world: World) -> None:
    """The job `ssm_quotes` in its own process, killed just after Sage took the quotation."""
    faults.inject(world.company, "update_then_exit", 0, times=1, record="SopPost")
    killed = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "tests.inbox.test_reverse_flow", "ssm_quotes", str(world.company),
         str(world.warehouse), world.ssm.base_url, world.ssm.public_key, world.ssm.private_key],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    faults.clear(world.company)
    assert killed.returncode == faults.KILLED_EXIT_CODE, killed.stderr[-2000:]


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSM_QUOTE_SETTLE_SECONDS", "0")  # the test's lines are all in already


def test_a_rep_quote_comes_back_priced_by_sage_and_read_only(world: World) -> None:
    code, account = _customer(world)
    (p1, s1), (p2, s2) = _products(world, 2)
    order = _quote(world, account, [(s1, 3), (s2, 12)])

    run = _quotes(world)

    ((number, ref, kind, status),) = _quotations(world, order)
    assert (ref, kind, status) == (code, "Quotation", 1)
    items = world.sage(
        "SELECT ITEM_NUMBER, STOCK_CODE, QTY_ORDER, UNIT_PRICE, DISCOUNT_RATE, NET_AMOUNT, "
        "TAX_AMOUNT FROM SOP_ITEM WHERE ORDER_NUMBER = ? ORDER BY ITEM_NUMBER",
        number,
    )
    assert [(i[1], i[2]) for i in items] == [(p1, 3), (p2, 12)]
    assert all(i[3] > 0 and i[5] > 0 for i in items)
    record = world.record("salesorders", order)
    assert record["extId"] == str(number)
    assert record["reference"] == str(number)
    assert record["readOnly"] is True and record["Z_SyncedAt"]
    assert record["comment"] == "Visit of the day"  # the rep's comment stays
    priced = world.value_id("salesorderStatuses", "quote - priced")
    assert (record["statusId"] or {}).get("id", record["statusId"]) == priced
    net = sum(i[5] for i in items)
    assert record["Z_NetTotal"] == pytest.approx(net)
    assert record["total"] == pytest.approx(net + sum(i[6] for i in items))
    lines = _lines(world, order)
    assert [(ln["price"], ln["total"], ln["readOnly"], bool(ln["Z_SyncedAt"])) for ln in lines] == [
        (pytest.approx(i[3]), pytest.approx(i[5]), True, True) for i in items
    ]
    assert run["inbox/sage_quotes"]["created"] == 1
    assert run["inbox/sage_quotes"]["acknowledged_in_ssm"] == 1

    # Nothing is posted twice, and the sync that reads the quotation back sends nothing to SSM
    # for it: the push's ledger was told what SSM holds.
    writes = int(_stats(world)["writes"])
    again = _quotes(world)
    assert again["inbox/sage_quotes"]["sage_writes"] == 0
    assert int(_stats(world)["writes"]) == writes
    _run(world, "sage_ssm_sync")
    ((sync_run,),) = world.query(
        "SELECT run_id FROM sync.runs WHERE resource = 'sales_orders' "
        "ORDER BY started_at DESC LIMIT 1"
    )
    changed = world.query(
        "SELECT resource, ext_id, operation, changed_fields FROM sync.changes WHERE run_id = ? "
        "AND resource IN ('sales_orders', 'sales_order_lines') "
        "AND (ext_id = ? OR ext_id LIKE ?) AND outcome = 'ok'",
        sync_run, str(number), f"{number}/%",
    )  # fmt: skip
    assert changed == []
    assert len(_quotations(world, order)) == 1
    # The warehouse re-prices it by Sage's rules and agrees with what Sage answered.
    explained = world.query(
        "SELECT stock_code, rule, matches, explanation FROM derived.quote_price_explanation "
        "WHERE order_number = ? ORDER BY line_number",
        number,
    )
    assert [(e[0], e[2]) for e in explained] == [(p1, True), (p2, True)], explained
    assert all(e[1] in {"special_price", "price_list", "sales_price"} for e in explained)


def test_a_foreign_customer_is_quoted_in_its_currency(world: World) -> None:
    code, account = _customer(world, foreign=True)
    ((_p, product),) = _products(world, 1)
    order = _quote(world, account, [(product, 5)])
    _quotes(world)
    ((number, *_),) = _quotations(world, order)
    ((currency, rate),) = world.sage(
        "SELECT c.CODE, s.FOREIGN_RATE FROM SALES_ORDER AS s JOIN CURRENCY AS c "
        "ON c.NUMBER = s.CURRENCY WHERE s.ORDER_NUMBER = ?",
        number,
    )
    assert currency != "GBP" and rate != 1
    # Taxed by its own code (OVERRIDE_TAX_CODE: T4 in the EC, T0 for export), not the product's.
    ((own_code,),) = world.sage("SELECT DEF_TAX_CODE FROM SALES_LEDGER WHERE ACCOUNT_REF = ?", code)
    taxes = world.sage("SELECT TAX_CODE, TAX_AMOUNT FROM SOP_ITEM WHERE ORDER_NUMBER = ?", number)
    assert [t[0] for t in taxes] == [own_code] and own_code != "T1"
    record = world.record("salesorders", order)
    iso = world.query(
        "SELECT any_value(item_value) FROM ssm.value_lists WHERE list_name = 'currencies' "
        "AND item_field = 'isoCode' AND id = ?",
        (record["currencyId"] or {}).get("id", record["currencyId"]),
    )[0][0]
    assert iso == currency


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("quantity", "quantity 0 must be more than 0"),
        ("product", "is not a Sage product"),
        ("prospect", "no Sage account code yet"),
        ("on_stop", "is on stop in Sage"),
    ],
)
def test_a_bad_quote_waits_with_its_reason_until_the_rep_fixes_it(
    world: World, case: str, reason: str
) -> None:
    code, account = _customer(world)
    ((_p, product),) = _products(world, 1)
    lines: list[tuple[int | None, Any]] = [(product, 2)]
    if case == "quantity":
        lines = [(product, 0)]
    elif case == "product":  # a product a rep made in SSM: Sage does not know it
        lines = [(world.rep("POST", "products", model=f"Rep's own {case}", price=1), 1)]
    elif case == "prospect":  # a company Sage has not created yet
        account = world.rep(
            "POST", "accounts", name="Not Yet Client Ltd", salesRepId1=REP,
            statusId=world.value_id("accountStatuses", "lost"),
            branchId=world.value_id("branches", "__default__"),
        )  # fmt: skip
    elif case == "on_stop":
        world.sage_edit("UPDATE SALES_LEDGER SET ACCOUNT_ON_HOLD = 1 WHERE ACCOUNT_REF = ?", code)
    try:
        order = _quote(world, account, lines)
        run = _quotes(world)
    finally:
        if case == "on_stop":
            world.sage_edit("UPDATE SALES_LEDGER SET ACCOUNT_ON_HOLD = 0 WHERE ACCOUNT_REF = ?",
                            code)  # fmt: skip
    assert _quotations(world, order) == []
    assert run["inbox/sage_quotes"]["dead_letters"] == 1
    ((message, status),) = world.query(
        "SELECT message, status FROM sync.dead_letters WHERE resource = 'quotations' "
        "AND ext_id = ?",
        str(order),
    )
    assert reason in message and status == "open"
    record = world.record("salesorders", order)
    assert reason in record["Z_SageSync"] and not record.get("readOnly")

    writes = int(_stats(world)["writes"])
    _quotes(world)  # unchanged: not tried again, no echo
    assert int(_stats(world)["writes"]) == writes

    if case in {"quantity", "product"}:  # the rep fixes the line and saves the quote again
        (line,) = _lines(world, order)
        world.rep("PUT", "salesordersLines", line["id"], productId=product, quantity=2)
        world.rep("PUT", "salesorders", order, comment="fixed")
        _quotes(world)
        assert len(_quotations(world, order)) == 1
        record = world.record("salesorders", order)
        assert record["readOnly"] is True and not record.get("Z_SageSync")
        assert world.query(
            "SELECT status FROM sync.dead_letters WHERE resource = 'quotations' AND ext_id = ?",
            str(order),
        ) == [("resolved",)]


def test_sdo_busy_while_posting_is_retried_and_posts_once(world: World) -> None:
    _code, account = _customer(world)
    ((_p, product),) = _products(world, 1)
    order = _quote(world, account, [(product, 4)])
    faults.inject(world.company, "update", 24, times=2, record="SopPost")
    try:
        for _ in range(3):
            _quotes(world)
            if world.record("salesorders", order).get("extId"):
                break
    finally:
        faults.clear(world.company)
    assert len(_quotations(world, order)) == 1
    assert world.record("salesorders", order)["readOnly"] is True


def test_a_run_killed_after_sage_took_the_quote_never_posts_it_twice(world: World) -> None:
    _code, account = _customer(world)
    ((_p, product),) = _products(world, 1)
    order = _quote(world, account, [(product, 6)])
    _quote_job_killed_after_the_post(world)
    assert len(_quotations(world, order)) == 1  # Sage has it, SSM does not know yet
    assert not world.record("salesorders", order).get("extId")

    run = _quotes(world)
    assert run["inbox/sage_quotes"]["resolved_interrupted"] == 1
    ((number, *_),) = _quotations(world, order)
    assert world.record("salesorders", order)["extId"] == str(number)


def test_sage_edits_conversion_and_delete_reach_the_priced_quote(world: World) -> None:
    _code, account = _customer(world)
    ((_p, product),) = _products(world, 1)
    order = _quote(world, account, [(product, 2)])
    _quotes(world)
    ((number, *_),) = _quotations(world, order)
    sync = ["sage_ssm_sync"]

    world.sage_edit(
        "UPDATE SOP_ITEM SET DESCRIPTION = 'Edited by the office', RECORD_MODIFY_DATE = ? "
        "WHERE ORDER_NUMBER = ?",
        _now(), number,
    )  # fmt: skip
    world.sage_edit(
        "UPDATE SALES_ORDER SET ORDER_OR_QUOTE = 'Sales Order', ORDER_TYPE_CODE = 0, "
        "RECORD_MODIFY_DATE = ? WHERE ORDER_NUMBER = ?",
        _now(), number,
    )  # fmt: skip
    _run(world, *sync)
    (line,) = _lines(world, order)
    assert line["description"] == "Edited by the office"
    ordered = world.value_id("salesorderStatuses", "order")
    record = world.record("salesorders", order)
    assert (record["statusId"] or {}).get("id", record["statusId"]) == ordered

    world.sage_edit("DELETE FROM SOP_ITEM WHERE ORDER_NUMBER = ?", number)
    world.sage_edit("DELETE FROM SALES_ORDER WHERE ORDER_NUMBER = ?", number)
    world.sage_edit(
        "INSERT INTO DELETED_RECORDS (TABLE_ID, FOREIGN_REF, DELETION_DATE_TIME, "
        "FOREIGN_REF_TYPE, RECORD_CREATE_DATE, RECORD_MODIFY_DATE) VALUES (25, ?, ?, 0, ?, ?)",
        str(number), _now(), _now(), _now(),
    )  # fmt: skip
    _run(world, *sync)
    assert world.record("salesorders", order).get("deleted") is True


def test_a_sync_between_post_and_acknowledgement_never_makes_a_second_order(
    world: World,
) -> None:
    """The quote job runs beside the sync: a sync whose extract reads a quotation the quote flow
    posted but has not yet acknowledged holds it back instead of creating it again in SSM."""
    _code, account = _customer(world)
    ((_p, product),) = _products(world, 1)
    order = _quote(world, account, [(product, 3)])
    _quote_job_killed_after_the_post(world)
    ((number, *_),) = _quotations(world, order)

    _run(world, "sage_ssm_sync")
    orders = httpx.get(world.ssm.control_url + "/state", params={"resource": "salesorders"})
    rows = next(iter(orders.json().values()))
    live = [r["id"] for r in rows if r.get("extId") == str(number) and not r.get("deleted")]
    assert live == []  # not created a second time
    held = world.query("SELECT reason FROM ssm.held_sales_orders WHERE ext_id = ?", str(number))
    assert held and "not yet acknowledged" in held[0][0]

    _quotes(world)  # the quote job finishes it: the rep's own order carries Sage's number
    _run(world, "sage_ssm_sync")
    orders = httpx.get(world.ssm.control_url + "/state", params={"resource": "salesorders"})
    rows = next(iter(orders.json().values()))
    live = [r["id"] for r in rows if r.get("extId") == str(number) and not r.get("deleted")]
    assert live == [order]
