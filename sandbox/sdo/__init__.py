"""The stand-in Sage Data Objects engine: the SDO v32 COM object model, in Python, writing the
demo Sage company (the SQLite file of `sandbox.sage_demo`, shaped like Sage's ODBC tables).

The Sage writer (`resources.sage.writer`) dispatches `python:sandbox.sdo:SDOEngine` where it
would dispatch the ProgID `SDOEngine.32` on Windows, and runs the same code against it:

    engine = SDOEngine()
    ws = engine.Workspaces.Add("ssm-connector")
    if not ws.Connect(r"data/sage50-demo.sqlite", "SSMSYNC", "", "ssm-connector"):
        print(engine.LastError.Code, engine.LastError.Text)
    sr = ws.CreateObject("SalesRecord")
    sr.Fields.Item("ACCOUNT_REF").Value = "NEWCU001"
    ...

Like SDO: methods return booleans and a failure sets `engine.LastError.Code/.Text` (ErrorCode);
a lost connection raises `com_error` (shaped like pywintypes.com_error) from the failing call
and from every later call on that workspace; bad names and types raise `com_error` too.

Choices where Sage's behaviour is unconfirmed (reference sage50-write-back.md §1.4, §2):
- Connect(Path, ...): Path is the company file or a folder holding `sage50-demo.sqlite`; the demo
  has no user list, so any password is accepted. An empty user is 21 (sdoLogonFail); a user
  logged in elsewhere, in any process on this host or another, is 23 (`_SDO_SESSIONS` in the
  file; sessions of dead processes on this host are cleared, as Sage clears a crashed login).
- SalesRecord fields are the SALES_LEDGER catalogue columns with their lengths, except that
  PRICING_REF is spelled PRICE_LIST_REF as in SDO and CURRENCY is 0-based (SDO) where ODBC is
  1-based. There is no SALES_REP field (unconfirmed in Sage; the demo keeps the rep in
  ANALYSIS_2). ACCOUNT_REF and NAME are required; balances, turnover, history, RECORD_* and
  texts derived from a number (DEPT_NAME, STATUS_TEXT, C_ADDRESS_n ...) are reserved (setting
  one is 19 sdoInvalidUse).
- Validation on Update: ACCOUNT_REF empty 63, with spaces 82, any character but A-Z and 0-9
  (lower case included: refused, never upper-cased) 86, already used on AddNew 84; an address
  line longer than its Length 83; any other text longer than its Length 18 (never truncated);
  a non-number in a number field 18, a bad date 87; Update without AddNew/Edit 27.
- Find(Partial) compares keys without case (Sage's index); MoveFirst/MoveNext walk ACCOUNT_REF
  order.
- A new record is written as the demo generator writes one: zero balances, RECORD_DELETED 0,
  RECORD_CREATE_DATE = RECORD_MODIFY_DATE = now as 'YYYY-MM-DD HH:MM:SS', DATE_ACCOUNT_OPENED
  today, the generator's constant columns, '' in the text columns it always fills.
- CustomerAddress: a new address (AddressNumber 0, Customer set to a loaded Customer) gets
  ADDRESS_REF = the account's highest + 1 and REFERENCE = ACCOUNT_REF padded to 8 + 4 digits;
  Name, VatNumber, Country and TaxCode default to the customer's, as the generator writes
  contacts. Country and TaxCode are Country/TaxCode objects (IDispatch in the typelib), loaded
  from COUNTRY_CODE and TAX_CODE.
- SopPost (`sandbox.sdo.sop`; CreateObject names compare without case, "SOPPost" works): Header
  fields are the SALES_ORDER columns with SDO's ORDER_TYPE (InvoiceType: 9 sdoSopQuote ->
  ORDER_TYPE_CODE 1 'Quotation', 11 -> 2 'Proforma', 0/1 -> 0 'Sales Order'; ODBC's
  ORDER_TYPE_CODE is not a field), QUOTE_STATUS a QuoteStatus number (stored as QUOTE_STATUS_ID
  and its text; a quote without one is 1 Open), CURRENCY and CURRENCY_USED 0-based, tax codes
  (CARR_TAX_CODE, GLOBAL_TAX_CODE, item TAX_CODE) numbers as in SDO (T1 = 1; TAX_CODE_ID is not
  a field). Items are SOP_ITEM's columns plus TAX_FLAG. Totals, VAT analysis, statuses, carriage
  amounts, FOREIGN_* and the numbers are reserved (19). Update() writes the order and its items
  in one transaction with ORDER_NUMBER = max + 1 (set in Header ORDER_NUMBER), ITEMID =
  THIS_RECORD = max + 1 per item, RECORD_* now, the generator's constant columns;
  QUOTE_EXPIRY_DATE ORDER_DATE + 30 days unless given; settlement terms and the global/carriage
  tax code from the account unless given. Item amounts are in the order's (customer's)
  currency: written to FOREIGN_* and, divided by FOREIGN_RATE half up per line, to the base
  columns (UNIT_PRICE too). FOREIGN_RATE defaults to the currency's rate; a CURRENCY other than
  the account's is 34, a FOREIGN_RATE other than 1 on a base-currency order 35. FULL_NET_AMOUNT
  defaults to QTY x UNIT_PRICE, DISCOUNT_AMOUNT to FULL x DISCOUNT_RATE %, NET_AMOUNT to FULL -
  DISCOUNT; with TAX_FLAG 0 the line's TAX_AMOUNT is NET x the code's rate, half up per line;
  with TAX_FLAG 1 the given TAX_AMOUNT stays. DESCRIPTION, UNIT_OF_SALE and NOMINAL_CODE default
  to the product's; TAX_CODE to the product's (the account's for S1/S2/S3/M lines).
- SopPost refusals: ACCOUNT_REF empty 63; an unknown account or product 17 (sdoInvalidKey; S1,
  S2, S3 and M need no product); QTY_ORDER <= 0 (but on M lines), an unknown tax code, an
  ORDER_TYPE that is not a SOP type, no items 18; lengths and dates as on SalesRecord. An
  account on hold or inactive is accepted (whether SDO refuses it is unconfirmed; the caller
  decides).
- SopData: Read(n) reads order n (the record number is ORDER_NUMBER); FindFirst/FindNext(field,
  value) walk the orders whose field equals value exactly, in ORDER_NUMBER order. StockRecord
  (TAX_CODE a number) and CurrencyData (RATE spelled EXCHANGE_RATE, as SDO code reads it) are
  read only (AddNew/Edit/Update 19).
- Pricing and the `invoice` calculator price with `sandbox.sdo.pricing.price` under
  `PricingRules.from_env()` (the settings describe the Sage company the stand-in plays).
  CustomerUnitPrice(Customer, Product) is the list unit price for one unit. AddItem(...,
  TaxCode, UseEnteredPrice 0) answers the rules' price, discounts and net, VAT at TaxCode's rate
  (the caller chooses the code, as the signature says); UseEnteredPrice 1 takes EnteredPrice
  less DiscountPerc; AddDiscountPerc must be 0. ActualUnitPrice is the UNIT_PRICE Sage writes
  on the line. An unknown account or product raises com_error with LastError 17. Recalculate()
  sums the lines (no carriage or invoice discount) and returns the gross.
- Faults on demand across processes: `sandbox.sdo.faults`, aimed at one record with
  `record="SopPost"` (or "SalesRecord", "CustomerAddress").
"""

from sandbox.sdo.engine import (
    Country,
    Customer,
    CustomerAddress,
    Field,
    Fields,
    SalesRecord,
    SDOEngine,
    SDOError,
    TaxCode,
    WorkSpace,
    Workspaces,
)
from sandbox.sdo.errors import ErrorCode, com_error
from sandbox.sdo.faults import clear, inject
from sandbox.sdo.sop import (
    CurrencyData,
    Invoice,
    InvoiceLine,
    Pricing,
    SopData,
    SopItem,
    SopPost,
    StockRecord,
)

__all__ = [
    "Country",
    "CurrencyData",
    "Customer",
    "CustomerAddress",
    "ErrorCode",
    "Field",
    "Fields",
    "Invoice",
    "InvoiceLine",
    "Pricing",
    "SDOEngine",
    "SDOError",
    "SalesRecord",
    "SopData",
    "SopItem",
    "SopPost",
    "StockRecord",
    "TaxCode",
    "WorkSpace",
    "Workspaces",
    "clear",
    "com_error",
    "inject",
]
