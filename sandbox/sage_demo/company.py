"""Reference data and master records: company, lookups, customers, suppliers, products, prices."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

from sandbox.sage_demo import vocabulary as v
from sandbox.sage_demo.money import day, gbp, stamp, to_base
from sandbox.sage_demo.store import Db, Sink

# Price lists (TYPE 'P'): (PRICING_REF, NAME, CURRENCY, CALC_METHOD, CALC_VALUE, categories or None)
# CALC_METHOD follows SDO PriceListType: 0 fixed, 2 decrease sales price by %.
PRICE_LISTS: tuple[tuple[str, str, int, int, float, tuple[int, ...] | None], ...] = (
    ("TRADE", "Trade Price List", v.GBP, 2, 10.0, None),
    ("WHOLESAL", "Wholesale Paper & Stationery", v.GBP, 2, 15.0, (1, 6)),
    ("EUROPE", "European Price List (EUR)", v.EUR, 0, 0.0, None),
)


@dataclass(slots=True)
class Address:
    street: str
    street2: str
    town: str
    county: str
    postcode: str

    def lines(self) -> tuple[str, str, str, str, str]:
        return (self.street, self.street2, self.town, self.county, self.postcode)

    def compact(self) -> tuple[str, str, str, str, str]:
        """C_ADDRESS_1..5: the same lines with blanks squeezed out."""
        filled = [x for x in self.lines() if x]
        return tuple(filled + [""] * (5 - len(filled)))  # type: ignore[return-value]


@dataclass(slots=True)
class Customer:
    ref: str
    name: str
    country: str
    currency: int
    rep: str
    opened: date
    created: str
    address: Address
    contact: str
    telephone: str
    email: str
    web: str
    tax_code: str
    pricing_ref: str
    discount_type: int
    discount_rate: float
    terms_days: int
    credit_limit: int
    on_hold: int
    inactive: int
    vat_reg: str
    settlement_rate: float
    settlement_days: int
    dept: int
    cust_type: str
    region: str
    delivery: list[tuple[int, str, Address, str]] = field(default_factory=list)
    special_prices: dict[str, int] = field(default_factory=dict)
    balance: int = 0
    foreign_balance: int = 0
    first_inv: date | None = None
    last_inv: date | None = None
    last_payment: date | None = None
    turnover_ytd: int = 0
    turnover_mtd: int = 0
    prior_year: int = 0
    modified: str = ""

    @property
    def band(self) -> str | None:
        """Discount table letter for DISCOUNT_TYPE 2..6 (SDO DiscountType)."""
        return v.BAND_LETTERS[self.discount_type - 2] if self.discount_type >= 2 else None

    def touch(self, ts: str) -> None:
        if ts > self.modified:
            self.modified = ts


@dataclass(slots=True)
class Product:
    code: str
    description: str
    category: int
    kind: str  # "stock" | "non-stock" | "service"
    unit: str
    price: int  # pence, base currency, net of VAT
    cost: int
    tax_code: str
    nominal: str
    supplier: str
    inactive: int
    bands: dict[str, tuple[tuple[float, float], ...]]
    created: str
    location: str
    barcode: str
    weight: float
    qty_in_stock: float = 0.0
    qty_allocated: float = 0.0
    qty_on_order: float = 0.0
    qty_last_order: float = 0.0
    last_sale: date | None = None
    last_purchase: date | None = None
    modified: str = ""

    def touch(self, ts: str) -> None:
        if ts > self.modified:
            self.modified = ts


@dataclass(slots=True)
class Supplier:
    ref: str
    name: str
    address: Address
    contact: str
    telephone: str
    email: str
    opened: date
    created: str
    last_inv: date | None = None
    modified: str = ""


@dataclass
class Masters:
    customers: list[Customer]
    suppliers: list[Supplier]
    products: list[Product]
    list_prices: dict[str, dict[str, int]]  # PRICING_REF -> stock code -> price in list currency
    deleted_customers: list[tuple[str, str]]  # (ref, deletion timestamp)
    deleted_products: list[tuple[str, str]]


def write_reference(con: Db, as_of: date, window_start: date) -> dict[str, int]:
    """COMPANY, CURRENCY, COUNTRY_CODE, TAX_CODE, DEPARTMENT, STOCK_CAT."""
    setup = stamp(window_start - timedelta(days=400), 9 * 3600)
    rate_day = stamp(as_of - timedelta(days=3), 9 * 3600 + 15 * 60)
    counts: dict[str, int] = {}

    company = {
        "COMPANYID": "{6F1C2A44-0D5B-4C7E-9A51-3B2E5D7C9A10}",
        "NAME": "Stationery & Computer Supplies Ltd",
        "ADDRESS_1": "Unit 4, Meridian Business Park",
        "ADDRESS_2": "Kingsway",
        "ADDRESS_3": "Newcastle upon Tyne",
        "ADDRESS_4": "Tyne & Wear",
        "ADDRESS_5": "NE11 0QA",
        "TELEPHONE": "0191 555 0100",
        "E_MAIL": "accounts@scs-demo.co.uk",
        "WEB_ADDRESS": "www.scs-demo.co.uk",
        "VAT_REG_NUMBER": "GB 123 4567 89",
        "COUNTRY_CODE": "GB",
        "START_MONTH": 1,
        "FINANCIAL_YEAR": as_of.year,
        "ADDRESS_LABEL_1": "Street1",
        "ADDRESS_LABEL_2": "Street2",
        "ADDRESS_LABEL_3": "Town",
        "ADDRESS_LABEL_4": "County",
        "ADDRESS_LABEL_5": "Post Code",
        "SALES_LABEL_1": "Cust. Type",
        "SALES_LABEL_2": "Resp. Rep",
        "SALES_LABEL_3": "Region",
        "STOCK_DISCOUNT_A": "Discount A",
        "STOCK_DISCOUNT_B": "Discount B",
        "STOCK_DISCOUNT_C": "Discount C",
        "STOCK_DISCOUNT_D": "Discount D",
        "STOCK_DISCOUNT_E": "Discount E",
        "NOM_DEBTORS": "1100",
        "NOM_CREDITORS": "2100",
        "NOM_TAX_SALES": "2200",
        "NOM_TAX_PURCHASE": "2201",
        "NOM_DEFAULT_BANK": "1200",
        "NOM_DEFAULT_SALES": "4000",
        "NOM_SUSPENSE": "9998",
        "PAYMENT_DUE_SALES": 30,
        "PAYMENT_DUE_FROM_SALES": 0,
        "PAYMENT_DUE_FROM_SALES_TEXT": "Invoice Date",
        "SOP_CARRIAGE_NOM_CODE": "4905",
        "SOP_CARRIAGE_TAX_CODE": 1,
        "SOP_CARRIAGE_DEPT": 0,
        "INVOICE_DISC_UNIT_PRICE": 0,
        "NO_DISCOUNT_PRICE_LIST": 1,
        "ALLOW_NEGATIVE_STOCK": 0,
        "QTY_DECIMAL_PLACE": 2,
        "UNIT_DECIMAL_PLACE": 2,
        "RECORD_CREATE_DATE": setup,
        "RECORD_MODIFY_DATE": stamp(as_of - timedelta(days=30), 17 * 3600),
    }
    # The invoice-value discount table, as in Sage's demo data.
    for i, (amount, rate) in enumerate(
        ((100, 5), (500, 7), (1000, 15), (3000, 17), (5000, 20)), start=1
    ):
        company[f"SALES_AMOUNT_SOLD_{i}"] = float(amount)
        company[f"SALES_ADD_DISC_{i}"] = float(rate)
    sink = Sink(con, "COMPANY", list(company))
    sink.add(tuple(company.values()))
    sink.flush()
    counts["COMPANY"] = sink.count

    sink = Sink(
        con,
        "CURRENCY",
        [
            "NUMBER",
            "CODE",
            "SYMBOL",
            "NAME",
            "EMU_MEMBER",
            "BASE_CURRENCY",
            "RATE",
            "MAJOR_CURRENCY_UNIT",
            "MINOR_CURRENCY_UNIT",
            "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE",
        ],
    )
    for cur in v.CURRENCIES:
        sink.add((*cur, setup, setup if cur[5] else rate_day))
    sink.flush()
    counts["CURRENCY"] = sink.count

    sink = Sink(
        con,
        "COUNTRY_CODE",
        ["CODE", "NAME", "EU_MEMBER", "RECORD_CREATE_DATE", "RECORD_MODIFY_DATE"],
    )
    for code, name, eu, _cur in v.COUNTRIES:
        sink.add((code, name, eu, setup, setup))
    sink.flush()
    counts["COUNTRY_CODE"] = sink.count

    sink = Sink(
        con,
        "TAX_CODE",
        [
            "TAX_CODE",
            "TAX_CODE_ID",
            "DESCRIPTION",
            "TAX_RATE",
            "EURO_SALES",
            "EURO_PURCHASE",
        ],
        {"VAT_INCLUDE": 1, "RELATED_CODE": 0, "RELATED_RATE": 0.0, "IS_REVERSECHARGE": 0},
    )
    sink.extend(v.TAX_CODES)
    sink.flush()
    counts["TAX_CODE"] = sink.count

    sink = Sink(
        con,
        "DEPARTMENT",
        ["NUMBER", "NAME", "REFERENCE", "RECORD_CREATE_DATE", "RECORD_MODIFY_DATE"],
    )
    for number, name, ref in v.DEPARTMENTS:
        sink.add((number, name, ref, setup, setup))
    sink.flush()
    counts["DEPARTMENT"] = sink.count

    sink = Sink(con, "STOCK_CAT", ["NUMBER", "NAME"])
    for cat in v.STOCK_CATEGORIES:
        sink.add((cat[0], cat[1]))
    sink.flush()
    counts["STOCK_CAT"] = sink.count
    return counts


def _address(rng: Random, country: str) -> Address:
    street = f"{rng.randint(1, 240)} {rng.choice(v.STREETS)}"
    street2 = rng.choice(("", "", "Suite 2", "Unit 7", "First Floor"))
    if country == "GB":
        town, county, area = rng.choice(v.UK_TOWNS)
        postcode = f"{area}{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        return Address(street, street2, town, county, postcode)
    town, county, postcode = rng.choice(v.FOREIGN_TOWNS[country])
    return Address(street, street2, town, county, postcode)


def _person(rng: Random) -> tuple[str, str]:
    first, last = rng.choice(v.FIRST_NAMES), rng.choice(v.SURNAMES)
    return f"{first} {last}", f"{first.lower()}.{last.lower().replace(chr(39), '')}"


def _phone(rng: Random, country: str) -> str:
    if country in ("GB", "XI"):
        return f"0{rng.randint(113, 199)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    return f"+{rng.randint(30, 49)} {rng.randint(10, 99)} {rng.randint(100000, 999999)}"


class _RefMaker:
    """Sage-style account refs: three letters of the name and a counter (ABS001)."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def __call__(self, name: str) -> str:
        letters = "".join(ch for ch in name.upper() if ch.isalpha())[:3].ljust(3, "X")
        n = self.counters.get(letters, 0) + 1
        self.counters[letters] = n
        return f"{letters}{n:03d}"


def build_masters(
    rng: Random,
    *,
    customers: int,
    products: int,
    suppliers: int,
    window_start: date,
    as_of: date,
) -> Masters:
    refs = _RefMaker()
    span = (as_of - window_start).days

    supplier_list: list[Supplier] = []
    for i in range(suppliers):
        name = f"{rng.choice(v.NAME_FIRST)} {rng.choice(('Wholesale', 'Distribution', 'Manufacturing', 'Imports', 'Trading'))} {rng.choice(v.NAME_SUFFIX)}"
        opened = (
            window_start - timedelta(days=rng.randint(30, 700))
            if i < 5
            else window_start + timedelta(days=rng.randint(0, span // 2))
        )
        contact, mailbox = _person(rng)
        domain = name.split()[0].lower() + "-trade.co.uk"
        created = stamp(opened, rng.randint(8 * 3600, 17 * 3600))
        supplier_list.append(
            Supplier(
                ref=refs(name),
                name=name,
                address=_address(rng, "GB"),
                contact=contact,
                telephone=_phone(rng, "GB"),
                email=f"{mailbox}@{domain}",
                opened=opened,
                created=created,
                modified=created,
            )
        )

    # Products: deterministic special cases first, so every size has each kind.
    product_list: list[Product] = []
    code_counters: dict[str, int] = {}
    stock_cats = [
        c for c in v.STOCK_CATEGORIES if c[0] not in (v.SERVICE_CATEGORY, v.NON_STOCK_CATEGORY)
    ]
    for i in range(products):
        if i == 0:
            cat = v.STOCK_CATEGORIES[v.SERVICE_CATEGORY - 1]
        elif i == 1:
            cat = v.STOCK_CATEGORIES[v.NON_STOCK_CATEGORY - 1]
        elif rng.random() < 0.08:
            cat = v.STOCK_CATEGORIES[rng.choice((v.SERVICE_CATEGORY, v.NON_STOCK_CATEGORY)) - 1]
        else:
            cat = rng.choice(stock_cats)
        number, cat_name, prefix, unit, (lo, hi), tax_code = cat
        code_counters[prefix] = code_counters.get(prefix, 0) + 1
        code = f"{prefix}{code_counters[prefix]:03d}"
        noun = rng.choice(v.PRODUCT_NOUNS[number])
        description = f"{rng.choice(v.PRODUCT_ADJECTIVES)} {noun}"
        kind = (
            "service"
            if number == v.SERVICE_CATEGORY
            else "non-stock"
            if number == v.NON_STOCK_CATEGORY
            else "stock"
        )
        price = rng.randint(lo, hi)
        price = max(99, price - price % 100 + 99) if price > 1000 else price
        bands: dict[str, tuple[tuple[float, float], ...]] = {}
        if i == 2 or (kind == "stock" and i > 3 and rng.random() < 0.15):
            bands = {k: v.DISCOUNT_BANDS[k] for k in "AC"}  # only tables A and C
        elif i == 3 or (kind == "stock" and rng.random() < 0.55):
            bands = dict(v.DISCOUNT_BANDS)
        created_day = (
            window_start - timedelta(days=rng.randint(1, 500))
            if i < products // 2
            else window_start + timedelta(days=rng.randint(0, span - 90))
        )
        created = stamp(created_day, rng.randint(8 * 3600, 17 * 3600))
        product_list.append(
            Product(
                code=code,
                description=description,
                category=number,
                kind=kind,
                unit=unit,
                price=price,
                cost=int(price * rng.uniform(0.45, 0.7)),
                tax_code=tax_code,
                nominal="4100" if kind == "service" else "4905" if kind == "non-stock" else "4000",
                supplier=rng.choice(supplier_list).ref if kind == "stock" else "",
                inactive=1 if i == 4 or (i > 8 and rng.random() < 0.04) else 0,
                bands=bands,
                created=created,
                location=f"{rng.choice('ABCDEF')}{rng.randint(1, 30):02d}"
                if kind == "stock"
                else "",
                barcode=f"50{rng.randint(10**10, 10**11 - 1)}" if kind == "stock" else "",
                weight=round(rng.uniform(0.1, 25.0), 2) if kind == "stock" else 0.0,
                modified=created,
            )
        )

    # Price lists: stored prices in the list's currency (pence/cents).
    list_prices: dict[str, dict[str, int]] = {}
    for ref, _name, currency, method, value, cats in PRICE_LISTS:
        prices: dict[str, int] = {}
        for p in product_list:
            if p.inactive or (cats is not None and p.category not in cats):
                continue
            if method == 2:
                prices[p.code] = p.price - (p.price * round(value * 100) + 5_000) // 10_000
            else:
                raw = round(p.price * v.RATE[currency])
                prices[p.code] = max(99, raw - raw % 100 + 95) if raw > 500 else raw
        list_prices[ref] = prices

    customer_list: list[Customer] = []
    # Fixed roles for the first accounts make every case exist at every size and seed.
    roles = {
        0: {"country": "GB", "rep": v.SALES_REPS[0], "special": True},
        1: {"country": "FR", "rep": v.SALES_REPS[1], "pricing": "EUROPE"},
        2: {"country": "US", "rep": v.SALES_REPS[2]},
        3: {"country": "GB", "rep": ""},
        4: {"country": "GB", "rep": v.SALES_REPS[0], "pricing": "TRADE"},
        5: {"country": "GB", "rep": v.SALES_REPS[1], "discount_type": 2},
        6: {"country": "GB", "rep": v.SALES_REPS[2], "inactive": 1},
        7: {"country": "GB", "rep": v.SALES_REPS[3], "on_hold": 1},
        8: {"country": "IE", "rep": v.SALES_REPS[3]},
        9: {"country": "GB", "rep": v.SALES_REPS[0], "discount_type": 4},
    }
    countries = [c[0] for c in v.COUNTRIES]
    weights = [78, 2, 5, 3, 3, 2, 1, 1, 1, 2, 1, 1]
    for i in range(customers):
        role = roles.get(i, {})
        country = str(role.get("country") or rng.choices(countries, weights)[0])
        currency = next(c[3] for c in v.COUNTRIES if c[0] == country)
        if country == "GB":
            name = f"{rng.choice(v.NAME_FIRST)} {rng.choice(v.NAME_SECOND)} {rng.choice(v.NAME_SUFFIX)}"
        else:
            name = f"{rng.choice(v.NAME_FIRST)} {rng.choice(v.NAME_SECOND)} {rng.choice(v.FOREIGN_SUFFIX[country])}"
        if "rep" in role:
            rep = str(role["rep"])
        else:
            rep = "" if rng.random() < v.NO_REP_SHARE else rng.choice(v.SALES_REPS)
        if i < len(roles):
            opened = window_start - timedelta(days=rng.randint(60, 700))
        elif rng.random() < 0.3:
            opened = window_start - timedelta(days=rng.randint(1, 900))
        else:
            opened = window_start + timedelta(days=rng.randint(0, span - 60))
        address = _address(rng, country)
        contact, mailbox = _person(rng)
        domain = (
            name.split()[0].lower()
            + name.split()[1].lower()[:4]
            + (".co.uk" if country in ("GB", "XI") else ".com")
        )
        pricing = str(role.get("pricing", ""))
        if not pricing and i >= len(roles) and rng.random() < 0.12:
            pricing = (
                "EUROPE"
                if currency == v.EUR
                else ""
                if currency != v.GBP
                else rng.choice(("TRADE", "WHOLESAL"))
            )
        discount_type = int(role.get("discount_type", 0))
        if i >= len(roles) and not pricing and rng.random() < 0.2:
            discount_type = rng.randint(2, 6)
        discount_rate = 0.0
        if i >= len(roles) and not pricing and not discount_type and rng.random() < 0.1:
            discount_rate = rng.choice((2.5, 5.0, 7.5))
        region = (
            v.REGIONS.get("".join(ch for ch in address.postcode[:2] if ch.isalpha()), "")
            if country == "GB"
            else ("Europe" if currency == v.EUR else "International")
        )
        created = stamp(opened, rng.randint(8 * 3600, 17 * 3600))
        c = Customer(
            ref=refs(name),
            name=name,
            country=country,
            currency=currency,
            rep=rep,
            opened=opened,
            created=created,
            address=address,
            contact=contact,
            telephone=_phone(rng, country),
            email=f"accounts@{domain}",
            web=f"www.{domain}",
            tax_code="T1"
            if country in ("GB", "XI")
            else "T4"
            if country in v.EC_COUNTRIES
            else "T0",
            pricing_ref=pricing,
            discount_type=discount_type,
            discount_rate=discount_rate,
            terms_days=rng.choice((30, 30, 30, 14, 60)),
            credit_limit=rng.choice((1000, 2500, 5000, 10000, 25000)) * 100,
            on_hold=int(role.get("on_hold", 1 if i >= len(roles) and rng.random() < 0.03 else 0)),
            inactive=int(role.get("inactive", 1 if i >= len(roles) and rng.random() < 0.04 else 0)),
            vat_reg=f"{country if country != 'XI' else 'XI'}{rng.randint(100000000, 999999999)}"
            if country != "US"
            else "",
            settlement_rate=rng.choice((0.0, 0.0, 0.0, 2.5)),
            settlement_days=rng.choice((0, 7, 10)),
            dept=3 if currency != v.GBP else 1,
            cust_type=rng.choice(v.CUSTOMER_TYPES),
            region=region,
            modified=created,
        )
        # SALES_DEL_ADDR: delivery addresses (ADDRESS_TYPE 0) and contacts (ADDRESS_TYPE 1).
        n = 0
        if i in (0, 1) or rng.random() < 0.5:
            n += 1
            c.delivery.append((0, "Delivery", _address(rng, country), ""))
        for _ in range(2 if i == 0 else rng.choice((0, 1, 1, 2, 3))):
            person, box = _person(rng)
            c.delivery.append((1, person, c.address, f"{box}@{domain}"))
        if role.get("special") or (i >= len(roles) and rng.random() < 0.1):
            specials = rng.sample(product_list, k=min(len(product_list), rng.randint(2, 5)))
            for p in specials:
                if p.inactive:
                    continue
                c.special_prices[p.code] = round(
                    p.price * v.RATE[currency] * rng.uniform(0.8, 0.95)
                )
        customer_list.append(c)

    # Deleted masters: refs that were created and later removed (no longer in their tables).
    deleted_customers = [
        (
            refs("Zenith Closed Accounts"),
            stamp(as_of - timedelta(days=rng.randint(10, 400)), 11 * 3600),
        )
        for _ in range(max(2, customers // 100))
    ]
    deleted_products = [
        (f"DISC{n:03d}", stamp(as_of - timedelta(days=rng.randint(10, 400)), 15 * 3600))
        for n in range(1, max(2, products // 100) + 1)
    ]
    return Masters(
        customers=customer_list,
        suppliers=supplier_list,
        products=product_list,
        list_prices=list_prices,
        deleted_customers=deleted_customers,
        deleted_products=deleted_products,
    )


# The columns every demo customer shares (the stand-in SDO engine gives a new customer the same).
CUSTOMER_CONSTANTS: dict[str, object] = {
    "PAYMENT_DUE_FROM": 0,
    "PAYMENT_DUE_FROM_TEXT": "Invoice Date",
    "RESTRICT_MAIL": 0,
    "TERMS_AGREED": 1,
    "CREDIT_POSITION": "Good",
    "CREDIT_POS_CODE": 0,
    "CAN_CHARGE": 0,
    "USE_BACS": 0,
    "LETTERS_VIA_EMAIL": 1,
    "PRIORITY": 0,
    "STATUS": 0,
}


def write_customers(con: Db, customers: list[Customer], as_of: date) -> dict[str, int]:
    """SALES_LEDGER and SALES_DEL_ADDR, after trading has set balances and dates."""
    ledger = Sink(
        con,
        "SALES_LEDGER",
        [
            "ACCOUNT_REF",
            "NAME",
            "ADDRESS_1",
            "ADDRESS_2",
            "ADDRESS_3",
            "ADDRESS_4",
            "ADDRESS_5",
            "C_ADDRESS_1",
            "C_ADDRESS_2",
            "C_ADDRESS_3",
            "C_ADDRESS_4",
            "C_ADDRESS_5",
            "CONTACT_NAME",
            "TELEPHONE",
            "FAX",
            "E_MAIL",
            "WEB_ADDRESS",
            "TRADE_CONTACT",
            "DEL_NAME",
            "DEL_ADDRESS_1",
            "DEL_ADDRESS_2",
            "DEL_ADDRESS_3",
            "DEL_ADDRESS_4",
            "DEL_ADDRESS_5",
            "ANALYSIS_1",
            "ANALYSIS_2",
            "ANALYSIS_3",
            "DEPT_NUMBER",
            "DEPT_NAME",
            "STATUS_NUMBER",
            "STATUS_TEXT",
            "DEF_TAX_CODE",
            "DEF_NOM_CODE",
            "VAT_REG_NUMBER",
            "CURRENCY",
            "COUNTRY_CODE",
            "DISCOUNT_TYPE",
            "DISCOUNT_RATE",
            "PRICING_REF",
            "SETTLEMENT_DISC_RATE",
            "SETTLEMENT_DUE_DAYS",
            "PAYMENT_DUE_DAYS",
            "CREDIT_LIMIT",
            "ACCOUNT_ON_HOLD",
            "TERMS",
            "DATE_ACCOUNT_OPENED",
            "LAST_PAYMENT_DATE",
            "FIRST_INV_DATE",
            "LAST_INV_DATE",
            "BALANCE",
            "FOREIGN_BALANCE",
            "TURNOVER_MTD",
            "TURNOVER_YTD",
            "PRIOR_YEAR",
            "INACTIVE_FLAG",
            "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE",
            # Sage's "use the default tax code for sales": a customer outside the UK is taxed
            # by its own code (T4 EC, T0 export), not by the product's T1.
            "OVERRIDE_TAX_CODE",
        ],
        CUSTOMER_CONSTANTS,
    )
    addresses = Sink(
        con,
        "SALES_DEL_ADDR",
        [
            "REFERENCE",
            "ACCOUNT_REF",
            "ADDRESS_REF",
            "DESCRIPTION",
            "NAME",
            "ADDRESS_1",
            "ADDRESS_2",
            "ADDRESS_3",
            "ADDRESS_4",
            "ADDRESS_5",
            "TELEPHONE",
            "E_MAIL",
            "CONTACT_NAME",
            "TAX_CODE",
            "COUNTRY_CODE",
            "VAT_REG_NUMBER",
            "ADDRESS_TYPE_NAME",
            "ADDRESS_TYPE",
            "CONTACT_ROLE",
            "NOTES",
            "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE",
        ],
    )
    roles = v.CONTACT_ROLES
    for c in customers:
        a = c.address
        deliver = next((d for d in c.delivery if d[0] == 0), None)
        del_addr = deliver[2] if deliver else a
        status = (1, "On Hold") if c.on_hold else (0, "Open")
        ledger.add(
            (
                c.ref,
                c.name,
                *a.lines(),
                *a.compact(),
                c.contact,
                c.telephone,
                "",
                c.email,
                c.web,
                c.contact,
                c.name,
                *del_addr.lines(),
                c.cust_type,
                c.rep,
                c.region,
                c.dept,
                v.DEPT_NAME[c.dept],
                *status,
                c.tax_code,
                "4000",
                c.vat_reg,
                c.currency,
                c.country,
                c.discount_type,
                c.discount_rate,
                c.pricing_ref,
                c.settlement_rate,
                c.settlement_days,
                c.terms_days,
                gbp(c.credit_limit),
                c.on_hold,
                f"{c.terms_days} days net",
                day(c.opened),
                day(c.last_payment) if c.last_payment else None,
                day(c.first_inv) if c.first_inv else None,
                day(c.last_inv) if c.last_inv else None,
                gbp(c.balance),
                gbp(c.foreign_balance),
                gbp(c.turnover_mtd),
                gbp(c.turnover_ytd),
                gbp(c.prior_year),
                c.inactive,
                c.created,
                c.modified,
                int(c.tax_code != "T1"),
            )
        )
        for n, (kind, who, addr, email) in enumerate(c.delivery, start=1):
            created = stamp(c.opened + timedelta(days=n), 10 * 3600 + n * 60)
            if kind == 0:
                row = (
                    f"{c.ref:<8}{n:04d}",
                    c.ref,
                    n,
                    "Delivery address",
                    c.name,
                    *addr.lines(),
                    c.telephone,
                    "",
                    c.contact,
                    v.TAX_ID[c.tax_code],
                    c.country,
                    c.vat_reg,
                    "Delivery",
                    0,
                    "",
                    "Goods in: weekdays 8am-4pm",
                    created,
                    created,
                )
            else:
                row = (
                    f"{c.ref:<8}{n:04d}",
                    c.ref,
                    n,
                    who,
                    c.name,
                    *addr.lines(),
                    c.telephone,
                    email,
                    who,
                    v.TAX_ID[c.tax_code],
                    c.country,
                    c.vat_reg,
                    "Contact",
                    1,
                    roles[(n + len(c.ref)) % len(roles)],
                    "",
                    created,
                    created,
                )
            addresses.add(row)
    ledger.flush()
    addresses.flush()
    return {"SALES_LEDGER": ledger.count, "SALES_DEL_ADDR": addresses.count}


def write_suppliers(con: Db, suppliers: list[Supplier]) -> dict[str, int]:
    sink = Sink(
        con,
        "PURCHASE_LEDGER",
        [
            "ACCOUNT_REF",
            "NAME",
            "ADDRESS_1",
            "ADDRESS_2",
            "ADDRESS_3",
            "ADDRESS_4",
            "ADDRESS_5",
            "C_ADDRESS_1",
            "C_ADDRESS_2",
            "C_ADDRESS_3",
            "C_ADDRESS_4",
            "C_ADDRESS_5",
            "CONTACT_NAME",
            "TELEPHONE",
            "E_MAIL",
            "DATE_ACCOUNT_OPENED",
            "LAST_INV_DATE",
            "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE",
        ],
        {
            "FAX": "",
            "DEF_TAX_CODE": "T1",
            "DEF_NOM_CODE": "5000",
            "CURRENCY": v.GBP,
            "COUNTRY_CODE": "GB",
            "DEPT_NUMBER": 0,
            "DEPT_NAME": "Default",
            "PAYMENT_DUE_DAYS": 30,
            "PAYMENT_DUE_FROM": 0,
            "CREDIT_LIMIT": 20000.0,
            "ACCOUNT_ON_HOLD": 0,
            "TERMS": "30 days net",
            "TERMS_AGREED": 1,
            # No purchase ledger postings (PI/PP) are generated: suppliers stand settled.
            "BALANCE": 0.0,
            "FOREIGN_BALANCE": 0.0,
            "INACTIVE_FLAG": 0,
        },
    )
    for s in suppliers:
        sink.add(
            (
                s.ref,
                s.name,
                *s.address.lines(),
                *s.address.compact(),
                s.contact,
                s.telephone,
                s.email,
                day(s.opened),
                day(s.last_inv) if s.last_inv else None,
                s.created,
                s.modified,
            )
        )
    sink.flush()
    return {"PURCHASE_LEDGER": sink.count}


def write_products(con: Db, products: list[Product], as_of: date) -> dict[str, int]:
    bands = [(b, n) for b in v.BAND_LETTERS for n in range(1, 11)]
    band_cols = [f"DISC_{b}_LEVEL_{n}_{kind}" for b, n in bands for kind in ("QTY", "RATE")]
    cat_name = {c[0]: c[1] for c in v.STOCK_CATEGORIES}
    sink = Sink(
        con,
        "STOCK",
        [
            "STOCK_CODE",
            "DESCRIPTION",
            "UNIT_OF_SALE",
            "NOMINAL_CODE",
            "PURCHASE_REF",
            "LOCATION",
            "SALES_PRICE",
            "IGNORE_STK_LVL_FLAG",
            "DEPT_NUMBER",
            "DEPT_NAME",
            "TAX_CODE",
            "STOCK_CAT",
            "STOCK_CAT_NAME",
            "LAST_PURCHASE_PRICE",
            "LAST_DISC_PURCHASE_PRICE",
            "AVERAGE_COST_PRICE",
            "QTY_IN_STOCK",
            "QTY_ON_ORDER",
            "QTY_ALLOCATED",
            "QTY_LAST_ORDER",
            "QTY_REORDER",
            "QTY_REORDER_LEVEL",
            "LAST_SALE_DATE",
            "LAST_PURCHASE_DATE",
            "UNIT_WEIGHT",
            "BARCODE",
            "PURCHASE_NOMINAL_CODE",
            "INACTIVE_FLAG",
            "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE",
            *band_cols,
        ],
        {
            "ASSEMBLY_LEVEL": 0,
            "LINK_LEVEL": 0,
            "HAS_NO_COMPONENT": 1,
            "HAS_BOM": "N",
            "WEB_PUBLISH": 0,
        },
    )
    for p in products:
        levels: list[float] = []
        for b, n in bands:
            table = p.bands.get(b, ())
            qty, rate = table[n - 1] if n <= len(table) else (0.0, 0.0)
            levels += [float(qty), float(rate)]
        stocked = p.kind == "stock"
        sink.add(
            (
                p.code,
                p.description,
                p.unit,
                p.nominal,
                p.supplier,
                p.location,
                gbp(p.price),
                0 if stocked else 1,
                2 if p.kind == "service" else 1,
                v.DEPT_NAME[2 if p.kind == "service" else 1],
                p.tax_code,
                p.category,
                cat_name[p.category],
                gbp(p.cost),
                gbp(p.cost),
                gbp(p.cost),
                p.qty_in_stock,
                p.qty_on_order,
                p.qty_allocated,
                p.qty_last_order,
                50.0 if stocked else 0.0,
                10.0 if stocked else 0.0,
                day(p.last_sale) if p.last_sale else None,
                day(p.last_purchase) if p.last_purchase else None,
                p.weight,
                p.barcode,
                "5000",
                p.inactive,
                p.created,
                p.modified,
                *levels,
            )
        )
    sink.flush()
    return {"STOCK": sink.count}


def write_prices(con: Db, masters: Masters, window_start: date) -> dict[str, int]:
    created = stamp(window_start - timedelta(days=200), 10 * 3600)
    lists = Sink(
        con,
        "PRICE_LIST",
        [
            "TYPE",
            "PRICING_REF",
            "NAME",
            "CURRENCY",
            "HAS_STATIC_PRICES",
            "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE",
        ],
    )
    for ref, name, currency, method, _value, _cats in PRICE_LISTS:
        lists.add(("P", ref, name, currency, 1 if method == 0 else 0, created, created))
    lists.flush()
    prices = Sink(
        con,
        "PRICE",
        [
            "PRICE_ID",
            "TYPE",
            "PRICING_REF",
            "STOCK_CODE",
            "CALC_METHOD",
            "CALC_VALUE",
            "STORED_PRICE",
            "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE",
        ],
        {
            "ROUNDER_METHOD": 0,
            "ROUNDER_DIRECTION": 0,
            "ROUNDER_MULTIPLE_OF": 0.0,
            "ROUNDER_ADJUSTMENT": 0.0,
        },
    )
    by_code = {p.code: p for p in masters.products}
    for ref, _name, _currency, method, value, _cats in PRICE_LISTS:
        for code, price in masters.list_prices[ref].items():
            stamp_ = max(created, by_code[code].created)
            prices.add(
                (f"P{ref:<8}{code}", "P", ref, code, method, value, gbp(price), stamp_, stamp_)
            )
    for c in masters.customers:
        for code, price in c.special_prices.items():
            stamp_ = max(c.created, by_code[code].created)
            prices.add((f"S{c.ref:<8}{code}", "S", c.ref, code, 0, 0.0, gbp(price), stamp_, stamp_))
    prices.flush()
    return {"PRICE_LIST": lists.count, "PRICE": prices.count}


def price_for(
    c: Customer, p: Product, list_prices: dict[str, dict[str, int]], qty: float
) -> tuple[int, float]:
    """Unit price (account currency pence) and line discount % for a customer, as Sage picks them:
    special price, else price list (no further discount, NO_DISCOUNT_PRICE_LIST=1), else the
    sales price less the customer's quantity-band or flat discount."""
    special = c.special_prices.get(p.code)
    if special is not None:
        return special, 0.0
    if c.pricing_ref:
        listed = list_prices[c.pricing_ref].get(p.code)
        if listed is not None:
            return listed, 0.0
    unit = p.price if c.currency == v.GBP else round(p.price * v.RATE[c.currency])
    band = c.band
    if band:
        rate = 0.0
        for level_qty, level_rate in p.bands.get(band, ()):
            if qty >= level_qty:
                rate = level_rate
        return unit, rate
    return unit, c.discount_rate


__all__ = [
    "Customer",
    "Masters",
    "Product",
    "Supplier",
    "build_masters",
    "price_for",
    "to_base",
    "write_customers",
    "write_prices",
    "write_products",
    "write_reference",
    "write_suppliers",
]
