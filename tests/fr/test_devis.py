"""A rep's quote with a Sage 50 FR dossier, end to end: the quote job writes it as a devis into an
import file (client, date, articles, quantities, SSM:<id>), the demo dossier's Sage imports and
prices it, and the sync that reads the next export returns it to SSM priced, read-only, with its
devis number, exactly once; bad quotes are held with their reason in SSM and in dead letters.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from assets.fr.devis import devis_number
from tests.fr.conftest import ORDERS, QUOTES, Dossier
from tests.ssm.conftest import REP, ssm_records

pytestmark = pytest.mark.xdist_group("end_to_end")


def _quote(d: Dossier, account: int, lines: list[tuple[int, int]]) -> int:
    """A quote as a rep makes it: the order in the quote status, then its lines."""
    order = d.rep("POST", "salesorders", reference="Devis du jour", accountId=account,
                  salesRepId=REP, branchId=d.value_id("branches", "__default__"),
                  statusId=d.value_id("salesorderStatuses", "quote - pending"))  # fmt: skip
    for product, quantity in lines:
        d.rep("POST", "salesordersLines", salesOrderId=order, productId=product,
              quantity=quantity, price=0)  # fmt: skip
    return order


def _rows(data: bytes) -> list[list[str]]:
    return [line.split("\t") for line in data.decode("cp1252").split("\r\n") if line]


def _lines(d: Dossier, order: int) -> list[dict[str, Any]]:
    own = [r for r in ssm_records(d.ssm, "salesordersLines")
           if (r.get("salesOrderId") or {}).get("id", r.get("salesOrderId")) == order]  # fmt: skip
    return sorted(own, key=lambda r: (r.get("order") or 0, r["id"]))


def test_a_rep_quote_becomes_a_devis_priced_by_sage_and_comes_back_read_only(
    ordering_dossier: Dossier,
) -> None:
    d = ordering_dossier
    d.run(QUOTES)  # the quote statuses, created in SSM
    accounts = {a.get("extId"): a["id"] for a in ssm_records(d.ssm, "accounts")}
    products = dict(d.query("SELECT ext_id, ssm_id FROM ssm.synced_products"))
    # CL00004: Taux de remise 5 %; ART0001 89,00 HT at 20 %, ART0003 18,90 HT at 5,5 %.
    good = _quote(d, accounts["CL00004"], [(products["ART0001"], 3), (products["ART0003"], 10)])
    unknown = _quote(d, accounts["CL00004"],
                     [(d.rep("POST", "products", model="Article du représentant", price=1), 1)])  # fmt: skip
    prospect = d.rep("POST", "accounts", name="Prospect Sans Code", salesRepId1=REP,
                     statusId=d.value_id("accountStatuses", "Potential"),
                     branchId=d.value_id("branches", "__default__"))  # fmt: skip
    no_code = _quote(d, prospect, [(products["ART0001"], 1)])
    zero = _quote(d, accounts["CL00004"], [(products["ART0001"], 0)])

    # 1. The quote job: one devis import file with the good quote alone; the bad ones held.
    run = d.run(QUOTES)["inbox/sage_quotes"]
    assert (run["waiting_for_sage"], run["retry_later"], run["dead_letters"]) == (1, 0, 3)
    ((name, data),) = d.waiting().items()
    assert name.startswith("Import SSM devis ")
    (e_titles, l_titles, e_row, *l_rows) = _rows(data)
    head = dict(zip(e_titles, e_row, strict=True))
    assert head == {"E": "E", "Type de pièce": "Devis", "Date pièce": dt.date.today().strftime(
        "%d/%m/%Y"), "Code client": "CL00004", "Réf. commande": f"SSM:{good}"}  # fmt: skip
    assert [dict(zip(l_titles, r, strict=True)) for r in l_rows] == [
        {"L": "L", "Code article": "ART0001", "Quantité": "3"},
        {"L": "L", "Code article": "ART0003", "Quantité": "10"},
    ]
    reasons = {
        unknown: "is not a Sage product",
        no_code: "has no Sage account code yet",
        zero: "quantity 0 must be more than 0",
    }
    held = dict(d.query("SELECT ext_id, message FROM sync.dead_letters "
                        "WHERE resource = 'quotations' AND status = 'open'"))  # fmt: skip
    for order, reason in reasons.items():
        assert reason in held[str(order)]
        record = d.record("salesorders", order)
        assert reason in record["Z_SageSync"] and not record.get("readOnly")
    assert d.record("salesorders", good).get("extId") in (None, "")

    # 2. Not imported yet: never written again, the file never rewritten.
    assert d.run(QUOTES)["inbox/sage_quotes"]["waiting_for_sage"] == 1
    assert d.waiting() == {name: data}

    # 3. Sage imports and prices it; the sync that reads its export returns it to SSM.
    imported = d.sage_import()
    ((created,),) = (imported.created,)
    numero = created.removeprefix("pieces ")
    assert numero.startswith("DE") and imported.refused == []
    d.run(ORDERS)
    number = str(devis_number(numero))
    record = d.record("salesorders", good)
    assert (record["extId"], record["reference"], record["readOnly"]) == (number, number, True)
    assert (record["statusId"] or {}).get("id") == d.value_id("salesorderStatuses",
                                                              "quote - priced")  # fmt: skip
    # By hand: 3 × 89,00 less 5 % = 253,65 (TVA 20 % 50,73); 10 × 18,90 less 5 % = 179,55
    # (TVA 5,5 % 9,875 -> 9,88 per line).
    assert Decimal(str(record["Z_NetTotal"])) == Decimal("433.20")
    assert Decimal(str(record["Z_TaxTotal"])) == Decimal("60.61")
    assert Decimal(str(record["total"])) == Decimal("493.81")
    lines = [(r["price"], r["discount1"], r["total"], r["quantity"], r["readOnly"])
             for r in _lines(d, good)]  # fmt: skip
    assert lines == [(89.0, 5.0, 253.65, 3, True), (18.9, 5.0, 179.55, 10, True)]
    assert not d.record("salesorders", good).get("Z_SageSync")
    # The pricing explanation (UK rules over the FR staging) agrees with Sage, line by line.
    assert d.query(
        "SELECT line_number, rule, customer_discount_percent, matches FROM "
        "derived.quote_price_explanation WHERE order_number = ? ORDER BY 1",
        int(number),
    ) == [(1, "sales_price", 5, True), (2, "sales_price", 5, True)]

    # 4. Exactly once: the push pairs the devis with the rep's order, and a second sync and
    # quote run change nothing.
    d.run(ORDERS)
    d.run(QUOTES)
    assert [o["id"] for o in ssm_records(d.ssm, "salesorders") if o.get("extId") == number] == [
        good
    ]
    assert d.waiting() == {}
    assert d.record("salesorders", good)["readOnly"] is True
