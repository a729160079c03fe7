"""The demo Sage 50 Accounts (UK) company: a SQLite file shaped like the Sage 50 ODBC driver.

    python -m sandbox.sage_demo --size tiny|small|large --seed N --out FILE [--with-bad-rows]
                                [--as-of YYYY-MM-DD]

or `generate(out, size, seed, with_bad_rows, as_of) -> {table: rows}`. Same arguments give a
byte-identical file (one seeded RNG, no wall clock). Every CRM table (`resources.sage_schema.
CRM_TABLES`) has exactly the catalogue's columns in the driver's order; unfilled columns are NULL.

Storage
  DATE 'YYYY-MM-DD' text, TIMESTAMP 'YYYY-MM-DD HH:MM:SS' text (AUDIT_HEADER.RECORD_CREATE_DATE
  is a DATE in the catalogue, so it holds the date only). Money and quantities are REAL, exact
  to the penny after rounding to 2 dp: documents are computed in integer pence and every
  header total is the sum of its lines (+ carriage), so sums agree to the penny.
  Documents span 1 Jan of (as_of year - 10) .. as_of; every RECORD_MODIFY_DATE >= its
  RECORD_CREATE_DATE and <= as_of (except the --with-bad-rows defects).

Sign convention (audit trail)
  Every amount is positive; TYPE gives the direction. SI raises what the customer owes, SC, SR
  and SA lower it. For every header and split: OUTSTANDING = GROSS_AMOUNT - AMOUNT_PAID, and
  AMOUNT_PAID = the sum of its live allocations (AUDIT_USAGE rows with DELETED_FLAG = 0);
  header values are the sums of its splits. PAID_FLAG 'Y' when OUTSTANDING = 0, else 'N';
  PAID_STATUS 'p' when part-paid, else ''. SR/SA carry PAYMENT = GROSS_AMOUNT and BANK_AMOUNT.
  SALES_LEDGER.BALANCE = sum(OUTSTANDING of live SI) - sum(OUTSTANDING of live SC, SR, SA),
  "live" meaning DELETED_FLAG = 0 in AUDIT_HEADER (history rows are all settled). FOREIGN_*
  twins are in the account's currency (CURRENCY 1 GBP base, 2 EUR, 3 USD; FOREIGN_RATE =
  units per GBP, base = foreign / rate rounded half up); for GBP they equal the base values.

Allocations (AUDIT_USAGE, AUDIT_HISTORY_USAGE)
  Each allocation is two rows: (SPLIT_NUMBER = invoice split, SPLIT_CROSSREF = payer split,
  TYPE = payer's type) and (SPLIT_NUMBER = payer split, SPLIT_CROSSREF = invoice split, TYPE =
  'SI'): TYPE and DETAILS describe the SPLIT_CROSSREF side; AMOUNT is positive on both. A deleted
  receipt keeps its usage rows with DELETED_FLAG = 1 (AMOUNT unchanged) and the invoice's
  AMOUNT_PAID / OUTSTANDING are restored. SPLIT.TRAN_NUMBER = SPLIT_NUMBER; header TRAN_NUMBER
  = its first split's; numbers grow with the transaction date.

Cases that always exist (fixed, not left to chance): paid, paid by two receipts, part-paid,
  unpaid, receipt deleted (invoice unpaid again), credit note allocated (+ remainder paid /
  left outstanding), credit note unallocated, SA allocated to an invoice, SA on account,
  invoice corrected (original SI DELETED_FLAG = 1, re-posted with the same INV_REF), cleared
  history (fully paid SI with its SR and usages in AUDIT_HISTORY_* only, CATE_ID 1), unposted
  invoices and credit notes (POSTED '' / POSTED_CODE 0, no audit rows), EUR/USD orders,
  quotes, proformas, S1 special and M message lines, deleted customers/products/invoices.

Codes used (Sage's where known, see /work/shared/reference/sage50-uk-odbc.md; choices marked *)
  INVOICE: INVOICE_TYPE_CODE 0 'Product Invoice', 2 'Service Invoice', 3 'Product Credit',
    4 'Service Credit' (SDO InvoiceType); INVOICE_OR_CREDIT 'Invoice' / 'Credit Note';
    POSTED 'Y' + POSTED_CODE 1 when posted; ORDER_NUMBER = the sales order it came from.
  SALES_ORDER: ORDER_TYPE_CODE / ORDER_OR_QUOTE 0 'Sales Order', 1 'Quotation'*,
    2 'Proforma'*; QUOTE_STATUS_ID 1 Open, 2 Won, 3 Lost (SDO QuoteStatus);
    ALLOCATED_STATUS_CODE 0 '', 1 'Part', 2 'Full', 3 'Cancel'*; DESPATCH_STATUS_CODE 0 '',
    1 'Part', 2 'Complete'. Completed orders carry INVOICE_NUMBER and allocate nothing.
  STOCK: stock items IGNORE_STK_LVL_FLAG 0; non-stock (category 10) and service (category 9,
    unit 'Hour') items IGNORE_STK_LVL_FLAG 1 with no stock. QTY_ALLOCATED = sum of
    SOP_ITEM.QTY_ALLOCATED on open orders; QTY_IN_STOCK >= QTY_ALLOCATED; QTY_ON_ORDER = open
    POP quantities. Discount tables A–E in DISC_x_LEVEL_n_QTY/RATE (0 = unused level).
  SALES_LEDGER: ANALYSIS_1 'Cust. Type', ANALYSIS_2 'Resp. Rep' = the rep's full name or ''
    (~15 %), ANALYSIS_3 'Region'; DISCOUNT_TYPE 2..6 = table A..E (SDO DiscountType); PRICING_REF
    -> PRICE_LIST. Documents copy ANALYSIS_1..3 from the account.
  SALES_DEL_ADDR: REFERENCE = ACCOUNT_REF padded to 8 + 4-digit ADDRESS_REF; ADDRESS_TYPE 0
    'Delivery', 1 'Contact' (SDO AddressTypes).
  PRICE: TYPE 'P' rows of PRICE_LIST TYPE 'P' (CALC_METHOD 2 = decrease by CALC_VALUE %, 0 =
    fixed); TYPE 'S' special prices with PRICING_REF = ACCOUNT_REF; STORED_PRICE in the list's
    currency, pounds (not x100). PRICE_ID = TYPE + PRICING_REF padded to 8 + STOCK_CODE.
  DELETED_RECORDS.TABLE_ID: SDO FileType (1 invoice, 4 stock, 8 customer), FOREIGN_REF the key.
  No purchase-ledger postings (PI/PP) are generated; suppliers' BALANCE is 0.

`--with-bad-rows` adds the defects listed in `sandbox.sage_demo.defects` and names each in the
`_DEMO_DEFECTS(table_name, row_key, column_name, defect)` table (always present, empty without).
"""

from sandbox.sage_demo.generator import DEFAULT_AS_OF, SIZES, generate

__all__ = ["DEFAULT_AS_OF", "SIZES", "generate"]
