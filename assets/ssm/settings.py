"""Settings of the push that differ between companies, read from the environment.

| variable | default | meaning |
|---|---|---|
| `SAGE_REP_FIELD` | `analysis_2` | the `staging.customer_accounts` column that holds the rep (extId or full name) |
| `SSM_CUSTOM_FIELDS` | `{}` | JSON object renaming the contract's `Z_` fields: `{"Z_Balance": "Z_Saldo"}` |
| `SSM_ADMIN_USER` | `1` | the admin user (SSM id, extId, e-mail or full name) given to accounts without a rep, at creation |
| `SSM_BRANCH` | the default branch | the branch (id or description) new accounts and orders are filed under |
| `SSM_CLIENT_STATUS` | `Client` | the account status (description) of a Sage customer |
| `SSM_CREATE_USERS` | `false` | create SSM users for unmatched Sage reps (users are billable) |
| `SSM_DELETE_ADOPTED` | `false` | also delete, when Sage deletes them, the records the first push adopted (found in SSM under the same key, not created by the connector) |
| `SAGE_PROSPECTS` | `sage` | `sage`: prospects are mirrored into Sage as customer records carrying the prospect marker; `ssm_only`: prospects stay in SSM (no Sage customer is ever a prospect) |
| `SAGE_PROSPECT_MARKER` | `analysis_1=Prospect` | `<staging.customer_accounts column>=<value>`: a customer whose column holds the value (trimmed, any case) is a prospect; the reverse flow writes the value into the SDO field of the column's name upper-cased (`ANALYSIS_1`) |
| `SAGE_PROSPECT_CONVERSION` | `marker` | when Sage converts a prospect into a customer: `marker` (the marker is removed) or `first_invoice` (its first invoice, `last_invoice_date` set, even if the marker stays) |
| `SSM_PROSPECT_STATUS` | `Potential` | the account status (description) of a prospect in SSM |
| `SSM_QUOTE_STATUS` | `Quote - pending` | the sales-order status (description) of a rep's quote waiting for Sage's prices; created in SSM if missing |
| `SSM_QUOTE_PRICED_STATUS` | `Quote - priced` | the status of a quote once Sage has priced it (read-only); created if missing |
| `SSM_QUOTE_ORDERED_STATUS` | `Order` | the status a priced quote gets when Sage converts it into a sales order; empty: leave the status as it is |
| `SSM_EXT_ID_PREFIX` | empty | put in front of every `extId` this company's Sage records carry in SSM (`NORTH-` → `NORTH-ABS001`), so several Sage companies share one tenant without meeting; users and value lists keep theirs |
| `SSM_SHARED_KEYS_OWNER` | `true` | with an empty prefix and several companies (shared keys): `true` on the company that writes the shared accounts and contacts; `false`: this company never creates, updates or deletes them, it finds them by extId and attaches its own documents |
| `SSM_TAKES_NEW_ACCOUNTS` | `true` | without `SSM_BRANCH`: this company writes reps' new SSM accounts into its Sage (set it on one company only); with `SSM_BRANCH`, the accounts of that branch are this company's |
| `SSM_INACTIVE_STATUS` | `Inactive` | the account status (description) of a closed/inactive Sage customer; created in SSM if missing; empty: it keeps the Client status and only `Z_Inactive` says it |
| `SSM_USER_EMAIL` | empty | with `SSM_CREATE_USERS=true`: the e-mail SSM requires of a new user, a template over the rep's name: `{first}`, `{last}` (lower-case, letters and digits) and `{rep}` (the rep value, the same): `{first}.{last}@example.com`; empty: a rep whose Sage value is itself an e-mail gets it, the others are skipped with the reason |
| `SSM_EXT_ID_REKEY` | `false` | let a push re-key records SSM holds under another prefix (after `SSM_EXT_ID_PREFIX` changed): each is updated to its new extId; without it such a push stops with one sentence |
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, TypeVar

# What the quote flow writes into a Sage quotation's customer order number (CUST_ORDER_NUMBER),
# followed by the SSM order id: how the push knows a Sage document came from a rep's quote.
QUOTE_MARKER = "SSM:"

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# An e-mail whose local part may hold the placeholders {first}, {last}, {rep}.
_EMAIL_TEMPLATE = re.compile(
    r"(?:[A-Za-z0-9._+-]|\{(?:first|last|rep)\})+@[A-Za-z0-9.-]+\.[A-Za-z]+"
)


def _email_part(name: str) -> str:
    """A name as an e-mail's local part: lower-case letters and digits, words joined by dots."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    return ".".join(words) or "rep"


# SSM's extId holds 30 characters (ssm-api-v4.md §"extId"); the prefix leaves room for the key.
EXT_ID_LENGTH = 30
PREFIX_LENGTH = 10


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes"}


class ProspectsIn(StrEnum):
    """Where a prospect lives (SAGE_PROSPECTS). The vendor's UK docs say both: Sage 50 UK has no
    prospect entity, and prospects sync both ways with Sage; the README explains the choice."""

    SAGE = "sage"  # mirrored into Sage as a customer record carrying the marker
    SSM_ONLY = "ssm_only"  # kept in SSM; no Sage customer is ever a prospect


class ProspectConversion(StrEnum):
    """What turns a Sage prospect into a customer (SAGE_PROSPECT_CONVERSION)."""

    MARKER = "marker"  # the marker is removed in Sage
    FIRST_INVOICE = "first_invoice"  # its first invoice (last_invoice_date set), marker or not


_Choice = TypeVar("_Choice", bound=StrEnum)


class SdoValue(NamedTuple):
    """A Sage Data Objects field and the value the reverse flow writes into it."""

    field: str
    value: str


def _choice(kind: type[_Choice], value: object, variable: str) -> _Choice:
    try:
        return kind(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise ValueError(f"{variable}={value!r} is not one of {allowed}") from None


def parse_prospect_marker(text: str) -> tuple[str, str]:
    """`SAGE_PROSPECT_MARKER` (`analysis_1=Prospect`) as (column, value)."""
    column, equals, value = text.partition("=")
    column, value = column.strip().lower(), value.strip()
    if not equals or not _IDENTIFIER.match(column) or not value:
        raise ValueError(
            f"SAGE_PROSPECT_MARKER={text!r} is not <column>=<value>; use e.g. analysis_1=Prospect"
        )
    return column, value


def check_ext_id_prefix(prefix: str) -> None:
    """One sentence naming SSM_EXT_ID_PREFIX when the prefix cannot mark SSM extIds: it goes
    into SQL text and SSM `where` literals (no quote), and SSM keeps 30 characters of extId."""
    if not prefix:
        return
    if not prefix.isprintable() or not prefix.isascii() or prefix != prefix.strip():
        raise ValueError(
            f"SSM_EXT_ID_PREFIX={prefix!r} must be printable ASCII without surrounding spaces"
        )
    if "'" in prefix:
        raise ValueError(f"SSM_EXT_ID_PREFIX={prefix!r} must not contain a quote (')")
    if len(prefix) > PREFIX_LENGTH:
        raise ValueError(
            f"SSM_EXT_ID_PREFIX={prefix!r} is {len(prefix)} characters: at most "
            f"{PREFIX_LENGTH}, so that the Sage keys after it fit SSM's {EXT_ID_LENGTH}-character "
            "extId (e.g. NORTH-)"
        )


@dataclass(frozen=True)
class SyncSettings:
    rep_column: str = "analysis_2"
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    admin_user: str = "1"
    branch: str | None = None
    client_status: str = "Client"
    create_users: bool = False
    # Adopted records were made by someone else (the vendor's connector, an import): by default
    # a Sage delete leaves them live in SSM, as the connector deletes only what it created.
    delete_adopted: bool = False
    prospects: ProspectsIn = ProspectsIn.SAGE
    # the staging.customer_accounts column and value that mark a Sage customer as a prospect
    prospect_column: str = "analysis_1"
    prospect_marker: str = "Prospect"
    prospect_conversion: ProspectConversion = ProspectConversion.MARKER
    prospect_status: str = "Potential"
    quote_status: str = "Quote - pending"
    quote_priced_status: str = "Quote - priced"
    quote_ordered_status: str = "Order"
    # Several Sage companies in one tenant: the company's mark on the extIds of its records.
    ext_id_prefix: str = ""
    # Shared keys (no prefix): False on every company but the one that writes shared parties.
    shared_keys_owner: bool = True
    # A rep's new account (no extId) without SSM_BRANCH: True on exactly one company.
    takes_new_accounts: bool = True
    # A customer's own SSM rate holds its special prices only (False) or its price list's other
    # prices as well (True): every list price then repeats once per customer with special prices
    # (603 customers x 19,203 prices = 11.6 million product rates on the large demo company).
    special_rates_with_list: bool = False
    rekey_ext_ids: bool = False
    # A closed/inactive customer's account status in SSM; empty: it stays a Client.
    inactive_status: str = "Inactive"
    # The e-mail template of a user the push creates (SSM requires one); empty: none.
    user_email: str = ""

    def __post_init__(self) -> None:
        check_ext_id_prefix(self.ext_id_prefix)
        if not _IDENTIFIER.match(self.rep_column):
            raise ValueError(
                f"SAGE_REP_FIELD={self.rep_column!r} is not a column name; use e.g. analysis_2"
            )
        for name in self.custom_fields.values():
            if not name.startswith("Z_"):
                raise ValueError(f"SSM_CUSTOM_FIELDS: {name!r} must start with Z_")
        # Plain strings (a test's, a caller's) become the enums, or one clear sentence.
        object.__setattr__(
            self, "prospects", _choice(ProspectsIn, self.prospects, "SAGE_PROSPECTS")
        )
        object.__setattr__(
            self,
            "prospect_conversion",
            _choice(ProspectConversion, self.prospect_conversion, "SAGE_PROSPECT_CONVERSION"),
        )
        parse_prospect_marker(f"{self.prospect_column}={self.prospect_marker}")
        if self.prospects_in_sage and self.prospect_column == self.rep_column:
            raise ValueError(
                f"SAGE_PROSPECT_MARKER's column {self.prospect_column} is also SAGE_REP_FIELD, "
                "which holds the rep; mark prospects in another column (e.g. analysis_1)"
            )
        if self.user_email and not _EMAIL_TEMPLATE.fullmatch(self.user_email):
            raise ValueError(
                f"SSM_USER_EMAIL={self.user_email!r} is not an e-mail template: use e.g. "
                "{first}.{last}@example.com ({first}, {last}, {rep} are the rep's)"
            )
        if self.inactive_status.strip().lower() in {
            self.client_status.strip().lower(),
            self.prospect_status.strip().lower(),
        }:
            raise ValueError(
                f"SSM_INACTIVE_STATUS={self.inactive_status!r} is also the client or prospect "
                "status; name a status of its own (e.g. Inactive), or leave it empty"
            )
        if not self.prospect_status.strip():
            raise ValueError("SSM_PROSPECT_STATUS is empty; name an SSM account status")
        if self.prospect_status.strip().lower() == self.client_status.strip().lower():
            raise ValueError(
                f"SSM_PROSPECT_STATUS and SSM_CLIENT_STATUS are both {self.client_status!r}; a "
                "prospect needs a status of its own (e.g. Potential) so its conversion shows"
            )

    @property
    def prospects_in_sage(self) -> bool:
        return self.prospects is ProspectsIn.SAGE

    @property
    def first_invoice_converts(self) -> bool:
        return self.prospect_conversion is ProspectConversion.FIRST_INVOICE

    @property
    def prospect_marker_sdo(self) -> SdoValue:
        """The SDO customer field (`SalesRecord`) and value the reverse flow marks a prospect
        with: the marker column's name upper-cased (ANALYSIS_1), the value as configured. SDO
        names are mostly the ODBC ones; the writer checks the field against `Fields`."""
        return SdoValue(self.prospect_column.upper(), self.prospect_marker.strip())

    @property
    def writes_parties(self) -> bool:
        """Whether this company creates, updates and deletes accounts and contacts in SSM: with
        a prefix they are its own; with shared keys only the owner writes them."""
        return bool(self.ext_id_prefix) or self.shared_keys_owner

    def ssm_ext_id(self, sage_key: str) -> str:
        """The extId SSM holds for one of this company's Sage keys."""
        return f"{self.ext_id_prefix}{sage_key}"

    def sage_key(self, ext_id: object) -> str | None:
        """The Sage key of an SSM extId when it is this company's (its prefix stripped), None
        when it carries another company's (or no) prefix. No prefix: every extId as it is."""
        if ext_id is None:
            return None
        text = str(ext_id).strip()
        if not self.ext_id_prefix:
            return text or None
        if not text.startswith(self.ext_id_prefix) or len(text) == len(self.ext_id_prefix):
            return None
        return text[len(self.ext_id_prefix) :]

    def new_user_email(self, rep: str, first_name: str, last_name: str) -> str | None:
        """The e-mail a user created for `rep` gets (SSM requires one): the template's
        (SSM_USER_EMAIL), else the rep's own value when it is an e-mail; None: no e-mail."""
        if self.user_email:
            parts = {
                "first": _email_part(first_name),
                "last": _email_part(last_name),
                "rep": _email_part(rep),
            }
            return self.user_email.format(**parts)
        return rep.strip() if _EMAIL.fullmatch(rep.strip()) else None

    def custom_name(self, default: str) -> str:
        return self.custom_fields.get(default, default)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SyncSettings:
        env = os.environ if environ is None else environ
        custom = env.get("SSM_CUSTOM_FIELDS", "").strip()
        try:
            custom_fields = json.loads(custom) if custom else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"SSM_CUSTOM_FIELDS is not a JSON object: {exc}") from exc
        prospect_column, prospect_marker = parse_prospect_marker(
            env.get("SAGE_PROSPECT_MARKER") or "analysis_1=Prospect"
        )
        return cls(
            rep_column=env.get("SAGE_REP_FIELD", "analysis_2").strip().lower(),
            custom_fields=dict(custom_fields),
            admin_user=env.get("SSM_ADMIN_USER", "1").strip(),
            branch=env.get("SSM_BRANCH") or None,
            client_status=env.get("SSM_CLIENT_STATUS", "Client"),
            create_users=_flag(env.get("SSM_CREATE_USERS", "false")),
            delete_adopted=_flag(env.get("SSM_DELETE_ADOPTED", "false")),
            prospects=_choice(ProspectsIn, env.get("SAGE_PROSPECTS") or "sage", "SAGE_PROSPECTS"),
            prospect_column=prospect_column,
            prospect_marker=prospect_marker,
            prospect_conversion=_choice(
                ProspectConversion,
                env.get("SAGE_PROSPECT_CONVERSION") or "marker",
                "SAGE_PROSPECT_CONVERSION",
            ),
            prospect_status=(env.get("SSM_PROSPECT_STATUS") or "Potential").strip(),
            quote_status=(env.get("SSM_QUOTE_STATUS") or "Quote - pending").strip(),
            quote_priced_status=(env.get("SSM_QUOTE_PRICED_STATUS") or "Quote - priced").strip(),
            quote_ordered_status=env.get("SSM_QUOTE_ORDERED_STATUS", "Order").strip(),
            ext_id_prefix=env.get("SSM_EXT_ID_PREFIX", "").strip(),
            shared_keys_owner=_flag(env.get("SSM_SHARED_KEYS_OWNER") or "true"),
            takes_new_accounts=_flag(env.get("SSM_TAKES_NEW_ACCOUNTS") or "true"),
            special_rates_with_list=_flag(env.get("SSM_SPECIAL_RATES_WITH_LIST") or "false"),
            rekey_ext_ids=_flag(env.get("SSM_EXT_ID_REKEY") or "false"),
            inactive_status=env.get("SSM_INACTIVE_STATUS", "Inactive").strip(),
            user_email=env.get("SSM_USER_EMAIL", "").strip(),
        )
