"""The Sage writer: the only code that writes Sage 50, through Sage Data Objects (SDO).

On Windows the engine is the SDO COM server (pywin32; ProgID `SDOEngine.32`, or `auto`: the one
registered under HKLM\\SOFTWARE\\[Wow6432Node\\]Sage\\Line 50\\SDO\\Current). Elsewhere it is
the stand-in `python:sandbox.sdo:SDOEngine`, which writes the demo company. `dispatch` is the
only engine-specific code: the calls below are SDO's object model as the type library gives it
(reference sage50-write-back.md §1-§2), whichever engine answers them.

- Every SDO call runs on one dedicated thread (SDO is apartment-threaded: that thread enters a
  COM apartment on Windows); the workspace connects on first use and disconnects in close(),
  also after errors.
- A failure becomes `SageWriteError(code, text, transient, operation, record)`. Transient ones
  (user logged in, exclusive mode, accounts busy, a lost connection, ...) are retried here with
  backoff, reconnecting after a lost connection; still failing, the transient error is raised
  and the caller keeps the item for its next run. Permanent ones (bad data) are raised at once.
- Creates are idempotent: `Find` (or a scan of the account's contacts) first, and the SSM id the
  caller stores in the record (`marker`) tells a record an earlier attempt wrote from a clash.
- Values are checked against each field's Length before anything is written: too long is a
  permanent error, never a silent truncation.
- Quotations: `price_quote` asks Sage's own `invoice` calculator (WorkSpace.CreateInvoice) for
  each line's price, discount, net and VAT; `post_quote` posts them as a SOP quotation
  (SopPost, ORDER_TYPE 9, QUOTE_STATUS 1, the SSM marker in CUST_ORDER_NUMBER, TAX_FLAG 0 so
  Sage computes the VAT); `find_quote` finds a posted one by its marker (SopData.FindFirst), so
  a post whose answer was lost is never posted twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

import dagster as dg
import portalocker
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from resources.sage.pricing import PricingRules
from resources.sage.source import mask_secrets
from resources.sage_schema import table_columns

Record = Literal[
    "SalesRecord", "CustomerAddress", "StockRecord", "SopPost", "SopItem", "SopData", "CurrencyData"
]
# Where each record's Fields are: the object CreateObject gives, or a part of a SopPost.
FIELD_OBJECTS = ("SalesRecord", "StockRecord", "SopData", "CurrencyData")
T = TypeVar("T")

# SDO ErrorCode values that pass with time: logons refused while someone else holds the data,
# locks, lost connections, and the cloud/RDA exceptions 101-125 (reference §2.2).
TRANSIENT_CODES = frozenset({23, 24, 30, 48, 91, 93, 94, *range(101, 126)})

# The codes that explain a COM exception (the connection is gone).
LOST_CONNECTION_CODES = frozenset({91, 94, *range(101, 126)})

# COM failures that are the caller's mistake (a bad name, index or type), not a lost connection.
COM_USAGE_HRESULTS = frozenset(
    {
        -2147352570,  # DISP_E_UNKNOWNNAME
        -2147352571,  # DISP_E_TYPEMISMATCH
        -2147352565,  # DISP_E_BADINDEX
        -2147352562,  # DISP_E_BADPARAMCOUNT
        -2147352561,  # DISP_E_PARAMNOTOPTIONAL
    }
)

SDO_REGISTRY_KEYS = (r"SOFTWARE\Wow6432Node\Sage\Line 50\SDO", r"SOFTWARE\Sage\Line 50\SDO")

CONTACT_ADDRESS = 1  # AddressTypes.sdoContactAddress

# CustomerAddress's properties (type library v32) and the SALES_DEL_ADDR column each lands in
# (reference §1.4), for their lengths. Country and TaxCode are objects in SDO: the writer takes
# their codes and loads the objects. AddressNumber, AddressType, Customer and ModifyDate are the
# writer's to set.
CONTACT_PROPERTIES: dict[str, str | None] = {
    "Name": "NAME",
    "Description": "DESCRIPTION",
    "AddressLine1": "ADDRESS_1",
    "AddressLine2": "ADDRESS_2",
    "AddressLine3": "ADDRESS_3",
    "AddressLine4": "ADDRESS_4",
    "AddressLine5": "ADDRESS_5",
    "Country": "COUNTRY_CODE",
    "Telephone": "TELEPHONE",
    "Telephone2": "TELEPHONE_2",
    "Fax": "FAX",
    "EMail": "E_MAIL",
    "Contact": "CONTACT_NAME",
    "TaxCode": None,
    "VatNumber": "VAT_REG_NUMBER",
    "Role": "CONTACT_ROLE",
    "Notes": "NOTES",
    "EORINumber": None,
}
CONTACT_READ_ONLY = ("AddressNumber", "AddressType", "Customer", "ModifyDate")

# Field.Type values (VarType) of text fields, the ones a Length limits.
TEXT_VAR_TYPES = frozenset({12, -1})
REQUIRED_STATE = 1  # FieldState.sdoRequired

# Quotations (reference sage50-write-back.md §1.5, §1.6): SDO's InvoiceType and QuoteStatus.
SOP_QUOTE = 9  # InvoiceType.sdoSopQuote
QUOTE_OPEN = 1  # QuoteStatus.sdoOpen
BASE_CURRENCY = 0  # SDO's CURRENCY is 0-based and Sage's currency 1 is the base currency
QUOTE_CUSTOMER_FIELDS = (
    "ACCOUNT_REF", "NAME", *(f"ADDRESS_{n}" for n in range(1, 6)), "CONTACT_NAME", "CURRENCY",
    "DEF_TAX_CODE",
)  # fmt: skip
# Read only when SAGE_PRICING_TAX_CODE_FROM is override_flag (Sage's "Use Default Tax Code").
OVERRIDE_TAX_FIELD = "OVERRIDE_TAX_CODE"
QUOTE_PRODUCT_FIELDS = ("STOCK_CODE", "DESCRIPTION", "TAX_CODE")
QUOTE_HEADER_FIELDS = (
    "ACCOUNT_REF", "NAME", *(f"ADDRESS_{n}" for n in range(1, 6)), "CONTACT_NAME",
    "ORDER_DATE", "CUST_ORDER_NUMBER", "TAKEN_BY", "ORDER_TYPE", "QUOTE_STATUS", "ORDER_NUMBER",
    "CURRENCY", "CURRENCY_USED", "FOREIGN_RATE",
)  # fmt: skip
QUOTE_ITEM_FIELDS = (
    "STOCK_CODE", "DESCRIPTION", "QTY_ORDER", "UNIT_PRICE", "DISCOUNT_RATE", "DISCOUNT_AMOUNT",
    "FULL_NET_AMOUNT", "NET_AMOUNT", "TAX_CODE", "TAX_FLAG",
)  # fmt: skip
QUOTE_FIND_FIELDS = ("CUST_ORDER_NUMBER", "ORDER_NUMBER", "ORDER_TYPE")
CURRENCY_FIELDS = ("EXCHANGE_RATE",)
# What price_quote answers per line, and what post_quote takes back.
QUOTE_LINE_KEYS = (
    "stock_code", "description", "quantity", "list_unit_price", "unit_price",
    "discount_percent", "discount_amount", "net", "tax_code", "tax_rate", "tax",
)  # fmt: skip
PENNY = Decimal("0.01")

# How many address numbers in a row may be missing before a contacts scan stops (Sage does not
# say how it numbers addresses; deleted ones leave gaps).
DEFAULT_ADDRESS_GAP = 5


@dataclass(frozen=True)
class FieldInfo:
    name: str
    length: int | None  # None: not a text field, or no limit known
    required: bool


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried inside one write."""

    attempts: int = 5
    first_wait_seconds: float = 1.0
    max_wait_seconds: float = 30.0


def _advice(code: int | None, user: str) -> str:
    if code in (21, 22):
        return "check SAGE_SDO_USER and SAGE_SDO_PASSWORD"
    if code == 23:
        return f"log the Sage user {user} out of Sage or use a user only the connector uses"
    if code == 24:
        return (
            "wait until nobody uses Sage in exclusive mode (backup, restore, Disk Doctor, year end)"
        )
    if code == 25:
        return "set SAGE_SDO_DATA_PATH to the company's ACCDATA folder"
    if code == 26:
        return "install the Sage Data Objects of the company's Sage version"
    if code == 30:
        return "free a Sage user licence or wait until someone logs out"
    if code in (48, 93):
        return "someone is working in the same area of Sage; it is tried again on the next run"
    if code in (82, 86):
        return "account codes are at most 8 upper-case letters and digits, without spaces"
    if code == 83:
        return "shorten the address line in SSM; it is never cut short"
    if code == 84:
        return "the account code is used by another customer: choose another code"
    if code in (70, 71, 72, 73):
        return (
            "the Sage account is on hold, inactive, deleted or without agreed terms: fix it in Sage"
        )
    if code in TRANSIENT_CODES:
        return "it is tried again on the next run"
    return "fix the record in SSM; it is tried again when it changes"


class SageWriteError(Exception):
    """Sage did not take a write (or a read the writer needed).

    `code` is SDO's ErrorCode (None when the writer refused before Sage was asked, or for a COM
    exception without one), `text` Sage's text, `transient` whether waiting can help.
    """

    def __init__(
        self,
        code: int | None,
        text: str,
        transient: bool,
        operation: str,
        record: str,
        *,
        advice: str | None = None,
        user: str = "",
    ) -> None:
        self.code = code
        self.text = text
        self.transient = transient
        self.operation = operation
        self.record = record
        self.advice = advice or _advice(code, user or "the connector's user")
        if code is None:
            message = f"Could not {operation} {record} in Sage: {text}; {self.advice}."
        else:
            message = (
                f"Sage refused to {operation} {record} with SDO error {code} "
                f"({text or 'no text'}); {self.advice}."
            )
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments survive pickling (Dagster ships errors across processes).
        return (
            _rebuild_error,
            (self.code, self.text, self.transient, self.operation, self.record, self.advice),
        )


def _rebuild_error(
    code: int | None, text: str, transient: bool, operation: str, record: str, advice: str
) -> SageWriteError:
    return SageWriteError(code, text, transient, operation, record, advice=advice)


def registered_progid() -> str:
    """The installed SDO's ProgID from the registry (value `Current`, 32-bit view first)."""
    try:
        import winreg
    except ImportError:
        raise SageWriteError(
            None,
            "engine 'auto' reads the Windows registry and this is not Windows",
            False,
            "find",
            "Sage Data Objects",
            advice="set SAGE_SDO_ENGINE to a ProgID such as SDOEngine.32, or to "
            "python:sandbox.sdo:SDOEngine for the demo",
        ) from None
    for path in SDO_REGISTRY_KEYS:
        try:
            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path) as key:
                value, _kind = winreg.QueryValueEx(key, "Current")
        except OSError:
            continue
        if value:
            return str(value)
    raise SageWriteError(
        None,
        "no SDO is registered (HKLM\\SOFTWARE\\[Wow6432Node\\]Sage\\Line 50\\SDO\\Current)",
        False,
        "find",
        "Sage Data Objects",
        advice="install Sage Data Objects with Sage 50, or set SAGE_SDO_ENGINE to its ProgID",
    )


def dispatch(engine: str) -> tuple[Any, type[BaseException]]:
    """The SDO engine object and the COM exception class its calls raise.

    `engine`: a ProgID (`SDOEngine.32`), `auto` (the registered one), or
    `python:<module>:<Class>` (the stand-in, `python:sandbox.sdo:SDOEngine`, whose module
    defines `com_error`).
    """
    if engine.startswith("python:"):
        _python, module_name, class_name = (engine.split(":", 2) + ["", ""])[:3]
        if not module_name or not class_name:
            raise SageWriteError(
                None,
                f"engine {engine!r} is not python:<module>:<Class>",
                False,
                "start",
                "the SDO engine",
                advice="set SAGE_SDO_ENGINE to python:sandbox.sdo:SDOEngine for the demo",
            )
        module = importlib.import_module(module_name)
        return getattr(module, class_name)(), module.com_error
    progid = registered_progid() if engine == "auto" else engine
    try:
        import pywintypes  # type: ignore[import-not-found]  # pywin32, Windows only
        import win32com.client  # type: ignore[import-not-found]
    except ImportError:
        raise SageWriteError(
            None,
            f"engine {progid!r} is a COM ProgID and pywin32 is not installed",
            False,
            "start",
            "the SDO engine",
            advice="run the connector on the Windows machine where Sage 50 and its SDO are "
            "installed, with pywin32",
        ) from None

    return win32com.client.Dispatch(progid), pywintypes.com_error


def _enter_apartment() -> None:
    """The SDO thread's start: a single-threaded COM apartment on Windows."""
    if sys.platform == "win32":
        import pythoncom  # type: ignore[import-not-found]

        pythoncom.CoInitialize()


def _leave_apartment() -> None:
    if sys.platform == "win32":
        import pythoncom  # type: ignore[import-not-found]

        pythoncom.CoUninitialize()


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _carries(text: object, token: str) -> bool:
    """Whether a marker property holds the SSM id token (alone or among other words)."""
    words = _text(text)
    return words == token or token in words.split()


def _with_token(text: object, token: str) -> str:
    words = _text(text)
    return words if _carries(words, token) else f"{words} {token}".strip()


def _naive(value: object) -> dt.datetime | None:
    """An SDO DATE as a naive datetime (pywin32 hands out tz-aware pywintypes datetimes)."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return None


class SageSessionBusy(SageWriteError):
    """Another run of this host kept the company's Sage session past the wait."""


class SageWriter:
    """Writes customers and contact addresses to one Sage company; a context manager.

    writes: Updates Sage accepted; retries: transient failures retried.
    """

    def __init__(
        self,
        engine: str,
        data_path: str,
        user: str,
        password: str,
        unique: str = "ssm-connector",
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, shared safely
        address_gap: int = DEFAULT_ADDRESS_GAP,
        session_lock: str | Path | None = None,
        session_wait_seconds: float = 600.0,
    ) -> None:
        self.engine = engine
        self.data_path = data_path
        self.user = user
        self._password = password
        self.unique = unique
        self.retry = retry
        self.address_gap = address_gap
        self.writes = 0
        self.retries = 0
        self._sdo = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="sage-sdo", initializer=_enter_apartment
        )
        self._engine: Any = None
        self._com_error: type[BaseException] = _NoComError
        self._workspace: Any = None
        self._fields: dict[tuple[str, str], FieldInfo | None] = {}
        self._closed = False
        # Sage refuses a second login of the same user: the runs of this host that write one
        # company (the sync's reverse flow, the quote job) take turns on a lock file, held from
        # the first write to close, instead of a Dagster pool held for a whole run.
        self._session = (
            portalocker.Lock(
                str(session_lock),
                timeout=session_wait_seconds,
                check_interval=0.2,
                fail_when_locked=False,
            )
            if session_lock
            else None
        )
        self._session_wait_seconds = session_wait_seconds
        self._session_held = False

    def __repr__(self) -> str:
        return (
            f"SageWriter(engine={self.engine!r}, data_path={self.data_path!r}, "
            f"user={self.user!r}, unique={self.unique!r})"
        )

    def __enter__(self) -> SageWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect and release the SDO objects on their thread, then end the thread."""
        if self._closed:
            return
        self._closed = True
        try:
            self._sdo.submit(self._release).result()
        finally:
            self._sdo.shutdown(wait=True)

    def _release(self) -> None:
        try:
            self._drop()
            self._fields.clear()
            _leave_apartment()
        finally:
            if self._session is not None and self._session_held:
                self._session.release()
                self._session_held = False

    def _take_session(self) -> None:
        """Wait for this host's other writer of the company to close its session."""
        if self._session is None or self._session_held:
            return
        Path(self._session.filename).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._session.acquire()
        except portalocker.LockException:
            raise SageSessionBusy(
                None,
                f"another run of this host kept the Sage session of {self.user} for "
                f"{self._session_wait_seconds:.0f} s",
                True,
                "connect to",
                f"the company at {self.data_path}",
                advice="the records wait for the next run",
            ) from None
        self._session_held = True

    # -- the SDO thread -----------------------------------------------------------------------
    def _drop(self, engine_too: bool = False) -> None:
        """Forget the workspace (Disconnect if it still answers); the engine too after a COM
        exception, so the next attempt dispatches a fresh one."""
        workspace, self._workspace = self._workspace, None
        if workspace is not None:
            with suppress(Exception):
                workspace.Disconnect()
            with suppress(Exception):
                self._engine.Workspaces.Remove(workspace.Name)
        if engine_too:
            self._engine = None

    def _last_error(self) -> tuple[int | None, str]:
        try:
            error = self._engine.LastError
            return int(error.Code), mask_secrets(_text(error.Text), secrets=[self._password])
        except Exception:
            return None, "SDO gave no error detail"

    def _error(
        self, code: int | None, text: str, operation: str, record: str, **kwargs: Any
    ) -> SageWriteError:
        transient = kwargs.pop("transient", code in TRANSIENT_CODES)
        text = mask_secrets(text, secrets=[self._password])
        return SageWriteError(code, text, transient, operation, record, user=self.user, **kwargs)

    def _connected(self) -> Any:
        """The workspace, connecting on first use."""
        if self._workspace is not None:
            return self._workspace
        self._take_session()
        if self._engine is None:
            self._engine, self._com_error = dispatch(self.engine)
        workspace = self._engine.Workspaces.Add(self.unique)
        if not workspace.Connect(self.data_path, self.user, self._password, self.unique):
            code, text = self._last_error()
            with suppress(Exception):
                self._engine.Workspaces.Remove(workspace.Name)
            raise self._error(code, text, "connect to", f"the company at {self.data_path}")
        self._workspace = workspace
        return workspace

    def _on_sdo_thread(self, operation: str, record: str, work: Callable[[Any], T]) -> T:
        """One attempt of `work(workspace)` on the SDO thread; a COM exception drops the
        connection and becomes a SageWriteError (transient unless it is a usage error)."""

        def attempt() -> T:
            try:
                return work(self._connected())
            except SageWriteError:
                raise
            except self._com_error as exc:
                hresult = getattr(exc, "hresult", None)
                usage = hresult in COM_USAGE_HRESULTS
                code, text = self._last_error() if self._engine is not None else (None, "")
                if not usage:
                    self._drop(engine_too=True)
                if usage or code not in LOST_CONNECTION_CODES:
                    # LastError may still hold an earlier failure's code: only a code that
                    # says the connection is gone explains the exception.
                    code, text = None, _com_text(exc)
                raise self._error(
                    code,
                    text,
                    operation,
                    record,
                    transient=not usage,
                    advice="a field, object or value type is not what this SDO accepts"
                    if usage
                    else None,
                ) from None

        return self._sdo.submit(attempt).result()

    def _run(self, operation: str, record: str, work: Callable[[Any], T]) -> T:
        """`work` with transient failures retried (backoff per RetryPolicy, reconnecting)."""
        if self._closed:
            raise RuntimeError("the Sage writer is closed")

        def count_retry(_state: object) -> None:
            self.retries += 1

        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.retry.attempts)),
            wait=wait_exponential(
                multiplier=self.retry.first_wait_seconds, max=self.retry.max_wait_seconds
            ),
            # a session another run kept past the wait is not retried: it waited long enough
            retry=retry_if_exception(
                lambda e: (
                    isinstance(e, SageWriteError)
                    and e.transient
                    and not isinstance(e, SageSessionBusy)
                )
            ),
            before_sleep=count_retry,
            reraise=True,
        )
        return retrying(self._on_sdo_thread, operation, record, work)

    def _update(self, obj: Any, operation: str, record: str) -> None:
        """Update(), counted when Sage takes it; refused: the pending edit is cancelled."""
        if obj.Update():
            self.writes += 1
            return
        code, text = self._last_error()
        with suppress(Exception):
            obj.CancelUpdate()
        raise self._error(code, text, operation, record)

    # -- fields -------------------------------------------------------------------------------
    def check_fields(
        self, record: Record, names: Iterable[str], settings: Mapping[str, str] | None = None
    ) -> dict[str, FieldInfo]:
        """Each name's FieldInfo; a name the record lacks raises one sentence naming it and,
        from `settings` (field name -> setting name), the setting that chose it."""
        wanted = list(dict.fromkeys(names))
        settings = settings or {}

        def look(workspace: Any) -> None:
            if record != "CustomerAddress":
                if record in FIELD_OBJECTS:
                    fields = workspace.CreateObject(record).Fields
                elif record == "SopPost":
                    fields = workspace.CreateObject("SopPost").Header.Fields
                else:  # SopItem: an item of a SopPost never posted
                    fields = workspace.CreateObject("SopPost").Items.Add().Fields
                for name in missing:
                    self._fields[(record, name)] = self._sales_field(fields, name)
                return
            address = workspace.CreateCustomerAddress()
            lengths = {c.name: c.length for c in table_columns("SALES_DEL_ADDR")}
            for name in missing:
                known = name in CONTACT_PROPERTIES and hasattr(address, name)
                column = CONTACT_PROPERTIES.get(name)
                self._fields[(record, name)] = (
                    FieldInfo(name, lengths.get(column) if column else None, False)
                    if known
                    else None
                )

        # Fields do not change while the writer lives: each is looked up once.
        missing = [n for n in wanted if (record, n) not in self._fields]
        if missing:
            self._run("read the fields of", record, look)
        found = {n: self._fields[(record, n)] for n in wanted}
        for name, info in found.items():
            if info is None:
                chosen = f" (chosen by {settings[name]})" if name in settings else ""
                where = settings.get(name, "the connector's field map")
                raise SageWriteError(
                    None,
                    f"the {record} has no such field{chosen}",
                    False,
                    "use field",
                    name,
                    advice=f"set {where} to a field this Sage version has",
                )
        return {n: i for n, i in found.items() if i is not None}

    def _sales_field(self, fields: Any, name: str) -> FieldInfo | None:
        try:
            field = fields.Item(name)
        except self._com_error as exc:
            if getattr(exc, "hresult", None) in COM_USAGE_HRESULTS or _names_field(exc):
                return None
            raise
        if field is None:
            return None
        text = int(field.Type) in TEXT_VAR_TYPES
        length = int(field.Length or 0)
        return FieldInfo(
            str(field.Name), length if text and length else None, int(field.State) == 1
        )

    def _checked(
        self, record: Record, values: Mapping[str, object], operation: str, label: str
    ) -> None:
        """Refuse (permanently) a value longer than its field, before Sage is asked."""
        infos = self.check_fields(record, values)
        for name, value in values.items():
            limit = infos[name].length
            if isinstance(value, str) and limit is not None and len(value) > limit:
                raise SageWriteError(
                    None,
                    f"{name} is {len(value)} characters long and Sage's field holds {limit}",
                    False,
                    operation,
                    label,
                    advice="shorten it in SSM; it is never cut short",
                )

    # -- customers (SalesRecord) --------------------------------------------------------------
    def customer(self, ref: str, fields: Iterable[str]) -> dict[str, object] | None:
        """The current values of `fields` of customer `ref`, or None when there is none."""
        names = list(fields)
        self.check_fields("SalesRecord", names)

        def read(workspace: Any) -> dict[str, object] | None:
            record = workspace.CreateObject("SalesRecord")
            record.Fields.Item("ACCOUNT_REF").Value = ref
            if not record.Find(False):
                return None
            return {n: record.Fields.Item(n).Value for n in names}

        return self._run("read", f"customer {ref}", read)

    def _scan(self, workspace: Any, fields: tuple[str, ...]) -> list[tuple[object, ...]]:
        """`fields` of every customer, in SDO's order (MoveFirst / MoveNext until EOF)."""
        record = workspace.CreateObject("SalesRecord")
        rows: list[tuple[object, ...]] = []
        if not record.MoveFirst():
            return rows
        while not record.IsEOF():
            rows.append(tuple(record.Fields.Item(f).Value for f in fields))
            if not record.MoveNext():
                break
        return rows

    def account_refs(self) -> set[str]:
        """Every customer's ACCOUNT_REF."""
        rows = self._run("list", "the customers", lambda ws: self._scan(ws, ("ACCOUNT_REF",)))
        return {_text(row[0]) for row in rows}

    def find_customer_by(self, field: str, value: str) -> str | None:
        """The ACCOUNT_REF of the (first) customer whose `field` equals `value`: a scan."""
        self.check_fields("SalesRecord", [field])
        rows = self._run(
            "search", f"the customers by {field}", lambda ws: self._scan(ws, ("ACCOUNT_REF", field))
        )
        return next((_text(ref) for ref, held in rows if _text(held) == value), None)

    def create_customer(
        self, ref: str, values: Mapping[str, object], marker: tuple[str, str]
    ) -> Literal["created", "existing"]:
        """Create customer `ref` with `values`, storing `marker` = (field, SSM id) in it.

        Always `Find` first: `ref` carrying the marker was written by an earlier attempt
        ("existing"); `ref` without it belongs to someone else (permanent 84).
        """
        field, token = marker
        label = f"customer {ref}"
        values = {k: v for k, v in values.items() if k != "ACCOUNT_REF"}
        self._checked("SalesRecord", {"ACCOUNT_REF": ref, **values, field: token}, "create", label)

        def create(workspace: Any) -> Literal["created", "existing"]:
            record = workspace.CreateObject("SalesRecord")
            record.Fields.Item("ACCOUNT_REF").Value = ref
            if record.Find(False):
                if _text(record.Fields.Item(field).Value) == token:
                    return "existing"
                raise self._error(
                    84,
                    f"account {ref} exists and its {field} does not hold {token}",
                    "create",
                    label,
                )
            if not record.AddNew():
                code, text = self._last_error()
                raise self._error(code, text, "create", label)
            record.Fields.Item("ACCOUNT_REF").Value = ref
            for name, value in values.items():
                record.Fields.Item(name).Value = value
            record.Fields.Item(field).Value = token
            self._update(record, "create", label)
            return "created"

        return self._run("create", label, create)

    def edit_customer(self, ref: str, values: Mapping[str, object]) -> None:
        """Set `values` on customer `ref` (Find, Edit, Update)."""
        label = f"customer {ref}"
        self._checked("SalesRecord", values, "edit", label)

        def edit(workspace: Any) -> None:
            record = workspace.CreateObject("SalesRecord")
            record.Fields.Item("ACCOUNT_REF").Value = ref
            if not record.Find(False):
                raise self._error(None, f"there is no customer {ref}", "edit", label)
            if not record.Edit():
                code, text = self._last_error()
                raise self._error(code, text, "edit", label)
            for name, value in values.items():
                record.Fields.Item(name).Value = value
            self._update(record, "edit", label)

        self._run("edit", label, edit)

    # -- contact addresses (CustomerAddress, AddressType 1) -----------------------------------
    @staticmethod
    def _address_values(address: Any) -> dict[str, object]:
        values: dict[str, object] = {
            "AddressNumber": int(address.AddressNumber),
            "AddressType": int(address.AddressType),
        }
        for name, column in CONTACT_PROPERTIES.items():
            if name == "Country":
                country = address.Country
                values[name] = _text(country.Code) if country is not None else ""
            elif name == "TaxCode":
                tax = address.TaxCode
                values[name] = int(tax.TaxCodeID) if tax is not None else None
            elif column is not None or name == "EORINumber":
                with suppress(AttributeError):
                    values[name] = _text(getattr(address, name))
        values["ModifyDate"] = _naive(address.ModifyDate)
        return values

    def _contacts(self, workspace: Any, ref: str) -> list[dict[str, object]]:
        """Load(ref, 1, 2, ...) until `address_gap` numbers in a row are missing."""
        found: list[dict[str, object]] = []
        number, misses = 0, 0
        while misses < self.address_gap:
            number += 1
            address = workspace.CreateCustomerAddress()
            if not address.Load(ref, number):
                misses += 1
                continue
            misses = 0
            if int(address.AddressType) == CONTACT_ADDRESS:
                found.append(self._address_values(address))
        return found

    def contacts(self, ref: str) -> list[dict[str, object]]:
        """Customer `ref`'s contact addresses: AddressNumber, the properties, ModifyDate."""
        return self._run("read", f"the contacts of {ref}", lambda ws: self._contacts(ws, ref))

    def _set_address(self, workspace: Any, address: Any, values: Mapping[str, object]) -> None:
        for name, value in values.items():
            if name in ("Country", "TaxCode"):
                code = _text(value)
                if not code:
                    continue
                thing = (
                    workspace.CreateCountry() if name == "Country" else workspace.CreateTaxCode()
                )
                if not thing.Load(code):
                    raise self._error(
                        None, f"Sage has no {name} {code!r}", "write", f"{name} {code}"
                    )
                setattr(address, name, thing)
            else:
                setattr(address, name, "" if value is None else value)

    def _contact_values(
        self, values: Mapping[str, object], label: str, operation: str
    ) -> dict[str, object]:
        fixed = [n for n in values if n in CONTACT_READ_ONLY]
        if fixed:
            raise SageWriteError(
                None,
                f"{', '.join(fixed)} cannot be given",
                False,
                operation,
                label,
                advice="the writer sets them",
            )
        self._checked("CustomerAddress", values, operation, label)
        return dict(values)

    def create_contact(
        self, ref: str, values: Mapping[str, object], marker: tuple[str, str]
    ) -> int:
        """Add a contact address to customer `ref`; its AddressNumber.

        Idempotent: a contact address of `ref` whose `marker` property (e.g. Notes) holds the
        SSM id token is the one an earlier attempt wrote, and its number is returned.
        """
        prop, token = marker
        label = f"a contact of {ref}"
        values = dict(values)
        values[prop] = _with_token(values.get(prop), token)
        values = self._contact_values(values, label, "create")

        def create(workspace: Any) -> int:
            for contact in self._contacts(workspace, ref):
                if _carries(contact.get(prop), token):
                    return int(contact["AddressNumber"])  # type: ignore[call-overload]
            customer = workspace.CreateCustomer()
            if not customer.Load(ref):
                _code, text = self._last_error()
                raise self._error(None, f"there is no customer {ref} ({text})", "create", label)
            address = workspace.CreateCustomerAddress()
            address.Customer = customer
            address.AddressType = CONTACT_ADDRESS
            self._set_address(workspace, address, values)
            self._update(address, "create", label)
            return int(address.AddressNumber)

        return self._run("create", label, create)

    def edit_contact(
        self,
        ref: str,
        number: int,
        values: Mapping[str, object],
        marker: tuple[str, str] | None = None,
    ) -> None:
        """Set `values` on contact address `number` of `ref` (Load, set, Update); with
        `marker`, an edited marker property keeps its SSM id token."""
        label = f"contact {number} of {ref}"
        values = dict(values)
        if marker is not None and marker[0] in values:
            values[marker[0]] = _with_token(values[marker[0]], marker[1])
        values = self._contact_values(values, label, "edit")

        def edit(workspace: Any) -> None:
            address = workspace.CreateCustomerAddress()
            if not address.Load(ref, number):
                raise self._error(None, f"Sage has no address {number} of {ref}", "edit", label)
            if int(address.AddressType) != CONTACT_ADDRESS:
                raise self._error(
                    None, f"address {number} of {ref} is not a contact", "edit", label
                )
            self._set_address(workspace, address, values)
            self._update(address, "edit", label)

        self._run("edit", label, edit)

    # -- quotations (invoice calculator, SopPost, SopData) ------------------------------------
    def check_quote_fields(self) -> None:
        """Every SDO field the quote methods read or write exists (else one sentence naming
        the first missing one): call it once before quoting."""
        rules = PricingRules.from_env()
        customer = list(QUOTE_CUSTOMER_FIELDS)
        if rules.tax_code_from == "override_flag":
            customer.append(OVERRIDE_TAX_FIELD)
        self.check_fields("SalesRecord", customer)
        self.check_fields("StockRecord", QUOTE_PRODUCT_FIELDS)
        self.check_fields("SopPost", QUOTE_HEADER_FIELDS)
        self.check_fields("SopItem", QUOTE_ITEM_FIELDS)
        self.check_fields("SopData", QUOTE_FIND_FIELDS)
        self.check_fields("CurrencyData", CURRENCY_FIELDS)

    def _record(
        self, workspace: Any, record: Record, key: str, value: str, names: Sequence[str]
    ) -> dict[str, object] | None:
        """`names` of the record whose `key` is `value` (Find, exact), or None."""
        found = workspace.CreateObject(record)
        found.Fields.Item(key).Value = value
        if not found.Find(False):
            return None
        return {n: found.Fields.Item(n).Value for n in names}

    def price_quote(self, account_ref: str, lines: Sequence[tuple[str, Decimal]]) -> list[dict]:
        """Sage's price of each (stock code, quantity) for customer `account_ref`, in order:
        stock_code, description, quantity, list_unit_price, unit_price, discount_percent,
        discount_amount, net, tax_code, tax_rate, tax (Decimal amounts, in the customer's
        currency). Sage's `invoice` calculator prices the lines (AddItem with
        UseEnteredPrice 0, then Recalculate); the tax code each line is given is the one Sage's
        order entry takes (SAGE_PRICING_TAX_CODE_FROM), its rate Sage's TaxCode's."""
        label = f"a quote for {account_ref}"
        wanted = [(str(code), Decimal(str(qty))) for code, qty in lines]
        self._quote_lines_valid(wanted, "price", label)
        rules = PricingRules.from_env()
        override = rules.tax_code_from == "override_flag"
        customer_fields = [*QUOTE_CUSTOMER_FIELDS, *([OVERRIDE_TAX_FIELD] if override else [])]
        self.check_fields("SalesRecord", customer_fields)
        self.check_fields("StockRecord", QUOTE_PRODUCT_FIELDS)

        def price(workspace: Any) -> list[dict]:
            customer = self._record(
                workspace, "SalesRecord", "ACCOUNT_REF", account_ref, customer_fields
            )
            if customer is None:
                raise self._error(None, f"there is no customer {account_ref}", "price", label)
            invoice = workspace.CreateInvoice()
            invoice.CustomerReference = account_ref
            rates: dict[int, Decimal] = {}
            priced: list[tuple[dict[str, object], Decimal, Any, int]] = []
            for code, quantity in wanted:
                product = self._record(
                    workspace, "StockRecord", "STOCK_CODE", code, QUOTE_PRODUCT_FIELDS
                )
                if product is None:
                    raise self._error(None, f"Sage has no product {code}", "price", label)
                tax_code = _line_tax_code(rules.tax_code_from, customer, product)
                if tax_code not in rates:
                    rates[tax_code] = self._tax_rate(workspace, tax_code, label)
                line = self._add_item(invoice, code, quantity, tax_code, label)
                priced.append((product, quantity, line, tax_code))
            invoice.Recalculate()
            return [
                {
                    "stock_code": _text(product["STOCK_CODE"]),
                    "description": _text(product["DESCRIPTION"]),
                    "quantity": quantity,
                    "list_unit_price": _decimal(line.ListUnitPrice),
                    "unit_price": _decimal(line.ActualUnitPrice),
                    "discount_percent": _decimal(line.DiscountPercent),
                    "discount_amount": _decimal(line.DiscountAmount, PENNY),
                    "net": _decimal(line.NetTotal, PENNY),
                    "tax_code": tax_code,
                    "tax_rate": rates[tax_code],
                    "tax": _decimal(line.TaxTotal, PENNY),
                }
                for product, quantity, line, tax_code in priced
            ]

        return self._run("price", label, price)

    def _add_item(
        self, invoice: Any, code: str, quantity: Decimal, tax_code: int, label: str
    ) -> Any:
        """invoice.AddItem at Sage's price; Sage refusing the data (a COM exception whose
        LastError is not a lost connection) is permanent."""
        try:
            return invoice.AddItem(code, float(quantity), 0.0, 0.0, 0.0, tax_code, 0)
        except self._com_error as exc:
            code_, text = self._last_error()
            if code_ and code_ not in LOST_CONNECTION_CODES and code_ not in TRANSIENT_CODES:
                raise self._error(code_, text or _com_text(exc), "price", label) from None
            raise

    def _tax_rate(self, workspace: Any, tax_code: int, label: str) -> Decimal:
        tax = workspace.CreateTaxCode()
        if not tax.Load(tax_code):
            code, text = self._last_error()
            raise self._error(code, f"Sage has no tax code T{tax_code} ({text})", "price", label)
        return _decimal(tax.Rate)

    def _quote_lines_valid(
        self, lines: Sequence[tuple[str, Decimal]], operation: str, label: str
    ) -> None:
        if not lines:
            raise SageWriteError(
                None, "the quote has no lines", False, operation, label,
                advice="add products to the quote in SSM",
            )  # fmt: skip
        for code, quantity in lines:
            if not code.strip() or not quantity.is_finite() or quantity <= 0:
                raise SageWriteError(
                    None, f"line {code!r} x {quantity} is not a product and a quantity above 0",
                    False, operation, label, advice="fix the quote's lines in SSM",
                )  # fmt: skip

    def _find_quote(self, workspace: Any, marker: str) -> int | None:
        """The first SOP document whose CUST_ORDER_NUMBER is `marker` (SopData.FindFirst /
        FindNext). A quotation Sage converted into an order keeps its number and marker and
        counts too: it must not be posted again."""
        data = workspace.CreateObject("SopData")
        found = data.FindFirst("CUST_ORDER_NUMBER", marker)
        numbers: list[int] = []
        while found:
            if _text(data.Fields.Item("CUST_ORDER_NUMBER").Value) == marker:
                numbers.append(int(data.Fields.Item("ORDER_NUMBER").Value))
            found = data.FindNext("CUST_ORDER_NUMBER", marker)
        return min(numbers) if numbers else None

    def find_quote(self, marker: str) -> int | None:
        """The ORDER_NUMBER of the quotation carrying `marker` in CUST_ORDER_NUMBER, or None."""
        self.check_fields("SopData", QUOTE_FIND_FIELDS)
        return self._run("find", f"the quote {marker}", lambda ws: self._find_quote(ws, marker))

    def post_quote(
        self,
        account_ref: str,
        marker: str,
        lines: Sequence[Mapping[str, Any]],
        *,
        order_date: dt.date,
        taken_by: str,
    ) -> int:
        """Post a SOP quotation (open) for `account_ref` with `lines` (the dicts price_quote
        answered), CUST_ORDER_NUMBER = `marker`; its ORDER_NUMBER.

        Idempotent: a SOP document already carrying `marker` is the one an earlier attempt
        posted, and its number is returned. Name and address come from the customer's record;
        a foreign customer's quote carries its currency and the currency's exchange rate. Sage
        computes each line's VAT from its net (TAX_FLAG 0)."""
        label = f"quote {marker} for {account_ref}"
        items = [self._quote_item(line, label) for line in lines]
        self._quote_lines_valid(
            [(str(i["STOCK_CODE"]), Decimal(str(i["QTY_ORDER"]))) for i in items], "post", label
        )
        header = {
            "ACCOUNT_REF": account_ref,
            # A datetime: pywin32 passes it as a COM DATE (a bare date it may refuse).
            "ORDER_DATE": dt.datetime(order_date.year, order_date.month, order_date.day),
            "CUST_ORDER_NUMBER": marker,
            "TAKEN_BY": taken_by,
            "ORDER_TYPE": SOP_QUOTE,
            "QUOTE_STATUS": QUOTE_OPEN,
        }
        self._checked(
            "SopPost", {k: v for k, v in header.items() if k != "ORDER_DATE"}, "post", label
        )
        for item in items:
            self._checked("SopItem", item, "post", label)
        self.check_fields("SopPost", QUOTE_HEADER_FIELDS)
        self.check_fields("SalesRecord", QUOTE_CUSTOMER_FIELDS)
        self.check_fields("SopData", QUOTE_FIND_FIELDS)
        party = [f for f in QUOTE_CUSTOMER_FIELDS if f not in ("ACCOUNT_REF", "DEF_TAX_CODE")]

        def post(workspace: Any) -> int:
            posted = self._find_quote(workspace, marker)
            if posted is not None:
                return posted
            customer = self._record(workspace, "SalesRecord", "ACCOUNT_REF", account_ref, party)
            if customer is None:
                raise self._error(None, f"there is no customer {account_ref}", "post", label)
            currency = int(customer.pop("CURRENCY") or 0)  # type: ignore[call-overload]
            values = {**header, **{k: "" if v is None else v for k, v in customer.items()}}
            if currency != BASE_CURRENCY:
                rates = workspace.CreateObject("CurrencyData")
                if not rates.Read(currency + 1):  # CurrencyData numbers from 1
                    code, text = self._last_error()
                    raise self._error(code, f"no currency {currency + 1} ({text})", "post", label)
                values |= {
                    "CURRENCY": currency,
                    "CURRENCY_USED": currency,
                    "FOREIGN_RATE": float(rates.Fields.Item("EXCHANGE_RATE").Value),
                }
            sop = workspace.CreateObject("SopPost")
            for name, value in values.items():
                sop.Header.Fields.Item(name).Value = value
            for item in items:
                added = sop.Items.Add()
                for name, value in item.items():
                    added.Fields.Item(name).Value = value
            self._update(sop, "post", label)
            number = int(sop.Header.Fields.Item("ORDER_NUMBER").Value or 0)
            # An SDO that does not hand the number back: the marker finds it.
            number = number or self._find_quote(workspace, marker) or 0
            if not number:
                raise self._error(None, "Sage took the quote but gave no number", "post", label)
            return number

        return self._run("post", label, post)

    @staticmethod
    def _quote_item(line: Mapping[str, Any], label: str) -> dict[str, object]:
        """A price_quote line as SopPost item fields (amounts as SDO's doubles)."""
        missing = [k for k in QUOTE_LINE_KEYS if k not in line and k not in ("tax_rate", "tax")]
        if missing:
            raise SageWriteError(
                None, f"a quote line lacks {', '.join(missing)}", False, "post", label,
                advice="post the lines price_quote answered",
            )  # fmt: skip
        net = Decimal(str(line["net"]))
        discount = Decimal(str(line["discount_amount"]))
        return {
            "STOCK_CODE": str(line["stock_code"]),
            "DESCRIPTION": str(line["description"] or ""),
            "QTY_ORDER": float(line["quantity"]),
            "UNIT_PRICE": float(line["unit_price"]),
            "DISCOUNT_RATE": float(line["discount_percent"]),
            "DISCOUNT_AMOUNT": float(discount),
            "FULL_NET_AMOUNT": float(net + discount),
            "NET_AMOUNT": float(net),
            "TAX_CODE": int(line["tax_code"]),
            "TAX_FLAG": 0,
        }


class _NoComError(Exception):
    """Placeholder until an engine is dispatched (nothing raises it)."""


def _com_text(exc: BaseException) -> str:
    """A COM exception's description (excepinfo[2]) or its strerror."""
    info = getattr(exc, "excepinfo", None)
    if info and len(info) > 2 and info[2]:
        return str(info[2])
    return str(getattr(exc, "strerror", "") or exc)


def _decimal(value: object, places: Decimal | None = None) -> Decimal:
    """An SDO double as the decimal of its shortest text, to `places` when given."""
    number = Decimal(str(value if value is not None else 0))
    return number.quantize(places) if places is not None else number


def _tax_number(value: object) -> int | None:
    """A tax code as SDO's number: 1 (SDO) or 'T1' (the stand-in's ODBC spelling)."""
    text = _text(value).upper().removeprefix("T")
    return int(text) if text.isdigit() else None


def _line_tax_code(
    source: str, customer: Mapping[str, object], product: Mapping[str, object]
) -> int:
    """The tax code Sage's order entry gives a product's line (SAGE_PRICING_TAX_CODE_FROM):
    the product's, or the customer's default when `customer` or when the customer's "Use
    Default Tax Code for Sales" is ticked (`override_flag`). AddItem needs it given."""
    use_customer = source == "customer" or (
        source == "override_flag" and bool(customer.get(OVERRIDE_TAX_FIELD))
    )
    chosen = customer.get("DEF_TAX_CODE") if use_customer else product.get("TAX_CODE")
    number = _tax_number(chosen)
    return number if number is not None else 1  # Sage's default, T1


def _names_field(exc: BaseException) -> bool:
    """Whether a COM exception says the field name is unknown (SDO's own wording varies)."""
    text = _com_text(exc).lower()
    return "field" in text and ("not found" in text or "invalid" in text)


class SageWriterResource(dg.ConfigurableResource):
    """The Sage company the reverse flow writes, through SDO (see `SageWriter`).

    `password` is a secret: give it as `dg.EnvVar("SAGE_SDO_PASSWORD")`.
    """

    engine: str = "python:sandbox.sdo:SDOEngine"
    data_path: str
    user: str = "SSMSYNC"
    password: str = ""
    unique: str = "ssm-connector"
    retry_attempts: int = 5
    retry_first_wait_seconds: float = 1.0
    retry_max_wait_seconds: float = 30.0
    session_lock_dir: str = ""
    session_wait_seconds: float = 600.0

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # The resolved password must not reach a log or an error through repr().
        return [(k, "***" if k == "password" and v else v) for k, v in super().__repr_args__()]

    def get_writer(self) -> SageWriter:
        """A connected-on-first-use writer; use it as a context manager."""
        return SageWriter(
            engine=self.engine,
            data_path=self.data_path,
            user=self.user,
            password=self.password,
            unique=self.unique,
            retry=RetryPolicy(
                attempts=self.retry_attempts,
                first_wait_seconds=self.retry_first_wait_seconds,
                max_wait_seconds=self.retry_max_wait_seconds,
            ),
            session_lock=session_lock(self.session_lock_dir, self.data_path, self.user)
            if self.session_lock_dir
            else None,
            session_wait_seconds=self.session_wait_seconds,
        )


def session_lock(directory: str | Path, data_path: str, user: str) -> Path:
    """The lock file of one Sage user's session on one company (named by a digest)."""
    digest = hashlib.sha256(f"{data_path}\n{user}".lower().encode()).hexdigest()[:16]
    return Path(directory) / f"sage-session-{digest}.lock"
