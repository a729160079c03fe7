"""The stand-in SDO objects: SDOEngine, Workspaces, WorkSpace, SalesRecord, Fields/Field,
Customer, Country, TaxCode, CustomerAddress and SDOError, named and behaving as the v32 type
library says (see the package docstring for the choices where Sage's behaviour is unconfirmed).
The sales-order objects (SopPost, SopData, StockRecord, CurrencyData, Pricing, invoice) are in
`sandbox.sdo.sop`; WorkSpace.CreateObject and CreateInvoice hand them out."""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from resources.sage_schema import SageColumn, table_columns
from sandbox.sage_demo.company import CUSTOMER_CONSTANTS
from sandbox.sdo import faults
from sandbox.sdo.errors import (
    DISP_E_BADINDEX,
    DISP_E_TYPEMISMATCH,
    ErrorCode,
    disconnected,
    raised,
    text_of,
)
from sandbox.sdo.store import begin_session, end_session, now_stamp, open_company, resolve, today

VERSION = "32.0"

# VarType values of Field.Type (sage50-sdo-enums.txt) per ODBC type.
VAR_TYPES = {
    "VARCHAR": 12,
    "CHAR": 12,
    "UNKNOWN(probably VARCHAR)": 12,
    "LONG VARCHAR": -1,
    "INTEGER": 4,
    "SMALLINT": 5,
    "TINYINT": -6,
    "DOUBLE": 8,
    "DATE": 9,
    "TIMESTAMP": 11,
    "TIME": 11,
}
TEXT_TYPES = {12, -1}
NUMBER_TYPES = {4, 5, -6, 8}
DATE_TYPES = {9, 11}

# FieldState values.
OPTIONAL, REQUIRED, SPECIAL, RESERVED = 0, 1, 2, 3

# SDO spellings that differ from the ODBC column (reference §1.3): SDO name -> ODBC column.
SDO_NAMES = {"PRICE_LIST_REF": "PRICING_REF"}
ODBC_TO_SDO = {column: name for name, column in SDO_NAMES.items()}

REQUIRED_FIELDS = {"ACCOUNT_REF", "NAME"}
# Sage computes these (balances, turnover, history, audit stamps, texts derived from a number):
# a program cannot set them.
RESERVED_FIELD = re.compile(
    r"BALANCE|FOREIGN_BALANCE|TURNOVER_(MTD|YTD)|PRIOR_YEAR|(INVOICE|CREDIT|PAYMENT)_(BF|CF|MTH\d+)"
    r"|AVERAGE_PAY_DAYS|FIRST_INV_DATE|LAST_INV_DATE|LAST_PAYMENT_DATE|LAST_REFRESHED_DATE"
    r"|RECORD_\w+|DEPT_NAME|STATUS_TEXT|STATUS_DESCRIPTION|PAYMENT_DUE_FROM_TEXT|CREDIT_POSITION"
    r"|C_ADDRESS_\d"
)
# CURRENCY is 0-based in SDO and 1-based in ODBC (reference §1.3, PriceFinding adds 1).
SPECIAL_FIELDS = {"CURRENCY"}
ADDRESS_LINE = re.compile(r"(DEL_)?ADDRESS_\d")

# Account references: A-Z and 0-9 only, at most 8 (reference sage50-uk-odbc.md §0, the extract's
# ACCOUNT_REF pattern). Lower case is refused (86) rather than upper-cased: the stand-in never
# changes what it is given, so a writer that sent 'abc001' learns it instead of finding 'ABC001'.
ACCOUNT_REF_CHARS = re.compile(r"[A-Z0-9]*")

# A fresh customer as the demo generator writes one (its constant columns, zero balances, the
# company defaults of a new record: T1, nominal 4000, 30 days, department 0, status Open).
FRESH_CUSTOMER: dict[str, object] = {
    **CUSTOMER_CONSTANTS,
    "OVERRIDE_TAX_CODE": 0,
    "DEPT_NUMBER": 0,
    "DEPT_NAME": "Default",
    "STATUS_NUMBER": 0,
    "STATUS_TEXT": "Open",
    "DEF_TAX_CODE": "T1",
    "DEF_NOM_CODE": "4000",
    "CURRENCY": 1,
    "DISCOUNT_TYPE": 0,
    "DISCOUNT_RATE": 0.0,
    "SETTLEMENT_DISC_RATE": 0.0,
    "SETTLEMENT_DUE_DAYS": 0,
    "PAYMENT_DUE_DAYS": 30,
    "TERMS": "30 days net",
    "CREDIT_LIMIT": 0.0,
    "ACCOUNT_ON_HOLD": 0,
    "INACTIVE_FLAG": 0,
    "BALANCE": 0.0,
    "FOREIGN_BALANCE": 0.0,
    "TURNOVER_MTD": 0.0,
    "TURNOVER_YTD": 0.0,
    "PRIOR_YEAR": 0.0,
    "RECORD_DELETED": 0,
}
# Text columns the generator always fills ('' when there is nothing): a fresh record has ''.
BLANK_TEXT = (
    *(f"ADDRESS_{n}" for n in range(1, 6)),
    *(f"C_ADDRESS_{n}" for n in range(1, 6)),
    *(f"DEL_ADDRESS_{n}" for n in range(1, 6)),
    "CONTACT_NAME", "TELEPHONE", "FAX", "E_MAIL", "WEB_ADDRESS", "TRADE_CONTACT", "DEL_NAME",
    "ANALYSIS_1", "ANALYSIS_2", "ANALYSIS_3", "VAT_REG_NUMBER", "COUNTRY_CODE", "PRICING_REF",
)  # fmt: skip

# SDO object names the WorkSpace knows (WorkSpace.DataObjects) and their ObjectType
# (sdoDataFile 0, sdoRecord 2, sdoPosting 6, sdoBusinessObject 7).
DATA_OBJECTS = {
    "SalesRecord": 2,
    "StockRecord": 2,
    "SopData": 0,
    "CurrencyData": 0,
    "SopPost": 6,
    "Pricing": 7,
    "Customer": 7,
    "CustomerAddress": 7,
    "Country": 7,
    "TaxCode": 7,
}

# CustomerAddress property -> SALES_DEL_ADDR column (the object's text properties).
ADDRESS_PROPERTIES = {
    "Name": "NAME",
    "Description": "DESCRIPTION",
    "AddressLine1": "ADDRESS_1",
    "AddressLine2": "ADDRESS_2",
    "AddressLine3": "ADDRESS_3",
    "AddressLine4": "ADDRESS_4",
    "AddressLine5": "ADDRESS_5",
    "Telephone": "TELEPHONE",
    "Telephone2": "TELEPHONE_2",
    "Fax": "FAX",
    "EMail": "E_MAIL",
    "Contact": "CONTACT_NAME",
    "VatNumber": "VAT_REG_NUMBER",
    "Role": "CONTACT_ROLE",
    "Notes": "NOTES",
}
ADDRESS_TYPE_NAMES = {0: "Delivery", 1: "Contact", 2: "Registered"}
SDO_SALES_DELIVERY_DATA = 57  # FileType sdoSalesDeliveryData: DELETED_RECORDS.TABLE_ID


class _Failed(Exception):
    """A validation failure: Update returns False with this code and text."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.text = f"{text_of(code)}: {detail}" if detail else text_of(code)


class SDOError:
    """engine.LastError: the code and text of the last failure."""

    def __init__(self) -> None:
        self.Code = 0
        self.Text = ""


class SDOEngine:
    """The COM class behind ProgID SDOEngine.32."""

    def __init__(self) -> None:
        self.LastError = SDOError()
        self.Workspaces = Workspaces(self)
        self.IsRegistered = True

    def _fail(self, code: int, text: str | None = None) -> bool:
        self.LastError.Code = int(code)
        self.LastError.Text = text if text is not None else text_of(code)
        return False

    def SelectCompany(self, BasePath: str) -> str:  # noqa: N802, N803 - COM names
        path = resolve(BasePath)
        return str(path.parent) if path else ""


class Workspaces:
    def __init__(self, engine: SDOEngine) -> None:
        self._engine = engine
        self._items: list[WorkSpace] = []

    @property
    def Count(self) -> int:  # noqa: N802
        return len(self._items)

    def Add(self, Name: str) -> WorkSpace:  # noqa: N802, N803
        workspace = WorkSpace(self._engine, str(Name))
        self._items.append(workspace)
        return workspace

    def _index(self, Index: int | str) -> int:  # noqa: N803
        if isinstance(Index, int):
            if 0 <= Index < len(self._items):
                return Index
        else:
            for i, workspace in enumerate(self._items):
                if workspace.Name == Index:
                    return i
        raise raised(f"No workspace {Index!r}", DISP_E_BADINDEX)

    def Item(self, Index: int | str) -> WorkSpace:  # noqa: N802, N803
        return self._items[self._index(Index)]

    def Remove(self, Index: int | str) -> None:  # noqa: N802, N803
        self._items.pop(self._index(Index))

    def Clear(self) -> None:  # noqa: N802
        self._items.clear()


class SDObject:
    def __init__(self, name: str, kind: int) -> None:
        self.Name = name
        self.Type = kind


class SDObjects:
    def __init__(self, items: list[SDObject]) -> None:
        self._items = items

    @property
    def Count(self) -> int:  # noqa: N802
        return len(self._items)

    def Item(self, Index: int | str) -> SDObject:  # noqa: N802, N803
        for i, item in enumerate(self._items):
            if Index in (i, item.Name):
                return item
        raise raised(f"No data object {Index!r}", DISP_E_BADINDEX)

    def __iter__(self) -> Iterator[SDObject]:
        return iter(self._items)


class WorkSpace:
    """One connection to a company: Connect, the object factories, Disconnect."""

    def __init__(self, engine: SDOEngine, name: str) -> None:
        self._engine = engine
        self.Name = name
        self.Version = VERSION
        self.Path = ""
        self.DataObjects = SDObjects([SDObject(n, t) for n, t in DATA_OBJECTS.items()])
        self._company: Path | None = None
        self._con: sqlite3.Connection | None = None
        self._lost = False
        self._logout: weakref.finalize | None = None

    # -- connection -------------------------------------------------------------------------
    def IsValidDataPath(self, dataPath: str) -> bool:  # noqa: N802, N803
        return resolve(dataPath) is not None

    def Connect(self, Path: str, Usr: str, Psw: str, Unique: str) -> bool:  # noqa: N802, N803
        """Log `Usr` in to the company at `Path`. The demo company has no user list: any
        password is accepted; an empty user name is 21; a user logged in elsewhere is 23."""
        if self._con is not None and not self._lost:
            return self._engine._fail(ErrorCode.sdoInvalidUse, "Already connected")
        company = resolve(Path)
        if company is None:
            return self._engine._fail(ErrorCode.sdoBadDataPath, f"Bad data path: {Path}")
        if not str(Usr or "").strip():
            return self._engine._fail(ErrorCode.sdoLogonFail)
        con = open_company(company)
        try:
            fault = faults.take(con, ("connect",))
            if fault is not None:
                con.close()
                return self._engine._fail(fault[1])
            token = begin_session(con, str(Usr), str(Unique))
        except sqlite3.OperationalError as exc:
            con.close()
            return self._engine._fail(_busy(exc))
        if token is None:
            con.close()
            return self._engine._fail(ErrorCode.sdoLogonNameInUse)
        self._company, self._con, self._lost = company, con, False
        self.Path = str(company.parent)
        # A workspace dropped without Disconnect logs out when collected, as releasing the COM
        # object does.
        self._logout = weakref.finalize(self, end_session, company, token)
        return True

    def Disconnect(self) -> None:  # noqa: N802
        if self._logout is not None:
            self._logout()
            self._logout = None
        if self._con is not None:
            self._con.close()
            self._con = None

    def DisconnectEx(self, removeSdkClient: bool) -> None:  # noqa: N802, N803
        self.Disconnect()

    def _lose_connection(self, code: int) -> None:
        """The connection drops: LastError is set and every later call raises."""
        self._engine._fail(code or ErrorCode.sdoConnectionKickedOut)
        self.Disconnect()
        self._lost = True

    def _db(self) -> sqlite3.Connection | None:
        """The open company, None when not connected; raises once the connection was lost."""
        if self._lost:
            raise disconnected()
        return self._con

    # -- factories ----------------------------------------------------------------------------
    def CreateObject(self, Name: str) -> Any:  # noqa: N802, N803
        if self._db() is None:
            self._engine._fail(ErrorCode.sdoNotConnected)
            raise raised(text_of(ErrorCode.sdoNotConnected))
        from sandbox.sdo import sop  # the SOP objects build on this module's Field and Fields

        factories: dict[str, Any] = {
            "SalesRecord": lambda: SalesRecord(self),
            "StockRecord": lambda: sop.StockRecord(self),
            "SopData": lambda: sop.SopData(self),
            "CurrencyData": lambda: sop.CurrencyData(self),
            "SopPost": lambda: sop.SopPost(self),
            "Pricing": lambda: sop.Pricing(self),
            "Customer": self.CreateCustomer,
            "CustomerAddress": self.CreateCustomerAddress,
            "Country": self.CreateCountry,
            "TaxCode": self.CreateTaxCode,
        }
        # Object names compare without case (working code asks for "SOPPost").
        by_name = {name.upper(): factory for name, factory in factories.items()}
        factory = by_name.get(str(Name).upper())
        if factory is None:
            self._engine._fail(ErrorCode.sdoInvalidName, f"Invalid object name: {Name}")
            raise raised(f"Invalid object name: {Name}")
        return factory()

    def CreateCustomer(self) -> Customer:  # noqa: N802
        return Customer(self)

    def CreateCustomerAddress(self) -> CustomerAddress:  # noqa: N802
        return CustomerAddress(self)

    def CreateInvoice(self) -> Any:  # noqa: N802
        """The `invoice` price calculator (sandbox.sdo.sop.Invoice)."""
        from sandbox.sdo import sop

        if self._db() is None:
            self._engine._fail(ErrorCode.sdoNotConnected)
            raise raised(text_of(ErrorCode.sdoNotConnected))
        return sop.Invoice(self)

    def CreateCountry(self) -> Country:  # noqa: N802
        return Country(self)

    def CreateTaxCode(self) -> TaxCode:  # noqa: N802
        return TaxCode(self)

    def GetCurrentServerTime(self) -> dt.datetime:  # noqa: N802
        return dt.datetime.now().replace(microsecond=0)

    # -- shared by the objects ----------------------------------------------------------------
    def _fail(self, code: int, text: str | None = None) -> bool:
        return self._engine._fail(code, text)

    def _after_update(self, fault: tuple[str, int] | None) -> None:
        """What an armed update_then_* fault does once the write is committed."""
        if fault is None:
            return
        operation, code = fault
        if operation == "update_then_exit":
            os._exit(faults.KILLED_EXIT_CODE)
        self._lose_connection(code)
        raise disconnected()


def _busy(exc: sqlite3.OperationalError) -> int:
    """Another process holds the file past the busy timeout: SDO's "accounts busy" (48); any
    other SQLite failure is a broken company file and is raised as it is."""
    if "locked" in str(exc) or "busy" in str(exc):
        return ErrorCode.sdoFileLockedAccountsBusy
    raise exc


def _to_stamp(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _from_stored(value: object, var_type: int) -> object:
    """A stored value as COM hands it out: '' for a NULL text, 0 for a NULL number, datetimes."""
    if var_type in TEXT_TYPES:
        return "" if value is None else str(value)
    if var_type in NUMBER_TYPES:
        return 0 if value is None else value
    if value is None or value == "":
        return None
    text = str(value)
    try:
        if len(text) == 10:
            return dt.datetime.fromisoformat(text).date()
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return text


def _checked(field: Field, value: object, empty_number: int | None = None) -> object:
    """A field's value as stored, refused the way SDO refuses data: a text over its length, a
    number or date that is not one. `empty_number` is what None or '' stores in a number field
    (None: refused, as SalesRecord refuses it)."""
    if field.Type in TEXT_TYPES:
        text = "" if value is None else str(value)
        if field.Length and len(text) > field.Length:
            code = (
                ErrorCode.sdoAddressLineIsTooLong
                if ADDRESS_LINE.fullmatch(field.column)
                else ErrorCode.sdoInvalidValue
            )
            raise _Failed(code, f"{field.Name} is {len(text)} long, at most {field.Length}")
        return text
    if field.Type in NUMBER_TYPES:
        if empty_number is not None and (value is None or value == ""):
            return empty_number
        try:
            return float(value) if field.Type == 8 else int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _Failed(ErrorCode.sdoInvalidValue, f"{field.Name} is not a number") from None
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return _to_stamp(value) if field.Type == 11 else value.isoformat()[:10]
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise _Failed(ErrorCode.sdoInvalidDate, f"{field.Name} is not a date") from None
    return _to_stamp(parsed) if field.Type == 11 else parsed.date().isoformat()


class Field:
    """One field of a record: its metadata from the ODBC catalogue and its Value."""

    def __init__(self, record: SalesRecord, column: SageColumn, name: str) -> None:
        self._record = record
        self.column = column.name
        self.Name = name
        self.Type = VAR_TYPES[column.odbc_type]
        self.Length = int(column.length or 0)
        self.DecimalPlaces = 2 if column.odbc_type == "DOUBLE" else 0
        self.Description = column.name.replace("_", " ").title()
        if name in REQUIRED_FIELDS:
            self.State = REQUIRED
        elif RESERVED_FIELD.fullmatch(column.name):
            self.State = RESERVED
        elif name in SPECIAL_FIELDS:
            self.State = SPECIAL
        else:
            self.State = OPTIONAL
        self._value: object = None

    @property
    def Value(self) -> object:  # noqa: N802
        return self._value

    @Value.setter
    def Value(self, value: object) -> None:  # noqa: N802
        self._value = value
        self._record._assigned.add(self.Name)


class Fields:
    def __init__(self, items: list[Field]) -> None:
        self._items = items
        self._by_name = {f.Name: f for f in items}

    @property
    def Count(self) -> int:  # noqa: N802
        return len(self._items)

    def Item(self, Index: int | str) -> Field:  # noqa: N802, N803
        if isinstance(Index, int) and 0 <= Index < len(self._items):
            return self._items[Index]
        field = self._by_name.get(str(Index).upper())
        if field is None:
            raise raised(f"Field {Index} not found", DISP_E_BADINDEX)
        return field

    def __iter__(self) -> Iterator[Field]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class _Cursor:
    """SDO's cursor over one table in key order, as every record and data file object has it:
    MoveFirst/Last/Next/Prev and IsEOF/IsBOF. A subclass names TABLE and KEY, has Fields, and
    loads a row into them (`_load`)."""

    TABLE = ""
    KEY = ""
    Fields: Fields

    def __init__(self, workspace: WorkSpace) -> None:
        self._ws = workspace
        self._current: Any = None  # the KEY of the row the record is positioned on
        self._eof = True
        self._bof = True

    def _load(self, row: sqlite3.Row | None) -> bool:
        raise NotImplementedError

    def _select(self, where: str, params: tuple[object, ...], order: str = "ASC") -> bool:
        con = self._ws._db()
        if con is None:
            return self._ws._fail(ErrorCode.sdoNotConnected)
        row = con.execute(
            f'SELECT * FROM "{self.TABLE}" WHERE {where} ORDER BY "{self.KEY}" {order} LIMIT 1',  # noqa: S608
            params,
        ).fetchone()
        return self._load(row)

    def _move(self, where: str, params: tuple[object, ...], order: str, forward: bool) -> bool:
        found = self._select(where, params, order)
        self._eof = not found and forward
        self._bof = not found and not forward
        return found

    def MoveFirst(self) -> bool:  # noqa: N802
        return self._move("1 = 1", (), "ASC", True)

    def MoveLast(self) -> bool:  # noqa: N802
        return self._move("1 = 1", (), "DESC", False)

    def MoveNext(self) -> bool:  # noqa: N802
        if self._current is None:
            self._eof = True
            return False
        return self._move(f'"{self.KEY}" > ?', (self._current,), "ASC", True)

    def MovePrev(self) -> bool:  # noqa: N802
        if self._current is None:
            self._bof = True
            return False
        return self._move(f'"{self.KEY}" < ?', (self._current,), "DESC", False)

    def IsEOF(self) -> bool:  # noqa: N802
        return self._eof

    def IsBOF(self) -> bool:  # noqa: N802
        return self._bof

    def _count(self) -> int:
        con = self._ws._db()
        if con is None:
            return 0
        return int(con.execute(f'SELECT count(*) FROM "{self.TABLE}"').fetchone()[0])  # noqa: S608


class _Record(_Cursor):
    """An IxxxRecord object (SalesRecord, StockRecord): Count a property and Find on the key
    (the SOP and currency data files count with a method and have no Find)."""

    @property
    def Count(self) -> int:  # noqa: N802
        return self._count()

    def Find(self, Partial: bool) -> bool:  # noqa: N802, N803
        """Position on the record whose key equals KEY in Fields (starts with it when
        Partial). Keys compare without case, as Sage's index does."""
        key = str(self.Fields.Item(self.KEY).Value or "")
        if Partial:
            found = self._select(f'upper("{self.KEY}") >= upper(?)', (key,))
            if found and not str(self._current).upper().startswith(key.upper()):
                found = self._load(None)
        else:
            found = self._select(f'upper("{self.KEY}") = upper(?)', (key,))
        self._eof = self._bof = not found
        return found


class SalesRecord(_Record):
    """A customer (SALES_LEDGER row) with SDO's cursor, Find and AddNew/Edit/Update."""

    TABLE, KEY = "SALES_LEDGER", "ACCOUNT_REF"

    def __init__(self, workspace: WorkSpace) -> None:
        super().__init__(workspace)
        self._assigned: set[str] = set()
        self.Fields = Fields(
            [Field(self, c, ODBC_TO_SDO.get(c.name, c.name)) for c in table_columns(self.TABLE)]
        )
        self._mode: str | None = None  # "add" or "edit" between AddNew/Edit and Update

    # -- reading ------------------------------------------------------------------------------
    def _load(self, row: sqlite3.Row | None) -> bool:
        self._mode = None
        if row is None:
            self._current = None
            return False
        self._current = row["ACCOUNT_REF"]
        for field in self.Fields:
            value = _from_stored(row[field.column], field.Type)
            if field.Name == "CURRENCY" and isinstance(value, int | float) and value:
                value = int(value) - 1
            field._value = value
        self._assigned.clear()
        return True

    # -- writing ------------------------------------------------------------------------------
    def AddNew(self) -> bool:  # noqa: N802
        if self._ws._db() is None:
            return self._ws._fail(ErrorCode.sdoNotConnected)
        for field in self.Fields:
            value = FRESH_CUSTOMER.get(field.column)
            if value is None and field.column in BLANK_TEXT:
                value = ""
            if field.Name == "CURRENCY":
                value = 0
            field._value = _from_stored(value, field.Type) if value is not None else None
        self._assigned.clear()
        self._mode = "add"
        return True

    def Edit(self) -> bool:  # noqa: N802
        if self._ws._db() is None:
            return self._ws._fail(ErrorCode.sdoNotConnected)
        if self._current is None:
            return self._ws._fail(ErrorCode.sdoInvalidUse, "Edit needs a current record")
        self._assigned.clear()
        self._mode = "edit"
        return True

    def CancelUpdate(self) -> bool:  # noqa: N802
        self._mode = None
        self._assigned.clear()
        if self._current is not None:
            return self._select("ACCOUNT_REF = ?", (self._current,))
        return True

    def _stored_values(self) -> dict[str, object]:
        """Column -> value of the assigned fields, validated the way SDO refuses data."""
        values: dict[str, object] = {}
        names = set(self._assigned)
        if self._mode == "add":
            names |= REQUIRED_FIELDS
        for name in sorted(names):
            field = self.Fields.Item(name)
            value = field.Value
            if name == "ACCOUNT_REF":
                ref = "" if value is None else str(value)
                if not ref:
                    raise _Failed(ErrorCode.sdoEmptyAccountReference)
                if any(ch.isspace() for ch in ref):
                    raise _Failed(ErrorCode.sdoAccountRefContainsSpaces, repr(ref))
                if not ACCOUNT_REF_CHARS.fullmatch(ref):
                    raise _Failed(ErrorCode.sdoAccountRefContainsInvalidCharacters, repr(ref))
                if self._mode == "edit" and ref.upper() != str(self._current).upper():
                    raise _Failed(ErrorCode.sdoInvalidUse, "ACCOUNT_REF cannot be changed")
            if field.State == RESERVED:
                raise _Failed(ErrorCode.sdoInvalidUse, f"{name} is set by Sage")
            stored = _checked(field, value)
            # CURRENCY is 0-based in SDO, 1-based as stored.
            values[field.column] = stored + 1 if field.Name == "CURRENCY" else stored  # type: ignore[operator]
        if not str(values.get("NAME", "x") or "").strip():
            raise _Failed(ErrorCode.sdoInvalidValue, "NAME is required")
        return values

    def Update(self) -> bool:  # noqa: N802
        con = self._ws._db()
        if con is None:
            return self._ws._fail(ErrorCode.sdoNotConnected)
        if self._mode is None:
            return self._ws._fail(ErrorCode.sdoBadUpdateMode)
        try:
            values = self._stored_values()
        except _Failed as failed:
            return self._ws._fail(failed.code, failed.text)
        ref = str(values.get("ACCOUNT_REF") or self._current or "")
        try:
            fault = faults.take(con, ("update",), ref, "SalesRecord")
            if fault is not None:
                return self._ws._fail(fault[1])
            after = faults.take(
                con, ("update_then_disconnect", "update_then_exit"), ref, "SalesRecord"
            )
            written = self._write(con, ref, values)
        except sqlite3.OperationalError as exc:
            return self._ws._fail(_busy(exc))
        except _Failed as failed:
            return self._ws._fail(failed.code, failed.text)
        self._ws._after_update(after)
        self._mode = None
        return self._select("ACCOUNT_REF = ?", (written,))

    def _write(self, con: sqlite3.Connection, ref: str, values: dict[str, object]) -> str:
        stamp = now_stamp()
        con.execute("BEGIN IMMEDIATE")
        try:
            if self._mode == "add":
                exists = con.execute(
                    f'SELECT 1 FROM "{self.TABLE}" WHERE upper(ACCOUNT_REF) = upper(?)',  # noqa: S608
                    (ref,),
                ).fetchone()
                if exists:
                    raise _Failed(ErrorCode.sdoAccountRefAlreadyExists, ref)
                row = {c: FRESH_CUSTOMER.get(c) for c in FRESH_CUSTOMER}
                row |= {c: "" for c in BLANK_TEXT}
                row |= values
                row["DATE_ACCOUNT_OPENED"] = values.get("DATE_ACCOUNT_OPENED") or today()
                row["RECORD_CREATE_DATE"] = row["RECORD_MODIFY_DATE"] = stamp
            else:
                row = dict(values)
                row["RECORD_MODIFY_DATE"] = stamp
                ref = str(self._current)
            self._derive(con, row)
            if self._mode == "add":
                names = ", ".join(f'"{c}"' for c in row)
                marks = ", ".join("?" for _ in row)
                con.execute(
                    f'INSERT INTO "{self.TABLE}" ({names}) VALUES ({marks})',  # noqa: S608
                    tuple(row.values()),
                )
            else:
                sets = ", ".join(f'"{c}" = ?' for c in row)
                con.execute(
                    f'UPDATE "{self.TABLE}" SET {sets} WHERE ACCOUNT_REF = ?',  # noqa: S608
                    (*row.values(), ref),
                )
            con.execute("COMMIT")
            return ref
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    @staticmethod
    def _derive(con: sqlite3.Connection, row: dict[str, object]) -> None:
        """The columns Sage keeps in step with what was set (compact address, texts of codes)."""
        if any(f"ADDRESS_{n}" in row for n in range(1, 6)):
            lines = [str(row.get(f"ADDRESS_{n}") or "") for n in range(1, 6)]
            filled = [line for line in lines if line]
            for n, line in enumerate(filled + [""] * (5 - len(filled)), start=1):
                row[f"C_ADDRESS_{n}"] = line
        if "DEPT_NUMBER" in row:
            found = con.execute(
                'SELECT NAME FROM "DEPARTMENT" WHERE NUMBER = ?', (row["DEPT_NUMBER"],)
            ).fetchone()
            row["DEPT_NAME"] = found[0] if found else ""
        if "ACCOUNT_ON_HOLD" in row:
            on_hold = bool(row["ACCOUNT_ON_HOLD"])
            row["STATUS_NUMBER"], row["STATUS_TEXT"] = (1, "On Hold") if on_hold else (0, "Open")


class Customer:
    """ICustomer: a customer account loaded by reference (what CustomerAddress.Customer holds)."""

    def __init__(self, workspace: WorkSpace) -> None:
        self._ws = workspace
        self.Reference = ""
        self.PaymentDueFromOption = 0
        self._row: dict[str, object] | None = None

    def Load(self, Reference: str) -> bool:  # noqa: N802, N803
        con = self._ws._db()
        if con is None:
            return self._ws._fail(ErrorCode.sdoNotConnected)
        row = con.execute(
            'SELECT * FROM "SALES_LEDGER" WHERE upper(ACCOUNT_REF) = upper(?)', (str(Reference),)
        ).fetchone()
        if row is None:
            self._row = None
            return self._ws._fail(ErrorCode.sdoInvalidKey, f"No customer {Reference}")
        self._row = dict(row)
        self.Reference = str(row["ACCOUNT_REF"])
        self.PaymentDueFromOption = int(row["PAYMENT_DUE_FROM"] or 0)
        return True


class Country:
    """ICountry, loaded from COUNTRY_CODE."""

    def __init__(self, workspace: WorkSpace) -> None:
        self._ws = workspace
        self.Code = ""
        self.Name = ""
        self.EUMember = False
        self.ConvertedCode = ""
        self.CombinedCode = ""

    def Load(self, Reference: str) -> bool:  # noqa: N802, N803
        con = self._ws._db()
        if con is None:
            return self._ws._fail(ErrorCode.sdoNotConnected)
        row = con.execute(
            'SELECT CODE, NAME, EU_MEMBER FROM "COUNTRY_CODE" WHERE upper(CODE) = upper(?)',
            (str(Reference),),
        ).fetchone()
        if row is None:
            return self._ws._fail(ErrorCode.sdoInvalidKey, f"No country {Reference}")
        self.Code, self.Name, self.EUMember = row["CODE"], row["NAME"], bool(row["EU_MEMBER"])
        self.ConvertedCode = self.CombinedCode = self.Code
        return True


class TaxCode:
    """ITaxCode, loaded from TAX_CODE by its code ('T1') or id (1)."""

    def __init__(self, workspace: WorkSpace) -> None:
        self._ws = workspace
        self.TaxCodeID = 0
        self.Name = ""
        self.Rate = 0.0

    def Load(self, Reference: str | int) -> bool:  # noqa: N802, N803
        con = self._ws._db()
        if con is None:
            return self._ws._fail(ErrorCode.sdoNotConnected)
        row = con.execute(
            'SELECT TAX_CODE_ID, DESCRIPTION, TAX_RATE FROM "TAX_CODE" '
            "WHERE upper(TAX_CODE) = upper(?) OR TAX_CODE_ID = ?",
            (str(Reference), Reference if isinstance(Reference, int) else -1),
        ).fetchone()
        if row is None:
            return self._ws._fail(ErrorCode.sdoInvalidKey, f"No tax code {Reference}")
        self.TaxCodeID, self.Name, self.Rate = int(row[0]), str(row[1] or ""), float(row[2] or 0)
        return True


class CustomerAddress:
    """ICustomerAddress: one SALES_DEL_ADDR row (delivery 0, contact 1, registered 2).

    A new address: set Customer (a loaded Customer) and AddressType, leave AddressNumber 0, and
    Update() writes it with ADDRESS_REF = the account's highest + 1, then sets AddressNumber.
    """

    def __init__(self, workspace: WorkSpace) -> None:
        self._ws = workspace
        self.AddressNumber = 0
        self.AddressType = 0
        for prop in ADDRESS_PROPERTIES:
            setattr(self, prop, "")
        self.EORINumber = ""
        self.ModifyDate: dt.datetime | None = None
        self._customer: Customer | None = None
        self._country: Country | None = None
        self._tax_code: TaxCode | None = None

    # Object-valued properties take the SDO objects only, as a COM IDispatch property does.
    @staticmethod
    def _object(value: object, kind: type, name: str) -> Any:
        if value is not None and not isinstance(value, kind):
            raise raised(f"{name} takes a {kind.__name__} object", DISP_E_TYPEMISMATCH)
        return value

    @property
    def Customer(self) -> Customer | None:  # noqa: N802
        return self._customer

    @Customer.setter
    def Customer(self, value: Customer | None) -> None:  # noqa: N802
        self._customer = self._object(value, Customer, "Customer")

    @property
    def Country(self) -> Country | None:  # noqa: N802
        return self._country

    @Country.setter
    def Country(self, value: Country | None) -> None:  # noqa: N802
        self._country = self._object(value, Country, "Country")

    @property
    def TaxCode(self) -> TaxCode | None:  # noqa: N802
        return self._tax_code

    @TaxCode.setter
    def TaxCode(self, value: TaxCode | None) -> None:  # noqa: N802
        self._tax_code = self._object(value, TaxCode, "TaxCode")

    def Load(self, AccountRefn: str, AddressNumber: int) -> bool:  # noqa: N802, N803
        con = self._ws._db()
        if con is None:
            return self._ws._fail(ErrorCode.sdoNotConnected)
        row = con.execute(
            'SELECT * FROM "SALES_DEL_ADDR" WHERE upper(ACCOUNT_REF) = upper(?) '
            "AND ADDRESS_REF = ?",
            (str(AccountRefn), int(AddressNumber)),
        ).fetchone()
        if row is None:
            return self._ws._fail(
                ErrorCode.sdoInvalidKey, f"No address {AddressNumber} of {AccountRefn}"
            )
        customer = Customer(self._ws)
        customer.Load(row["ACCOUNT_REF"])
        self._customer = customer
        self.AddressNumber = int(row["ADDRESS_REF"])
        self.AddressType = int(row["ADDRESS_TYPE"] or 0)
        for prop, column in ADDRESS_PROPERTIES.items():
            setattr(self, prop, "" if row[column] is None else str(row[column]))
        self._country = None
        if row["COUNTRY_CODE"]:
            country = Country(self._ws)
            if country.Load(row["COUNTRY_CODE"]):
                self._country = country
        self._tax_code = None
        if row["TAX_CODE"] is not None:
            tax = TaxCode(self._ws)
            if tax.Load(int(row["TAX_CODE"])):
                self._tax_code = tax
        self.ModifyDate = _from_stored(row["RECORD_MODIFY_DATE"], 11)  # type: ignore[assignment]
        return True

    def _columns(self) -> dict[str, object]:
        lengths = {c.name: c.length for c in table_columns("SALES_DEL_ADDR")}
        values: dict[str, object] = {}
        for prop, column in ADDRESS_PROPERTIES.items():
            text = "" if getattr(self, prop) is None else str(getattr(self, prop))
            limit = lengths[column] or 0
            if limit and len(text) > limit:
                code = (
                    ErrorCode.sdoAddressLineIsTooLong
                    if prop.startswith("AddressLine")
                    else ErrorCode.sdoInvalidValue
                )
                raise _Failed(code, f"{prop} is {len(text)} long, at most {limit}")
            values[column] = text
        if self.AddressType not in ADDRESS_TYPE_NAMES:
            raise _Failed(ErrorCode.sdoInvalidValue, f"AddressType {self.AddressType!r}")
        values["ADDRESS_TYPE"] = int(self.AddressType)
        values["ADDRESS_TYPE_NAME"] = ADDRESS_TYPE_NAMES[int(self.AddressType)]
        values["COUNTRY_CODE"] = self._country.Code if self._country else None
        values["TAX_CODE"] = self._tax_code.TaxCodeID if self._tax_code else None
        return values

    def Update(self) -> bool:  # noqa: N802
        con = self._ws._db()
        if con is None:
            return self._ws._fail(ErrorCode.sdoNotConnected)
        customer = self._customer
        if customer is None or customer._row is None:
            return self._ws._fail(ErrorCode.sdoEmptyAccountReference, "Customer is not loaded")
        try:
            values = self._columns()
            ref = customer.Reference
            fault = faults.take(con, ("update",), ref, "CustomerAddress")
            if fault is not None:
                return self._ws._fail(fault[1])
            after = faults.take(
                con, ("update_then_disconnect", "update_then_exit"), ref, "CustomerAddress"
            )
            number, stamp = self._write(con, customer, values)
        except sqlite3.OperationalError as exc:
            return self._ws._fail(_busy(exc))
        except _Failed as failed:
            return self._ws._fail(failed.code, failed.text)
        self.AddressNumber = number
        self.ModifyDate = dt.datetime.fromisoformat(stamp)
        self._ws._after_update(after)
        return True

    def _write(
        self, con: sqlite3.Connection, customer: Customer, values: dict[str, object]
    ) -> tuple[int, str]:
        stamp = now_stamp()
        ref = customer.Reference
        row = customer._row or {}
        con.execute("BEGIN IMMEDIATE")
        try:
            if values["ADDRESS_TYPE"] == 2:
                other = con.execute(
                    'SELECT 1 FROM "SALES_DEL_ADDR" WHERE ACCOUNT_REF = ? AND ADDRESS_TYPE = 2 '
                    "AND ADDRESS_REF <> ?",
                    (ref, int(self.AddressNumber)),
                ).fetchone()
                if other:
                    raise _Failed(ErrorCode.sdoCannotCreateMultipleRegisteredAddresses)
            if int(self.AddressNumber) == 0:
                # A new address: the account's highest number + 1 (Sage's own rule is
                # unconfirmed); the rest as the demo generator writes an address.
                number = int(
                    con.execute(
                        'SELECT coalesce(max(ADDRESS_REF), 0) + 1 FROM "SALES_DEL_ADDR" '
                        "WHERE ACCOUNT_REF = ?",
                        (ref,),
                    ).fetchone()[0]
                )
                tax = con.execute(
                    'SELECT TAX_CODE_ID FROM "TAX_CODE" WHERE TAX_CODE = ?',
                    (row.get("DEF_TAX_CODE"),),
                ).fetchone()
                fresh = dict(values)
                fresh["NAME"] = values["NAME"] or row.get("NAME") or ""
                fresh["VAT_REG_NUMBER"] = (
                    values["VAT_REG_NUMBER"] or row.get("VAT_REG_NUMBER") or ""
                )
                fresh["COUNTRY_CODE"] = values["COUNTRY_CODE"] or row.get("COUNTRY_CODE") or ""
                if fresh["TAX_CODE"] is None and tax is not None:
                    fresh["TAX_CODE"] = tax[0]
                fresh |= {
                    "REFERENCE": f"{ref:<8}{number:04d}",
                    "ACCOUNT_REF": ref,
                    "ADDRESS_REF": number,
                    "RECORD_CREATE_DATE": stamp,
                    "RECORD_MODIFY_DATE": stamp,
                    "RECORD_DELETED": 0,
                }
                names = ", ".join(f'"{c}"' for c in fresh)
                marks = ", ".join("?" for _ in fresh)
                con.execute(
                    f'INSERT INTO "SALES_DEL_ADDR" ({names}) VALUES ({marks})',  # noqa: S608
                    tuple(fresh.values()),
                )
            else:
                number = int(self.AddressNumber)
                changed = dict(values, RECORD_MODIFY_DATE=stamp)
                if changed["COUNTRY_CODE"] is None:
                    del changed["COUNTRY_CODE"]
                if changed["TAX_CODE"] is None:
                    del changed["TAX_CODE"]
                sets = ", ".join(f'"{c}" = ?' for c in changed)
                cursor = con.execute(
                    f'UPDATE "SALES_DEL_ADDR" SET {sets} WHERE ACCOUNT_REF = ? AND ADDRESS_REF = ?',  # noqa: S608
                    (*changed.values(), ref, number),
                )
                if cursor.rowcount != 1:
                    raise _Failed(ErrorCode.sdoInvalidKey, f"No address {number} of {ref}")
            con.execute("COMMIT")
            return number, stamp
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    def Delete(self) -> bool:  # noqa: N802
        """Remove the address; Sage logs the deletion in DELETED_RECORDS (the connector never
        calls this: SSM deletes do not reach Sage)."""
        con = self._ws._db()
        if con is None:
            return self._ws._fail(ErrorCode.sdoNotConnected)
        if self._customer is None or not self.AddressNumber:
            return self._ws._fail(ErrorCode.sdoInvalidKey, "No address loaded")
        ref, number, stamp = self._customer.Reference, int(self.AddressNumber), now_stamp()
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute(
                'DELETE FROM "SALES_DEL_ADDR" WHERE ACCOUNT_REF = ? AND ADDRESS_REF = ?',
                (ref, number),
            )
            con.execute(
                'INSERT INTO "DELETED_RECORDS" (TABLE_ID, FOREIGN_REF, DELETION_DATE_TIME, '
                "FOREIGN_REF_TYPE, RECORD_CREATE_DATE, RECORD_MODIFY_DATE, RECORD_DELETED) "
                "VALUES (?, ?, ?, 0, ?, ?, 0)",
                (SDO_SALES_DELIVERY_DATA, f"{ref:<8}{number:04d}", stamp, stamp, stamp),
            )
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        self.AddressNumber = 0
        return True
