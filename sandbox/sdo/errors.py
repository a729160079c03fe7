"""SDO's error codes and texts, and the COM exception a lost connection raises."""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """The `ErrorCode` values the stand-in sets (sage50-sdo-enums.txt; the rest exist in Sage)."""

    sdoNone = 0
    sdoInvalidName = 15
    sdoNotConnected = 16
    sdoInvalidKey = 17
    sdoInvalidValue = 18
    sdoInvalidUse = 19
    sdoLogonFail = 21
    sdoLogonPassword = 22
    sdoLogonNameInUse = 23
    sdoLogonExclusive = 24
    sdoBadDataPath = 25
    sdoBadUpdateMode = 27
    sdoLogonUserCountExceeded = 30
    sdoCurrencyDoesNotMatch = 34
    sdoForeignRateSetOnBase = 35
    sdoCannotCreateMultipleRegisteredAddresses = 45
    sdoFileLockedAccountsBusy = 48
    sdoEmptyAccountReference = 63
    sdoAccountRefContainsSpaces = 82
    sdoAddressLineIsTooLong = 83
    sdoAccountRefAlreadyExists = 84
    sdoAccountRefContainsInvalidCharacters = 86
    sdoInvalidDate = 87
    sdoConnectionKickedOut = 91
    sdoUserBeingEdited = 93
    sdoUnableConnectToDataService = 94
    sdoOnConnectionClosedException = 108


# Texts in Sage's words where integrators quote them (reference §2.1), else the enum's meaning.
TEXTS: dict[int, str] = {
    0: "",
    15: "Invalid object name",
    16: "Not connected",
    17: "Invalid key",
    18: "Invalid value",
    19: "Invalid use",
    21: "Logon failed",
    22: "Invalid password",
    23: "Username is already in use",
    24: "Line 50 is in exclusive mode",
    25: "Bad data path",
    27: "Update called without AddNew or Edit",
    30: "User count exceeded",
    34: "Currency does not match the account's currency",
    35: "Foreign rate set on a base currency document",
    45: "Cannot create multiple registered addresses",
    48: "Accounts application is busy",
    63: "Empty account reference",
    82: "Account reference contains spaces",
    83: "Address line is too long",
    84: "Account reference already exists",
    86: "Account reference contains invalid characters",
    87: "Invalid date",
    91: "Connection kicked out",
    93: "User is being edited",
    94: "Unable to connect to the data service",
    108: "Connection closed",
}


def text_of(code: int) -> str:
    return TEXTS.get(code, f"SDO error {code}")


# HRESULTs as pywin32 reports them (signed 32-bit).
DISP_E_EXCEPTION = -2147352567  # 0x80020009: the server raised; details in excepinfo
DISP_E_TYPEMISMATCH = -2147352571  # 0x80020005
DISP_E_BADINDEX = -2147352565  # 0x8002000B
RPC_E_DISCONNECTED = (
    -2147417848
)  # 0x80010108: "The object invoked has disconnected from its clients."


class com_error(Exception):  # noqa: N801 - the name pywintypes gives it
    """Shaped like `pywintypes.com_error`: args (hresult, strerror, excepinfo, argerr), with
    excepinfo (wcode, source, description, helpfile, helpcontext, scode) or None."""

    def __init__(
        self,
        hresult: int,
        strerror: str,
        excepinfo: tuple[int, str, str, str | None, int, int] | None = None,
        argerr: int | None = None,
    ) -> None:
        super().__init__(hresult, strerror, excepinfo, argerr)
        self.hresult = hresult
        self.strerror = strerror
        self.excepinfo = excepinfo
        self.argerr = argerr


def disconnected() -> com_error:
    """What a call on a workspace whose connection was lost raises."""
    return com_error(
        RPC_E_DISCONNECTED, "The object invoked has disconnected from its clients.", None, None
    )


def raised(description: str, hresult: int = DISP_E_EXCEPTION) -> com_error:
    """An exception the SDO server raised (a bad name or type), as DISP_E_EXCEPTION."""
    return com_error(
        hresult, "Exception occurred.", (0, "SDOEngine", description, None, 0, hresult), None
    )
