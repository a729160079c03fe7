"""The stand-in's sales-order objects: SopPost (a header and its items, posted in one Update),
SopData (the SOP header file, read with FindFirst/FindNext), StockRecord and CurrencyData (read
only), Pricing and the `invoice` price calculator. Names and return conventions as the v32 type
library gives them; the choices where Sage's behaviour is unconfirmed are listed in the package
docstring."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from resources.sage_schema import SageColumn, table_columns
from sandbox.sdo import faults
from sandbox.sdo.engine import (
    OPTIONAL,
    REQUIRED,
    RESERVED,
    SPECIAL,
    Field,
    Fields,
    _busy,
    _checked,
    _Cursor,
    _Failed,
    _from_stored,
    _Record,
)
from sandbox.sdo.errors import DISP_E_BADINDEX, ErrorCode, raised, text_of
from sandbox.sdo.store import now_stamp, today

if TYPE_CHECKING:
    from sandbox.sdo.engine import WorkSpace

PENNY = Decimal("0.01")

# SDO's InvoiceType on the SOP header (ORDER_TYPE) -> ODBC ORDER_TYPE_CODE and ORDER_OR_QUOTE,
# as the demo generator stores them. 0 and 1 (sdoSopInvoice) both post a sales order.
SOP_QUOTE, SOP_PROFORMA = 9, 11
ORDER_KINDS = {
    0: (0, "Sales Order"),
    1: (0, "Sales Order"),
    9: (1, "Quotation"),
    11: (2, "Proforma"),
}
ORDER_TYPE_OF_CODE = {0: 1, 1: SOP_QUOTE, 2: SOP_PROFORMA}
QUOTE_STATUS = {0: "", 1: "Open", 2: "Won", 3: "Lost", 4: "Invalid"}  # SDO QuoteStatus
QUOTE_OPEN = 1
# Sage's special product codes: no STOCK record behind them (StockType S1-S3, M message lines).
SPECIAL_CODES = {"S1", "S2", "S3", "M"}
MESSAGE_CODE = "M"
# Days a quotation stays valid when QUOTE_EXPIRY_DATE is not given (Sage's default setting).
QUOTE_DAYS = 30

# Header fields Sage computes (totals, VAT analysis, statuses, texts of numbers, the number
# itself) or that the stand-in does not post (carriage amounts, settlement, prepayments).
HEADER_RESERVED = re.compile(
    r"ORDER_NUMBER|ORDER_OR_QUOTE|(FOREIGN_)?(ITEMS|INVOICE)_(NET|TAX|GROSS)"
    r"|(TAX_RATE|NET_AMOUNT|TAX_AMOUNT)_\d|C_ADDRESS_\d|(ALLOCATED|DESPATCH)_STATUS(_CODE)?"
    r"|DESPATCH_DATE|INVOICE_NUMBER(_NUMERIC)?|(GLOBAL_|CARR_)?DEPT_NAME|RECORD_\w+"
    r"|(FOREIGN_)?CARR_(NET|TAX|GROSS)|(FOREIGN_)?SETTLEMENT_(DISC_AMOUNT|TOTAL)"
    r"|(FOREIGN_)?AMOUNT_PREPAID|EURO_\w+|CURRENCY_TYPE|GDN_NUMBER|PRINTED(_CODE)?"
    r"|NET_VALUE_DISCOUNT_\w+"
)
ITEM_RESERVED = re.compile(
    r"ORDER_NUMBER|ITEM_NUMBER|ITEMID|THIS_RECORD|QTY_(ALLOCATED|DELIVERED|DESPATCH|LAST_DESPATCH)"
    r"|DEPT_NAME|FOREIGN_\w+|GROSS_AMOUNT|RECORD_\w+|POP_ITEM_ID|GENERATED_MESSAGE"
    r"|NEGOTIATION_\w+|ADD_DISC_RATE"
)
# Tax codes are numbers in SDO (0-99, T1 = 1) and 'Tn' text in ODBC beside TAX_CODE_ID.
HEADER_TAX_CODES = {"CARR_TAX_CODE", "GLOBAL_TAX_CODE"}
# Header fields whose SDO value is not the stored one (FindFirst cannot compare them).
CONVERTED_HEADER_FIELDS = {
    "ORDER_TYPE",
    "QUOTE_STATUS",
    "CURRENCY",
    "CURRENCY_USED",
    *HEADER_TAX_CODES,
}
# Header text columns the demo generator always fills ('' when there is nothing).
HEADER_BLANK_TEXT = (
    "NAME", *(f"ADDRESS_{n}" for n in range(1, 6)), *(f"C_ADDRESS_{n}" for n in range(1, 6)),
    "DEL_NAME", *(f"DEL_ADDRESS_{n}" for n in range(1, 6)), "VAT_REG_NUMBER", "CONTACT_NAME",
    "TAKEN_BY", "CUST_ORDER_NUMBER", "CUST_TEL_NUMBER", "NOTES_1", "GLOBAL_NOM_CODE",
    "GLOBAL_DETAILS", "CONSIGNMENT", "COURIER_NAME", "CARR_NOM_CODE", "ANALYSIS_1", "ANALYSIS_2", "ANALYSIS_3", "PAYMENT_REF",
    "RECURRING_REF", "INVOICE_NUMBER", "ALLOCATED_STATUS", "DESPATCH_STATUS",
)  # fmt: skip
# Constant columns of a new order as the demo generator writes them.
ORDER_CONSTANTS: dict[str, object] = {
    "ALLOCATED_STATUS_CODE": 0, "DESPATCH_STATUS_CODE": 0, "INVOICE_NUMBER_NUMERIC": 0,
    "CURRENCY_TYPE": 0, "EURO_GROSS": 0.0, "EURO_RATE": 0.0, "AMOUNT_PREPAID": 0.0,
    "FOREIGN_AMOUNT_PREPAID": 0.0, "NET_VALUE_DISCOUNT_NET": 0.0,
    "NET_VALUE_DISCOUNT_NET_BASE": 0.0, "NET_VALUE_DISCOUNT_RATE": 0.0, "GDN_NUMBER": 0,
    "PROJECT_ID": 0, "PRINTED": "N", "PRINTED_CODE": 0, "CARR_NET": 0.0, "CARR_TAX": 0.0,
    "CARR_GROSS": 0.0, "FOREIGN_CARR_NET": 0.0, "FOREIGN_CARR_TAX": 0.0,
    "FOREIGN_CARR_GROSS": 0.0, "CUST_DISC_RATE": 0.0, "RECORD_DELETED": 0, "COURIER_NUMBER": 0,
}  # fmt: skip
ITEM_CONSTANTS: dict[str, object] = {
    "JOB_NUMBER": "", "COMMENT_1": "", "COMMENT_2": "", "ADD_DISC_RATE": 0.0, "PROJECT_ID": 0,
    "NEGOTIATION_DISC_NET": 0.0, "NEGOTIATION_DISC_NET_BASE": 0.0, "GENERATED_MESSAGE": 0,
    "POP_ITEM_ID": 0, "QTY_ALLOCATED": 0.0, "QTY_DELIVERED": 0.0, "QTY_DESPATCH": 0.0,
    "QTY_LAST_DESPATCH": 0.0, "RECORD_DELETED": 0,
}  # fmt: skip


def _money(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(PENNY, ROUND_HALF_UP)


def _base(foreign: Decimal, rate: Decimal) -> Decimal:
    """A document-currency amount in base currency at `rate` units per base unit, half up."""
    return foreign if rate == 1 else (foreign / rate).quantize(PENNY, ROUND_HALF_UP)


def _tax_number(value: object) -> int | None:
    """'T1' (ODBC) or 1 (SDO) as SDO's tax code number."""
    text = str(value if value is not None else "").strip().upper().removeprefix("T")
    return int(text) if text.isdigit() else None


def _column(table: str, name: str, odbc_type: str, length: int | None = None) -> SageColumn:
    return SageColumn(table, 0, name, odbc_type, length)


def _header_columns() -> list[SageColumn]:
    """SALES_ORDER as SDO names it: ORDER_TYPE (InvoiceType) and QUOTE_STATUS (QuoteStatus)
    where ODBC has ORDER_TYPE_CODE and QUOTE_STATUS_ID, numeric tax codes, and CURRENCY_USED."""
    columns: list[SageColumn] = []
    for column in table_columns("SALES_ORDER"):
        if column.name in ("ORDER_TYPE_CODE", "QUOTE_STATUS_ID"):
            continue
        if column.name == "QUOTE_STATUS" or column.name in HEADER_TAX_CODES:
            column = _column("SALES_ORDER", column.name, "SMALLINT")
        columns.append(column)
    columns.insert(1, _column("SALES_ORDER", "ORDER_TYPE", "TINYINT"))
    columns.append(_column("SALES_ORDER", "CURRENCY_USED", "TINYINT"))
    return columns


def _item_columns() -> list[SageColumn]:
    """SOP_ITEM as SDO names it: TAX_CODE a number (no TAX_CODE_ID), and TAX_FLAG (1: keep the
    TAX_AMOUNT given; 0: Sage computes it from NET_AMOUNT)."""
    columns: list[SageColumn] = []
    for column in table_columns("SOP_ITEM"):
        if column.name == "TAX_CODE_ID":
            continue
        if column.name == "TAX_CODE":
            column = _column("SOP_ITEM", "TAX_CODE", "SMALLINT")
        columns.append(column)
    columns.append(_column("SOP_ITEM", "TAX_FLAG", "TINYINT"))
    return columns


class _Values:
    """A set of SDO fields over one table's columns: what Field needs from its owner."""

    def __init__(
        self,
        columns: list[SageColumn],
        reserved: re.Pattern[str] | None = None,
        required: frozenset[str] = frozenset(),
        special: frozenset[str] = frozenset(),
        renamed: dict[str, str] | None = None,
    ) -> None:
        self._assigned: set[str] = set()
        renamed = renamed or {}
        items = []
        for column in columns:
            field = Field(self, column, renamed.get(column.name, column.name))  # type: ignore[arg-type]
            if field.Name in required:
                field.State = REQUIRED
            elif reserved is not None and reserved.fullmatch(field.Name):
                field.State = RESERVED
            elif field.Name in special:
                field.State = SPECIAL
            else:
                field.State = OPTIONAL
            items.append(field)
        self.Fields = Fields(items)

    def value(self, name: str) -> Any:
        return self.Fields.Item(name).Value

    def assigned(self, name: str) -> bool:
        return name in self._assigned

    def clear(self) -> None:
        for field in self.Fields:
            field._value = None
        self._assigned.clear()


def _given(values: _Values) -> dict[str, object]:
    """The assigned fields, checked; a reserved one is 19 as on SalesRecord."""
    out: dict[str, object] = {}
    for name in sorted(values._assigned):
        field = values.Fields.Item(name)
        if field.State == RESERVED:
            raise _Failed(ErrorCode.sdoInvalidUse, f"{name} is set by Sage")
        out[name] = _checked(field, field.Value, empty_number=0)
    return out


# -- SopPost --------------------------------------------------------------------------------------


class SopItem(_Values):
    """One item of a SopPost (ISopItem's Fields)."""

    def __init__(self) -> None:
        super().__init__(_item_columns(), ITEM_RESERVED, frozenset({"STOCK_CODE"}))


class SopItems:
    """SopPost.Items: an SDOCollection whose Add() gives a new SopItem."""

    def __init__(self) -> None:
        self._items: list[SopItem] = []

    @property
    def Count(self) -> int:  # noqa: N802
        return len(self._items)

    def Add(self) -> SopItem:  # noqa: N802
        item = SopItem()
        self._items.append(item)
        return item

    def Item(self, Index: int) -> SopItem:  # noqa: N802, N803
        # SDO collections count from 1.
        if isinstance(Index, int) and 1 <= Index <= len(self._items):
            return self._items[Index - 1]
        raise raised(f"No item {Index!r}", DISP_E_BADINDEX)

    def __iter__(self) -> Iterator[SopItem]:
        return iter(self._items)


class SopHeader(_Values):
    def __init__(self) -> None:
        super().__init__(
            _header_columns(),
            HEADER_RESERVED,
            frozenset({"ACCOUNT_REF"}),
            frozenset({"CURRENCY", "CURRENCY_USED"}),
        )


@dataclass
class _Line:
    values: dict[str, object]
    net: Decimal
    tax: Decimal
    tax_code: int
    tax_rate: Decimal


class SopPost:
    """ISopPost: Header and Items, Update() posts the order with its items in one transaction
    and sets Header ORDER_NUMBER; GetNextNumber() is the number the next order will take."""

    RECORD = "SopPost"

    def __init__(self, workspace: WorkSpace) -> None:
        self._ws = workspace
        self.Header = SopHeader()
        self.Items = SopItems()

    def GetNextNumber(self) -> int:  # noqa: N802
        con = self._ws._db()
        if con is None:
            self._ws._fail(ErrorCode.sdoNotConnected)
            return 0
        return _next_order_number(con)

    def Update(self) -> bool:  # noqa: N802
        con = self._ws._db()
        if con is None:
            return self._ws._fail(ErrorCode.sdoNotConnected)
        try:
            header = _given(self.Header)
            items = [_given(item) for item in self.Items]
            ref = str(header.get("ACCOUNT_REF") or "")
            if not ref:
                raise _Failed(ErrorCode.sdoEmptyAccountReference)
            fault = faults.take(con, ("update",), ref, self.RECORD)
            if fault is not None:
                return self._ws._fail(fault[1])
            after = faults.take(
                con, ("update_then_disconnect", "update_then_exit"), ref, self.RECORD
            )
            number = self._write(con, ref, header, items)
        except sqlite3.OperationalError as exc:
            return self._ws._fail(_busy(exc))
        except _Failed as failed:
            return self._ws._fail(failed.code, failed.text)
        self.Header.Fields.Item("ORDER_NUMBER")._value = number
        self._ws._after_update(after)
        return True

    # -- the posting ------------------------------------------------------------------------------
    def _write(
        self,
        con: sqlite3.Connection,
        ref: str,
        header: dict[str, object],
        items: list[dict[str, object]],
    ) -> int:
        stamp = now_stamp()
        con.execute("BEGIN IMMEDIATE")
        try:
            account = con.execute(
                'SELECT * FROM "SALES_LEDGER" WHERE upper(ACCOUNT_REF) = upper(?)', (ref,)
            ).fetchone()
            if account is None:
                raise _Failed(ErrorCode.sdoInvalidKey, f"No customer {ref}")
            order = self._order_values(con, account, header)
            if not items:
                raise _Failed(ErrorCode.sdoInvalidValue, "the order has no items")
            rate = Decimal(str(order["FOREIGN_RATE"]))
            lines = [
                self._line(con, account, item, n, order, rate)
                for n, item in enumerate(items, start=1)
            ]
            number = _next_order_number(con)
            order["ORDER_NUMBER"] = number
            _totals(order, lines)
            order["RECORD_CREATE_DATE"] = order["RECORD_MODIFY_DATE"] = stamp
            _insert(con, "SALES_ORDER", order)
            item_id = int(
                con.execute('SELECT coalesce(max(ITEMID), 0) FROM "SOP_ITEM"').fetchone()[0]
            )
            for line in lines:
                item_id += 1
                line.values |= {
                    "ORDER_NUMBER": number,
                    "ITEMID": item_id,
                    "THIS_RECORD": item_id,
                    "RECORD_CREATE_DATE": stamp,
                    "RECORD_MODIFY_DATE": stamp,
                }
                _insert(con, "SOP_ITEM", line.values)
            con.execute("COMMIT")
            return number
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    @staticmethod
    def _order_values(
        con: sqlite3.Connection, account: sqlite3.Row, header: dict[str, object]
    ) -> dict[str, object]:
        order: dict[str, object] = dict(ORDER_CONSTANTS)
        order |= {c: "" for c in HEADER_BLANK_TEXT}
        kind = int(header.pop("ORDER_TYPE", 0) or 0)  # type: ignore[call-overload]
        if kind not in ORDER_KINDS:
            raise _Failed(ErrorCode.sdoInvalidValue, f"ORDER_TYPE {kind} is not a SOP type")
        status = int(header.pop("QUOTE_STATUS", 0) or 0)  # type: ignore[call-overload]
        if kind == SOP_QUOTE:
            status = status or QUOTE_OPEN
            if status not in QUOTE_STATUS:
                raise _Failed(ErrorCode.sdoInvalidValue, f"QUOTE_STATUS {status}")
        else:
            status = 0
        # CURRENCY is 0-based in SDO; the order is in the account's currency.
        currency = int(account["CURRENCY"] or 1)
        for name in ("CURRENCY", "CURRENCY_USED"):
            if name in header and int(header.pop(name)) + 1 != currency:  # type: ignore[call-overload]
                raise _Failed(
                    ErrorCode.sdoCurrencyDoesNotMatch,
                    f"{name} is not account {account['ACCOUNT_REF']}'s currency",
                )
        given_rate = float(header.pop("FOREIGN_RATE", 0) or 0)  # type: ignore[arg-type]
        if currency == 1:
            if given_rate not in (0.0, 1.0):
                raise _Failed(ErrorCode.sdoForeignRateSetOnBase, f"FOREIGN_RATE {given_rate}")
            rate = 1.0
        else:
            rate = given_rate or _currency_rate(con, currency)
            if rate <= 0:
                raise _Failed(ErrorCode.sdoInvalidValue, f"FOREIGN_RATE {rate}")
        for name in HEADER_TAX_CODES:
            if name in header:
                header[name] = _tax_code_text(con, header[name], name)
        # What an order takes from its account unless given: settlement terms, and the
        # account's tax code for the global and carriage lines.
        order |= {
            "SETTLEMENT_DUE_DAYS": account["SETTLEMENT_DUE_DAYS"] or 0,
            "SETTLEMENT_DISC_RATE": account["SETTLEMENT_DISC_RATE"] or 0.0,
            "GLOBAL_TAX_CODE": account["DEF_TAX_CODE"] or "T1",
            "CARR_TAX_CODE": account["DEF_TAX_CODE"] or "T1",
        }
        order |= header
        order["ACCOUNT_REF"] = account["ACCOUNT_REF"]
        order_date = str(order.get("ORDER_DATE") or today())
        expiry = None
        if kind == SOP_QUOTE:
            expiry = (
                order.get("QUOTE_EXPIRY_DATE")
                or (dt.date.fromisoformat(order_date) + dt.timedelta(days=QUOTE_DAYS)).isoformat()
            )
        type_code, type_text = ORDER_KINDS[kind]
        lines = [str(order.get(f"ADDRESS_{n}") or "") for n in range(1, 6)]
        filled = [line for line in lines if line]
        order |= {f"C_ADDRESS_{n}": line for n, line in enumerate(filled + [""] * 5, 1) if n <= 5}
        order |= {
            "ORDER_TYPE_CODE": type_code,
            "ORDER_OR_QUOTE": type_text,
            "ORDER_DATE": order_date,
            "QUOTE_EXPIRY_DATE": expiry,
            "QUOTE_STATUS": QUOTE_STATUS[status],
            "QUOTE_STATUS_ID": status,
            "CURRENCY": currency,
            "FOREIGN_RATE": rate,
        }
        for number_column, name_column in (
            ("GLOBAL_DEPT_NUMBER", "GLOBAL_DEPT_NAME"),
            ("CARR_DEPT_NUMBER", "CARR_DEPT_NAME"),
        ):
            order[number_column] = int(order.get(number_column) or 0)  # type: ignore[call-overload]
            order[name_column] = _department(con, order[number_column])
        return order

    @staticmethod
    def _line(
        con: sqlite3.Connection,
        account: sqlite3.Row,
        item: dict[str, object],
        number: int,
        order: dict[str, object],
        rate: Decimal,
    ) -> _Line:
        code = str(item.get("STOCK_CODE") or "")
        if not code:
            raise _Failed(ErrorCode.sdoInvalidValue, f"item {number} has no STOCK_CODE")
        product = None
        if code.upper() not in SPECIAL_CODES:
            product = con.execute(
                'SELECT * FROM "STOCK" WHERE upper(STOCK_CODE) = upper(?)', (code,)
            ).fetchone()
            if product is None:
                raise _Failed(ErrorCode.sdoInvalidKey, f"No product {code}")
        qty = Decimal(str(item.get("QTY_ORDER") or 0))
        if qty <= 0 and code.upper() != MESSAGE_CODE:
            raise _Failed(ErrorCode.sdoInvalidValue, f"item {number} QTY_ORDER {qty} is not > 0")
        if "TAX_CODE" in item:
            tax_code = int(item["TAX_CODE"])  # type: ignore[call-overload]
        else:
            default = product["TAX_CODE"] if product is not None else account["DEF_TAX_CODE"]
            tax_code = _tax_number(default) or 0
        found = con.execute(
            'SELECT TAX_CODE, TAX_RATE FROM "TAX_CODE" WHERE TAX_CODE_ID = ?', (tax_code,)
        ).fetchone()
        if found is None:
            raise _Failed(ErrorCode.sdoInvalidValue, f"item {number} TAX_CODE {tax_code}")
        tax_rate = Decimal(str(found["TAX_RATE"] or 0))
        # Amounts are given in the order's currency; base = foreign / FOREIGN_RATE, half up.
        price = Decimal(str(item.get("UNIT_PRICE") or 0))
        full = _money(item["FULL_NET_AMOUNT"]) if "FULL_NET_AMOUNT" in item else _money(qty * price)
        disc_rate = Decimal(str(item.get("DISCOUNT_RATE") or 0))
        if "DISCOUNT_AMOUNT" in item:
            disc = _money(item["DISCOUNT_AMOUNT"])
        else:
            disc = _money(full * disc_rate / 100)
        net = _money(item["NET_AMOUNT"]) if "NET_AMOUNT" in item else full - disc
        # TAX_FLAG 0: Sage computes the VAT of each line from its net (rounded per line).
        if int(item.get("TAX_FLAG") or 0) == 1:  # type: ignore[call-overload]
            tax = _money(item.get("TAX_AMOUNT"))
        else:
            tax = _money(net * tax_rate / 100)
        full_b, net_b, tax_b = _base(full, rate), _base(net, rate), _base(tax, rate)
        dept = int(item.get("DEPT_NUMBER") or 0)  # type: ignore[call-overload]
        values: dict[str, object] = dict(ITEM_CONSTANTS)
        values |= {
            "ITEM_NUMBER": number,
            "SERVICE_FLAG": int(item.get("SERVICE_FLAG") or 0),  # type: ignore[call-overload]
            "DESCRIPTION": item.get("DESCRIPTION")
            or (product["DESCRIPTION"] if product is not None else ""),
            "TEXT": item.get("TEXT") or None,
            "STOCK_CODE": product["STOCK_CODE"] if product is not None else code.upper(),
            "UNIT_OF_SALE": item.get("UNIT_OF_SALE")
            or (product["UNIT_OF_SALE"] if product is not None else ""),
            "QTY_ORDER": float(qty),
            "FOREIGN_UNIT_PRICE": float(price),
            "FOREIGN_DISCOUNT_AMOUNT": float(disc),
            "UNIT_PRICE": float(_base(price, rate)),
            "DISCOUNT_AMOUNT": float(full_b - net_b),
            "DISCOUNT_RATE": float(disc_rate),
            "DELIVERY_DATE": item.get("DELIVERY_DATE") or order["ORDER_DATE"],
            "DUE_DATE": item.get("DUE_DATE") or order["ORDER_DATE"],
            "NOMINAL_CODE": item.get("NOMINAL_CODE")
            or (product["NOMINAL_CODE"] if product is not None else "")
            or "4000",
            "DEPT_NUMBER": dept,
            "DEPT_NAME": _department(con, dept),
            "TAX_CODE_ID": tax_code,
            "TAX_CODE": found["TAX_CODE"],
            "TAX_RATE": float(tax_rate),
            "FULL_NET_AMOUNT": float(full_b),
            "NET_AMOUNT": float(net_b),
            "TAX_AMOUNT": float(tax_b),
            "GROSS_AMOUNT": float(net_b + tax_b),
            "FOREIGN_FULL_NET_AMOUNT": float(full),
            "FOREIGN_NET_AMOUNT": float(net),
            "FOREIGN_TAX_AMOUNT": float(tax),
            "FOREIGN_GROSS_AMOUNT": float(net + tax),
        }
        for name in ("EXT_ORDER_REF", "EXT_ORDER_LINE_REF", "JOB_NUMBER", "COMMENT_1", "COMMENT_2"):
            if name in item:
                values[name] = item[name]
        return _Line(values, net, tax, tax_code, tax_rate)


def _totals(order: dict[str, object], lines: list[_Line]) -> None:
    """Header totals = the sums of the lines (no carriage); VAT analysis per tax code, base."""
    fnet = sum((line.net for line in lines), Decimal(0))
    ftax = sum((line.tax for line in lines), Decimal(0))
    net = sum((Decimal(str(line.values["NET_AMOUNT"])) for line in lines), Decimal(0))
    tax = sum((Decimal(str(line.values["TAX_AMOUNT"])) for line in lines), Decimal(0))
    for prefix, n, t in (("FOREIGN_", fnet, ftax), ("", net, tax)):
        for total in ("ITEMS", "INVOICE"):
            order[f"{prefix}{total}_NET"] = float(n)
            order[f"{prefix}{total}_TAX"] = float(t)
            order[f"{prefix}{total}_GROSS"] = float(n + t)
    slots: dict[int, list[Decimal]] = {}
    for line in lines:
        slot = slots.setdefault(line.tax_code, [line.tax_rate, Decimal(0), Decimal(0)])
        slot[1] += Decimal(str(line.values["NET_AMOUNT"]))
        slot[2] += Decimal(str(line.values["TAX_AMOUNT"]))
    used = list(slots.values())[:5]
    for n in range(1, 6):
        rate_, net_, tax_ = used[n - 1] if n <= len(used) else (Decimal(0),) * 3
        order[f"TAX_RATE_{n}"] = float(rate_)
        order[f"NET_AMOUNT_{n}"] = float(net_)
        order[f"TAX_AMOUNT_{n}"] = float(tax_)


def _insert(con: sqlite3.Connection, table: str, row: dict[str, object]) -> None:
    known = {c.name for c in table_columns(table)}
    row = {c: v for c, v in row.items() if c in known}
    names = ", ".join(f'"{c}"' for c in row)
    marks = ", ".join("?" for _ in row)
    con.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', tuple(row.values()))  # noqa: S608


SALES_ORDER_FILE_TYPE = 25  # SDO's sdoSopData: DELETED_RECORDS.TABLE_ID of SALES_ORDER


def _next_order_number(con: sqlite3.Connection) -> int:
    """Sage's next order number: its counter never goes back, so the number of a deleted order
    (DELETED_RECORDS remembers it) is never given again."""
    found = con.execute(
        'SELECT max(n) FROM (SELECT max(ORDER_NUMBER) AS n FROM "SALES_ORDER" UNION ALL '
        'SELECT max(CAST(FOREIGN_REF AS INTEGER)) FROM "DELETED_RECORDS" WHERE TABLE_ID = ?)',
        (SALES_ORDER_FILE_TYPE,),
    ).fetchone()[0]
    return int(found or 0) + 1


def _department(con: sqlite3.Connection, number: object) -> str:
    found = con.execute('SELECT NAME FROM "DEPARTMENT" WHERE NUMBER = ?', (number,)).fetchone()
    return str(found[0]) if found else ""


def _currency_rate(con: sqlite3.Connection, number: int) -> float:
    """The currency's exchange rate (units per base unit); the demo names the column RATE,
    Sage's ODBC EXCHANGE_RATE."""
    columns = {row[1] for row in con.execute('PRAGMA table_info("CURRENCY")')}
    column = "EXCHANGE_RATE" if "EXCHANGE_RATE" in columns else "RATE"
    found = con.execute(
        f'SELECT "{column}" FROM "CURRENCY" WHERE NUMBER = ?',  # noqa: S608
        (number,),
    ).fetchone()
    return float(found[0] or 0) if found else 0.0


def _tax_code_text(con: sqlite3.Connection, value: object, name: str) -> str:
    number = _tax_number(value)
    found = (
        con.execute('SELECT TAX_CODE FROM "TAX_CODE" WHERE TAX_CODE_ID = ?', (number,)).fetchone()
        if number is not None
        else None
    )
    if found is None:
        raise _Failed(ErrorCode.sdoInvalidValue, f"{name} {value!r}")
    return str(found[0])


# -- reading: SopData, StockRecord, CurrencyData ------------------------------------------------


class _ReadOnlyFile(_Cursor):
    """Rows of one table read through SDO's field names, positioned by key order."""

    def __init__(self, workspace: WorkSpace, columns: list[SageColumn], **kwargs: Any) -> None:
        super().__init__(workspace)
        self._values = _Values(columns, **kwargs)
        self.Fields = self._values.Fields

    def _sdo_value(self, name: str, row: sqlite3.Row, field: Field) -> object:
        return _from_stored(row[field.column], field.Type)

    def _load(self, row: sqlite3.Row | None) -> bool:
        if row is None:
            self._current = None
            return False
        self._current = row[self.KEY]
        for field in self.Fields:
            field._value = self._sdo_value(field.Name, row, field)
        self._values._assigned.clear()
        return True

    def _read_only(self) -> bool:
        return self._ws._fail(ErrorCode.sdoInvalidUse, f"the stand-in's {self.TABLE} is read only")


class SopData(_ReadOnlyFile):
    """ISopData: the SOP header file. Read(n) reads order n (the record number is the
    ORDER_NUMBER); FindFirst/FindNext(field, value) walk the orders whose field equals value."""

    TABLE, KEY = "SALES_ORDER", "ORDER_NUMBER"
    FileType = 25  # sdoSopData

    def __init__(self, workspace: WorkSpace) -> None:
        super().__init__(workspace, _header_columns())
        self._search: tuple[str, object] | None = None

    def _sdo_value(self, name: str, row: sqlite3.Row, field: Field) -> object:
        if name == "ORDER_TYPE":
            return ORDER_TYPE_OF_CODE.get(int(row["ORDER_TYPE_CODE"] or 0), 1)
        if name == "QUOTE_STATUS":
            return int(row["QUOTE_STATUS_ID"] or 0)
        if name in ("CURRENCY", "CURRENCY_USED"):
            return int(row["CURRENCY"] or 1) - 1
        if name in HEADER_TAX_CODES:
            return _tax_number(row[name]) or 0
        return super()._sdo_value(name, row, field)

    def Count(self) -> int:  # noqa: N802
        return self._count()

    def RecordNumber(self) -> int:  # noqa: N802
        return int(self._current or 0)  # type: ignore[call-overload]

    def Read(self, lRecNo: int) -> bool:  # noqa: N802, N803
        return self._select('"ORDER_NUMBER" = ?', (int(lRecNo),))

    def _match(self, varField: str, varSearch: object, after: object) -> bool:  # noqa: N803
        field = self.Fields.Item(varField)  # an unknown name raises as Fields.Item does
        column = field.column
        if field.Name in CONVERTED_HEADER_FIELDS:
            raise raised(f"FindFirst on {varField} is not supported by the stand-in")
        return self._move(
            f'"{column}" = ? AND "ORDER_NUMBER" > ?', (varSearch, after or 0), "ASC", True
        )

    def FindFirst(self, varField: str, varSearch: object) -> bool:  # noqa: N802, N803
        self._search = (varField, varSearch)
        return self._match(varField, varSearch, 0)

    def FindNext(self, varField: str, varSearch: object) -> bool:  # noqa: N802, N803
        return self._match(varField, varSearch, self._current)

    def Write(self, lRecNo: int) -> bool:  # noqa: N802, N803
        return self._read_only()


class StockRecord(_Record, _ReadOnlyFile):
    """IStockRecord, read only: Find on STOCK_CODE, the cursor, Fields (TAX_CODE a number)."""

    TABLE, KEY = "STOCK", "STOCK_CODE"

    def __init__(self, workspace: WorkSpace) -> None:
        columns = [
            _column("STOCK", "TAX_CODE", "SMALLINT") if c.name == "TAX_CODE" else c
            for c in table_columns("STOCK")
        ]
        super().__init__(workspace, columns)

    def _sdo_value(self, name: str, row: sqlite3.Row, field: Field) -> object:
        if name == "TAX_CODE":
            return _tax_number(row["TAX_CODE"]) or 0
        return super()._sdo_value(name, row, field)

    def AddNew(self) -> bool:  # noqa: N802
        return self._read_only()

    def Edit(self) -> bool:  # noqa: N802
        return self._read_only()

    def Update(self) -> bool:  # noqa: N802
        return self._read_only()


class CurrencyData(_ReadOnlyFile):
    """ICurrencyData: Read(n) reads currency n (1 = base); EXCHANGE_RATE as SDO names it."""

    TABLE, KEY = "CURRENCY", "NUMBER"
    FileType = 20  # sdoCurrencyData

    def __init__(self, workspace: WorkSpace) -> None:
        super().__init__(
            workspace, list(table_columns("CURRENCY")), renamed={"RATE": "EXCHANGE_RATE"}
        )

    def Read(self, lRecNo: int) -> bool:  # noqa: N802, N803
        return self._select('"NUMBER" = ?', (int(lRecNo),))

    def Count(self) -> int:  # noqa: N802
        return self._count()


# -- pricing --------------------------------------------------------------------------------------


def _rules() -> Any:
    """The company's pricing switches, as the settings describe the Sage company the stand-in
    plays (read at each use, so a test may change them)."""
    from resources.sage.pricing import PricingRules

    return PricingRules.from_env()


def _price(workspace: WorkSpace, account_ref: str, stock_code: str, quantity: float) -> Any:
    """sandbox.sdo.pricing.price; an unknown account or product is SDO's 17 raised from the
    call (a method returning a value or object has no False to return)."""
    from sandbox.sdo.pricing import price

    con = workspace._db()
    if con is None:
        workspace._fail(ErrorCode.sdoNotConnected)
        raise raised(text_of(ErrorCode.sdoNotConnected))
    try:
        return price(con, account_ref, stock_code, quantity, _rules())
    except LookupError as exc:
        text = f"{text_of(ErrorCode.sdoInvalidKey)}: {exc}"
        workspace._fail(ErrorCode.sdoInvalidKey, text)
        raise raised(text) from None


class Pricing:
    """IPricing: CustomerUnitPrice(Customer, Product) is the customer's unit price for one unit
    before discounts, in the customer's currency."""

    def __init__(self, workspace: WorkSpace) -> None:
        self._ws = workspace

    def CustomerUnitPrice(self, Customer: str, Product: str) -> float:  # noqa: N802, N803
        return float(_price(self._ws, str(Customer), str(Product), 1.0).list_unit_price)

    def SupplierUnitPrice(self, Supplier: str, Product: str) -> float:  # noqa: N802, N803
        raise raised("SupplierUnitPrice is not supported by the stand-in")


class InvoiceLine:
    """IInvoiceLine: one priced line of the calculator."""

    def __init__(self) -> None:
        self.StockCode = ""
        self.ListUnitPrice = 0.0
        self.ActualUnitPrice = 0.0
        self.DiscountPercent = 0.0
        self.StockDiscountPercent = 0.0
        self.DiscountAmount = 0.0
        self.DiscountTotal = 0.0
        self.NetTotal = 0.0
        self.PriceTax = 0.0
        self.TaxTotal = 0.0
        self.GrossTotal = 0.0
        self.CostTotal = 0.0
        self.ProfitTotal = 0.0
        self.ChargesTotal = 0.0
        self.IsNegativeLine = False


class Invoice:
    """IInvoice (coclass `invoice`): an in-memory price and tax calculator. Set
    CustomerReference, AddItem each product (priced by Sage's rules unless UseEnteredPrice),
    Recalculate() for the totals. Nothing is saved (the interface has no Update)."""

    def __init__(self, workspace: WorkSpace) -> None:
        self._ws = workspace
        self.CustomerReference = ""
        self.DiscountType = 0
        self.DiscountPercent = 0.0
        self.DiscountAmount = 0.0
        self.SettlementDiscountPercent = 0.0
        self.SettlementDiscountAmount = 0.0
        self.CarriageNet = self.CarriageTax = self.CarriageGross = 0.0
        self.CarriageTaxCode = 0
        self.NetTotal = self.DiscountTotal = self.TaxTotal = self.GrossTotal = 0.0
        self.CostTotal = self.ProfitTotal = 0.0
        self._lines: list[InvoiceLine] = []

    def AddItem(  # noqa: N802
        self,
        StockCode: str,  # noqa: N803
        Quantity: float,  # noqa: N803
        EnteredPrice: float,  # noqa: N803
        DiscountPerc: float,  # noqa: N803
        AddDiscountPerc: float,  # noqa: N803
        TaxCode: int,  # noqa: N803
        UseEnteredPrice: int,  # noqa: N803
    ) -> InvoiceLine:
        """The line for `Quantity` of `StockCode`: Sage's price, quantity/customer discount and
        net (UseEnteredPrice 0), or EnteredPrice less DiscountPerc (1); VAT at TaxCode's rate
        on the net, rounded per line."""
        if AddDiscountPerc:
            raise raised("AddDiscountPerc is not supported by the stand-in")
        con = self._ws._db()
        if con is None:
            self._ws._fail(ErrorCode.sdoNotConnected)
            raise raised(text_of(ErrorCode.sdoNotConnected))
        found = con.execute(
            'SELECT TAX_RATE FROM "TAX_CODE" WHERE TAX_CODE_ID = ?', (int(TaxCode),)
        ).fetchone()
        if found is None:
            text = f"{text_of(ErrorCode.sdoInvalidValue)}: TaxCode {TaxCode}"
            self._ws._fail(ErrorCode.sdoInvalidValue, text)
            raise raised(text)
        tax_rate = Decimal(str(found[0] or 0))
        qty = Decimal(str(Quantity))
        priced = _price(self._ws, self.CustomerReference, str(StockCode), float(Quantity))
        line = InvoiceLine()
        line.StockCode = priced.stock_code
        # ActualUnitPrice is the UNIT_PRICE Sage writes on the line (the pricing rules' unit_price).
        if UseEnteredPrice:
            unit = list_unit = Decimal(str(EnteredPrice))
            discount_percent, stock_percent = Decimal(str(DiscountPerc)), Decimal(0)
            full = _money(qty * unit)
            discount = _money(full * discount_percent / 100)
            net = full - discount
        else:
            list_unit, unit = priced.list_unit_price, priced.unit_price
            discount_percent = priced.discount_percent
            stock_percent = priced.quantity_discount_percent
            discount, net = priced.discount_amount, priced.net
        # Sage's rounding of the line's VAT is the pricing rules' when the code is the one they
        # chose; another code is taxed at its rate, rounded half up per line.
        if not UseEnteredPrice and int(TaxCode) == int(priced.tax_code):
            tax = priced.tax
        else:
            tax = _money(net * tax_rate / 100)
        cost_row = con.execute(
            'SELECT LAST_PURCHASE_PRICE FROM "STOCK" WHERE upper(STOCK_CODE) = upper(?)',
            (str(StockCode),),
        ).fetchone()
        cost = _money(qty * Decimal(str(cost_row[0] or 0))) if cost_row else Decimal(0)
        line.ListUnitPrice = float(list_unit)
        line.ActualUnitPrice = float(unit)
        line.DiscountPercent = float(discount_percent)
        line.StockDiscountPercent = float(stock_percent)
        line.DiscountAmount = line.DiscountTotal = float(discount)
        line.NetTotal = float(net)
        line.PriceTax = float(_money(unit * tax_rate / 100))
        line.TaxTotal = float(tax)
        line.GrossTotal = float(net + tax)
        line.CostTotal = float(cost)
        line.ProfitTotal = float(net - cost)
        line.IsNegativeLine = qty < 0
        self._lines.append(line)
        return line

    def Recalculate(self) -> float:  # noqa: N802
        """The totals of the lines (no carriage or invoice discount); returns the gross."""

        def total(name: str) -> float:
            return float(sum((_money(getattr(x, name)) for x in self._lines), Decimal(0)))

        self.NetTotal = total("NetTotal")
        self.DiscountTotal = total("DiscountTotal")
        self.TaxTotal = total("TaxTotal")
        self.GrossTotal = total("GrossTotal")
        self.CostTotal = total("CostTotal")
        self.ProfitTotal = total("ProfitTotal")
        return self.GrossTotal


__all__ = [
    "CurrencyData",
    "Invoice",
    "InvoiceLine",
    "Pricing",
    "SopData",
    "SopItem",
    "SopPost",
    "StockRecord",
]
