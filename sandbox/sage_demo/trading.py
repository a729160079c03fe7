"""Documents and the audit trail: invoices, credit notes, sales and purchase orders, receipts.

Everything is generated in date order, so invoice, order and transaction numbers grow with time
as in a real company. Money is integer pence (or cents, for EUR/USD accounts) until written.
Payments are planned when an invoice is raised (all amounts known up front), the invoice's
audit rows are written at once with their final paid state, and each payer (SR, SA, SC) is
queued and posted on its own date, with the two mirrored AUDIT_USAGE rows per allocation.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

from sandbox.sage_demo import vocabulary as v
from sandbox.sage_demo.company import Customer, Masters, Product, price_for
from sandbox.sage_demo.money import DAY_TEXT, day, gbp, pct, stamp, to_base
from sandbox.sage_demo.store import Db, Sink

DAY = timedelta(days=1)
RATE, TAX_RATE, TAX_ID, DEPT_NAME = v.RATE, v.TAX_RATE, v.TAX_ID, v.DEPT_NAME
# Zero padding for the unused VAT analysis slots (5 per document), by slots used.
_VAT_PAD = tuple((0.0,) * (5 - n) for n in range(6))

# Document and status codes (see the package docstring for the sources and the choices).
INVOICE_KINDS = {
    "product": (0, "Product Invoice", "Invoice"),
    "service": (2, "Service Invoice", "Invoice"),
    "product_credit": (3, "Product Credit", "Credit Note"),
    "service_credit": (4, "Service Credit", "Credit Note"),
}
ORDER_KINDS = {"order": (0, "Sales Order"), "quote": (1, "Quotation"), "proforma": (2, "Proforma")}
ALLOCATED = {"none": (0, ""), "part": (1, "Part"), "full": (2, "Full"), "cancelled": (3, "Cancel")}
DESPATCH = {"none": (0, ""), "part": (1, "Part"), "complete": (2, "Complete")}
QUOTE_STATUS = {0: "", 1: "Open", 2: "Won", 3: "Lost"}

# Payment outcomes planned for posted invoices; weights for settled (old) and recent invoices.
SCENARIOS = (
    "paid",
    "paid_two",
    "part_paid",
    "unpaid",
    "credit",
    "credit_only",
    "credit_unallocated",
    "sa_allocated",
    "receipt_deleted",
    "corrected",
)
OLD_WEIGHTS = (82, 5, 2.5, 1.5, 3, 1, 0.7, 2.5, 0.4, 0.4)
RECENT_WEIGHTS = (35, 3, 8, 45, 2, 1, 0.5, 3, 0.3, 0.3)
# The first live posted invoices walk through every scenario, so each exists at every size.
FORCED = SCENARIOS


@dataclass(slots=True)
class Line:
    product: Product | None
    code: str
    description: str
    unit: str
    qty: float
    price: int  # account-currency pence per unit
    disc_rate: float
    full: int
    disc: int
    net: int
    tax: int
    full_b: int
    disc_b: int
    net_b: int
    tax_b: int
    tax_code: str
    nominal: str
    dept: int
    service: int
    text: str = ""


@dataclass(slots=True)
class Split:
    nominal: str
    tax_code: str
    dept: int
    net: int = 0
    tax: int = 0
    fnet: int = 0
    ftax: int = 0
    paid: int = 0
    fpaid: int = 0
    number: int = 0
    details: str = ""

    @property
    def gross(self) -> int:
        return self.net + self.tax

    @property
    def fgross(self) -> int:
        return self.fnet + self.ftax


@dataclass(slots=True)
class Txn:
    type: str
    account: Customer
    date: date
    inv_ref: str
    details: str
    currency: int
    rate: float
    splits: list[Split]
    due: date | None = None
    deleted: int = 0
    history: bool = False
    header: int = 0
    created: str = ""
    modified: str = ""
    bank_flag: str = "N"
    isp_reference: int = 0


@dataclass(slots=True)
class Alloc:
    """One allocation: payer split ↔ target split, base and foreign amounts, on `when`."""

    target: Split
    target_type: str
    target_tran: Txn
    base: int
    foreign: int


@dataclass(slots=True)
class Payer:
    txn: Txn
    allocs: list[Alloc] = field(default_factory=list)
    deleted_on: date | None = None
    credit_lines: list[Line] = field(default_factory=list)


_HOME_COUNTRIES = ("GB", "XI")
_QUANTITIES = (1, 1, 2, 3, 5, 10, 12, 20, 25, 50, 100)
_HOURS = (1, 2, 4, 8)


def _tax_code(c: Customer, p_code: str, d: date) -> str:
    if c.country in ("GB", "XI"):
        return p_code
    if c.country in v.EC_COUNTRIES and d < date(2021, 1, 1):
        return "T4"
    return "T0"


class Trading:
    def __init__(
        self,
        con: Db,
        rng: Random,
        masters: Masters,
        *,
        as_of: date,
        window_start: date,
        clear_date: date,
    ) -> None:
        self.con = con
        self.rng = rng
        self.m = masters
        self.as_of = as_of
        self.window_start = window_start
        self.clear_date = clear_date
        self.goods = [p for p in masters.products if p.kind != "service"]
        self.services = [p for p in masters.products if p.kind == "service"]
        self.next_invoice = 1
        self.next_order = 1
        self.next_po = 1
        self.next_header = 1
        self.next_split = 1
        self.next_usage = 1
        self.next_item_id = 1
        self.next_sop_id = 1
        self.next_pop_id = 1
        self._queue: list[tuple[int, int, Callable[[], None]]] = []
        self._seq = 0
        self.forced = list(FORCED)
        self.cases: dict[str, int] = {}
        self._parties: dict[str, tuple[tuple[object, ...], ...]] = {}
        self._make_sinks()

    # ------------------------------------------------------------------ sinks
    def _make_sinks(self) -> None:
        con = self.con
        addr = [f"ADDRESS_{i}" for i in range(1, 6)]
        caddr = [f"C_ADDRESS_{i}" for i in range(1, 6)]
        daddr = [f"DEL_ADDRESS_{i}" for i in range(1, 6)]
        vat = [f"{k}_{i}" for k in ("TAX_RATE", "NET_AMOUNT", "TAX_AMOUNT") for i in range(1, 6)]
        totals = [
            "FOREIGN_ITEMS_NET", "FOREIGN_ITEMS_TAX", "FOREIGN_ITEMS_GROSS",
            "ITEMS_NET", "ITEMS_TAX", "ITEMS_GROSS",
            "CARR_NOM_CODE", "CARR_TAX_CODE", "CARR_DEPT_NUMBER", "CARR_DEPT_NAME",
            "FOREIGN_CARR_NET", "FOREIGN_CARR_TAX", "FOREIGN_CARR_GROSS",
            "CARR_NET", "CARR_TAX", "CARR_GROSS",
            "FOREIGN_INVOICE_NET", "FOREIGN_INVOICE_TAX", "FOREIGN_INVOICE_GROSS",
            "INVOICE_NET", "INVOICE_TAX", "INVOICE_GROSS",
        ]  # fmt: skip
        party = ["ACCOUNT_REF", "NAME", *addr, *caddr, "DEL_NAME", *daddr, "VAT_REG_NUMBER"]
        common = [
            *party, "CONTACT_NAME", "TAKEN_BY", "CUST_ORDER_NUMBER", "CUST_TEL_NUMBER", "NOTES_1",
            "CUST_DISC_RATE", *totals, *vat,
            "GLOBAL_NOM_CODE", "GLOBAL_DETAILS", "GLOBAL_TAX_CODE", "GLOBAL_DEPT_NUMBER",
            "GLOBAL_DEPT_NAME", "COURIER_NUMBER", "COURIER_NAME", "CONSIGNMENT",
            "CURRENCY", "FOREIGN_RATE", "SETTLEMENT_DUE_DAYS", "SETTLEMENT_DISC_RATE",
            "PRINTED", "PRINTED_CODE", "ANALYSIS_1", "ANALYSIS_2", "ANALYSIS_3",
        ]  # fmt: skip
        self.doc_columns = common
        doc_consts = {
            "CURRENCY_TYPE": 0, "EURO_GROSS": 0.0, "EURO_RATE": 0.0,
            "AMOUNT_PREPAID": 0.0, "FOREIGN_AMOUNT_PREPAID": 0.0, "PAYMENT_REF": "",
            "RECURRING_REF": "", "NET_VALUE_DISCOUNT_NET": 0.0, "NET_VALUE_DISCOUNT_NET_BASE": 0.0,
            "NET_VALUE_DISCOUNT_RATE": 0.0, "GDN_NUMBER": 0, "PROJECT_ID": 0,
        }  # fmt: skip
        self.invoice = Sink(
            con,
            "INVOICE",
            [
                "INVOICE_NUMBER", "INVOICE_TYPE_CODE", "INVOICE_TYPE", "INVOICE_OR_CREDIT",
                "INVOICE_DATE", "ORDER_NUMBER", "ORDER_NUMBER_NUMERIC", *common,
                "SETTLEMENT_DISC_AMOUNT", "SETTLEMENT_TOTAL", "FOREIGN_SETTLEMENT_DISC_AMOUNT",
                "FOREIGN_SETTLEMENT_TOTAL", "POSTED", "POSTED_CODE", "QUOTE_STATUS_ID",
                "PAYMENT_DUE_DATE", "RECORD_CREATE_DATE", "RECORD_MODIFY_DATE",
            ],
            doc_consts,
        )  # fmt: skip
        line_cols = [
            "SERVICE_FLAG", "DESCRIPTION", "TEXT", "STOCK_CODE", "COMMENT_1", "COMMENT_2",
            "UNIT_OF_SALE", "FOREIGN_UNIT_PRICE", "FOREIGN_DISCOUNT_AMOUNT", "UNIT_PRICE",
            "DISCOUNT_AMOUNT", "DISCOUNT_RATE", "DELIVERY_DATE", "NOMINAL_CODE", "DEPT_NUMBER",
            "DEPT_NAME", "TAX_CODE_ID", "TAX_CODE", "TAX_RATE", "FULL_NET_AMOUNT", "NET_AMOUNT",
            "TAX_AMOUNT", "GROSS_AMOUNT", "FOREIGN_FULL_NET_AMOUNT", "FOREIGN_NET_AMOUNT",
            "FOREIGN_TAX_AMOUNT", "FOREIGN_GROSS_AMOUNT",
        ]  # fmt: skip
        line_consts = {
            "JOB_NUMBER": "", "ADD_DISC_RATE": 0.0, "PROJECT_ID": 0, "NEGOTIATION_DISC_NET": 0.0,
            "NEGOTIATION_DISC_NET_BASE": 0.0, "GENERATED_MESSAGE": 0,
        }  # fmt: skip
        self.invoice_item = Sink(
            con,
            "INVOICE_ITEM",
            ["INVOICE_NUMBER", "ITEM_NUMBER", "QUANTITY", *line_cols, "EXT_ORDER_REF",
             "EXT_ORDER_LINE_REF", "ITEMID", "RECORD_CREATE_DATE", "RECORD_MODIFY_DATE"],
            line_consts,
        )  # fmt: skip
        self.sales_order = Sink(
            con,
            "SALES_ORDER",
            [
                "ORDER_NUMBER", "ORDER_TYPE_CODE", "ORDER_OR_QUOTE", "ORDER_DATE", "DESPATCH_DATE",
                "ALLOCATED_STATUS_CODE", "ALLOCATED_STATUS", "DESPATCH_STATUS_CODE",
                "DESPATCH_STATUS", "INVOICE_NUMBER", "INVOICE_NUMBER_NUMERIC", *common,
                "QUOTE_EXPIRY_DATE", "QUOTE_STATUS", "QUOTE_STATUS_ID",
                "RECORD_CREATE_DATE", "RECORD_MODIFY_DATE",
            ],
            doc_consts,
        )  # fmt: skip
        self.sop_item = Sink(
            con,
            "SOP_ITEM",
            ["ORDER_NUMBER", "ITEM_NUMBER", "QTY_ORDER", "QTY_ALLOCATED", "QTY_DELIVERED",
             "QTY_DESPATCH", "QTY_LAST_DESPATCH", *line_cols, "THIS_RECORD", "DUE_DATE",
             "ITEMID", "RECORD_CREATE_DATE", "RECORD_MODIFY_DATE"],
            {**line_consts, "POP_ITEM_ID": 0},
        )  # fmt: skip
        self.purchase_order = Sink(
            con,
            "PURCHASE_ORDER",
            [
                "ORDER_NUMBER", "ORDER_OR_QUOTE", "ORDER_DATE", "DELIVERY_DATE",
                "ORDER_STATUS_CODE", "ORDER_STATUS", "DELIVERY_STATUS_CODE", "DELIVERY_STATUS",
                "ACCOUNT_REF", "NAME", *addr, *caddr, "DEL_NAME", *daddr, "REFERENCE",
                "CONTACT_NAME", "TAKEN_BY", "SUPP_ORDER_NUMBER", "SUPP_TEL_NUMBER",
                "ITEMS_NET", "ITEMS_TAX", "ITEMS_GROSS", "FOREIGN_ITEMS_NET", "FOREIGN_ITEMS_TAX",
                "FOREIGN_ITEMS_GROSS", "INVOICE_NET", "INVOICE_TAX", "INVOICE_GROSS",
                "FOREIGN_INVOICE_NET", "FOREIGN_INVOICE_TAX", "FOREIGN_INVOICE_GROSS",
                "POSTED", "POSTED_CODE", "RECORD_CREATE_DATE", "RECORD_MODIFY_DATE",
            ],
            {"CURRENCY": v.GBP, "CURRENCY_TYPE": 0, "FOREIGN_RATE": 1.0, "CARR_NET": 0.0,
             "CARR_TAX": 0.0, "CARR_GROSS": 0.0, "FOREIGN_CARR_NET": 0.0, "FOREIGN_CARR_TAX": 0.0,
             "FOREIGN_CARR_GROSS": 0.0, "PRINTED": "Y", "PRINTED_CODE": 1, "PROJECT_ID": 0},
        )  # fmt: skip
        self.pop_item = Sink(
            con,
            "POP_ITEM",
            ["ORDER_NUMBER", "ITEM_NUMBER", "STOCK_CODE", "DESCRIPTION", "UNIT_OF_SALE",
             "QTY_ORDER", "QTY_DELIVERED", "QTY_INVOICED", "FOREIGN_UNIT_PRICE", "UNIT_PRICE",
             "DISCOUNT_RATE", "DISCOUNT_AMOUNT", "FOREIGN_DISCOUNT_AMOUNT", "DELIVERY_DATE",
             "DUE_DATE", "NOMINAL_CODE", "DEPT_NUMBER", "DEPT_NAME", "TAX_CODE_ID", "TAX_CODE",
             "TAX_RATE", "FULL_NET_AMOUNT", "NET_AMOUNT", "TAX_AMOUNT", "GROSS_AMOUNT",
             "FOREIGN_FULL_NET_AMOUNT", "FOREIGN_NET_AMOUNT", "FOREIGN_TAX_AMOUNT",
             "FOREIGN_GROSS_AMOUNT", "THIS_RECORD", "POP_ITEM_ID", "ITEMID",
             "RECORD_CREATE_DATE", "RECORD_MODIFY_DATE"],
            {"SERVICE_FLAG": 0, "ADD_DISC_RATE": 0.0, "GENERATED_MESSAGE": 0, "JOB_NUMBER": ""},
        )  # fmt: skip
        header_common = [
            "TRAN_NUMBER", "ITEM_COUNT", "TYPE", "DATE", "ACCOUNT_REF", "SALES_PURCHASE_REF",
            "BANK_CODE", "INV_REF", "DETAILS", "DUE_DATE", "PAID_FLAG", "PAID_STATUS",
            "DELETED_FLAG", "NET_AMOUNT", "TAX_AMOUNT", "GROSS_AMOUNT", "BANK_AMOUNT",
            "AMOUNT_PAID", "FOREIGN_NET_AMOUNT", "FOREIGN_TAX_AMOUNT", "FOREIGN_GROSS_AMOUNT",
            "FOREIGN_AMOUNT_PAID", "FOREIGN_BANK_AMOUNT", "CURRENCY", "FOREIGN_RATE",
            "BANK_FLAG", "HEADER_NUMBER", "DATE_ENTERED", "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE",
        ]  # fmt: skip
        header_consts = {
            "USER_NAME": v.USER_NAME, "FINANCE_CHARGE": 0, "ELECTRONIC_TRANS": 0, "DISPUTED": 0,
            "CURRENCY_TYPE": 0, "EURO_GROSS": 0.0, "EURO_RATE": 0.0, "CIS_RECONCILED": 0,
        }  # fmt: skip
        self.header_live = Sink(
            con,
            "AUDIT_HEADER",
            [*header_common, "PAYMENT", "OUTSTANDING", "FOREIGN_OUTSTANDING", "INV_REF_NUMERIC",
             "ISP_REFERENCE"],
            {**header_consts, "IS_DISCOUNT": 0, "DATE_FLAG": 0},
        )  # fmt: skip
        self.header_history = Sink(
            con, "AUDIT_HISTORY_HEADER", [*header_common, "CATE_ID"], header_consts
        )
        split_common = [
            "TRAN_NUMBER", "TYPE", "DATE", "NOMINAL_CODE", "DETAILS", "EXTRA_REF", "VAT_FLAG",
            "PAID_FLAG", "PAID_STATUS", "DEPT_NUMBER", "DEPT_NAME", "TAX_CODE", "DELETED_FLAG",
            "NET_AMOUNT", "TAX_AMOUNT", "GROSS_AMOUNT", "AMOUNT_PAID", "FOREIGN_NET_AMOUNT",
            "FOREIGN_TAX_AMOUNT", "FOREIGN_GROSS_AMOUNT", "FOREIGN_AMOUNT_PAID", "SPLIT_NUMBER",
            "HEADER_NUMBER", "VAT_FLAG_CODE", "DATE_ENTERED", "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE",
        ]  # fmt: skip
        self.split_live = Sink(
            con,
            "AUDIT_SPLIT",
            [*split_common, "ACCOUNT_REF", "BANK_CODE", "INV_REF", "PAYMENT", "OUTSTANDING",
             "FOREIGN_OUTSTANDING", "BANK_FLAG"],
            {"USER_NAME": v.USER_NAME, "DISPUTED": 0, "DATE_FLAG": 0, "PROJECT_ID": 0},
        )  # fmt: skip
        self.split_history = Sink(
            con, "AUDIT_HISTORY_SPLIT", split_common, {"USER_NAME": v.USER_NAME, "DISPUTED": 0}
        )
        usage_cols = [
            "TYPE", "USAGE_NUMBER", "SPLIT_NUMBER", "SPLIT_CROSSREF", "REFERENCE", "DETAILS",
            "DATE", "AMOUNT", "FOREIGN_AMOUNT", "DELETED_FLAG", "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE",
        ]  # fmt: skip
        usage_consts = {"USER_NAME": v.USER_NAME, "CIS_VAT": 0.0}
        self.usage_live = Sink(con, "AUDIT_USAGE", usage_cols, usage_consts)
        self.usage_history = Sink(con, "AUDIT_HISTORY_USAGE", usage_cols, usage_consts)

    def sinks(self) -> list[Sink]:
        return [
            self.invoice, self.invoice_item, self.sales_order, self.sop_item,
            self.purchase_order, self.pop_item, self.header_live, self.split_live,
            self.usage_live, self.header_history, self.split_history, self.usage_history,
        ]  # fmt: skip

    # ------------------------------------------------------------------ queue
    def later(self, when: date, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (when.toordinal(), self._seq, action))

    def run_until(self, when: date | None) -> None:
        limit = when.toordinal() if when else 10**9
        while self._queue and self._queue[0][0] <= limit:
            heapq.heappop(self._queue)[2]()

    # ------------------------------------------------------------------ lines
    def make_line(self, c: Customer, p: Product, qty: float, d: date) -> Line:
        price, disc_rate = price_for(c, p, self.m.list_prices, qty)
        return self._priced_line(c, p, p.code, p.description, p.unit, qty, price, disc_rate, d)

    def _priced_line(
        self,
        c: Customer,
        p: Product | None,
        code: str,
        description: str,
        unit: str,
        qty: float,
        price: int,
        disc_rate: float,
        d: date,
        tax_code: str | None = None,
    ) -> Line:
        rate = RATE[c.currency]
        if tax_code:
            code_ = tax_code
        elif c.country in _HOME_COUNTRIES:
            code_ = p.tax_code if p else "T1"
        else:
            code_ = _tax_code(c, p.tax_code if p else "T1", d)
        full = round(qty * price)
        disc = pct(full, disc_rate) if disc_rate else 0
        net = full - disc
        tax = pct(net, TAX_RATE[code_])
        if rate == 1.0:  # `to_base()` inlined
            full_b, net_b, tax_b = full, net, tax
        else:
            full_b = int(full / rate + 0.5)
            net_b = int(net / rate + 0.5)
            tax_b = int(tax / rate + 0.5)
        if p is not None and p.kind == "service":
            return Line(
                p, code, description, unit, qty, price, disc_rate, full, disc, net, tax, full_b,
                full_b - net_b, net_b, tax_b, code_, p.nominal, 2, 1,
                f"{description}: work carried out as agreed.",
            )  # fmt: skip
        return Line(
            p, code, description, unit, qty, price, disc_rate, full, disc, net, tax, full_b,
            full_b - net_b, net_b, tax_b, code_, p.nominal if p else "4000", c.dept, 0, "",
        )  # fmt: skip

    def pick_lines(self, c: Customer, d: date, service: bool, forced_extra: str = "") -> list[Line]:
        rng = self.rng
        pool = self.services if service and self.services else self.goods
        lines = []
        list_prices = self.m.list_prices
        for _ in range(rng.randint(1, 7) if not service else rng.randint(1, 3)):
            p = rng.choice(pool)
            qty = float(rng.choice(_QUANTITIES))
            if p.kind == "service":
                qty = float(rng.choice(_HOURS))
            price, disc_rate = price_for(c, p, list_prices, qty)
            lines.append(
                self._priced_line(c, p, p.code, p.description, p.unit, qty, price, disc_rate, d)
            )
        if forced_extra == "S1" or (not service and rng.random() < 0.01):
            lines.append(
                self._priced_line(c, None, "S1", "Special order item", "Each", 1.0,
                                  rng.randint(1000, 20000), 0.0, d)
            )  # fmt: skip
        if forced_extra == "M" or rng.random() < 0.02:
            lines.append(
                self._priced_line(c, None, "M", "Thank you for your order", "", 0.0, 0, 0.0, d,
                                  tax_code=_tax_code(c, "T1", d))
            )  # fmt: skip
        return lines

    def _line_common(self, ln: Line, c: Customer, d: date) -> tuple[object, ...]:
        # Amounts are integer pence; `/ 100` is `gbp()` inlined (this runs per document line).
        tc = ln.tax_code
        net, tax, net_b, tax_b = ln.net, ln.tax, ln.net_b, ln.tax_b
        text = DAY_TEXT.get(d) or day(d)
        return (
            ln.service, ln.description, ln.text or None, ln.code, "", "", ln.unit,
            ln.price / 100, ln.disc / 100, round(ln.price / RATE[c.currency] / 100, 2),
            ln.disc_b / 100, ln.disc_rate, text, ln.nominal, ln.dept, DEPT_NAME[ln.dept],
            TAX_ID[tc], tc, TAX_RATE[tc],
            ln.full_b / 100, net_b / 100, tax_b / 100, (net_b + tax_b) / 100,
            ln.full / 100, net / 100, tax / 100, (net + tax) / 100,
        )  # fmt: skip

    # ------------------------------------------------------------------ document headers
    def _party(self, c: Customer) -> tuple[tuple[object, ...], ...]:
        """The parts of a document header that depend only on the account (built once each)."""
        parts = self._parties.get(c.ref)
        if parts is None:
            deliver = next((x for x in c.delivery if x[0] == 0), None)
            del_addr = deliver[2] if deliver else c.address
            parts = self._parties[c.ref] = (
                (c.ref, c.name, *c.address.lines(), *c.address.compact(), c.name,
                 *del_addr.lines(), c.vat_reg, c.contact, c.rep or v.USER_NAME),
                (c.telephone, "", c.discount_rate),
                ("4000", "", c.tax_code, c.dept, DEPT_NAME[c.dept]),
                (c.currency, RATE[c.currency], c.settlement_days, c.settlement_rate),
                ("Y", 1, c.cust_type, c.rep, c.region),
                ("N", 0, c.cust_type, c.rep, c.region),
            )  # fmt: skip
        return parts

    def _doc_common(
        self, c: Customer, lines: list[Line], carriage: int, d: date, cust_order: str, printed: bool
    ) -> tuple[tuple[object, ...], dict[str, int]]:
        rate = RATE[c.currency]
        carr_code = _tax_code(c, "T1", d)
        carr_tax = pct(carriage, TAX_RATE[carr_code])
        carr_b, carr_tax_b = to_base(carriage, rate), to_base(carr_tax, rate)
        fin = ftx = bn = bt = 0
        by_rate: dict[str, list[int]] = {}
        for x in lines:
            fin += x.net
            ftx += x.tax
            bn += x.net_b
            bt += x.tax_b
            slot = by_rate.get(x.tax_code)
            if slot is None:
                by_rate[x.tax_code] = [x.net_b, x.tax_b]
            else:
                slot[0] += x.net_b
                slot[1] += x.tax_b
        if carriage:
            slot = by_rate.get(carr_code)
            if slot is None:
                by_rate[carr_code] = [carr_b, carr_tax_b]
            else:
                slot[0] += carr_b
                slot[1] += carr_tax_b
        rates = list(by_rate.items())[:5]
        pad = _VAT_PAD[len(rates)]
        vat_rates = [TAX_RATE[k] for k, _ in rates]
        vat_net = [n / 100 for _, (n, _t) in rates]
        vat_tax = [t / 100 for _, (_n, t) in rates]
        head, mid, glob, money, printed_yes, printed_no = self._party(c)
        courier = v.COURIERS[(len(lines) + d.day) % len(v.COURIERS)]
        fnet, ftax = fin + carriage, ftx + carr_tax
        net, tax = bn + carr_b, bt + carr_tax_b
        values = (
            *head, cust_order, *mid,
            fin / 100, ftx / 100, (fin + ftx) / 100, bn / 100, bt / 100, (bn + bt) / 100,
            "4905", carr_code, 0, "Default",
            carriage / 100, carr_tax / 100, (carriage + carr_tax) / 100,
            carr_b / 100, carr_tax_b / 100, (carr_b + carr_tax_b) / 100,
            fnet / 100, ftax / 100, (fnet + ftax) / 100,
            net / 100, tax / 100, (net + tax) / 100,
            *vat_rates, *pad, *vat_net, *pad, *vat_tax, *pad,
            *glob, courier[0], courier[1], f"CN{d:%y%m%d}{len(lines):02d}" if carriage else "",
            *money, *(printed_yes if printed else printed_no),
        )  # fmt: skip
        sums = {
            "fnet": fnet, "ftax": ftax, "net": net, "tax": tax, "carr_f": carriage,
            "carr_tax_f": carr_tax, "carr_b": carr_b, "carr_tax_b": carr_tax_b,
        }  # fmt: skip
        return values, sums

    def _splits(self, c: Customer, lines: list[Line], sums: dict[str, int], d: date) -> list[Split]:
        """One audit split per (nominal, tax code), carriage on 4905: what Update Ledgers posts."""
        splits: dict[tuple[str, str], Split] = {}
        for x in lines:
            if x.code == "M":
                continue
            s = splits.get((x.nominal, x.tax_code))
            if s is None:
                s = splits[(x.nominal, x.tax_code)] = Split(x.nominal, x.tax_code, x.dept)
            s.net += x.net_b
            s.tax += x.tax_b
            s.fnet += x.net
            s.ftax += x.tax
        if sums["carr_f"]:
            code = _tax_code(c, "T1", d)
            s = splits.get(("4905", code))
            if s is None:
                s = splits[("4905", code)] = Split("4905", code, 0)
            s.net += sums["carr_b"]
            s.tax += sums["carr_tax_b"]
            s.fnet += sums["carr_f"]
            s.ftax += sums["carr_tax_f"]
        return list(splits.values()) or [Split("4000", c.tax_code, c.dept)]

    # ------------------------------------------------------------------ invoices
    def write_invoice(
        self,
        c: Customer,
        kind: str,
        lines: list[Line],
        d: date,
        *,
        carriage: int,
        posted: bool,
        order_number: int | None = None,
        created: str | None = None,
    ) -> tuple[int, dict[str, int]]:
        number = self.next_invoice
        self.next_invoice += 1
        code, type_text, inv_or_credit = INVOICE_KINDS[kind]
        cust_order = f"PO{self.rng.randint(10000, 99999)}" if self.rng.random() < 0.6 else ""
        common, sums = self._doc_common(c, lines, carriage, d, cust_order, printed=posted)
        gross_b = sums["net"] + sums["tax"]
        gross_f = sums["fnet"] + sums["ftax"]
        settle_b = pct(sums["net"], c.settlement_rate)
        settle_f = pct(sums["fnet"], c.settlement_rate)
        created = created or stamp(d, self.rng.randint(8 * 3600, 18 * 3600))
        modified = (
            stamp(min(d + DAY * self.rng.randint(0, 2), self.as_of), 18 * 3600 + 300)
            if posted
            else created
        )
        modified = max(created, modified)
        d_text = DAY_TEXT.get(d) or day(d)
        self.invoice.add(
            (
                number, code, type_text, inv_or_credit, d_text,
                str(order_number) if order_number else "", order_number or 0, *common,
                settle_b / 100, (gross_b - settle_b) / 100, settle_f / 100,
                (gross_f - settle_f) / 100, "Y" if posted else "", 1 if posted else 0, 0,
                day(d + DAY * c.terms_days), created, modified,
            )
        )  # fmt: skip
        add = self.invoice_item.add
        line_common = self._line_common
        order_ref = str(order_number) if order_number else ""
        item_id = self.next_item_id
        for n, ln in enumerate(lines, start=1):
            add(
                (
                    number, n, ln.qty, *line_common(ln, c, d), order_ref,
                    n if order_number else 0, item_id, created, created,
                )
            )  # fmt: skip
            item_id += 1
            p = ln.product
            if posted and p is not None and (p.last_sale is None or d > p.last_sale):
                p.last_sale = d
                if modified > p.modified:
                    p.modified = modified
        self.next_item_id = item_id
        return number, sums

    def write_order(
        self,
        c: Customer,
        lines: list[Line],
        d: date,
        *,
        carriage: int,
        kind: str = "order",
        allocated: str = "none",
        despatch: str = "none",
        invoice_number: int | None = None,
        quote_status: int = 0,
        delivered_share: float = 0.0,
    ) -> int:
        number = self.next_order
        self.next_order += 1
        type_code, type_text = ORDER_KINDS[kind]
        cust_order = f"PO{self.rng.randint(10000, 99999)}"
        common, _sums = self._doc_common(c, lines, carriage, d, cust_order, printed=True)
        created = stamp(d, self.rng.randint(8 * 3600, 17 * 3600))
        complete = despatch == "complete"
        despatch_day = d + DAY * self.rng.randint(1, 5) if despatch != "none" else None
        if despatch_day and despatch_day > self.as_of:
            despatch_day = self.as_of
        modified = max(created, stamp(despatch_day, 16 * 3600)) if despatch_day else created
        self.sales_order.add(
            (
                number, type_code, type_text, day(d), day(despatch_day) if despatch_day else None,
                *ALLOCATED[allocated], *DESPATCH[despatch],
                str(invoice_number) if invoice_number else "", invoice_number or 0, *common,
                day(d + DAY * 30) if kind == "quote" else None, QUOTE_STATUS[quote_status],
                quote_status, created, modified,
            )
        )  # fmt: skip
        due = day(d + DAY * 7)
        for n, ln in enumerate(lines, start=1):
            stocked = ln.product is not None and ln.product.kind == "stock"
            if complete:
                delivered, alloc = ln.qty, 0.0
            elif kind != "order" or allocated == "cancelled":
                delivered, alloc = 0.0, 0.0
            else:
                delivered = float(int(ln.qty * delivered_share)) if despatch == "part" else 0.0
                outstanding = ln.qty - delivered
                if not stocked:
                    alloc = 0.0
                elif allocated == "full":
                    alloc = outstanding
                elif allocated == "part":
                    alloc = float(int(outstanding / 2)) if n % 2 else outstanding
                else:
                    alloc = 0.0
                if stocked and ln.product is not None:
                    ln.product.qty_allocated += alloc
                    ln.product.touch(modified)
            self.sop_item.add(
                (
                    number, n, ln.qty, alloc, delivered, 0.0, delivered if despatch != "none" else 0.0,
                    *self._line_common(ln, c, d), self.next_sop_id, due,
                    self.next_sop_id, created, modified,
                )
            )  # fmt: skip
            self.next_sop_id += 1
        return number

    # ------------------------------------------------------------------ audit trail
    def _number(self, t: Txn) -> None:
        t.header = self.next_header
        self.next_header += 1
        for s in t.splits:
            s.number = self.next_split
            self.next_split += 1

    def _write_txn(self, t: Txn, payment: int = 0) -> None:
        """Header and splits with their final AMOUNT_PAID / OUTSTANDING / PAID_FLAG."""
        net = tax = fnet = ftax = paid = fpaid = 0
        splits = t.splits
        for s in splits:
            net += s.net
            tax += s.tax
            fnet += s.fnet
            ftax += s.ftax
            paid += s.paid
            fpaid += s.fpaid
        gross, fgross = net + tax, fnet + ftax
        outstanding = gross - paid
        receipt = t.type in ("SR", "SA")
        bank = "1200" if receipt else ""
        entered = DAY_TEXT.get(t.date) or day(t.date)
        ref = t.account.ref
        deleted = t.deleted
        history = t.history
        bank_flag = t.bank_flag if receipt else "-"
        common = (
            splits[0].number, len(splits), t.type, entered, ref, ref, bank,
            t.inv_ref, t.details, day(t.due) if t.due else None,
            "Y" if outstanding == 0 else "N", "p" if 0 < paid < gross else "", deleted,
            net / 100, tax / 100, gross / 100, gross / 100 if receipt else 0.0, paid / 100,
            fnet / 100, ftax / 100, fgross / 100, fpaid / 100, fgross / 100 if receipt else 0.0,
            t.currency, t.rate, bank_flag, t.header, entered, t.created, t.modified,
        )  # fmt: skip
        if history:
            self.header_history.add((*common, 1))
            add_split = self.split_history.add
            vat_flag, vat_code = "R", 1
        else:
            inv_numeric = int(t.inv_ref) if t.inv_ref.isdigit() else 0
            self.header_live.add(
                (*common, payment / 100, outstanding / 100, (fgross - fpaid) / 100, inv_numeric,
                 t.isp_reference)
            )  # fmt: skip
            add_split = self.split_live.add
            vat_flag, vat_code = "N", 0
        for s in splits:
            s_gross = s.net + s.tax
            s_fgross = s.fnet + s.ftax
            s_paid = s.paid
            s_out = s_gross - s_paid
            split_common = (
                s.number, t.type, entered, s.nominal if not receipt else "1200",
                s.details or t.details, "", vat_flag,
                "Y" if s_out == 0 else "N", "p" if 0 < s_paid < s_gross else "", s.dept,
                DEPT_NAME[s.dept], s.tax_code, deleted, s.net / 100, s.tax / 100,
                s_gross / 100, s_paid / 100, s.fnet / 100, s.ftax / 100, s_fgross / 100,
                s.fpaid / 100, s.number, t.header, vat_code, entered, t.created, t.modified,
            )  # fmt: skip
            if history:
                add_split(split_common)
            else:
                add_split(
                    (*split_common, ref, bank, t.inv_ref,
                     s_gross / 100 if receipt else 0.0, s_out / 100, (s_fgross - s.fpaid) / 100,
                     bank_flag)
                )  # fmt: skip

    def _write_usages(self, payer: Payer, when: date) -> None:
        """Each allocation twice: from the target's side and from the payer's side."""
        t = payer.txn
        add = self.usage_history.add if t.history else self.usage_live.add
        deleted = 1 if payer.deleted_on else 0
        created = stamp(when, 12 * 3600)
        modified = stamp(payer.deleted_on, 15 * 3600) if payer.deleted_on else created
        when_text = day(when)
        for a in payer.allocs:
            ps = (
                t.splits[0]
                if len(t.splits) == 1
                else next(
                    s
                    for s in t.splits
                    if s.tax_code == a.target.tax_code and s.nominal == a.target.nominal
                )
            )
            target_ref = a.target_tran.inv_ref
            base, foreign = a.base / 100, a.foreign / 100
            # TYPE and DETAILS describe the transaction in SPLIT_CROSSREF.
            add(
                (t.type, self.next_usage, a.target.number, ps.number, t.inv_ref,
                 f"{base:.2f} from {t.type} {ps.number}", when_text, base, foreign, deleted,
                 created, modified)
            )  # fmt: skip
            add(
                (a.target_type, self.next_usage + 1, ps.number, a.target.number, target_ref,
                 f"{base:.2f} to {a.target_type} {a.target.number}", when_text, base, foreign,
                 deleted, created, modified)
            )  # fmt: skip
            self.next_usage += 2

    def _receipt(
        self, c: Customer, kind: str, when: date, base: int, foreign: int, ref: str
    ) -> Txn:
        s = Split(
            "1200",
            "T9",
            0,
            net=base,
            fnet=foreign,
            details="Sales Receipt" if kind == "SR" else "Payment on Account",
        )
        return Txn(
            type=kind, account=c, date=when, inv_ref=ref, details=s.details, currency=c.currency,
            rate=v.RATE[c.currency], splits=[s], created=stamp(when, 11 * 3600),
            modified=stamp(when, 11 * 3600), bank_flag="R" if when < self.as_of - DAY * 45 else "N",
        )  # fmt: skip

    @staticmethod
    def _allocate(target: Txn, base: int | None, foreign: int) -> list[Alloc]:
        """Spread `foreign` over the target's splits in order; base follows (exact when a split
        is settled, else converted at the target's rate)."""
        allocs = []
        left_f = foreign
        left_b = base
        for s in target.splits:
            if left_f <= 0:
                break
            s_out_f = s.fgross - s.fpaid
            if s_out_f <= 0:
                continue
            piece_f = min(left_f, s_out_f)
            s_out_b = s.gross - s.paid
            if piece_f == s_out_f:
                piece_b = s_out_b
            else:
                piece_b = min(s_out_b - 1, to_base(piece_f, target.rate))
            if left_b is not None:
                piece_b = min(piece_b, left_b)
                left_b -= piece_b
            s.paid += piece_b
            s.fpaid += piece_f
            left_f -= piece_f
            allocs.append(Alloc(s, target.type, target, piece_b, piece_f))
        return allocs

    def _credit_allocate(self, credit: Txn, target: Txn) -> list[Alloc]:
        """A credit note settles the same (nominal, tax code) splits it reverses, pound for pound."""
        allocs = []
        for cs in credit.splits:
            ts = next(
                (s for s in target.splits if s.nominal == cs.nominal and s.tax_code == cs.tax_code),
                None,
            )
            if ts is None:
                continue
            piece_b = min(cs.gross - cs.paid, ts.gross - ts.paid)
            piece_f = min(cs.fgross - cs.fpaid, ts.fgross - ts.fpaid)
            if piece_b <= 0 or piece_f <= 0:
                continue
            ts.paid += piece_b
            ts.fpaid += piece_f
            cs.paid += piece_b
            cs.fpaid += piece_f
            allocs.append(Alloc(ts, target.type, target, piece_b, piece_f))
        return allocs

    def post_invoice(
        self,
        c: Customer,
        number: int,
        d: date,
        lines: list[Line],
        sums: dict[str, int],
        scenario: str,
    ) -> None:
        """The SI of a posted invoice, its planned payers, and the customer's totals."""
        rng = self.rng
        as_of = self.as_of
        created = stamp(d, 17 * 3600 + rng.randint(0, 3000))
        si = Txn("SI", c, d, str(number), f"Invoice {number}", c.currency, v.RATE[c.currency],
                 self._splits(c, lines, sums, d), due=d + DAY * c.terms_days, created=created,
                 modified=created, isp_reference=number)  # fmt: skip
        gross_f = sum(s.fgross for s in si.splits)
        pay_day = d + DAY * max(3, c.terms_days + rng.randint(-12, 25))
        events: list[tuple[date, str, Payer]] = []

        def receipt(when: date, foreign: int | None, kind: str = "SR") -> Payer | None:
            if when > as_of:
                return None
            if foreign is None:
                foreign = sum(s.fgross - s.fpaid for s in si.splits)
            if foreign <= 0:
                return None
            allocs = self._allocate(si, None, foreign)
            base = sum(a.base for a in allocs)
            t = self._receipt(
                c, kind, when, base, foreign, f"BACS{when:%y%m%d}" if kind == "SR" else "ON ACC"
            )
            t.splits[0].paid, t.splits[0].fpaid = base, foreign
            payer = Payer(t, allocs)
            events.append((when, kind, payer))
            return payer

        planned = scenario
        corrected = scenario == "corrected"
        if corrected:
            # Posted with the wrong carriage, deleted in Corrections and re-posted.
            wrong = Txn("SI", c, d, str(number), f"Invoice {number}", c.currency, si.rate,
                        [Split(s.nominal, s.tax_code, s.dept, s.net + 1000, s.tax, s.fnet + 1000, s.ftax)
                         for s in si.splits], due=si.due, deleted=1, created=created,
                        modified=stamp(min(d + DAY, as_of), 9 * 3600), isp_reference=number)  # fmt: skip
            self._number(wrong)
            self._write_txn(wrong)
            si.created = si.modified = wrong.modified
            scenario = "paid"
        self._number(si)

        part = lambda: max(100, int(gross_f * rng.uniform(0.3, 0.7)) // 100 * 100)  # noqa: E731
        if scenario == "paid":
            receipt(pay_day, None)
        elif scenario == "paid_two":
            first = part()
            receipt(pay_day, first)
            receipt(pay_day + DAY * rng.randint(10, 40), None)
        elif scenario == "part_paid":
            receipt(pay_day, part())
        elif scenario == "receipt_deleted":
            payer = receipt(min(pay_day, as_of - DAY * 2), None)
            if payer is not None:
                payer.deleted_on = min(payer.txn.date + DAY * rng.randint(1, 10), as_of)
        elif scenario == "sa_allocated":
            payer = receipt(min(pay_day, as_of - DAY), None, kind="SA")
            if payer is not None:
                payer.txn.details = "Payment on Account"
        elif scenario.startswith("credit"):
            self._plan_credit(c, si, lines, d, scenario, events)
            if scenario == "credit":
                receipt(pay_day + DAY * 7, None)
            elif scenario == "credit_unallocated":
                receipt(pay_day, None)

        # Deleted receipts un-pay the invoice again: their allocations are reversed.
        for _when, _kind, payer in events:
            if payer.deleted_on:
                for a in payer.allocs:
                    a.target.paid -= a.base
                    a.target.fpaid -= a.foreign
                payer.txn.splits[0].paid = payer.txn.splits[0].fpaid = 0
                payer.txn.deleted = 1
                payer.txn.modified = stamp(payer.deleted_on, 15 * 3600)
        settled = all(s.paid == s.gross for s in si.splits)
        live_events = [e for e in events if not e[2].deleted_on]
        if (
            settled
            and not corrected
            and d <= self.clear_date
            and events
            and all(w <= self.clear_date and k == "SR" for w, k, p in events)
        ):
            si.history = True
            for _w, _k, payer in events:
                payer.txn.history = True
        last_change = max(
            [stamp(self._alloc_day(k, w), 12 * 3600) for w, k, _p in live_events] + [si.modified]
        )
        for _w, _k, payer in events:
            if payer.deleted_on:
                last_change = max(last_change, payer.txn.modified)
        si.modified = last_change
        self._write_txn(si)

        outstanding = sum(s.gross - s.paid for s in si.splits)
        c.balance += outstanding
        c.foreign_balance += sum(s.fgross - s.fpaid for s in si.splits)
        c.touch(si.modified)
        self._turnover(c, d, sum(s.net for s in si.splits))
        if c.first_inv is None or d < c.first_inv:
            c.first_inv = d
        if c.last_inv is None or d > c.last_inv:
            c.last_inv = d
        self.cases[planned] = self.cases.get(planned, 0) + 1
        if si.history:
            self.cases["history"] = self.cases.get("history", 0) + 1

        for when, _kind, payer in events:
            self.later(when, lambda p=payer, w=when: self._post_payer(p, w))

    def _turnover(self, c: Customer, d: date, net: int) -> None:
        if d.year == self.as_of.year:
            c.turnover_ytd += net
            if d.month == self.as_of.month:
                c.turnover_mtd += net
        elif d.year == self.as_of.year - 1:
            c.prior_year += net

    def _post_payer(self, payer: Payer, when: date) -> None:
        t = payer.txn
        if t.type == "SC":
            self._post_credit_note(payer)
        self._number(t)
        out = sum(s.gross - s.paid for s in t.splits)
        if not t.deleted:
            t.account.balance -= out
            t.account.foreign_balance -= sum(s.fgross - s.fpaid for s in t.splits)
            if t.type in ("SR", "SA") and (
                t.account.last_payment is None or when > t.account.last_payment
            ):
                t.account.last_payment = when
        t.account.touch(t.modified)
        self._write_txn(t, payment=sum(s.gross for s in t.splits) if t.type in ("SR", "SA") else 0)
        if payer.allocs:
            self._write_usages(payer, self._alloc_day(t.type, when))

    def _alloc_day(self, kind: str, when: date) -> date:
        # SA money sits on account first and is matched to the invoice a few days later.
        return min(when + DAY * 3, self.as_of) if kind == "SA" else when

    # ------------------------------------------------------------------ credit notes
    def _plan_credit(
        self, c: Customer, si: Txn, lines: list[Line], d: date, scenario: str,
        events: list[tuple[date, str, Payer]],
    ) -> None:  # fmt: skip
        when = d + DAY * self.rng.randint(3, 12)
        if when > self.as_of:
            return
        returned = [ln for ln in lines if ln.code != "M"][:1]
        sums = {"carr_f": 0, "carr_tax_f": 0, "carr_b": 0, "carr_tax_b": 0}
        sc = Txn("SC", c, when, "", "Credit note", c.currency, v.RATE[c.currency],
                 self._splits(c, returned, sums, d), created=stamp(when, 16 * 3600),
                 modified=stamp(when, 16 * 3600))  # fmt: skip
        payer = Payer(sc, credit_lines=returned)
        if scenario != "credit_unallocated":
            payer.allocs = self._credit_allocate(sc, si)
        events.append((when, "SC", payer))

    def _post_credit_note(self, payer: Payer) -> None:
        sc = payer.txn
        c = sc.account
        kind = (
            "service_credit" if any(ln.service for ln in payer.credit_lines) else "product_credit"
        )
        number, sums = self.write_invoice(
            c, kind, payer.credit_lines, sc.date, carriage=0, posted=True
        )
        sc.inv_ref = str(number)
        sc.details = f"Credit note {number}"
        sc.isp_reference = number
        self._turnover(c, sc.date, -(sums["net"]))

    # ------------------------------------------------------------------ other postings
    def on_account(self, c: Customer, when: date, foreign: int) -> None:
        """An SA receipt nobody has matched to an invoice yet (it stays outstanding)."""
        base = to_base(foreign, v.RATE[c.currency])
        t = self._receipt(c, "SA", when, base, foreign, "ON ACC")
        self.cases["sa_unallocated"] = self.cases.get("sa_unallocated", 0) + 1
        self.later(when, lambda: self._post_payer(Payer(t), when))

    def write_purchase_order(self, supplier_index: int, d: date, products: list[Product]) -> None:
        s = self.m.suppliers[supplier_index]
        number = self.next_po
        self.next_po += 1
        rng = self.rng
        created = stamp(d, rng.randint(8 * 3600, 17 * 3600))
        delivery_day = d + DAY * rng.randint(3, 14)
        complete = delivery_day < self.as_of
        # Delivered orders are invoiced a month on; every 25th (the first included) still waits
        # for its supplier invoice, so an unposted purchase invoice exists at every size.
        posted = complete and d <= self.as_of - DAY * 30 and number % 25 != 1
        modified = stamp(min(delivery_day, self.as_of), 15 * 3600) if complete else created
        net = tax = 0
        for n, p in enumerate(products, start=1):
            qty = float(rng.choice((10, 20, 50, 100, 200)))
            line_net = round(qty * p.cost)
            line_tax = pct(line_net, 20.0)
            net += line_net
            tax += line_tax
            delivered = qty if complete else 0.0
            if complete:
                if p.last_purchase is None or delivery_day > p.last_purchase:
                    p.last_purchase = delivery_day
                    p.qty_last_order = qty
            else:
                p.qty_on_order += qty
            p.touch(modified)
            self.pop_item.add(
                (number, n, p.code, p.description, p.unit, qty, delivered, delivered,
                 gbp(p.cost), gbp(p.cost), 0.0, 0.0, 0.0, day(delivery_day), day(delivery_day),
                 "5000", 0, "Default", 1, "T1", 20.0, gbp(line_net), gbp(line_net),
                 gbp(line_tax), gbp(line_net + line_tax), gbp(line_net), gbp(line_net),
                 gbp(line_tax), gbp(line_net + line_tax), self.next_pop_id, self.next_pop_id,
                 self.next_pop_id, created, modified)
            )  # fmt: skip
            self.next_pop_id += 1
        if complete and (s.last_inv is None or delivery_day > s.last_inv):
            s.last_inv = delivery_day
        s.modified = max(s.modified, modified)
        a = s.address
        self.purchase_order.add(
            (number, "Purchase Order", day(d), day(delivery_day),
             2 if complete else 1, "Complete" if complete else "On Order",
             2 if complete else 0, "Complete" if complete else "",
             s.ref, s.name, *a.lines(), *a.compact(), "Stationery & Computer Supplies Ltd",
             "Unit 4, Meridian Business Park", "Kingsway", "Newcastle upon Tyne", "Tyne & Wear",
             "NE11 0QA", f"{number:07d}", s.contact, v.USER_NAME, f"SO-{rng.randint(1000, 99999)}",
             s.telephone, gbp(net), gbp(tax), gbp(net + tax), gbp(net), gbp(tax), gbp(net + tax),
             gbp(net), gbp(tax), gbp(net + tax), gbp(net), gbp(tax), gbp(net + tax),
             "Y" if posted else "", 1 if posted else 0, created, modified)
        )  # fmt: skip


__all__ = ["SCENARIOS", "Trading"]
