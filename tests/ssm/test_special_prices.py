"""A customer's special prices in SSM (issue 19): its own rate, through the same push; with
SSM_SPECIAL_RATES_WITH_LIST=true it also holds its price list's other prices.

On the hand-made staging warehouse (tests/ssm/staging_fixture.py): TRADE sells PROD00i at 9 * i
in pounds; CUST001, on TRADE, has a special price of 5 for PROD001; CUST002 and CUST003 are on
TRADE alone. The test puts CUST004 (euros, 1.17 per pound) on TRADE with a special price of 7
for PROD002. The tiny demo company's special prices are checked in test_field_map_values.py.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from assets.ssm.apply import PushOptions
from assets.ssm.settings import SyncSettings
from sandbox.ssm.testing import SandboxProcess
from tests.ssm.compare import assert_ssm_holds_desired, fk_id
from tests.ssm.conftest import ssm_records
from tests.ssm.harness import push_all

OWN = "SPECIAL:CUST001"
EURO = "SPECIAL:CUST004"
WITH_LIST = SyncSettings(special_rates_with_list=True)  # SSM_SPECIAL_RATES_WITH_LIST=true


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


def test_by_default_a_customers_rate_holds_its_special_prices_only(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    """Without SSM_SPECIAL_RATES_WITH_LIST the customer's rate does not repeat its price list's
    prices (on the large demo company that would be 11.6 million product rates): CUST001's
    rate holds its one special price, and its account's rate is still that one."""
    push_all(warehouse, sandbox.base_url)
    rates = _rates(sandbox)
    assert set(rates) == {"TRADE", OWN}
    assert _prices(sandbox, rates[OWN]) == {"PROD001": Decimal(5)}
    assert len(_prices(sandbox, rates["TRADE"])) == 6
    assert _rate_of(sandbox, "CUST001") == rates[OWN]["id"]
    assert _rate_of(sandbox, "CUST002") == rates["TRADE"]["id"]
    assert_ssm_holds_desired(warehouse, sandbox)


def test_a_special_price_is_the_customers_own_rate_until_it_goes(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE staging.customer_accounts SET price_list = 'TRADE' "
            "WHERE account_reference = 'CUST004'"
        )
        con.execute(
            "INSERT INTO derived.price_lists (type, price_list_code, product_reference, "
            "currency_code, selling_price, price_source) "
            "VALUES ('S', 'CUST004', 'PROD002', 'EUR', 7, 'stored')"
        )
    push_all(warehouse, sandbox.base_url, settings=WITH_LIST)
    rates = _rates(sandbox)
    assert set(rates) == {"TRADE", OWN, EURO}
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
    # CUST004 in euros: its special price, and TRADE's pound prices x 1.17 (9 x 1.17 = 10.53).
    assert _prices(sandbox, rates[EURO]) == {
        "PROD001": Decimal("10.53"),
        "PROD002": Decimal(7),
        "PROD003": Decimal("31.59"),
        "PROD004": Decimal("42.12"),
        "PROD005": Decimal("52.65"),
        "PROD006": Decimal("63.18"),
    }
    assert _rate_of(sandbox, "CUST001") == rates[OWN]["id"]
    assert _rate_of(sandbox, "CUST002") == rates["TRADE"]["id"]
    assert _rate_of(sandbox, "CUST004") == rates[EURO]["id"]
    assert _rate_of(sandbox, "CUST005") is None  # no price list, no special price

    # Sage changes the special price: one product rate is updated, nothing else.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE derived.price_lists SET selling_price = 4.5 "
            "WHERE type = 'S' AND price_list_code = 'CUST001'"
        )
    assert _writes(push_all(warehouse, sandbox.base_url, settings=WITH_LIST)[0]) == {
        "product_rates": (0, 1, 0)
    }
    assert _prices(sandbox, _rates(sandbox)[OWN])["PROD001"] == Decimal("4.5")

    # Their special prices go: the accounts are back on TRADE at once; the two rates and their
    # twelve prices are deletes, held back by the delete breaker like any other (2 of 3 rates,
    # 12 of 18 prices), and go when allowed.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE derived.price_lists SET deleted_at = now() WHERE type = 'S'")
    reports, _, _ = push_all(warehouse, sandbox.base_url, settings=WITH_LIST)
    assert _writes(reports) == {"accounts": (0, 2, 0)}
    assert (reports["rates"].deletes_held_back, reports["product_rates"].deletes_held_back) == (
        2,
        12,
    )
    assert _rate_of(sandbox, "CUST001") == _rate_of(sandbox, "CUST004") == rates["TRADE"]["id"]
    allowed = PushOptions(allow_mass_delete=True)
    reports, _, _ = push_all(warehouse, sandbox.base_url, options=allowed, settings=WITH_LIST)
    assert _writes(reports) == {"rates": (0, 0, 2), "product_rates": (0, 0, 12)}
    assert set(_rates(sandbox)) == {"TRADE"}
    assert_ssm_holds_desired(warehouse, sandbox)
