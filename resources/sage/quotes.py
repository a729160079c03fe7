"""One Sage quotation read back over ODBC, as Sage stored it: the SALES_ORDER header and its
SOP_ITEM lines, by ORDER_NUMBER (the number `SageWriter.post_quote` answered).

    with sage_source.connect() as connection:
        quote = read_quotation(connection, 1234)   # Quotation | None

Only that order's rows are read: one query per table with `ORDER_NUMBER = n` (the literal made
by `resources.sage.sql`, as the Sage driver takes no bound parameters), plus the currency's code.
Amounts keep the ODBC columns' meaning: `X` is base currency, `foreign_X` the customer's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

from resources.sage.source import SageConnection, SageSourceError
from resources.sage.sql import Compare, SageSelect

HEADER_COLUMNS = (
    "ORDER_NUMBER", "ACCOUNT_REF", "ORDER_DATE", "CUST_ORDER_NUMBER", "CURRENCY", "FOREIGN_RATE",
    "ORDER_OR_QUOTE", "QUOTE_STATUS_ID", "INVOICE_NET", "INVOICE_TAX", "INVOICE_GROSS",
    "FOREIGN_INVOICE_NET", "FOREIGN_INVOICE_TAX", "FOREIGN_INVOICE_GROSS",
)  # fmt: skip
LINE_COLUMNS = (
    "ORDER_NUMBER", "ITEM_NUMBER", "STOCK_CODE", "DESCRIPTION", "QTY_ORDER", "UNIT_PRICE",
    "FOREIGN_UNIT_PRICE", "DISCOUNT_RATE", "DISCOUNT_AMOUNT", "FOREIGN_DISCOUNT_AMOUNT",
    "NET_AMOUNT", "FOREIGN_NET_AMOUNT", "TAX_AMOUNT", "FOREIGN_TAX_AMOUNT", "GROSS_AMOUNT",
    "FOREIGN_GROSS_AMOUNT", "TAX_CODE", "TAX_RATE",
)  # fmt: skip
CHUNK_ROWS = 500


@dataclass(frozen=True)
class QuotationLine:
    item_number: int
    stock_code: str
    description: str
    quantity: Decimal  # QTY_ORDER
    unit_price: Decimal  # UNIT_PRICE, base currency
    foreign_unit_price: Decimal  # FOREIGN_UNIT_PRICE, the customer's currency
    discount_rate: Decimal
    discount_amount: Decimal
    foreign_discount_amount: Decimal
    net_amount: Decimal
    foreign_net_amount: Decimal
    tax_amount: Decimal
    foreign_tax_amount: Decimal
    gross_amount: Decimal
    foreign_gross_amount: Decimal
    tax_code: str  # 'T1' as ODBC spells it
    tax_rate: Decimal


@dataclass(frozen=True)
class Quotation:
    order_number: int
    account_ref: str
    order_date: dt.date | None
    cust_order_number: str  # the connector's marker, e.g. "SSM:1234"
    currency: str  # ISO code of the order's currency ('' when the CURRENCY row is missing)
    currency_number: int  # CURRENCY (1 = base)
    foreign_rate: Decimal
    order_or_quote: str  # 'Quotation' while it is one; Sage may convert it into an order
    quote_status_id: int  # 1 Open, 2 Won, 3 Lost (SDO QuoteStatus)
    net: Decimal  # INVOICE_NET, base currency (items + carriage)
    tax: Decimal
    gross: Decimal
    foreign_net: Decimal  # FOREIGN_INVOICE_NET, the customer's currency
    foreign_tax: Decimal
    foreign_gross: Decimal
    lines: tuple[QuotationLine, ...]

    @property
    def is_quotation(self) -> bool:
        return self.order_or_quote == "Quotation"


def _records(
    connection: SageConnection, select: SageSelect, columns: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """The rows of `select` as column -> value, whichever reader fetched them."""
    for chunk in connection.stream(select, CHUNK_ROWS):
        if isinstance(chunk, pa.RecordBatch):
            for row in chunk.to_pylist():
                yield {c: row[c] for c in columns}
        else:
            for values in chunk:
                yield dict(zip(columns, values, strict=True))


def _decimal(value: object) -> Decimal:
    """A DOUBLE as the decimal of its shortest text (0 for NULL)."""
    return Decimal(str(value)) if value is not None else Decimal(0)


def _date(value: object, order_number: int) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise SageSourceError(
            f"Sage order {order_number} has an ORDER_DATE that is not a date ({value!r}): fix "
            f"it in Sage (File > Maintenance > Check Data)."
        ) from None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def read_quotation(connection: SageConnection, order_number: int) -> Quotation | None:
    """Sales order `order_number` with its lines in item order, or None when there is none."""
    if isinstance(order_number, bool) or not isinstance(order_number, int):
        raise TypeError("order_number is Sage's integer ORDER_NUMBER")
    key = Compare("ORDER_NUMBER", "=", order_number)
    headers = list(
        _records(
            connection,
            SageSelect("SALES_ORDER", HEADER_COLUMNS, key, f"quotation {order_number}"),
            HEADER_COLUMNS,
        )
    )
    if not headers:
        return None
    head = headers[0]
    items = sorted(
        _records(
            connection,
            SageSelect("SOP_ITEM", LINE_COLUMNS, key, f"lines of quotation {order_number}"),
            LINE_COLUMNS,
        ),
        key=lambda row: int(row["ITEM_NUMBER"] or 0),
    )
    currency_number = int(head["CURRENCY"] or 1)
    codes = list(
        _records(
            connection,
            SageSelect("CURRENCY", ("CODE",), Compare("NUMBER", "=", currency_number)),
            ("CODE",),
        )
    )
    return Quotation(
        order_number=int(head["ORDER_NUMBER"]),
        account_ref=_text(head["ACCOUNT_REF"]),
        order_date=_date(head["ORDER_DATE"], order_number),
        cust_order_number=_text(head["CUST_ORDER_NUMBER"]),
        currency=_text(codes[0]["CODE"]) if codes else "",
        currency_number=currency_number,
        foreign_rate=_decimal(head["FOREIGN_RATE"]),
        order_or_quote=_text(head["ORDER_OR_QUOTE"]),
        quote_status_id=int(head["QUOTE_STATUS_ID"] or 0),
        net=_decimal(head["INVOICE_NET"]),
        tax=_decimal(head["INVOICE_TAX"]),
        gross=_decimal(head["INVOICE_GROSS"]),
        foreign_net=_decimal(head["FOREIGN_INVOICE_NET"]),
        foreign_tax=_decimal(head["FOREIGN_INVOICE_TAX"]),
        foreign_gross=_decimal(head["FOREIGN_INVOICE_GROSS"]),
        lines=tuple(
            QuotationLine(
                item_number=int(row["ITEM_NUMBER"]),
                stock_code=_text(row["STOCK_CODE"]),
                description=_text(row["DESCRIPTION"]),
                quantity=_decimal(row["QTY_ORDER"]),
                unit_price=_decimal(row["UNIT_PRICE"]),
                foreign_unit_price=_decimal(row["FOREIGN_UNIT_PRICE"]),
                discount_rate=_decimal(row["DISCOUNT_RATE"]),
                discount_amount=_decimal(row["DISCOUNT_AMOUNT"]),
                foreign_discount_amount=_decimal(row["FOREIGN_DISCOUNT_AMOUNT"]),
                net_amount=_decimal(row["NET_AMOUNT"]),
                foreign_net_amount=_decimal(row["FOREIGN_NET_AMOUNT"]),
                tax_amount=_decimal(row["TAX_AMOUNT"]),
                foreign_tax_amount=_decimal(row["FOREIGN_TAX_AMOUNT"]),
                gross_amount=_decimal(row["GROSS_AMOUNT"]),
                foreign_gross_amount=_decimal(row["FOREIGN_GROSS_AMOUNT"]),
                tax_code=_text(row["TAX_CODE"]),
                tax_rate=_decimal(row["TAX_RATE"]),
            )
            for row in items
        ),
    )


__all__ = ["Quotation", "QuotationLine", "read_quotation"]
