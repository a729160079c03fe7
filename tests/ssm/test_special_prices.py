"""A customer's special prices in SSM (issue 19): its own rate, through the same push.

On the hand-made staging warehouse (tests/ssm/staging_fixture.py): TRADE sells PROD00i at 9 * i;
CUST001, on TRADE, has a special price of 5 for PROD001; CUST002 and CUST003 are on TRADE alone.
The tiny demo company's special prices are checked in test_field_map_values.py.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from assets.ssm.apply import PushOptions
from sandbox.ssm.testing import SandboxProcess
from tests.ssm.compare import assert_ssm_holds_desired, fk_id
from tests.ssm.conftest import ssm_records
from tests.ssm.harness import push_all

OWN = "SPECIAL:CUST001"


def _rates(ssm: SandboxProcess) -> dict[str, dict[str, Any]]:
    return {r["extId"]: r for r in ssm_records(ssm, "rates") if r.get("extId")}  # not seeded


def _prices(ssm: SandboxProcess, rate: dict[str, Any]) -> dict[str, Decimal]:
    codes = {p["id"]: p["extId"] for p in ssm_records(ssm, "products")}
    return {
        codes[fk_id(r["productId"])]: Decimal(str(r["salePrice"]))
        for r in ssm_records(ssm, "productRates")
        if fk_id(r["rateId"]) == rate["id"]
    }


def _rate_of(ssm: SandboxProcess, account: str) -> int | None:
    record = next(a for a in ssm_records(ssm, "accounts") if a["extId"] == account)
    return fk_id(record.get("rateId"))


def _writes(reports: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {
        n: (r.created, r.updated, r.deleted)
        for n, r in reports.items()
        if r.created or r.updated or r.deleted
    }


def test_a_special_price_is_the_customers_own_rate_until_it_goes(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    push_all(warehouse, sandbox.base_url)
    rates = _rates(sandbox)
    assert set(rates) == {"TRADE", OWN}
    assert rates[OWN]["descriptionEN"] == "Special prices CUST001: Customer 1 Ltd"
    # Hand-worked: the special price for PROD001 (5, not TRADE's 9), TRADE's for the others.
    assert _prices(sandbox, rates[OWN]) == {
        "PROD001": Decimal(5),
        "PROD002": Decimal(18),
        "PROD003": Decimal(27),
        "PROD004": Decimal(36),
        "PROD005": Decimal(45),
        "PROD006": Decimal(54),
    }
    assert _prices(sandbox, rates["TRADE"])["PROD001"] == Decimal(9)
    assert _rate_of(sandbox, "CUST001") == rates[OWN]["id"]
    assert _rate_of(sandbox, "CUST002") == rates["TRADE"]["id"]
    assert _rate_of(sandbox, "CUST004") is None  # no price list, no special price

    # Sage changes the special price: one product rate is updated, nothing else.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE derived.price_lists SET selling_price = 4.5 WHERE type = 'S'")
    assert _writes(push_all(warehouse, sandbox.base_url)[0]) == {"product_rates": (0, 1, 0)}
    assert _prices(sandbox, _rates(sandbox)[OWN])["PROD001"] == Decimal("4.5")

    # Its last special price goes: the account is back on TRADE at once; the rate and its six
    # prices are deletes, held back by the delete breaker like any other (1 of 2 rates, 6 of
    # 12 prices), and go when allowed.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE derived.price_lists SET deleted_at = now() WHERE type = 'S'")
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    assert _writes(reports) == {"accounts": (0, 1, 0)}
    assert (reports["rates"].deletes_held_back, reports["product_rates"].deletes_held_back) == (
        1,
        6,
    )
    assert _rate_of(sandbox, "CUST001") == rates["TRADE"]["id"]
    allowed = PushOptions(allow_mass_delete=True)
    reports, _, _ = push_all(warehouse, sandbox.base_url, options=allowed)
    assert _writes(reports) == {"rates": (0, 0, 1), "product_rates": (0, 0, 6)}
    assert set(_rates(sandbox)) == {"TRADE"}
    assert_ssm_holds_desired(warehouse, sandbox)
