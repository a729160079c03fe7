"""`--with-bad-rows`: realistic defects added beside the good data, each listed in _DEMO_DEFECTS.

Row keys: the table's logical key; composite keys joined with '/' (INVOICE_ITEM
"INVOICE_NUMBER/ITEM_NUMBER", SOP_ITEM "ORDER_NUMBER/ITEM_NUMBER").

Defect kinds (the `defect` column):
  duplicate_key      two SALES_LEDGER rows share ACCOUNT_REF 'DUPL001'
  blank_key          SALES_LEDGER and STOCK rows whose key is ''
  future_date        SALES_LEDGER.RECORD_CREATE_DATE and INVOICE.INVOICE_DATE in 2130
  negative_quantity  an INVOICE_ITEM with QUANTITY < 0 (header totals still add up)
  over_long_text     SALES_LEDGER.NAME and STOCK.DESCRIPTION longer than their documented 60
  invalid_email      SALES_LEDGER.E_MAIL and SALES_DEL_ADDR.E_MAIL that are not addresses
  orphan_line        INVOICE_ITEM without INVOICE, SOP_ITEM without SALES_ORDER
  raw_cp1252_bytes   SALES_LEDGER.NAME stored as a BLOB of Windows-1252 bytes (a bad export)
  non_finite_number  NaN, +inf and -inf in SALES_LEDGER.BALANCE / CREDIT_LIMIT and STOCK
                     .SALES_PRICE / QTY_IN_STOCK: as floats and as the text a damaged file holds
  out_of_range_number  SALES_LEDGER.BALANCE 1e20 and STOCK.DISC_A_LEVEL_1_RATE 250000 (%), beyond
                     what the warehouse's DECIMAL columns hold
  cp1252_characters  valid text with £ € é and curly quotes: must survive the extract intact,
                     listed so tests can check it is NOT quarantined
"""

from __future__ import annotations

from datetime import date, timedelta

from sandbox.sage_demo.money import day, stamp
from sandbox.sage_demo.store import DEFECTS_TABLE, Db, Sink

DEFECT_KINDS = (
    "duplicate_key",
    "blank_key",
    "future_date",
    "negative_quantity",
    "over_long_text",
    "invalid_email",
    "orphan_line",
    "raw_cp1252_bytes",
    "cp1252_characters",
    "non_finite_number",
    "out_of_range_number",
)

FUTURE_STAMP = "2130-04-15 10:00:00"  # as in Zynk's sample AUDIT_HEADER row
FUTURE_DAY = "2130-04-15"


def write_defects(
    con: Db, as_of: date, next_invoice: int, next_order: int, next_item_id: int
) -> dict[str, int]:
    """Insert the defective rows and their manifest; return rows added per table."""
    when = stamp(as_of - timedelta(days=5), 10 * 3600)
    manifest: list[tuple[str, str, str, str]] = []
    added: dict[str, int] = {}

    customers = Sink(
        con,
        "SALES_LEDGER",
        ["ACCOUNT_REF", "NAME", "ADDRESS_1", "ADDRESS_3", "ADDRESS_5", "E_MAIL", "ANALYSIS_2",
         "CURRENCY", "COUNTRY_CODE", "DEF_TAX_CODE", "BALANCE", "CREDIT_LIMIT", "INACTIVE_FLAG",
         "ACCOUNT_ON_HOLD", "RECORD_CREATE_DATE", "RECORD_MODIFY_DATE"],
    )  # fmt: skip

    def customer(
        ref: str,
        name: object,
        email: str,
        created: str = when,
        balance: object = 0.0,
        credit_limit: object = 1000.0,
    ) -> None:
        customers.add(
            (ref, name, "1 High Street", "Leeds", "LS1 4AP", email, "Ben Hughes", 1, "GB", "T1",
             balance, credit_limit, 0, 0, created, when)
        )  # fmt: skip

    customer("DUPL001", "Duplicate Trading Ltd", "accounts@duplicate.co.uk")
    customer("DUPL001", "Duplicate Trading Limited", "sales@duplicate.co.uk")
    manifest.append(("SALES_LEDGER", "DUPL001", "ACCOUNT_REF", "duplicate_key"))
    customer("", "Nameless Account Ltd", "accounts@nameless.co.uk")
    manifest.append(("SALES_LEDGER", "", "ACCOUNT_REF", "blank_key"))
    customer("FUTR001", "Future Dated Ltd", "accounts@future.co.uk", created=FUTURE_STAMP)
    manifest.append(("SALES_LEDGER", "FUTR001", "RECORD_CREATE_DATE", "future_date"))
    long_name = "The Extremely Long Named International Holdings and Subsidiaries Group Ltd"
    customer("LONG001", long_name, "accounts@longname.co.uk")
    manifest.append(("SALES_LEDGER", "LONG001", "NAME", "over_long_text"))
    customer("MAIL001", "Broken Mailbox Ltd", "accounts.brokenmailbox.co.uk")
    manifest.append(("SALES_LEDGER", "MAIL001", "E_MAIL", "invalid_email"))
    customer("BLOB001", "Café René Ltd".encode("cp1252") + b" \x80 \x93Best\x94", "cafe@rene.fr")
    manifest.append(("SALES_LEDGER", "BLOB001", "NAME", "raw_cp1252_bytes"))
    customer("CAFE001", "Café Société – “Le Marché” £€ Ltd", "accounts@cafe-societe.co.uk")
    manifest.append(("SALES_LEDGER", "CAFE001", "NAME", "cp1252_characters"))
    # SQLite keeps NaN only as text (a float NaN becomes NULL); every reader hands it out as NaN.
    for ref, column, balance, credit_limit in (
        ("NANB001", "BALANCE", "NaN", 1000.0),
        ("INFC001", "CREDIT_LIMIT", 0.0, float("inf")),
        ("NINF001", "BALANCE", "-inf", 1000.0),
    ):
        customer(ref, f"Damaged {column} Ltd", "accounts@damaged.co.uk", balance=balance,
                 credit_limit=credit_limit)  # fmt: skip
        manifest.append(("SALES_LEDGER", ref, column, "non_finite_number"))
    customer("HUGE001", "Huge Balance Ltd", "accounts@huge.co.uk", balance=1e20)
    manifest.append(("SALES_LEDGER", "HUGE001", "BALANCE", "out_of_range_number"))
    customers.flush()
    added["SALES_LEDGER"] = customers.count

    contacts = Sink(
        con,
        "SALES_DEL_ADDR",
        ["REFERENCE", "ACCOUNT_REF", "ADDRESS_REF", "NAME", "CONTACT_NAME", "E_MAIL",
         "ADDRESS_TYPE", "ADDRESS_TYPE_NAME", "RECORD_CREATE_DATE", "RECORD_MODIFY_DATE"],
    )  # fmt: skip
    contacts.add(("MAIL001 0001", "MAIL001", 1, "John Smith", "John Smith", "j.smith@@example",
                  1, "Contact", when, when))  # fmt: skip
    manifest.append(("SALES_DEL_ADDR", "MAIL001 0001", "E_MAIL", "invalid_email"))
    contacts.flush()
    added["SALES_DEL_ADDR"] = contacts.count

    stock = Sink(
        con,
        "STOCK",
        ["STOCK_CODE", "DESCRIPTION", "SALES_PRICE", "TAX_CODE", "STOCK_CAT", "QTY_IN_STOCK",
         "QTY_ALLOCATED", "IGNORE_STK_LVL_FLAG", "INACTIVE_FLAG", "RECORD_CREATE_DATE",
         "RECORD_MODIFY_DATE", "DISC_A_LEVEL_1_RATE"],
    )  # fmt: skip
    stock.add(("", "Unnamed stock item", 9.99, "T1", 6, 5.0, 0.0, 0, 0, when, when, 0.0))
    manifest.append(("STOCK", "", "STOCK_CODE", "blank_key"))
    stock.add(("LONGDESC1", "A4 Premium Copier Paper 80gsm Brilliant White Ream of 500 Sheets Box of 5",
               24.99, "T1", 1, 10.0, 0.0, 0, 0, when, when, 0.0))  # fmt: skip
    manifest.append(("STOCK", "LONGDESC1", "DESCRIPTION", "over_long_text"))
    stock.add(
        ("VOUCH01", "£5 Gift Voucher – ‘Thank You’ (€6)", 5.0, "T9", 10, 0.0, 0.0, 1, 0, when, when,
         0.0)
    )  # fmt: skip
    manifest.append(("STOCK", "VOUCH01", "DESCRIPTION", "cp1252_characters"))
    for code, column, price, quantity in (
        ("INFP001", "SALES_PRICE", float("inf"), 4.0),
        ("NANQ001", "QTY_IN_STOCK", 3.5, "NaN"),
    ):
        stock.add((code, f"Damaged {column.lower()}", price, "T1", 1, quantity, 0.0, 0, 0, when,
                   when, 0.0))  # fmt: skip
        manifest.append(("STOCK", code, column, "non_finite_number"))
    stock.add(("BIGDISC1", "Discount beyond 100 %", 5.0, "T1", 1, 1.0, 0.0, 0, 0, when, when,
               250000.0))  # fmt: skip
    manifest.append(("STOCK", "BIGDISC1", "DISC_A_LEVEL_1_RATE", "out_of_range_number"))
    stock.flush()
    added["STOCK"] = stock.count

    # Invoices: one dated 2130, one with a credited-back negative line. Unposted, so no audit.
    invoices = Sink(
        con,
        "INVOICE",
        ["INVOICE_NUMBER", "INVOICE_TYPE_CODE", "INVOICE_TYPE", "INVOICE_OR_CREDIT",
         "INVOICE_DATE", "ACCOUNT_REF", "NAME", "ITEMS_NET", "ITEMS_TAX", "ITEMS_GROSS",
         "INVOICE_NET", "INVOICE_TAX", "INVOICE_GROSS", "FOREIGN_INVOICE_NET",
         "FOREIGN_INVOICE_TAX", "FOREIGN_INVOICE_GROSS", "CARR_NET", "CARR_TAX", "CARR_GROSS",
         "CURRENCY", "FOREIGN_RATE", "POSTED", "POSTED_CODE", "RECORD_CREATE_DATE",
         "RECORD_MODIFY_DATE"],
    )  # fmt: skip
    items = Sink(
        con,
        "INVOICE_ITEM",
        ["INVOICE_NUMBER", "ITEM_NUMBER", "STOCK_CODE", "DESCRIPTION", "QUANTITY", "UNIT_PRICE",
         "FOREIGN_UNIT_PRICE", "TAX_CODE", "TAX_CODE_ID", "TAX_RATE", "FULL_NET_AMOUNT",
         "NET_AMOUNT", "TAX_AMOUNT", "GROSS_AMOUNT", "FOREIGN_NET_AMOUNT", "FOREIGN_TAX_AMOUNT",
         "FOREIGN_GROSS_AMOUNT", "ITEMID", "RECORD_CREATE_DATE", "RECORD_MODIFY_DATE"],
    )  # fmt: skip
    future_no, negative_no, orphan_no = next_invoice, next_invoice + 1, next_invoice + 1000

    def invoice(number: int, on: str, net: float, tax: float) -> None:
        invoices.add(
            (number, 0, "Product Invoice", "Invoice", on, "CAFE001", "Café Société Ltd", net, tax,
             round(net + tax, 2), net, tax, round(net + tax, 2), net, tax, round(net + tax, 2),
             0.0, 0.0, 0.0, 1, 1.0, "", 0, when, when)
        )  # fmt: skip

    def item(number: int, n: int, qty: float, price: float, item_id: int) -> None:
        net = round(qty * price, 2)
        tax = round(net * 0.2, 2)
        items.add(
            (number, n, "STAT001", "Ballpoint Pens", qty, price, price, "T1", 1, 20.0, net, net,
             tax, round(net + tax, 2), net, tax, round(net + tax, 2), item_id, when, when)
        )  # fmt: skip

    invoice(future_no, FUTURE_DAY, 10.0, 2.0)
    item(future_no, 1, 2.0, 5.0, next_item_id)
    manifest.append(("INVOICE", str(future_no), "INVOICE_DATE", "future_date"))
    invoice(negative_no, day(as_of - timedelta(days=2)), 15.0, 3.0)
    item(negative_no, 1, 5.0, 5.0, next_item_id + 1)
    item(negative_no, 2, -2.0, 5.0, next_item_id + 2)
    manifest.append(("INVOICE_ITEM", f"{negative_no}/2", "QUANTITY", "negative_quantity"))
    item(orphan_no, 1, 1.0, 5.0, next_item_id + 3)
    manifest.append(("INVOICE_ITEM", f"{orphan_no}/1", "INVOICE_NUMBER", "orphan_line"))
    invoices.flush()
    items.flush()
    added["INVOICE"] = invoices.count
    added["INVOICE_ITEM"] = items.count

    sop = Sink(
        con,
        "SOP_ITEM",
        ["ORDER_NUMBER", "ITEM_NUMBER", "STOCK_CODE", "DESCRIPTION", "QTY_ORDER", "QTY_ALLOCATED",
         "QTY_DELIVERED", "UNIT_PRICE", "NET_AMOUNT", "ITEMID", "RECORD_CREATE_DATE",
         "RECORD_MODIFY_DATE"],
    )  # fmt: skip
    orphan_order = next_order + 1000
    sop.add(
        (orphan_order, 1, "STAT001", "Ballpoint Pens", 3.0, 0.0, 0.0, 5.0, 15.0, 10**8, when, when)
    )
    manifest.append(("SOP_ITEM", f"{orphan_order}/1", "ORDER_NUMBER", "orphan_line"))
    sop.flush()
    added["SOP_ITEM"] = sop.count

    con.executemany(f'INSERT INTO "{DEFECTS_TABLE}" VALUES (?, ?, ?, ?)', manifest)  # noqa: S608
    added[DEFECTS_TABLE] = len(manifest)
    return added
