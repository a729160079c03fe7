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
- Faults on demand across processes: `sandbox.sdo.faults`.
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

__all__ = [
    "Country",
    "Customer",
    "CustomerAddress",
    "ErrorCode",
    "Field",
    "Fields",
    "SDOEngine",
    "SDOError",
    "SalesRecord",
    "TaxCode",
    "WorkSpace",
    "Workspaces",
    "clear",
    "com_error",
    "inject",
]
