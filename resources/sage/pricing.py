"""How Sage 50 UK prices a sales line: THE place the project writes Sage's pricing rules down.

`price_line(customer, product, quantity, prices, tax_rates, currencies, rules)` prices one line
from plain facts named after Sage's ODBC columns; `PricingRules.from_env()` reads the company's
switches. The stand-in SDO engine prices with it (`sandbox.sdo.pricing`); on Windows Sage's own
SDO pricing objects answer, and `derived.quote_price_explanation` re-derives the same rules in
SQL to check what Sage wrote. Sources: reference sage50-write-back.md §1.6 and §5,
sage50-uk-odbc.md §2.9-2.10. [U] marks a rule the reference leaves unconfirmed: each one is a
setting below, so a company whose Sage behaves otherwise changes a setting, not the code.

1. Base price, first that applies:
   a. special price: the PRICE row TYPE 'S' whose PRICING_REF is the customer's ACCOUNT_REF,
      for the product; in the customer's currency;
   b. price list: the customer's PRICING_REF names a PRICE_LIST (TYPE 'P') holding a PRICE row
      for the product; in the list's currency (PRICE_LIST.CURRENCY);
   c. sales price: the product's SALES_PRICE, in the base currency.
   (a product missing from the special prices or from the list falls through to the next.)
2. A PRICE row's price (in its list's currency):
   - a static list (PRICE_LIST.HAS_STATIC_PRICES, "manually recalculate") sells at STORED_PRICE;
   - CALC_METHOD (SDO PriceListType): 0 fixed: STORED_PRICE [U: SAGE_PRICING_FIXED_PRICE_FROM,
     `calc_value` reads CALC_VALUE as PriceFinding does]; 1 standard: SALES_PRICE; 2 decrease %:
     SALES_PRICE x (1 - v/100); 3 decrease value: SALES_PRICE - v; 4 markup % on cost:
     cost x (1 + v/100); 5 markup value on cost: cost + v; 6 increase %: SALES_PRICE x
     (1 + v/100) (Sage's KB; PriceFinding's `+ v` is a bug), v = CALC_VALUE; an unknown method
     sells at STORED_PRICE. Cost is LAST_PURCHASE_PRICE [U: SAGE_PRICING_COST_PRICE]. Methods
     1-6 work in the base currency (values of 3 and 5 too [U]) and are then multiplied by the
     list currency's exchange rate;
   - then the row's rounding (methods 1-6 only): ROUNDER_DIRECTION and ROUNDER_METHOD codes are
     not documented [U]; the mapping is SAGE_PRICING_ROUNDER_DIRECTIONS (default `1:up,
     2:nearest,3:down`, any other code = no rounding, the demo's 0) and
     SAGE_PRICING_ROUNDER_METHODS (default `0:multiple_of,1:decimal_places`): `multiple_of`
     rounds to a multiple of ROUNDER_MULTIPLE_OF, `decimal_places` to ROUNDER_MULTIPLE_OF
     decimal places; then ROUNDER_ADJUSTMENT is added (0.50 up, -0.01 gives .49/.99 prices).
3. Currency: CURRENCY.RATE (the ODBC column; SDO's exchange rate) is units of that currency per
   1 base unit (the demo: EUR 1.17). A price in currency L sells to a customer in currency C at
   price / rate(L) x rate(C) (no conversion when L = C). The unit price is then rounded half up
   to SAGE_PRICING_UNIT_DECIMAL_PLACES (Sage's Company Preferences unit d.p., default 2).
4. Discounts, as percentages on the line (SOP_ITEM.DISCOUNT_RATE):
   - quantity discount: customer DISCOUNT_TYPE 2..6 = table A..E (SDO DiscountType); of the
     product's DISC_x_LEVEL_1..10 levels, a level with QTY 0 is unused, and the one with the
     largest QTY <= quantity gives its RATE (none: 0). It applies to the sales price always, to a
     special price only with SAGE_PRICING_DISCOUNTS_ON_SPECIAL_PRICES and to a list price only
     with SAGE_PRICING_DISCOUNTS_ON_PRICE_LIST_PRICES (Sage's Invoice & Order Defaults >
     Discounts "Special Prices" / "Price List Prices", off by default, as the demo's
     NO_DISCOUNT_PRICE_LIST = 1);
   - customer discount: SALES_LEDGER.DISCOUNT_RATE "applies to all invoices and orders and is
     added to any other discounts" (KB), so it is added to the quantity discount; on special and
     list prices too unless SAGE_PRICING_CUSTOMER_DISCOUNT_ON_ALL_PRICES is false [U];
   - value (invoice-total) discount, DISCOUNT_TYPE 1: NOT modelled. It depends on the whole
     document, not a line: Sage takes the document's net value, finds the highest COMPANY
     SALES_AMOUNT_SOLD_n <= it and adds SALES_ADD_DISC_n % (subject to the same switches and to
     "All customers / Only customers not associated with a price list"). Such lines are priced
     without it and their explanation says so.
5. Amounts, Decimal throughout, half up where Sage rounds:
   - default ("discount by unit price" off): full = unit x qty rounded to 2 dp; discount =
     full x discount% rounded to 2 dp; net = full - discount;
   - SAGE_PRICING_DISCOUNT_BY_UNIT_PRICE on (Invoice & Order Defaults "Discount by Unit Price",
     COMPANY.INVOICE_DISC_UNIT_PRICE): unit discount = unit x discount% rounded to the unit d.p.;
     net = (unit - unit discount) x qty rounded to 2 dp; discount = full - net.
   UNIT_PRICE on the line stays the undiscounted unit price in both.
6. VAT per line: tax = net x rate/100 rounded half up to 2 dp (Sage rounds each line). The tax
   code is the product's TAX_CODE unless the customer's "Use Default Tax Code for Sales"
   (SALES_LEDGER.OVERRIDE_TAX_CODE) is ticked, then the customer's DEF_TAX_CODE (Sage KB
   200427112358916) [U: SAGE_PRICING_TAX_CODE_FROM `override_flag` | `customer` | `product`].
   Rates from TAX_CODE by code number (T1 = 1).
A customer on hold or inactive is priced like any other: refusing it is the caller's decision.

Settings (environment, each with Sage's default):

| variable | default | Sage's name / meaning |
|---|---|---|
| `SAGE_PRICING_DISCOUNT_BY_UNIT_PRICE` | `false` | Invoice & Order Defaults > Discounts "Discount by Unit Price" |
| `SAGE_PRICING_DISCOUNTS_ON_SPECIAL_PRICES` | `false` | ... "Special Prices": quantity discounts also on special prices |
| `SAGE_PRICING_DISCOUNTS_ON_PRICE_LIST_PRICES` | `false` | ... "Price List Prices": quantity discounts also on price list prices |
| `SAGE_PRICING_CUSTOMER_DISCOUNT_ON_ALL_PRICES` | `true` | the customer Disc.% also on special and list prices [U] |
| `SAGE_PRICING_TAX_CODE_FROM` | `override_flag` | which tax code a line gets [U] |
| `SAGE_PRICING_COST_PRICE` | `last_purchase_price` | the "cost" of methods 4-5: `last_purchase_price` or `average_cost_price` [U] |
| `SAGE_PRICING_FIXED_PRICE_FROM` | `stored_price` | where a Fixed Price row's price is: `stored_price` or `calc_value` [U] |
| `SAGE_PRICING_UNIT_DECIMAL_PLACES` | `2` | Company Preferences unit price decimal places |
| `SAGE_PRICING_ROUNDER_DIRECTIONS` | `1:up,2:nearest,3:down` | PRICE.ROUNDER_DIRECTION codes [U] |
| `SAGE_PRICING_ROUNDER_METHODS` | `0:multiple_of,1:decimal_places` | PRICE.ROUNDER_METHOD codes [U] |
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Literal

SPECIAL_PRICE, PRICE_LIST, SALES_PRICE = "special_price", "price_list", "sales_price"
Rule = Literal["special_price", "price_list", "sales_price"]
DISCOUNT_TABLES = "ABCDE"  # DISCOUNT_TYPE 2..6
VALUE_DISCOUNT = 1  # DISCOUNT_TYPE 1: invoice-value discount (not modelled)

CALC_METHODS = {
    0: "fixed price",
    1: "standard sales price",
    2: "decrease sales price by %",
    3: "decrease sales price by value",
    4: "markup % on cost price",
    5: "markup value on cost price",
    6: "increase sales price by %",
}
ROUNDER_DIRECTIONS = ("up", "nearest", "down")
ROUNDER_METHODS = ("multiple_of", "decimal_places")
TAX_CODE_SOURCES = ("override_flag", "customer", "product")
COST_PRICES = ("last_purchase_price", "average_cost_price")
FIXED_PRICE_SOURCES = ("stored_price", "calc_value")

ZERO, HUNDRED, PENNY = Decimal(0), Decimal(100), Decimal("0.01")


# ---------------------------------------------------------------------------------- the facts
@dataclass(frozen=True)
class Customer:
    """SALES_LEDGER facts. `currency` is the ODBC CURRENCY number (1-based; None or 0: base)."""

    account_ref: str
    currency: int | None = None
    pricing_ref: str = ""
    discount_type: int = 0
    discount_rate: Decimal = ZERO
    def_tax_code: int = 1
    override_tax_code: bool = False
    account_on_hold: bool = False
    inactive_flag: bool = False


@dataclass(frozen=True)
class Product:
    """STOCK facts. `discount_levels`: table letter -> the 10 (DISC_x_LEVEL_n_QTY, _RATE) pairs
    in level order (missing tables or levels: unused)."""

    stock_code: str
    sales_price: Decimal
    tax_code: int
    last_purchase_price: Decimal = ZERO
    average_cost_price: Decimal = ZERO
    discount_levels: Mapping[str, Sequence[tuple[Decimal, Decimal]]] = field(
        default_factory=dict, hash=False
    )


@dataclass(frozen=True)
class PriceRecord:
    """A live PRICE row, with its PRICE_LIST's HAS_STATIC_PRICES and CURRENCY (a special price,
    TYPE 'S', has no list: not static, in the customer's currency, list_currency None)."""

    type: str
    pricing_ref: str
    stock_code: str
    calc_method: int
    calc_value: Decimal
    stored_price: Decimal
    rounder_method: int = 0
    rounder_direction: int = 0
    rounder_multiple_of: Decimal = ZERO
    rounder_adjustment: Decimal = ZERO
    has_static_prices: bool = False
    list_currency: int | None = None


@dataclass(frozen=True)
class Currency:
    """CURRENCY facts: `exchange_rate` is CURRENCY.RATE, units of it per 1 base unit."""

    number: int
    code: str
    exchange_rate: Decimal
    base_currency: bool = False


# ---------------------------------------------------------------------------------- the rules
def _flag(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} is {value!r}: set it to true or false.")


def _choice(name: str, value: str, allowed: Sequence[str]) -> str:
    text = value.strip().lower()
    if text not in allowed:
        raise ValueError(f"{name} is {value!r}: set it to one of {', '.join(allowed)}.")
    return text


def _code_map(name: str, value: str, allowed: Sequence[str]) -> Mapping[int, str]:
    """'1:up,2:nearest' -> {1: 'up', 2: 'nearest'}."""
    mapping: dict[int, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        code, sep, meaning = part.partition(":")
        if not sep or not code.strip().lstrip("-").isdigit():
            raise ValueError(f"{name} is {value!r}: write code:meaning pairs, e.g. 1:up,2:down.")
        mapping[int(code)] = _choice(name, meaning, allowed)
    return MappingProxyType(mapping)


@dataclass(frozen=True)
class PricingRules:
    """The company's pricing switches (see the module docstring for each setting)."""

    discount_by_unit_price: bool = False
    discounts_on_special_prices: bool = False
    discounts_on_price_list_prices: bool = False
    customer_discount_on_all_prices: bool = True
    tax_code_from: str = "override_flag"
    cost_price: str = "last_purchase_price"
    fixed_price_from: str = "stored_price"
    unit_decimal_places: int = 2
    rounder_directions: Mapping[int, str] = field(
        default_factory=lambda: MappingProxyType({1: "up", 2: "nearest", 3: "down"}), hash=False
    )
    rounder_methods: Mapping[int, str] = field(
        default_factory=lambda: MappingProxyType({0: "multiple_of", 1: "decimal_places"}),
        hash=False,
    )

    def __post_init__(self) -> None:
        _choice("SAGE_PRICING_TAX_CODE_FROM", self.tax_code_from, TAX_CODE_SOURCES)
        _choice("SAGE_PRICING_COST_PRICE", self.cost_price, COST_PRICES)
        _choice("SAGE_PRICING_FIXED_PRICE_FROM", self.fixed_price_from, FIXED_PRICE_SOURCES)
        if not 0 <= self.unit_decimal_places <= 6:
            raise ValueError(
                f"SAGE_PRICING_UNIT_DECIMAL_PLACES is {self.unit_decimal_places}: Sage allows 0-6."
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PricingRules:
        env = os.environ if env is None else env

        def setting(name: str, default: str) -> tuple[str, str]:
            """SAGE_PRICING_<name> and its value (the default when unset or empty)."""
            variable = f"SAGE_PRICING_{name}"
            return variable, env.get(variable) or default

        places = setting("UNIT_DECIMAL_PLACES", "2")[1].strip()
        if not places.isdigit():
            raise ValueError(f"SAGE_PRICING_UNIT_DECIMAL_PLACES is {places!r}: set a number 0-6.")
        return cls(
            discount_by_unit_price=_flag(*setting("DISCOUNT_BY_UNIT_PRICE", "false")),
            discounts_on_special_prices=_flag(*setting("DISCOUNTS_ON_SPECIAL_PRICES", "false")),
            discounts_on_price_list_prices=_flag(
                *setting("DISCOUNTS_ON_PRICE_LIST_PRICES", "false")
            ),
            customer_discount_on_all_prices=_flag(
                *setting("CUSTOMER_DISCOUNT_ON_ALL_PRICES", "true")
            ),
            tax_code_from=_choice(*setting("TAX_CODE_FROM", "override_flag"), TAX_CODE_SOURCES),
            cost_price=_choice(*setting("COST_PRICE", "last_purchase_price"), COST_PRICES),
            fixed_price_from=_choice(
                *setting("FIXED_PRICE_FROM", "stored_price"), FIXED_PRICE_SOURCES
            ),
            unit_decimal_places=int(places),
            rounder_directions=_code_map(
                *setting("ROUNDER_DIRECTIONS", "1:up,2:nearest,3:down"), ROUNDER_DIRECTIONS
            ),
            rounder_methods=_code_map(
                *setting("ROUNDER_METHODS", "0:multiple_of,1:decimal_places"), ROUNDER_METHODS
            ),
        )


# ---------------------------------------------------------------------------------- the answer
@dataclass(frozen=True)
class PricedLine:
    stock_code: str
    quantity: Decimal
    rule: Rule
    calc_method: int | None  # CALC_METHOD of the PRICE row used (None for the sales price)
    list_unit_price: Decimal  # before discounts, in the customer's currency
    quantity_discount_percent: Decimal  # from the discount table A-E (0 if none or not applied)
    customer_discount_percent: Decimal  # SALES_LEDGER.DISCOUNT_RATE (0 if not applied)
    discount_percent: Decimal  # what Sage puts on the line: the two added
    unit_price: Decimal  # UNIT_PRICE on the line (the undiscounted unit price)
    discount_amount: Decimal
    net: Decimal  # 2 dp
    tax_code: int
    tax_rate: Decimal
    tax: Decimal  # 2 dp, per line
    currency: str  # ISO code of the customer's currency
    explanation: str  # one sentence: which rule fired and what it computed


def _dec(value: object) -> Decimal:
    """Exact decimal of a fact (floats from the Sage driver through their shortest text)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)) if value is not None else ZERO


def round_half_up(value: Decimal, places: int = 2) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _rounded_by_rounder(price: Decimal, record: PriceRecord, rules: PricingRules) -> Decimal:
    """The PRICE row's own rounding (ROUNDER_*), codes read through the rules' mapping."""
    direction = rules.rounder_directions.get(record.rounder_direction)
    method = rules.rounder_methods.get(record.rounder_method)
    if direction is None or method is None:
        return price
    mode = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "nearest": ROUND_HALF_UP}[direction]
    multiple_of = _dec(record.rounder_multiple_of)
    if method == "decimal_places":
        step = Decimal(1).scaleb(-int(multiple_of))
    elif multiple_of > 0:
        step = multiple_of
    else:  # a multiple of nothing: no rounding rule at all
        return price
    rounded = (price / step).quantize(Decimal(1), rounding=mode) * step
    return rounded + _dec(record.rounder_adjustment)


def _currency(currencies: Mapping[int, Currency], number: int | None) -> Currency:
    if number:
        found = currencies.get(number)
        if found is None:
            raise LookupError(f"currency {number} is not in Sage's CURRENCY table")
        return found
    base = next((c for c in currencies.values() if c.base_currency), None)
    return base or Currency(1, "GBP", Decimal(1), True)


def _record_price(
    record: PriceRecord, product: Product, list_rate: Decimal, rules: PricingRules
) -> tuple[Decimal, str]:
    """The PRICE row's price in its list's currency, and how it was found (for the sentence)."""
    method, v = record.calc_method, _dec(record.calc_value)
    if record.has_static_prices:
        return _dec(record.stored_price), "stored price of a static list"
    if method == 0:
        if rules.fixed_price_from == "calc_value":
            return v, "fixed price (CALC_VALUE)"
        return _dec(record.stored_price), "fixed price"
    sales = _dec(product.sales_price)
    cost = _dec(
        product.last_purchase_price
        if rules.cost_price == "last_purchase_price"
        else product.average_cost_price
    )
    formulas = {
        1: sales,
        2: sales * (1 - v / HUNDRED),
        3: sales - v,
        4: cost * (1 + v / HUNDRED),
        5: cost + v,
        6: sales * (1 + v / HUNDRED),
    }
    if method not in formulas:
        return _dec(record.stored_price), f"stored price (unknown method {method})"
    price = _rounded_by_rounder(formulas[method] * list_rate, record, rules)
    return price, f"{CALC_METHODS[method]} {v.normalize():f}"


def _quantity_discount(product: Product, table: str, quantity: Decimal) -> Decimal:
    """RATE of the used level (QTY > 0) with the largest QTY <= quantity; later level on ties."""
    best: tuple[Decimal, Decimal] | None = None
    for qty, rate in product.discount_levels.get(table, ()):
        qty, rate = _dec(qty), _dec(rate)
        if qty > 0 and qty <= quantity and (best is None or qty >= best[0]):
            best = (qty, rate)
    return best[1] if best else ZERO


def _money(value: Decimal) -> str:
    return f"{value:f}"


def price_line(
    customer: Customer,
    product: Product,
    quantity: Decimal,
    prices: Sequence[PriceRecord],
    tax_rates: Mapping[int, Decimal],
    currencies: Mapping[int, Currency],
    rules: PricingRules,
) -> PricedLine:
    """Price `quantity` of `product` for `customer` as Sage 50 UK does (module docstring).

    `prices` are live PRICE rows (any subset: those of other customers, lists or products are
    ignored); `tax_rates` maps tax code numbers to %; `currencies` CURRENCY numbers to rates.
    Raises LookupError when a fact it needs is missing (the tax code's rate, a currency)."""
    quantity = _dec(quantity)
    places = rules.unit_decimal_places
    account = customer.account_ref.strip().upper()
    code = product.stock_code.strip().upper()
    cust_currency = _currency(currencies, customer.currency)

    def find(kind: str, ref: str) -> PriceRecord | None:
        return next(
            (
                p
                for p in prices
                if p.type.strip().upper() == kind
                and p.pricing_ref.strip().upper() == ref
                and p.stock_code.strip().upper() == code
            ),
            None,
        )

    special = find("S", account)
    listed = find("P", customer.pricing_ref.strip().upper()) if customer.pricing_ref else None
    record = special or listed
    rule: Rule
    if record is not None:
        rule = SPECIAL_PRICE if special else PRICE_LIST
        # A special price is in the customer's currency; a list price in its list's.
        list_currency = cust_currency if special else _currency(currencies, record.list_currency)
        price, how = _record_price(record, product, _dec(list_currency.exchange_rate), rules)
        source = (
            f"special price for {account}: {how}"
            if special
            else f"price list {customer.pricing_ref.strip()}: {how}"
        )
    else:
        rule, list_currency = SALES_PRICE, _currency(currencies, None)
        price, source = _dec(product.sales_price), "product sales price"
    if list_currency.number != cust_currency.number:
        price = price / _dec(list_currency.exchange_rate) * _dec(cust_currency.exchange_rate)
        source += (
            f" in {list_currency.code}, converted at {_dec(cust_currency.exchange_rate)} "
            f"{cust_currency.code} / {_dec(list_currency.exchange_rate)} {list_currency.code}"
        )
    unit = round_half_up(price, places)

    # Discounts: the quantity table subject to the switches, plus the customer's own %.
    qty_pct = ZERO
    qty_applies = (
        rule == SALES_PRICE
        or (rule == SPECIAL_PRICE and rules.discounts_on_special_prices)
        or (rule == PRICE_LIST and rules.discounts_on_price_list_prices)
    )
    notes = []
    if 2 <= customer.discount_type <= 6:
        table = DISCOUNT_TABLES[customer.discount_type - 2]
        if qty_applies:
            qty_pct = _quantity_discount(product, table, quantity)
            notes.append(f"quantity discount {table} {qty_pct.normalize():f}%")
        else:
            notes.append(f"no quantity discount on a {rule.replace('_', ' ')}")
    elif customer.discount_type == VALUE_DISCOUNT:
        notes.append("invoice-value discount not modelled")
    cust_pct = (
        _dec(customer.discount_rate)
        if rule == SALES_PRICE or rules.customer_discount_on_all_prices
        else ZERO
    )
    if cust_pct:
        notes.append(f"customer discount {cust_pct.normalize():f}%")
    pct = qty_pct + cust_pct

    full = round_half_up(unit * quantity)
    if rules.discount_by_unit_price:
        unit_discount = round_half_up(unit * pct / HUNDRED, places)
        net = round_half_up((unit - unit_discount) * quantity)
        discount = full - net
    else:
        discount = round_half_up(full * pct / HUNDRED)
        net = full - discount

    if rules.tax_code_from == "customer" or (
        rules.tax_code_from == "override_flag" and customer.override_tax_code
    ):
        tax_code = customer.def_tax_code
    else:
        tax_code = product.tax_code
    if tax_code not in tax_rates:
        raise LookupError(f"tax code T{tax_code} is not in Sage's TAX_CODE table")
    tax_rate = _dec(tax_rates[tax_code])
    tax = round_half_up(net * tax_rate / HUNDRED)

    cur = cust_currency.code
    explanation = (
        f"{rule.replace('_', ' ').capitalize()} ({source}) gives {_money(unit)} {cur}"
        + (f"; {'; '.join(notes)}" if notes else "")
        + f"; {quantity.normalize():f} x {_money(unit)} = {_money(full)}"
        + (f" less {pct.normalize():f}% {_money(discount)}" if discount else "")
        + f", net {_money(net)}, T{tax_code} {tax_rate.normalize():f}% VAT {_money(tax)}."
    )
    return PricedLine(
        stock_code=product.stock_code,
        quantity=quantity,
        rule=rule,
        calc_method=record.calc_method if record is not None else None,
        list_unit_price=unit,
        quantity_discount_percent=qty_pct,
        customer_discount_percent=cust_pct,
        discount_percent=pct,
        unit_price=unit,
        discount_amount=discount,
        net=net,
        tax_code=tax_code,
        tax_rate=tax_rate,
        tax=tax,
        currency=cur,
        explanation=explanation,
    )


__all__ = [
    "CALC_METHODS",
    "PRICE_LIST",
    "SALES_PRICE",
    "SPECIAL_PRICE",
    "Currency",
    "Customer",
    "PriceRecord",
    "PricedLine",
    "PricingRules",
    "Product",
    "price_line",
    "round_half_up",
]
