"""What a fresh sandbox holds: the admin user, the sales reps and the value lists.

Ids are fixed (1, 2, 3 … in the order below) so tests and the demo can rely on them:
user 1 is "Admin User" (the user the API keys act as), reps follow from id 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sandbox.ssm.catalogue import VALUE_LIST_LANGUAGES

API_USER_ID = 1
DEFAULT_REPS = ("Alice Carter", "Ben Hughes", "Chloe Patel")


@dataclass(frozen=True)
class SeedOptions:
    reps: tuple[str, ...] = DEFAULT_REPS
    admin_name: str = "Admin User"
    email_domain: str = "sandbox.example"


def _label(text: str, **extra: Any) -> dict[str, Any]:
    """A value-list row: the same label in every language column (the sandbox is English)."""
    row: dict[str, Any] = {"description": text}
    row.update({f"description{lang}": text for lang in VALUE_LIST_LANGUAGES})
    row.update(extra)
    return row


VALUE_LISTS: dict[str, list[dict[str, Any]]] = {
    "timezones": [
        _label(
            "(UTC+00:00) London",
            idIanaZone="Europe/London",
            shortDescription="GMT",
            fullDescription="(UTC+00:00) Dublin, Edinburgh, Lisbon, London",
        )
    ],
    "currencies": [
        _label("Pound sterling", isoCode="GBP", symbol="£"),
        _label("Euro", isoCode="EUR", symbol="€"),
        _label("US dollar", isoCode="USD", symbol="$"),
    ],
    "branches": [
        _label(
            "Main branch",
            default=True,
            imperialSystem=False,
            mainEnvironment=True,
            currencyId=1,
            timeZoneId=1,
        )
    ],
    "countries": [
        _label(
            "United Kingdom",
            iso2="GB",
            iso3="GBR",
            isoNum=826,
            phoneCode="+44",
            strName="United Kingdom",
        ),
        _label("Ireland", iso2="IE", iso3="IRL", isoNum=372, phoneCode="+353", strName="Ireland"),
        _label("France", iso2="FR", iso3="FRA", isoNum=250, phoneCode="+33", strName="France"),
        _label("Germany", iso2="DE", iso3="DEU", isoNum=276, phoneCode="+49", strName="Germany"),
        _label("Spain", iso2="ES", iso3="ESP", isoNum=724, phoneCode="+34", strName="Spain"),
        _label(
            "United States",
            iso2="US",
            iso3="USA",
            isoNum=840,
            phoneCode="+1",
            strName="United States",
        ),
    ],
    "accountTypes": [
        _label("Customer", internal=False, computeSfm=True, visitCycle=30),
        _label("Prospect", internal=False, computeSfm=True, visitCycle=60),
        _label("Supplier", internal=False, computeSfm=False, visitCycle=0),
    ],
    "accountStatuses": [
        _label("Potential", won=False, lost=False),
        _label("Client", won=True, lost=False),
        _label("Lost", won=False, lost=True),
    ],
    "accountSegments": [_label("Trade", internal=False), _label("Retail", internal=False)],
    "contactTypes": [
        _label("Main contact", internal=False, computeSfm=True),
        _label("Accounts", internal=False, computeSfm=False),
        _label("Delivery", internal=False, computeSfm=False),
    ],
    "opportunityTypes": [_label("New business", internal=False)],
    "opportunityStatuses": [
        _label("Open", idParent=1, won=0, endStatus=False, lost=False),
        _label("Won", idParent=1, won=1, endStatus=True, lost=False),
        _label("Lost", idParent=1, won=0, endStatus=True, lost=True),
    ],
    "salesorderStatuses": [
        _label("Quotation - draft", won=False, lost=False),
        _label("Quotation - sent to ERP", won=False, lost=False),
        _label("Quotation - priced", won=False, lost=False),
        _label("Order", won=True, lost=False),
        _label("Invoiced", won=True, lost=False),
        _label("Cancelled", won=False, lost=True),
    ],
    "activityTypes": [
        _label("Visit", internal=False, visit=True, phoneCall=False),
        _label("Phone call", internal=False, visit=False, phoneCall=True),
    ],
    "userTypes": [_label("Administrator"), _label("Sales rep")],
    "rates": [_label("Standard price list")],
}


def _user(user_id: int, full_name: str, level: int, user_type: int, domain: str) -> dict[str, Any]:
    first, _, last = full_name.strip().partition(" ")
    handle = ".".join(part.lower() for part in full_name.split())
    return {
        "id": user_id,
        "name": first,
        "lastName": last,
        "email": f"{handle}@{domain}",
        "extId": None,
        "isActive": True,
        "billable": True,
        "computeSfm": True,
        "level": level,
        "locale": "en-GB",
        "dbLanguage": "en",
        "uiLanguage": "en",
        "branchRestriction": False,
        "branches": 1,
        "userTypeId": user_type,
        "managerId": None if user_id == API_USER_ID else API_USER_ID,
        "rateId": 1,
    }


def seed_records(options: SeedOptions, now: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every seeded record with its audit fields, as (resource, record)."""

    def audited(record: dict[str, Any]) -> dict[str, Any]:
        return {
            "readOnly": False,
            **record,
            "dateCreated": now,
            "dateUpdated": None,
            "dateDeleted": None,
            "deleted": False,
            "salesRepIdCreated": API_USER_ID,
            "salesRepIdUpdated": None,
            "salesRepIdDeleted": None,
        }

    for resource, rows in VALUE_LISTS.items():
        for order, row in enumerate(rows, start=1):
            yield resource, audited({"id": order, "order": order, **row})
    yield "users", audited(_user(API_USER_ID, options.admin_name, 5, 1, options.email_domain))
    for offset, rep in enumerate(options.reps, start=1):
        yield "users", audited(_user(API_USER_ID + offset, rep, 1, 2, options.email_domain))
