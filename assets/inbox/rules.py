"""The reverse flow's catalogue: which SSM field becomes which Sage Data Objects field.

Declarative, one row per field, for the two records the reverse flow writes: a customer
(`SalesRecord`) and a contact address (`CustomerAddress`, AddressType 1). The same mapping reads
a Sage record back into SSM's terms, to tell an SSM edit from the echo of a push and to find
fields edited on both sides. The one-way push maps the same columns the other way
(assets/ssm/sql/desired_accounts.sql, desired_contacts.sql), so a record round-trips unchanged.

Settings (environment):

| variable | default | meaning |
|---|---|---|
| `SSM_POLL_SECONDS` | `30` | how often the sensor `ssm_changes` polls SSM's change feed |
| `SSM_FEED_OVERLAP_SECONDS` | `300` | the feed re-reads this much before its watermark (late commits) |
| `SAGE_ACCOUNT_CODE` | `name` | new account codes: `name` (Sage's style: the name's first letters, upper case, ≤ 8, a number on a clash) or `sequence:<PREFIX>` (PREFIX + a number, e.g. `SSM00001`) |
| `SAGE_SDO_REP_FIELD` | `SAGE_REP_FIELD` upper-cased (`ANALYSIS_2`) | the SDO customer field that takes the rep's full name (the seeds name `SALES_REP`, unconfirmed) |
| `SAGE_SDO_SSM_ID_FIELD` | `ANALYSIS_3` | the SDO customer field that keeps the SSM account id (`SSM:<id>`), so a write whose answer was lost is found, never made twice |
| `SAGE_NEW_CUSTOMER_PRICE_LIST` | none | a price list every new customer gets (SDO `PRICE_LIST_REF`) |
| `SSM_SYNC_ERROR_FIELD` | `Z_SageSync` | the SSM custom field where a rep reads why a record did not reach Sage |
| `SSM_QUOTE_POLL_SECONDS` | `15` | how often the sensor `ssm_quotes` polls SSM for quotes waiting for Sage's prices |
| `SSM_QUOTE_SETTLE_SECONDS` | `5` | a quote is priced once neither it nor its lines changed for this long (a rep's client posts the order, then its lines) |
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from assets.ssm.contract import CLIENT_COMPANIES, SSM_CONTACTS, SageField
from assets.ssm.settings import QUOTE_MARKER, SyncSettings

# The field maps live in the contract, the one place that says who owns what.
CUSTOMER_FIELDS: tuple[SageField, ...] = CLIENT_COMPANIES.sage_fields
CONTACT_FIELDS: tuple[SageField, ...] = SSM_CONTACTS.sage_fields
FULL_NAME = "firstName + lastName"  # SSM's two names are Sage's one contact name
CONTACT_MARKER_PROPERTY = "Notes"  # keeps "SSM:<contact id>", as ANALYSIS_3 does for customers


def _int(env: Mapping[str, str], name: str, default: int, low: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number of seconds") from None
    if value < low:
        raise ValueError(f"{name} must be at least {low}, not {value}")
    return value


_SDO_FIELD = re.compile(r"^[A-Z][A-Z0-9_]*$")
_PREFIX = re.compile(r"^[A-Z0-9]{1,5}$")


@dataclass(frozen=True)
class ReverseSettings:
    poll_seconds: int = 30
    overlap_seconds: int = 300
    account_code: str = "name"  # or "sequence:<PREFIX>"
    rep_field: str = "ANALYSIS_2"
    ssm_id_field: str = "ANALYSIS_3"
    price_list: str | None = None
    error_field: str = "Z_SageSync"
    quote_poll_seconds: int = 15
    quote_settle_seconds: int = 5

    def __post_init__(self) -> None:
        for setting, name in (
            ("SAGE_SDO_REP_FIELD", self.rep_field),
            ("SAGE_SDO_SSM_ID_FIELD", self.ssm_id_field),
        ):
            if not _SDO_FIELD.match(name):
                raise ValueError(f"{setting}={name!r} is not an SDO field name (e.g. ANALYSIS_2)")
        if self.account_code != "name":
            kind, _, prefix = self.account_code.partition(":")
            if kind != "sequence" or not _PREFIX.match(prefix):
                raise ValueError(
                    f"SAGE_ACCOUNT_CODE={self.account_code!r}: use `name`, or `sequence:<PREFIX>` "
                    "with a prefix of 1-5 upper-case letters or digits (e.g. sequence:SSM)"
                )
        if not self.error_field.startswith("Z_"):
            raise ValueError(f"SSM_SYNC_ERROR_FIELD={self.error_field!r} must start with Z_")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, sync: SyncSettings | None = None
    ) -> ReverseSettings:
        env = os.environ if environ is None else environ
        sync = sync or SyncSettings.from_env(env)
        return cls(
            poll_seconds=_int(env, "SSM_POLL_SECONDS", 30),
            overlap_seconds=_int(env, "SSM_FEED_OVERLAP_SECONDS", 300, low=0),
            account_code=env.get("SAGE_ACCOUNT_CODE", "name").strip() or "name",
            rep_field=(env.get("SAGE_SDO_REP_FIELD") or sync.rep_column).strip().upper(),
            ssm_id_field=(env.get("SAGE_SDO_SSM_ID_FIELD") or "ANALYSIS_3").strip().upper(),
            price_list=(env.get("SAGE_NEW_CUSTOMER_PRICE_LIST") or "").strip() or None,
            error_field=(env.get("SSM_SYNC_ERROR_FIELD") or "Z_SageSync").strip(),
            quote_poll_seconds=_int(env, "SSM_QUOTE_POLL_SECONDS", 15),
            quote_settle_seconds=_int(env, "SSM_QUOTE_SETTLE_SECONDS", 5, low=0),
        )


def ssm_marker(ssm_id: int) -> str:
    """What Sage keeps of the SSM record it was written from (idempotency key)."""
    return f"{QUOTE_MARKER}{int(ssm_id)}"


def clean(value: Any) -> Any:
    """SSM's empty text and Sage's empty text both mean nothing."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def full_name(first: Any, last: Any) -> str | None:
    return clean(" ".join(str(clean(p) or "") for p in (first, last)).strip())


def split_name(name: Any) -> tuple[str | None, str | None]:
    """Sage's one contact name as SSM's first and last name, the way the push splits it."""
    text = clean(name)
    if text is None:
        return None, None
    first, _, rest = str(text).partition(" ")
    return first, (clean(rest) or text)


# --- account codes -------------------------------------------------------------------------

CODE_LENGTH = 8  # SALES_LEDGER.ACCOUNT_REF


def _letters(name: str) -> str:
    """The name in Sage's code alphabet: ASCII upper-case letters and digits only."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z0-9]", "", ascii_name.upper())


def account_code(
    name: str, taken: Callable[[str], bool], strategy: str = "name", sequence: int = 0
) -> str:
    """A free account code in Sage's style: upper case, no spaces, at most 8 characters.

    `name`: the first 8 letters/digits of the company name (ACMETRAD); on a clash, the first
    letters and a number (ACMETR01 … ACMET999). `sequence:<PREFIX>`: PREFIX and the next free
    number after `sequence`, zero-padded to 8 (SSM00001).
    """
    if strategy.startswith("sequence:"):
        prefix = strategy.partition(":")[2]
        width = CODE_LENGTH - len(prefix)
        for number in range(sequence + 1, 10**width):
            code = f"{prefix}{number:0{width}d}"
            if not taken(code):
                return code
        raise ValueError(f"no free account code left with prefix {prefix}")
    base = _letters(name) or "SSM"
    if not taken(base[:CODE_LENGTH]):
        return base[:CODE_LENGTH]
    for digits in (2, 3, 4):
        stem = base[: CODE_LENGTH - digits]
        for number in range(1, 10**digits):
            code = f"{stem}{number:0{digits}d}"
            if not taken(code):
                return code
    raise ValueError(f"no free account code for {name!r}")


# --- validation ------------------------------------------------------------------------------


def too_long(values: Mapping[str, Any], lengths: Mapping[str, int]) -> list[str]:
    """Sage refuses (or, worse, cuts) a value longer than its field: say which, never cut."""
    problems = []
    for name, value in values.items():
        limit = lengths.get(name)
        if limit and isinstance(value, str) and len(value) > limit:
            problems.append(f"{name} is {len(value)} characters, Sage holds {limit}")
    return problems


def missing(fields: Iterable[SageField], values: Mapping[str, Any]) -> list[str]:
    return [f.ssm for f in fields if f.required and clean(values.get(f.sage)) is None]
