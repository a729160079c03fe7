"""The SSM resources the sandbox serves: their fields, types, required fields and length limits.

Taken from the reference (`ssm-api-v4.md` §3, §6, §11) and the vendor's OpenAPI definition.
Where those leave a point open, the choice made here is documented in `sandbox/ssm/__init__.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Text fields without a documented limit get this one, so that absurd values still bounce.
DEFAULT_TEXT_MAX = 255
EXT_ID_MAX = 30
# The vendor's OpenAPI types ids and integer fields `format: int32`.
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
VALUE_LIST_LANGUAGES = ("ES", "EN", "US", "IT", "DE", "FR", "BR", "DK", "PT", "RU")

# Audit fields every record carries; the server sets them, a client may not write them.
SERVER_FIELDS = (
    "id",
    "dateCreated",
    "dateUpdated",
    "dateDeleted",
    "deleted",
    "salesRepIdCreated",
    "salesRepIdUpdated",
    "salesRepIdDeleted",
)


class FieldError(ValueError):
    """A value a client sent that the field refuses; the message names the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Field:
    """One writable field of a resource.

    kind: text | int | number | bool | datetime | fk | enum | scalar | list | any (see
    `coerce_value`).
    fk_target: the resource a foreign key points to (None: an id the sandbox does not model,
    rendered with an empty label). label_key: the key of the label in the rendered
    `{id, <label_key>}` object ("value" everywhere except on users, where the vendor says
    "description").
    """

    name: str
    kind: str = "text"
    max_length: int | None = None
    fk_target: str | None = None
    label_key: str = "value"
    enum_labels: Mapping[int, str] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Resource:
    """An SSM resource: its path name, fields, required fields and bulk limits."""

    name: str
    fields: tuple[Field, ...]
    required: tuple[str, ...] = ()
    custom_fields: bool = False  # accepts Z_* custom fields
    label_fields: tuple[str, ...] = ("descriptionEN",)
    is_value_list: bool = False
    aliases: Mapping[str, str] = field(default_factory=dict)  # accepted spelling -> stored name
    bulk_create_limit: int = 200
    bulk_update_limit: int = 200
    bulk_delete_limit: int = 120

    def field_named(self, name: str) -> Field | None:
        if name.startswith("Z_") and self.custom_fields:
            return custom_field(name)
        return _field_index(self).get(name)

    def canonical_field(self, name: str) -> str | None:
        """The stored name of a field given in any letter case (for `where` and `order`)."""
        lowered = name.lower()
        for candidate in (*SERVER_FIELDS, *(f.name for f in self.fields)):
            if candidate.lower() == lowered:
                return candidate
        alias = {k.lower(): v for k, v in self.aliases.items()}.get(lowered)
        return alias


_INDEXES: dict[str, dict[str, Field]] = {}


def _field_index(resource: Resource) -> dict[str, Field]:
    index = _INDEXES.get(resource.name)
    if index is None:
        index = {f.name: f for f in resource.fields}
        _INDEXES[resource.name] = index
    return index


def text(name: str, max_length: int = DEFAULT_TEXT_MAX) -> Field:
    return Field(name, "text", max_length=max_length)


def fk(name: str, target: str | None, label_key: str = "value") -> Field:
    return Field(name, "fk", fk_target=target, label_key=label_key)


def number(name: str) -> Field:
    return Field(name, "number")


def integer(name: str, minimum: float | None = None, maximum: float | None = None) -> Field:
    return Field(name, "int", minimum=minimum, maximum=maximum)


def boolean(name: str) -> Field:
    return Field(name, "bool")


def when(name: str) -> Field:
    return Field(name, "datetime")


def custom_field(name: str) -> Field:
    """A `Z_*` extra field: a text, int, decimal, bool or datetime value, or a value-list id
    (reference §3); a JSON scalar, never an object or array."""
    return Field(name, "scalar")


# Every entity may carry these two (reference §3: "audit fields on every entity").
COMMON_FIELDS = (boolean("readOnly"), integer("permissionLevel", 0, 5))

DESCRIPTIONS = tuple(text(f"description{lang}", 70) for lang in VALUE_LIST_LANGUAGES)
VALUE_LIST_FIELDS = (
    integer("order"),
    text("description", 70),
    *DESCRIPTIONS,
    Field("branchVisibility", "list"),  # the OpenAPI's array of {id, value}
)
STATUS_DETAILS = tuple(text(f"statusDetails{lang}") for lang in ("", *VALUE_LIST_LANGUAGES))


def value_list(name: str, *extra: Field) -> Resource:
    return Resource(
        name=name,
        fields=(*VALUE_LIST_FIELDS, *extra, *COMMON_FIELDS),
        required=("descriptionEN",),
        is_value_list=True,
    )


SALES_REPS = tuple(fk(f"salesRepId{n}", "users") for n in range(1, 6))

RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource(
            name="accounts",
            fields=(
                text("name"),
                text("extId", EXT_ID_MAX),
                fk("typeId", "accountTypes"),
                fk("statusId", "accountStatuses"),
                fk("segmentId", "accountSegments"),
                fk("rateId", "rates"),
                fk("branchId", "branches"),
                *SALES_REPS,
                text("vatNumber", 50),
                text("address1", 180),
                text("address2", 180),
                text("city", 200),
                text("postcode", 20),
                text("region", 100),
                fk("countryId", "countries"),
                text("phone", 50),
                text("phone2", 50),
                text("phone3", 50),
                text("fax", 50),
                text("email", 100),
                text("website", 200),
                text("comment", 6000),
                boolean("geocoded"),
                integer("geocodingAccuracy"),
                number("latitude"),
                number("longitude"),
                when("dateGeocoded"),
                boolean("public"),
                boolean("marketingCommunications"),
                *COMMON_FIELDS,
            ),
            required=("name", "branchId", "salesRepId1"),
            custom_fields=True,
            label_fields=("name",),
        ),
        Resource(
            name="contacts",
            fields=(
                text("firstName", 100),
                text("lastName", 100),
                fk("accountId", "accounts"),
                fk("typeId", "contactTypes"),
                fk("salesRepId", "users"),
                fk("branchId", "branches"),
                text("phone1", 50),
                text("phone2", 50),
                text("fax", 50),
                text("email", 100),
                text("email2", 100),
                text("email3", 100),
                text("address1", 180),
                text("city", 200),
                text("postcode", 20),
                text("region", 100),
                fk("countryId", "countries"),
                text("extId", EXT_ID_MAX),
                text("comment", 6000),
                when("birthday"),
                text("linkedin"),
                text("skype", 100),
                boolean("useCompanyAddress"),
                Field("gender", "enum", enum_labels={0: "Male", 1: "Female"}),
                boolean("marketingCommunications"),
                *COMMON_FIELDS,
            ),
            # branchId: the vendor OpenAPI's POST /contacts requires it (reference §6.1: the
            # required fields are the union of the connector's and the Postman paraphrase's).
            required=("firstName", "lastName", "accountId", "salesRepId", "branchId"),
            custom_fields=True,
            label_fields=("firstName", "lastName"),
            aliases={"UseCompanyAddress": "useCompanyAddress"},
        ),
        Resource(
            name="opportunities",
            fields=(
                text("reference"),
                fk("type_id", "opportunityTypes"),
                fk("statusId", "opportunityStatuses"),
                number("total"),
                fk("currencyId", "currencies"),
                fk("accountId1", "accounts"),
                fk("accountId2", "accounts"),
                fk("accountId3", "accounts"),
                when("salesForecastDate"),
                integer("salesProbability", 0, 10),
                fk("salesRepId", "users"),
                text("comments", 6000),
                fk("branchId", "branches"),
                text("address1", 180),
                text("address2", 180),
                text("city", 200),
                text("postcode", 20),
                text("region", 100),
                fk("countryId", "countries"),
                when("closedDate"),
                when("wonDate"),
                when("lostDate"),
                text("extId", EXT_ID_MAX),
                boolean("geocoded"),
                integer("geocodingAccuracy"),
                number("latitude"),
                number("longitude"),
                when("dateGeocoded"),
                *COMMON_FIELDS,
            ),
            required=("branchId", "reference", "salesRepId", "salesProbability", "accountId1"),
            custom_fields=True,
            label_fields=("reference",),
        ),
        Resource(
            name="products",
            fields=(
                text("model"),
                text("description", 6000),
                text("extId", EXT_ID_MAX),
                fk("categoryId", "productCategories"),
                fk("familyId", "productFamilies"),
                number("price"),
                number("cost"),
                number("maxDiscount"),
                number("stock"),
                boolean("notAvailable"),
                *COMMON_FIELDS,
            ),
            required=("model",),
            custom_fields=True,
            label_fields=("model",),
            bulk_create_limit=100,
            bulk_update_limit=100,
            bulk_delete_limit=100,
        ),
        Resource(
            name="productCategories",
            fields=(*DESCRIPTIONS, integer("cLevel2"), text("extId", EXT_ID_MAX), *COMMON_FIELDS),
            required=("descriptionEN",),
        ),
        Resource(
            name="productFamilies",
            fields=(
                *DESCRIPTIONS,
                integer("idParent"),
                boolean("notAvailable"),
                Field("branchRestriction", "any"),
                text("extId", EXT_ID_MAX),
                *COMMON_FIELDS,
            ),
            required=("descriptionEN",),
        ),
        Resource(
            name="productRates",
            fields=(
                fk("productId", "products"),
                fk("rateId", "rates"),
                number("salePrice"),
                number("costPrice"),
                number("discount1"),
                number("discount2"),
                number("discount3"),
                number("discount4"),
                number("tempBuyingPrice"),
                number("tempListedPrice"),
                *COMMON_FIELDS,
            ),
            required=("productId", "rateId"),
            label_fields=("productId",),
        ),
        Resource(
            name="salesorders",
            fields=(
                text("reference"),
                integer("number"),
                integer("year"),
                fk("statusId", "salesorderStatuses"),
                number("total"),
                number("discount1"),
                number("discount2"),
                number("discount3"),
                number("discount4"),
                fk("currencyId", "currencies"),
                fk("accountId", "accounts"),
                fk("accountAddressId", None),
                fk("contactId", "contacts"),
                fk("opportunityId", "opportunities"),
                fk("rateId", "rates"),
                fk("branchId", "branches"),
                fk("salesRepId", "users"),
                when("salesForcecastDate"),
                text("comment", 6000),
                text("internalComment", 6000),
                when("internalCommentUpdateDate"),
                integer("internalCommentUpdateSalesRepId"),
                when("closedDate"),
                boolean("mainSalesorder"),
                boolean("archived"),
                boolean("blocked"),
                text("extId", EXT_ID_MAX),
                *COMMON_FIELDS,
            ),
            required=("branchId", "reference", "salesRepId"),
            custom_fields=True,
            label_fields=("reference",),
            aliases={"salesForecastDate": "salesForcecastDate"},
        ),
        Resource(
            name="salesordersLines",
            fields=(
                fk("salesOrderId", "salesorders"),
                fk("productId", "products"),
                text("description", 2000),
                integer("quantity"),
                number("price"),
                number("total"),
                number("discount1"),
                number("discount2"),
                number("discount3"),
                number("discount4"),
                integer("order"),
                *COMMON_FIELDS,
            ),
            required=("salesOrderId", "productId", "quantity", "price"),
            custom_fields=True,
            label_fields=("description",),
            aliases={"salesorderId": "salesOrderId"},
        ),
        Resource(
            name="sales",
            fields=(
                fk("accountId", "accounts"),
                text("accountExtId", EXT_ID_MAX),
                integer("salesRepId"),
                text("salesRepExtId", EXT_ID_MAX),
                when("date"),
                number("total"),
                text("extId", EXT_ID_MAX),
                *COMMON_FIELDS,
            ),
            required=("accountExtId", "accountId", "date", "extId", "salesRepExtId", "total"),
            custom_fields=True,
            label_fields=("extId",),
        ),
        Resource(
            name="users",
            fields=(
                text("name", 100),
                text("lastName", 100),
                text("email", 100),
                text("phone", 50),
                text("phoneExtension", 20),
                integer("idPrefix"),
                text("nic", 50),
                text("extId", EXT_ID_MAX),
                boolean("isActive"),
                boolean("billable"),
                boolean("computeSfm"),
                integer("level", 1, 5),
                text("locale", 20),
                text("dbLanguage", 10),
                text("uiLanguage", 10),
                boolean("branchRestriction"),
                fk("branches", "branches", label_key="description"),
                fk("userTypeId", "userTypes", label_key="description"),
                fk("managerId", "users", label_key="description"),
                fk("rateId", "rates", label_key="description"),
                when("lastPasswordChangeDate"),
                *COMMON_FIELDS,
            ),
            required=("name", "lastName", "email"),
            label_fields=("name", "lastName"),
        ),
        value_list(
            "branches",
            boolean("default"),
            boolean("imperialSystem"),
            boolean("mainEnvironment"),
            fk("currencyId", "currencies"),
            fk("timeZoneId", "timezones"),
        ),
        value_list(
            "countries",
            text("iso2", 2),
            text("iso3", 3),
            integer("isoNum"),
            text("phoneCode", 10),
            text("strName", 100),
        ),
        value_list("currencies", text("isoCode", 3), text("symbol", 5)),
        value_list(
            "timezones",
            text("idIanaZone", 64),
            text("shortDescription", 64),
            text("fullDescription", 200),
        ),
        value_list(
            "accountTypes", boolean("internal"), boolean("computeSfm"), integer("visitCycle")
        ),
        value_list("accountStatuses", boolean("won"), boolean("lost")),
        value_list("accountSegments", boolean("internal")),
        value_list("contactTypes", boolean("internal"), boolean("computeSfm")),
        value_list("opportunityTypes", boolean("internal")),
        value_list(
            "opportunityStatuses",
            *STATUS_DETAILS,
            integer("idParent"),
            integer("won"),
            boolean("endStatus"),
            boolean("lost"),
        ),
        value_list("salesorderStatuses", *STATUS_DETAILS, boolean("won"), boolean("lost")),
        value_list("activityTypes", boolean("internal"), boolean("visit"), boolean("phoneCall")),
        value_list("userTypes"),
        # Price lists ("rates"): referenced by accounts.rateId and productRates.rateId.
        value_list("rates", text("extId", EXT_ID_MAX)),
    )
}

_BY_LOWER = {name.lower(): name for name in RESOURCES}


def resource_named(path_segment: str) -> Resource | None:
    """Paths are matched case-insensitively (`salesOrders` = `salesorders`)."""
    canonical = _BY_LOWER.get(path_segment.lower())
    return RESOURCES[canonical] if canonical else None


# --- dates -----------------------------------------------------------------------------------

_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_when(value: str) -> datetime | None:
    """Read the date forms the API is seen to accept: ISO 8601 with `T` or a space, optional
    seconds, fraction and zone (naive = UTC). None when the text is not such a date."""
    match = _DATE_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    iso = f"{year}-{month}-{day}T{hour or '00'}:{minute or '00'}:{second or '00'}"
    if fraction:
        iso += "." + fraction.ljust(6, "0")
    if zone and zone != "Z":
        iso += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        parsed = datetime.fromisoformat(iso)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:00-05:00 is past datetime.max in UTC
        return None


def format_when(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds, as the API writes dates: 2021-12-16T14:05:53.027Z."""
    moment = moment.astimezone(UTC)
    # isoformat pads years below 1000 to four digits (strftime's %Y does not on every platform).
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def normalise_when(value: str) -> str | None:
    parsed = parse_when(value)
    return format_when(parsed) if parsed else None


def coerce_value(spec: Field, value: Any) -> Any:
    """Check one written value against its field and return what is stored (FK ids as ints,
    dates normalised). Foreign-key existence is checked by the store, which knows the records.

    Types follow the vendor's OpenAPI. An integer is a JSON number without a fraction: `2` and
    `2.0` alike (a JavaScript server cannot tell them apart), within int32; `true`/`false` are
    not integers, and a boolean is only `true` or `false` (not 0/1). A number must fit a double.
    """
    if value is None:
        return None
    checker = _CHECKERS.get(spec.kind)
    return checker(spec, value) if checker else value  # kind "any": stored as given


def _text(spec: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError(spec.name, f"field '{spec.name}' must be a string")
    if spec.max_length is not None and len(value) > spec.max_length:
        raise FieldError(
            spec.name,
            f"field '{spec.name}' is longer than {spec.max_length} characters ({len(value)})",
        )
    return value


def _whole_number(spec: Field, value: Any, what: str = "an integer") -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(spec.name, f"field '{spec.name}' must be {what}")
    if not INT32_MIN <= value <= INT32_MAX:
        raise FieldError(
            spec.name, f"field '{spec.name}' must be between {INT32_MIN} and {INT32_MAX}"
        )
    return value


def _integer(spec: Field, value: Any) -> int:
    number = _whole_number(spec, value)
    if spec.kind == "enum" and number not in spec.enum_labels:
        allowed = ", ".join(str(k) for k in spec.enum_labels)
        raise FieldError(spec.name, f"field '{spec.name}' must be one of {allowed}")
    _check_range(spec, number)
    return number


def _number(spec: Field, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(spec.name, f"field '{spec.name}' must be a number")
    try:
        float(value)
    except OverflowError:
        raise FieldError(spec.name, f"field '{spec.name}' is too large a number") from None
    _check_range(spec, value)
    return value


def _boolean(spec: Field, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldError(spec.name, f"field '{spec.name}' must be true or false")
    return value


def _datetime(spec: Field, value: Any) -> str:
    if not isinstance(value, str) or (stored := normalise_when(value)) is None:
        raise FieldError(spec.name, f"field '{spec.name}' must be an ISO 8601 date or date-time")
    return stored


def _foreign_key(spec: Field, value: Any) -> int:
    # Written as an integer; `{"id": n}` is accepted too (reference §3, unconfirmed).
    if isinstance(value, dict) and set(value) <= {"id", "value", "description"}:
        value = value.get("id")
    return _whole_number(spec, value, "an integer id")


def _array(spec: Field, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise FieldError(spec.name, f"field '{spec.name}' must be an array")
    return value


def _scalar(spec: Field, value: Any) -> Any:
    if isinstance(value, dict | list):
        raise FieldError(
            spec.name, f"field '{spec.name}' must be a text, number, true/false or null"
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(spec, value)
    return value


_CHECKERS = {
    "text": _text,
    "int": _integer,
    "enum": _integer,
    "number": _number,
    "bool": _boolean,
    "datetime": _datetime,
    "fk": _foreign_key,
    "scalar": _scalar,
    "list": _array,
}


def _check_range(spec: Field, value: float) -> None:
    if spec.minimum is not None and value < spec.minimum:
        raise FieldError(spec.name, f"field '{spec.name}' must be at least {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise FieldError(spec.name, f"field '{spec.name}' must be at most {spec.maximum:g}")
