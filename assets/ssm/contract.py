"""The sync contract: for every SSM resource, who owns what and how it moves.

This module is the one place that says which Sage table feeds which SSM resource, how the Sage
code becomes `extId`, how each field maps, which side owns it, the direction, the delete policy,
the read-only rule and the conflict rule. The push engine (`plan.py`, `apply.py`), the Dagster
asset descriptions and metadata, and the page `docs/sync-contract.md` are all generated from it:
`python -m assets.ssm.contract` rewrites the page, and a test fails when the page is stale.

Each pushed resource also declares the columns of its desired state (`desired_columns`) and the
staging/derived columns each is computed from, so `assets/lineage.py` can trace every SSM field
back to its Sage table and column (docs/lineage.md).

The rules come from the seed documents (Sage 50 UKI ⇄ SSM accounts, FAQs, Sage 50 FR) and are
summarised in the project's DESIGN.md. Reverse-flow entities (SSM → Sage, `reverse=True`) carry
the Sage fields the reverse flow (assets/inbox) writes; quotations are listed, `built=False`, until
they are built.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from assets.docs_page import write_or_check
from assets.staging.factory import Column, col

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "sync-contract.md"

# The sync status SSM shows on a Sage-owned record (seed 004: once synchronised, a record is
# marked as synchronised), on the resources with `synced_at`: renamable like every `Z_` field.
SYNCED_AT = "Z_SyncedAt"
SYNCED_AT_MEANING = (
    "last time the connector wrote this record: the UTC time of the push's create or update "
    "(ISO 8601, as SSM writes its own dates), sent in the same body, so it costs no call; not "
    "part of the compared payload, so it never makes a record changed: an unchanged record "
    "keeps the time of its last write, and a record adopted from SSM that never needed a write "
    "has none"
)


class Direction(StrEnum):
    SAGE_TO_SSM = "Sage → SSM"
    SSM_TO_SAGE = "SSM → Sage"
    BOTH = "both ways"
    SSM_TO_SAGE_TO_SSM = "SSM → Sage → SSM"


class Owner(StrEnum):
    SAGE = "Sage"
    SSM = "SSM"
    CONNECTOR = "connector"  # constants and rules the connector itself sets (readOnly, status)


class When(StrEnum):
    ALWAYS = "create and update"
    CREATE = "create only"


@dataclass(frozen=True)
class ValueList:
    """An SSM value list (or the users list) that a Sage value is matched against.

    `key` names what the Sage value is matched with; `assets/ssm/value_lists.py` stores, per
    list, every key an item can be found by (id, ISO code, description, extId, full name).
    """

    name: str
    key: str


@dataclass(frozen=True)
class FieldRule:
    """One SSM field: where its value comes from and who owns it.

    Exactly one of `column` (a column of `ssm.desired_<resource>`), `literal` (a constant) or
    `setting` (a value from `SyncSettings`, such as the default branch) is the source.
    `lookup` turns the source value into an SSM value-list id; `parent` says the column holds
    the extId of a record of another resource whose SSM id must be known (else the record
    waits, reported as deferred). `keep_when_null`: a null never overwrites SSM (the record
    keeps what it has). `create_default`: the value used at creation when the source is null.
    `custom`: an `Z_` extra field whose name can be renamed through `SSM_CUSTOM_FIELDS`.
    `user_ext_id` (with `parent="users"`): the value is the matched SSM user's own extId (read
    with the value lists), or the source value when that user has none, instead of its id.
    `sage_key`: the value is a Sage key as SSM sees it (a record's extId, the account code
    `/sales` links by, an order number shown as reference): it carries the company's
    `SSM_EXT_ID_PREFIX` (`plan.payload_sql`, the one place that adds it).
    `instead` (flag column, setting): when that boolean desired column is true and the setting
    is not empty, the setting's value replaces the column's (an inactive account's status).
    """

    ssm: str
    description: str
    column: str | None = None
    literal: object = None
    setting: str | None = None
    owner: Owner = Owner.SAGE
    when: When = When.ALWAYS
    lookup: ValueList | None = None
    parent: str | None = None
    parent_optional: bool = False
    keep_when_null: bool = False
    create_default: str | None = None
    custom: bool = False
    user_ext_id: bool = False
    sage_key: bool = False
    instead: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        sources = [self.column is not None, self.literal is not None, self.setting is not None]
        if sum(sources) != 1:
            raise ValueError(f"field {self.ssm}: exactly one of column, literal, setting")
        if self.user_ext_id and self.parent != "users":
            raise ValueError(f"field {self.ssm}: user_ext_id needs parent='users'")
        if self.sage_key and (self.column is None or self.parent is not None):
            raise ValueError(f"field {self.ssm}: sage_key needs a column and no parent")
        if self.instead is not None and self.column is None:
            raise ValueError(f"field {self.ssm}: instead needs a column")

    @property
    def source_text(self) -> str:
        if self.column is not None:
            return f"`{self.column}`"
        if self.setting is not None:
            return f"setting `{self.setting}`"
        return f"`{self.literal!r}`".replace("True", "true").replace("False", "false")


@dataclass(frozen=True)
class SageField:
    """One field the reverse flow writes into Sage: an SSM field and the Sage Data Objects field
    (SalesRecord) or property (CustomerAddress) it goes to. `value_list`: the SSM value is an id
    of that list and Sage holds its code (countries: the ISO code)."""

    ssm: str
    sage: str
    description: str
    value_list: str | None = None
    required: bool = False


@dataclass(frozen=True)
class LeftOut:
    """A value of the vendor's field map (`assets/staging/field_map.tsv`) the push does not send
    as a field of its own, and why. `field` is the map's CRM field name, or `*` for every field
    of the section not otherwise pushed. A test fails when a map value is neither pushed (traced
    to an SSM field through docs/lineage.md's graph) nor listed here."""

    section: str
    field: str
    reason: str


@dataclass(frozen=True)
class ResourceContract:
    """How one SSM resource is synchronised."""

    name: str  # the contract's name, used in table and asset names: ssm.desired_<name>
    title: str
    ssm_resource: str  # the API v4 path under /api/v4
    direction: Direction
    sources: tuple[str, ...]  # warehouse tables the desired state reads
    key: str  # the Sage code that becomes extId
    fields: tuple[FieldRule, ...] = ()
    read_only: str = ""
    delete_policy: str = ""
    conflict_rule: str = ""
    built: bool = True  # False: planned, listed for completeness
    reverse: bool = False  # SSM → Sage: built by assets/inbox (the reverse flow), never pushed
    sage_fields: tuple[SageField, ...] = ()  # reverse: what is written into Sage
    match_only: bool = False  # matched to existing SSM records, never written unless configured
    # how a record is found again in SSM (a create whose answer was lost): extId, or for
    # resources without one, the fields that identify it
    lookup_fields: tuple[str, ...] = ("extId",)
    notes: str = ""
    # Shared keys (several companies, no prefix): only the owning company writes these records
    # in SSM; the others find them by extId and attach their documents to them.
    shared: bool = False
    # the columns `sql/desired_<name>.sql` returns, in its order, each with the staging/derived
    # columns it is computed from (`${rep_column}`: the setting SAGE_REP_FIELD, as in the SQL)
    desired_columns: tuple[Column, ...] = ()
    # each create and update carries `SYNCED_AT` (the SSM resource takes `Z_` fields)
    synced_at: bool = False

    @property
    def parents(self) -> tuple[str, ...]:
        """Resources whose records must be synced before this one's (foreign keys)."""
        return tuple(dict.fromkeys(f.parent for f in self.fields if f.parent))

    @property
    def read_only_in_ssm(self) -> bool:
        return any(f.ssm == "readOnly" and f.literal is True for f in self.fields)

    def field(self, ssm_name: str) -> FieldRule:
        for rule in self.fields:
            if rule.ssm == ssm_name:
                return rule
        raise KeyError(f"{self.name} has no field {ssm_name}")


CA = "staging.customer_accounts"
REP = f"{CA}.${{rep_column}}"  # the customer column that holds the sales rep
# what makes a customer a prospect: the marker column (SAGE_PROSPECT_MARKER) and, with
# SAGE_PROSPECT_CONVERSION=first_invoice, its first invoice
PROSPECT = (f"{CA}.${{prospect_column}}", f"{CA}.last_invoice_date")


# What makes a customer's own SSM rate (`SPECIAL:<account code>`): its special prices (PRICE
# type S) on live products (sql/desired_rates.sql, desired_accounts.sql).
SPECIAL_PRICES = (f"{CA}.account_reference", "derived.price_lists.price_list_code")


def _same(table: str, *names: str) -> tuple[Column, ...]:
    """Desired columns that are the source column of the same name."""
    return tuple(col(name, f"{table}.{name}") for name in names)


READ_ONLY = FieldRule(
    "readOnly",
    "Sage-owned: reps cannot edit or delete the record in SSM",
    literal=True,
    owner=Owner.CONNECTOR,
)

USERS = ResourceContract(
    name="users",
    title="Users / sales reps",
    ssm_resource="users",
    direction=Direction.SAGE_TO_SSM,
    sources=("staging.customer_accounts",),
    key="the Sage rep field (setting `rep_column`, e.g. ANALYSIS_2): a rep's extId or full name",
    fields=(
        FieldRule("extId", "the rep value as Sage holds it", column="ext_id"),
        FieldRule("name", "first name (first word of the rep's name)", column="first_name"),
        FieldRule("lastName", "last name (the rest of the rep's name)", column="last_name"),
    ),
    read_only="users are not read-only; the connector never edits an existing user",
    delete_policy="never deleted by the connector",
    conflict_rule="matched to existing SSM users by extId first, then by full name, then by "
    "e-mail (case-insensitive; the lowest id among equals); a new (billable) user is created "
    "only when `SSM_CREATE_USERS=true`",
    match_only=True,
    desired_columns=(col("ext_id", REP), col("first_name", REP), col("last_name", REP)),
    notes="unmatched reps are reported in the push metadata; their accounts get the admin user "
    "at creation",
)


def branch_rule(meaning: str) -> FieldRule:
    """`branchId`: the connector's SSM branch (setting `branch`), set when a record is created."""
    return FieldRule(
        "branchId",
        meaning,
        setting="branch",
        owner=Owner.CONNECTOR,
        when=When.CREATE,
        lookup=ValueList("branches", "description"),
    )


ACCOUNTS = ResourceContract(
    name="accounts",
    synced_at=True,
    shared=True,
    title="Accounts (customers)",
    ssm_resource="accounts",
    direction=Direction.SAGE_TO_SSM,
    sources=("staging.customer_accounts", "derived.price_lists", "staging.product_items"),
    key="SALES_LEDGER.ACCOUNT_REF (account code)",
    fields=(
        FieldRule("extId", "the Sage account code", column="ext_id", sage_key=True),
        FieldRule("name", "company name", column="name"),
        FieldRule("address1", "address line 1", column="address1"),
        FieldRule("address2", "address line 2", column="address2"),
        FieldRule("city", "address line 3 (town)", column="city"),
        FieldRule("region", "address line 4 (county)", column="region"),
        FieldRule("postcode", "postcode", column="postcode"),
        FieldRule(
            "countryId",
            "country, by ISO code",
            column="country_code",
            lookup=ValueList("countries", "iso2"),
        ),
        FieldRule("phone", "telephone", column="phone"),
        FieldRule("fax", "fax", column="fax"),
        FieldRule("email", "e-mail", column="email"),
        FieldRule("website", "web address", column="website"),
        FieldRule("vatNumber", "VAT registration number", column="vat_number"),
        FieldRule(
            "statusId",
            "account status: a Sage customer is a Client (setting `client_status`); a prospect "
            "has the prospect status (setting `prospect_status`, Potential) until Sage converts "
            "it; a closed/inactive customer (or prospect) has the inactive status (setting "
            "`inactive_status`, `SSM_INACTIVE_STATUS`, default Inactive, created in SSM when "
            "missing; empty: it stays a Client, `Z_Inactive` alone says it), so reps can filter "
            "it out while its history stays visible",
            column="status",
            owner=Owner.CONNECTOR,
            lookup=ValueList("accountStatuses", "description"),
            instead=("inactive", "inactive_status"),
        ),
        branch_rule("the SSM branch the connector files accounts under"),
        FieldRule(
            "salesRepId1",
            "the Sage rep matched to an SSM user; no rep: the admin user, at creation only, "
            "never reassigned afterwards",
            column="sales_rep",
            parent="users",
            parent_optional=True,
            keep_when_null=True,
            create_default="admin_user",
        ),
        FieldRule(
            "readOnly",
            "Sage-owned: true for a customer (reps cannot edit or delete it in SSM); false for "
            "a prospect, which reps may edit until Sage converts it",
            column="read_only",
            owner=Owner.CONNECTOR,
        ),
        FieldRule("Z_Balance", "account balance", column="balance", custom=True),
        FieldRule("Z_CreditLimit", "credit limit", column="credit_limit", custom=True),
        FieldRule("Z_OnStop", "on stop (credit hold)", column="on_stop", custom=True),
        FieldRule(
            "Z_LastInvoiceDate", "last invoice date", column="last_invoice_date", custom=True
        ),
        FieldRule(
            "Z_LastPaymentDate", "last receipt date", column="last_payment_date", custom=True
        ),
        FieldRule(
            "Z_PaymentTerms",
            "payment terms: days until payment is due (the customer's, else the company's "
            "default for sales)",
            column="payment_terms_days",
            custom=True,
        ),
        FieldRule(
            "Z_SettlementDays",
            "settlement days: pay within them to earn the settlement discount",
            column="settlement_days",
            custom=True,
        ),
        FieldRule(
            "Z_SettlementDiscount",
            "settlement discount %",
            column="settlement_discount",
            custom=True,
        ),
        FieldRule("Z_Currency", "trading currency code", column="currency_code", custom=True),
        FieldRule(
            "Z_CurrencyRate",
            "exchange rate of the trading currency (units per base unit, Sage's CURRENCY.RATE; "
            "1 for the base currency)",
            column="currency_rate",
            custom=True,
        ),
        FieldRule(
            "Z_OverallDiscount",
            "overall (blanket) discount %",
            column="overall_discount",
            custom=True,
        ),
        FieldRule(
            "Z_DiscountType",
            "Sage's discount type code (which discount group applies; 0 none)",
            column="discount_type",
            custom=True,
        ),
        FieldRule("Z_DefaultTaxCode", "default VAT code", column="default_tax_code", custom=True),
        FieldRule(
            "Z_OverrideTaxCode",
            "the default VAT code overrides the products' codes",
            column="override_tax_code",
            custom=True,
        ),
        FieldRule(
            "rateId",
            "the account's rate: its own rate when it has special prices (`SPECIAL:<account>`, "
            "see Price lists), else its price list",
            column="rate",
            parent="rates",
            parent_optional=True,
        ),
        FieldRule("Z_PriceList", "price list reference", column="price_list", custom=True),
        FieldRule("Z_Inactive", "closed / inactive in Sage", column="inactive", custom=True),
    ),
    read_only="a customer is read-only in SSM (`readOnly: true`): SSM edits never reach Sage; a "
    "prospect (a customer carrying the prospect marker, while `SAGE_PROSPECTS=sage`) is "
    "editable (`readOnly: false`) until Sage converts it, then the next push makes it a Client "
    "and read-only (an update of statusId and readOnly, not a new account)",
    delete_policy="deleted in Sage → deleted (logically) in SSM, only if the connector created "
    "it (an adopted account is left live unless `SSM_DELETE_ADOPTED=true`); deleted in SSM → "
    "never reaches Sage, not re-created, reported",
    conflict_rule="Sage wins: every field is Sage-owned except the rep of an account that had "
    "none in Sage (set once at creation). A prospect's fields are sent only when Sage changed "
    "them since the last acknowledged push, so a rep's edit of another field stays in SSM (the "
    "reverse flow carries it to Sage); a field changed in Sage is sent, Sage's value wins",
    notes="prospect: `SAGE_PROSPECT_MARKER` (default `analysis_1=Prospect`, trimmed, any case) "
    "marks it; `SAGE_PROSPECT_CONVERSION` says what converts it: `marker` (the marker removed) "
    "or `first_invoice` (`last_invoice_date` set, even if the marker stays). With "
    "`SAGE_PROSPECTS=ssm_only` the marker is ignored: every Sage customer is a Client",
    desired_columns=(
        col("ext_id", f"{CA}.account_reference"),
        col("name", f"{CA}.company_name"),
        col("address1", f"{CA}.address_line_1"),
        col("address2", f"{CA}.address_line_2"),
        col("city", f"{CA}.address_line_3"),
        col("region", f"{CA}.address_line_4"),
        *_same(CA, "postcode", "country_code"),
        col("phone", f"{CA}.telephone"),
        *_same(CA, "fax", "email", "website"),
        col("vat_number", f"{CA}.vat_registration_number"),
        col("sales_rep", REP),
        *_same(CA, "balance", "credit_limit", "on_stop", "last_invoice_date"),
        col("last_payment_date", f"{CA}.last_receipt_date"),
        col("payment_terms_days", f"{CA}.payment_due_days"),
        *_same(CA, "settlement_discount", "currency_code", "price_list"),
        col("inactive", f"{CA}.closed_inactive"),
        col("status", *PROSPECT, f"{CA}.closed_inactive"),
        col("read_only", *PROSPECT),
        *_same(
            CA,
            "settlement_days",
            "currency_rate",
            "overall_discount",
            "discount_type",
            "default_tax_code",
            "override_tax_code",
        ),
        col("rate", *SPECIAL_PRICES, f"{CA}.price_list"),
    ),
)

CONTACTS = ResourceContract(
    name="contacts",
    synced_at=True,
    shared=True,
    title="Contacts",
    ssm_resource="contacts",
    direction=Direction.BOTH,
    sources=("staging.contacts", "staging.customer_accounts"),
    key="the Sage contact address key (account code + contact number)",
    fields=(
        FieldRule("extId", "account code and contact number", column="ext_id", sage_key=True),
        FieldRule("firstName", "first name", column="first_name"),
        FieldRule(
            "lastName", "last name (or the full name when it has one word)", column="last_name"
        ),
        FieldRule(
            "accountId",
            "the contact's account, by its Sage account code",
            column="account_ext_id",
            parent="accounts",
        ),
        FieldRule(
            "salesRepId",
            "the account's rep; the admin user at creation when the account has none",
            column="sales_rep",
            parent="users",
            parent_optional=True,
            keep_when_null=True,
            create_default="admin_user",
        ),
        branch_rule("the SSM branch the connector files contacts under (required on create)"),
        FieldRule("email", "e-mail", column="email"),
        FieldRule("phone1", "telephone", column="phone"),
        FieldRule("phone2", "mobile", column="mobile"),
        FieldRule("fax", "fax", column="fax"),
    ),
    read_only="editable in SSM (contacts sync both ways)",
    delete_policy="deleted in Sage → deleted in SSM (only contacts the connector created); "
    "deleted in SSM → never reaches Sage",
    conflict_rule="only Sage contact addresses are pushed; a field is sent only when Sage "
    "changed it since the last acknowledged push, so an SSM edit of another field is kept "
    "(and flows back through the reverse flow)",
    notes="the contacts of a prospect account sync only once it is a customer (seed 004): they "
    "are held back (`ssm.held_contacts`, reason 'account is a prospect'), so one pushed before "
    "its account became a prospect keeps its last values in SSM, neither updated nor deleted; "
    "after the conversion they are pushed as usual",
    desired_columns=(
        col("ext_id", "staging.contacts.account_reference", "staging.contacts.address_ref"),
        *(
            col(
                name,
                "staging.contacts.contact_name",
                "staging.contacts.name",
                "staging.contacts.address_ref",
            )
            for name in ("first_name", "last_name")
        ),
        col("account_ext_id", "staging.contacts.account_reference"),
        col("sales_rep", REP),
        col("email", "staging.contacts.email"),
        col("phone", "staging.contacts.telephone"),
        col("mobile", "staging.contacts.telephone_2"),
        col("fax", "staging.contacts.fax"),
    ),
)

PRODUCT_CATEGORIES = ResourceContract(
    name="product_categories",
    title="Product categories",
    ssm_resource="productCategories",
    direction=Direction.SAGE_TO_SSM,
    sources=("staging.product_categories",),
    key="STOCK.STOCK_CAT (category number)",
    fields=(
        FieldRule("extId", "the Sage category number", column="ext_id", sage_key=True),
        FieldRule("descriptionEN", "category name", column="description"),
    ),
    read_only="categories are only written by the connector",
    delete_policy="deleted in Sage → deleted in SSM (only categories the connector created)",
    conflict_rule="Sage wins",
    desired_columns=(
        col("ext_id", "staging.product_categories.category_code"),
        col(
            "description",
            "staging.product_categories.category_description",
            "staging.product_categories.category_code",
        ),
    ),
)

PRODUCTS = ResourceContract(
    name="products",
    synced_at=True,
    title="Products",
    ssm_resource="products",
    direction=Direction.SAGE_TO_SSM,
    sources=(
        "staging.product_items",
        "derived.stock",
        "staging.product_categories",
        "staging.vat_rates",
        "staging.sales_order_lines",
    ),
    key="STOCK.STOCK_CODE (stock code); for a free-text line's product, Sage's special code "
    "(S1, S2, S3, M)",
    fields=(
        FieldRule("extId", "the Sage stock code", column="ext_id", sage_key=True),
        FieldRule("model", "product name (Sage description)", column="model"),
        FieldRule(
            "categoryId",
            "the product's category",
            column="category_ext_id",
            parent="product_categories",
        ),
        FieldRule("price", "net sales price, without tax", column="price"),
        FieldRule(
            "cost",
            "average cost price: what Sage values the stock at and the field map's margin "
            "figure, steadier than the last purchase price, which one delivery moves (sent as "
            "`Z_LastPurchasePrice`)",
            column="cost",
        ),
        FieldRule(
            "stock",
            "free stock (in stock − allocated, `derived.stock`); null (a dash) for items whose "
            "stock is not tracked",
            column="stock",
        ),
        FieldRule("notAvailable", "inactive in Sage → not available", column="not_available"),
        READ_ONLY,
        FieldRule("Z_TaxCode", "VAT code", column="tax_code", custom=True),
        FieldRule("Z_TaxRate", "VAT rate %", column="tax_rate", custom=True),
        FieldRule("Z_Barcode", "barcode", column="barcode", custom=True),
        FieldRule("Z_UnitWeight", "unit weight", column="unit_weight", custom=True),
        FieldRule(
            "Z_BasePrice",
            "base sales price without tax, in the additional fields as the vendor shows it "
            "(seed 001); the same value as `price`",
            column="price",
            custom=True,
        ),
        FieldRule(
            "Z_LastPurchasePrice",
            "last purchase price",
            column="last_purchase_price",
            custom=True,
        ),
        FieldRule(
            "Z_LastDiscountedPurchasePrice",
            "last purchase price after the supplier's discount",
            column="last_discounted_purchase_price",
            custom=True,
        ),
        FieldRule(
            "Z_ImageFile",
            "the product's picture as Sage names it (STOCK.WEB_IMAGE_FILE, a file on the Sage "
            "machine): the file name only",
            column="image_file",
            custom=True,
        ),
    ),
    read_only="read-only in SSM",
    delete_policy="deleted in Sage → deleted in SSM (only products the connector created); "
    "inactive → notAvailable, not deleted",
    conflict_rule="Sage wins",
    notes="images: the ODBC driver exposes the picture's file name (STOCK.WEB_IMAGE_FILE), not "
    "its bytes, and SSM's API v4 has no place for a product image (documents attach to "
    "accounts, opportunities and sales orders only, ssm-api-v4.md §6.1; the vendor's OpenAPI "
    "has no product document or image field): the file name goes to `Z_ImageFile`, so a rep "
    "or an admin can find the picture; the picture itself is not uploaded",
    desired_columns=(
        col(
            "ext_id",
            "staging.product_items.product_reference",
            description="The stock code; for the product of free-text lines, the Sage special "
            "code the lines carry (S1, S2, S3, M: staging.sales_order_lines.product_reference)",
        ),
        col(
            "model",
            "staging.product_items.description",
            "staging.product_items.product_reference",
            "staging.sales_order_lines.product_reference",
        ),
        col(
            "category_ext_id",
            "staging.product_categories.category_code",
            "staging.product_items.product_category",
        ),
        col("price", "staging.product_items.sales_price"),
        col("stock", "derived.stock.free_stock"),
        col("not_available", "staging.product_items.inactive_flag"),
        col("tax_code", "staging.product_items.tax_code"),
        col("tax_rate", "staging.vat_rates.tax_rate"),
        *_same("staging.product_items", "barcode", "unit_weight"),
        col("cost", "staging.product_items.average_cost_price"),
        *_same("staging.product_items", "last_purchase_price", "last_discounted_purchase_price"),
        col("image_file", "staging.product_items.web_image_file"),
    ),
)

RATES = ResourceContract(
    name="rates",
    title="Price lists and customers' special prices",
    ssm_resource="rates",
    direction=Direction.SAGE_TO_SSM,
    sources=(
        "staging.price_list_metadata",
        "staging.customer_accounts",
        "derived.price_lists",
        "staging.product_items",
    ),
    key="PRICE_LIST.PRICING_REF (price list code); for a customer with special prices, "
    "`SPECIAL:` + its account code (at least 9 characters, so never a price list's 8-character "
    "code)",
    fields=(
        FieldRule(
            "extId",
            "the Sage price list code, or `SPECIAL:<account code>`",
            column="ext_id",
            sage_key=True,
        ),
        FieldRule(
            "descriptionEN",
            "price list name; a customer's rate: `Special prices <code>: <company name>`",
            column="description",
        ),
    ),
    read_only="written by the connector only",
    delete_policy="deleted in Sage → deleted in SSM (only rates the connector created); a "
    "customer's rate goes when it has no special price left (or the customer goes), and its "
    "account's `rateId` returns to its price list",
    conflict_rule="Sage wins",
    notes="customer special prices (PRICE type S): one SSM rate per customer that has special "
    "prices on live products, holding them, and the account's `rateId` points at it. With "
    "`SSM_SPECIAL_RATES_WITH_LIST=true` the rate also holds, for its other products, its price "
    "list's prices (in the customer's currency), so a rep sees in one rate every price Sage "
    "gives that customer, in Sage's order (a special price, else the price list, else the "
    "product's `price`; resources/sage/pricing.py); off by default because every list price "
    "then repeats once per such customer (11.6 million product rates on the large demo "
    "company). SSM gives an "
    "account one rate, so its own rate stands in for its price list, named in `Z_PriceList`. "
    "Why not the alternatives: a special price cannot go into the customer's price list (other "
    "customers share it), and SSM has no per-account product price (ssm-api-v4.md §6.1: a "
    "product rate has a product and a rate only). A customer's rate is made only for customers "
    "with special prices (4 of 30 in the tiny demo company, 197 of 2,000 in the small one); "
    "the cost is its copy of the price list: the small company's 23 customers with special "
    "prices and a price list add 16,899 product rates to its 2,148 list prices (bulk writes of "
    "up to 200 on the first push), and a list price Sage changes is updated in each of them",
    desired_columns=(
        col(
            "ext_id",
            "staging.price_list_metadata.pricing_reference",
            *SPECIAL_PRICES,
        ),
        col(
            "description",
            "staging.price_list_metadata.name",
            "staging.price_list_metadata.pricing_reference",
            f"{CA}.company_name",
            *SPECIAL_PRICES,
        ),
    ),
)

PRODUCT_RATES = ResourceContract(
    name="product_rates",
    title="Price list and special prices (product rates)",
    ssm_resource="productRates",
    direction=Direction.SAGE_TO_SSM,
    sources=(
        "derived.price_lists",
        "staging.product_items",
        "staging.price_list_metadata",
        "staging.customer_accounts",
        "staging.currencies",
    ),
    key="the rate's key + PRICE.STOCK_CODE (kept in the ledger; SSM product rates have no "
    "extId and are found again by product and rate)",
    lookup_fields=("productId", "rateId"),
    fields=(
        FieldRule(
            "rateId", "the price list, or the customer's rate", column="rate_ext_id", parent="rates"
        ),
        FieldRule("productId", "the product", column="product_ext_id", parent="products"),
        FieldRule(
            "salePrice",
            "the net selling price as Sage computes it (stored or calculated): a list's price "
            "in the list's currency; in a customer's rate, in the customer's currency, its "
            "special price, and with SSM_SPECIAL_RATES_WITH_LIST its price list's for its other "
            "products (a list in another currency converted as Sage does: price / rate(list) × "
            "rate(customer), 2 decimals)",
            column="sale_price",
        ),
    ),
    read_only="written by the connector only",
    delete_policy="deleted in Sage → deleted in SSM (only prices the connector created)",
    conflict_rule="Sage wins",
    desired_columns=(
        col(
            "ext_id",
            "derived.price_lists.price_list_code",
            "derived.price_lists.product_reference",
            f"{CA}.account_reference",
            f"{CA}.price_list",
        ),
        col("rate_ext_id", "derived.price_lists.price_list_code", f"{CA}.price_list"),
        col("product_ext_id", "derived.price_lists.product_reference"),
        col(
            "sale_price",
            "derived.price_lists.selling_price",
            "derived.price_lists.currency_code",
            f"{CA}.currency_code",
            "staging.currencies.exchange_rate",
            "staging.currencies.home_currency",
        ),
    ),
)

SALES_ORDERS = ResourceContract(
    name="sales_orders",
    synced_at=True,
    title="Sales orders",
    ssm_resource="salesorders",
    direction=Direction.SAGE_TO_SSM,
    sources=(
        "staging.sales_order_headers",
        "derived.sales_order_totals",
        "staging.customer_accounts",
    ),
    key="SALES_ORDER.ORDER_NUMBER",
    fields=(
        FieldRule("extId", "the Sage order number", column="ext_id", sage_key=True),
        FieldRule("reference", "order number as shown to reps", column="reference", sage_key=True),
        FieldRule("accountId", "the customer", column="account_ext_id", parent="accounts"),
        FieldRule(
            "salesRepId",
            "the account's rep; the admin user when none",
            column="sales_rep",
            parent="users",
            parent_optional=True,
            keep_when_null=True,
            create_default="admin_user",
        ),
        FieldRule(
            "branchId",
            "the SSM branch",
            setting="branch",
            owner=Owner.CONNECTOR,
            when=When.CREATE,
            lookup=ValueList("branches", "description"),
        ),
        FieldRule(
            "total",
            "gross total in the order's currency (live lines + carriage)",
            column="total",
        ),
        FieldRule(
            "currencyId",
            "order currency",
            column="currency_code",
            lookup=ValueList("currencies", "isoCode"),
        ),
        FieldRule("salesForcecastDate", "order date", column="order_date"),
        FieldRule(
            "comment",
            "customer's order reference (a rep's quote keeps the rep's comment)",
            column="customer_reference",
            keep_when_null=True,
        ),
        FieldRule(
            "statusId",
            "a rep's quote: the priced status while a quotation, the ordered status once Sage "
            "converts it; other orders keep theirs",
            column="status",
            lookup=ValueList("salesorderStatuses", "description"),
            keep_when_null=True,
        ),
        READ_ONLY,
        FieldRule("Z_NetTotal", "net total (order currency)", column="net_total", custom=True),
        FieldRule("Z_TaxTotal", "tax total (order currency)", column="tax_total", custom=True),
    ),
    read_only="read-only in SSM",
    delete_policy="deleted in Sage → deleted in SSM (only orders the connector created)",
    conflict_rule="Sage wins",
    notes="Sage documents of type Sales Order (SALES_ORDER.ORDER_OR_QUOTE) are pushed, and the "
    "quotations reps made in SSM (CUST_ORDER_NUMBER `SSM:<id>`, see Quotations) so Sage's "
    "edits, conversion and delete reach them; Sage's own quotations and proformas are not",
    desired_columns=(
        col("ext_id", "staging.sales_order_headers.order_number_accounts_id"),
        col("reference", "staging.sales_order_headers.order_number_accounts_id"),
        col("account_ext_id", "staging.sales_order_headers.customer_account"),
        col("sales_rep", REP),
        col("total", "derived.sales_order_totals.foreign_gross_value"),
        *_same("staging.sales_order_headers", "currency_code", "order_date"),
        col("customer_reference", "staging.sales_order_headers.customer_order_reference"),
        col(
            "status",
            "staging.sales_order_headers.order_type",
            "staging.sales_order_headers.customer_order_reference",
        ),
        col("net_total", "derived.sales_order_totals.foreign_net_value"),
        col("tax_total", "derived.sales_order_totals.foreign_tax_value"),
    ),
)

SALES_ORDER_LINES = ResourceContract(
    name="sales_order_lines",
    synced_at=True,
    title="Sales order lines",
    ssm_resource="salesordersLines",
    direction=Direction.SAGE_TO_SSM,
    sources=(
        "staging.sales_order_lines",
        "staging.sales_order_headers",
        "staging.customer_accounts",
        "staging.product_items",
    ),
    key="SOP_ITEM.ORDER_NUMBER + SOP_ITEM.ITEM_NUMBER (kept in the ledger; SSM order lines "
    "have no extId and are found again by order and position)",
    lookup_fields=("salesOrderId", "order"),
    fields=(
        FieldRule("salesOrderId", "the order", column="order_ext_id", parent="sales_orders"),
        FieldRule(
            "productId",
            "the product; a free-text line (no stock record): the product of its Sage special "
            "code (S1, S2, S3, M), so every line of an order reaches SSM and they add up to "
            "its total",
            column="product_ext_id",
            parent="products",
        ),
        FieldRule(
            "description",
            "line description (a free-text line's own text)",
            column="description",
        ),
        FieldRule("quantity", "quantity ordered", column="quantity"),
        FieldRule("price", "unit price", column="price"),
        FieldRule("total", "net line amount", column="total"),
        FieldRule("discount1", "line discount %", column="discount"),
        FieldRule("order", "line position", column="position"),
        READ_ONLY,
    ),
    read_only="read-only in SSM",
    delete_policy="deleted in Sage → deleted in SSM",
    conflict_rule="Sage wins",
    notes="the lines of Sage Sales Orders and of the quotations reps made in SSM are pushed, "
    "not those of Sage's own quotations or proformas; free-text lines (S1, S2 special items, "
    "S3 service, M message) go to one read-only SSM product per special code (its model says "
    "which), with the line's own description, price and total. A line whose product was "
    "deleted from Sage is left out (its order's total still counts it)",
    desired_columns=(
        col(
            "ext_id",
            "staging.sales_order_lines.order_number",
            "staging.sales_order_lines.line_number",
        ),
        col("order_ext_id", "staging.sales_order_lines.order_number"),
        col("product_ext_id", "staging.sales_order_lines.product_reference"),
        col("description", "staging.sales_order_lines.product_description"),
        col("quantity", "staging.sales_order_lines.quantity_ordered"),
        col("price", "staging.sales_order_lines.unit_price_foreign"),
        col("total", "staging.sales_order_lines.line_net_amount_foreign"),
        col("discount", "staging.sales_order_lines.discount_rate"),
        col("position", "staging.sales_order_lines.line_number"),
    ),
)

_INVOICES = ("staging.posted_sales_invoices", "staging.unposted_sales_invoices")
_CREDITS = "staging.posted_sales_credits"
_DOCUMENTS = (*_INVOICES, _CREDITS)
_DOCUMENT_NUMBERS = (
    *(f"{t}.invoice_number" for t in _INVOICES),
    f"{_CREDITS}.invoice_number_credit_note_no",
)

SALES = ResourceContract(
    name="sales",
    synced_at=True,
    title="Invoices and credit notes",
    ssm_resource="sales",
    direction=Direction.SAGE_TO_SSM,
    sources=(
        "staging.posted_sales_invoices",
        "staging.unposted_sales_invoices",
        "staging.posted_sales_credits",
        "derived.invoice_payment_status",
        "staging.customer_accounts",
    ),
    key="INVOICE.INVOICE_NUMBER (invoice or credit note number)",
    fields=(
        FieldRule("extId", "the Sage invoice / credit note number", column="ext_id", sage_key=True),
        FieldRule("accountId", "the customer", column="account_ext_id", parent="accounts"),
        FieldRule(
            "accountExtId", "the customer's account code", column="account_ext_id", sage_key=True
        ),
        FieldRule(
            "salesRepExtId",
            "the account's rep, by extId as /sales links users; when none, the admin user's "
            "extId, else its full name (as a rep whose user has no extId is sent by name)",
            column="sales_rep",
            parent="users",
            parent_optional=True,
            user_ext_id=True,
            keep_when_null=True,
            create_default="admin_user_ext_id",
        ),
        FieldRule(
            "salesRepId",
            "the account's rep; the admin user when none",
            column="sales_rep",
            parent="users",
            parent_optional=True,
            keep_when_null=True,
            create_default="admin_user",
        ),
        FieldRule("date", "invoice date", column="document_date"),
        FieldRule(
            "total",
            "gross total in the company's base currency (negative for a credit note), so an "
            "account's sales add up in one currency; the document's own currency: "
            "`Z_TotalInCurrency`",
            column="total",
        ),
        READ_ONLY,
        FieldRule(
            "Z_InvoiceNumber", "the Sage invoice id, visible to reps", column="number", custom=True
        ),
        FieldRule("Z_DocumentType", "Invoice or Credit Note", column="document_type", custom=True),
        FieldRule("Z_Posted", "posted in Sage", column="posted", custom=True),
        FieldRule("Z_NetTotal", "net total in base currency", column="net_total", custom=True),
        FieldRule(
            "Z_TotalInCurrency",
            "gross total in the document's currency (`Z_Currency`), as order totals are",
            column="total_in_currency",
            custom=True,
        ),
        FieldRule(
            "Z_NetTotalInCurrency",
            "net total in the document's currency",
            column="net_total_in_currency",
            custom=True,
        ),
        FieldRule(
            "Z_Currency", "the document's currency code", column="currency_code", custom=True
        ),
        FieldRule(
            "Z_PaidDate",
            "date of the payment (or allocation) that settled it in full; none while "
            "anything is outstanding",
            column="paid_date",
            custom=True,
        ),
        FieldRule(
            "Z_PaymentStatus",
            "Paid / Part paid / Unpaid from the audit trail; Not posted",
            column="payment_status",
            custom=True,
        ),
        FieldRule(
            "Z_Outstanding",
            "amount outstanding (all of it while not posted)",
            column="outstanding",
            custom=True,
        ),
        FieldRule(
            "Z_DueDate",
            "payment due date from the customer's terms; none for a credit note",
            column="due_date",
            custom=True,
        ),
    ),
    read_only="read-only in SSM",
    delete_policy="deleted in Sage → deleted in SSM (only documents the connector created)",
    conflict_rule="Sage wins",
    desired_columns=(
        col("ext_id", *_DOCUMENT_NUMBERS),
        col("account_ext_id", *(f"{t}.account_reference" for t in _DOCUMENTS)),
        col("sales_rep", REP),
        col("document_date", *(f"{t}.invoice_date" for t in _INVOICES), f"{_CREDITS}.credit_date"),
        col("total", *(f"{t}.total_gross" for t in _DOCUMENTS)),
        col("number", *_DOCUMENT_NUMBERS),
        col(
            "document_type",
            description="'Invoice' for the documents of the invoice sections, 'Credit Note' for "
            "those of posted_sales_credits (INVOICE.INVOICE_OR_CREDIT, the sections' filter)",
        ),
        col(
            "posted",
            description="True for the documents of the posted sections, false for those of "
            "unposted_sales_invoices (INVOICE.POSTED, the sections' filter)",
        ),
        col("net_total", *(f"{t}.total_net" for t in _DOCUMENTS)),
        col("payment_status", "derived.invoice_payment_status.status"),
        col(
            "outstanding",
            "derived.invoice_payment_status.outstanding_amount",
            *(f"{t}.total_gross" for t in _DOCUMENTS),
        ),
        col(
            "due_date",
            "derived.invoice_payment_status.payment_due_date",
            *(f"{t}.payment_due_date" for t in _INVOICES),
        ),
        col("currency_code", *(f"{t}.currency_code" for t in _DOCUMENTS)),
        col("total_in_currency", *(f"{t}.total_gross_foreign" for t in _DOCUMENTS)),
        col("net_total_in_currency", *(f"{t}.total_net_foreign" for t in _DOCUMENTS)),
        col(
            "paid_date",
            "derived.invoice_payment_status.paid_date",
            "derived.invoice_payment_status.status",
        ),
    ),
)

# Reverse flow (SSM → Sage): built by assets/inbox (engine.py applies these rules; the fields
# below are what it writes into Sage, and what it reads back to tell SSM edits from echoes).
CUSTOMER_FIELDS: tuple[SageField, ...] = (
    SageField("name", "NAME", "company name", required=True),
    SageField("address1", "ADDRESS_1", "address line 1"),
    SageField("address2", "ADDRESS_2", "address line 2"),
    SageField("city", "ADDRESS_3", "address line 3 (town)"),
    SageField("region", "ADDRESS_4", "address line 4 (county)"),
    SageField("postcode", "ADDRESS_5", "postcode"),
    SageField(
        "countryId",
        "COUNTRY_CODE",
        "country, as its ISO code (required by Sage)",
        value_list="countries",
        required=True,
    ),  # fmt: skip
    SageField("phone", "TELEPHONE", "telephone"),
    SageField("fax", "FAX", "fax"),
    SageField("email", "E_MAIL", "e-mail"),
    SageField("website", "WEB_ADDRESS", "web address"),
    SageField("vatNumber", "VAT_REG_NUMBER", "VAT registration number"),
)
_CUSTOMER_RULES = (
    "the rep's full name goes into the SDO rep field (setting `SAGE_SDO_REP_FIELD`, default "
    "the column of `SAGE_REP_FIELD`, e.g. ANALYSIS_2; the seeds name SALES_REP, unconfirmed); "
    "the SSM id into `SAGE_SDO_SSM_ID_FIELD` (default ANALYSIS_3, `SSM:<id>`), so a write whose "
    "answer was lost is found in Sage, never made twice; a new account code in Sage's style "
    "(`SAGE_ACCOUNT_CODE`); a value longer than Sage's field, or no name or country: not "
    "written, the reason in `sync.dead_letters` and in the account's `Z_SageSync` field, tried "
    "again when the rep changes the record"
)

CLIENT_COMPANIES = ResourceContract(
    name="client_companies",
    title="Companies created in SSM with status Client",
    ssm_resource="accounts",
    direction=Direction.SSM_TO_SAGE,
    sources=("inbox.accounts",),
    key="the SSM account id until Sage has the customer, then its new Sage account code as extId",
    read_only="read-only in SSM once Sage has it (extId and readOnly set by the connector); "
    "from then on an ordinary Sage-owned account of the one-way push",
    delete_policy="an SSM delete never reaches Sage",
    conflict_rule="an SSM account with the Client status (`SSM_CLIENT_STATUS`), no extId and "
    "not read-only is created as a Sage customer; the admin user (`SSM_ADMIN_USER`) is given "
    "to it in SSM only at creation when it has no rep, never reassigned to a supervisor; "
    + _CUSTOMER_RULES,
    reverse=True,
    sage_fields=CUSTOMER_FIELDS,
)

PROSPECTS = ResourceContract(
    name="prospects",
    title="Prospects / potential clients",
    ssm_resource="accounts",
    direction=Direction.BOTH,
    sources=("inbox.accounts", "staging.customer_accounts"),
    key="the SSM account id, then the Sage account code as extId",
    read_only="editable in SSM while a prospect; read-only once Sage converts it (the marker "
    "removed, or its first invoice: `SAGE_PROSPECT_CONVERSION`)",
    delete_policy="deleted only from Sage (then marked deleted in SSM); an SSM delete never "
    "reaches Sage",
    conflict_rule="with `SAGE_PROSPECTS=sage` (default) an SSM account with the prospect status "
    "(`SSM_PROSPECT_STATUS`) is created in Sage as a customer carrying the prospect marker "
    "(`SAGE_PROSPECT_MARKER`); SSM edits reach Sage while it is a prospect, Sage edits reach "
    "SSM; a field edited on both sides: the newer edit wins, Sage on a tie (`sync.conflicts`); "
    "its contacts reach Sage only once it is a customer; `SAGE_PROSPECTS=ssm_only` keeps "
    "prospects in SSM; " + _CUSTOMER_RULES,
    reverse=True,
    sage_fields=CUSTOMER_FIELDS,
)

CONTACT_FIELDS: tuple[SageField, ...] = (
    SageField(
        "firstName + lastName",
        "Contact",
        "the contact's name (the push splits it at its first space)",
        required=True,
    ),  # fmt: skip
    SageField("email", "EMail", "e-mail"),
    SageField("phone1", "Telephone", "telephone"),
    SageField("phone2", "Telephone2", "mobile"),
    SageField("fax", "Fax", "fax"),
)

SSM_CONTACTS = ResourceContract(
    name="ssm_contacts",
    title="Contacts created or edited in SSM",
    ssm_resource="contacts",
    direction=Direction.BOTH,
    sources=("inbox.contacts",),
    key="the SSM contact id, then the Sage contact key (`<account code>/<address number>`) as "
    "extId",
    read_only="editable on both sides",
    delete_policy="an SSM delete never reaches Sage; a Sage delete marks it deleted in SSM",
    conflict_rule="a contact created in SSM on an account Sage knows (not a prospect) becomes a "
    "Sage contact address (CustomerAddress, AddressType 1; the SSM id kept in its Notes as "
    "`SSM:<id>`); SSM edits of a Sage contact reach Sage; a field edited on both sides since the "
    "last sync: the newer edit wins, Sage on a tie or when a time is unknown, both values in "
    "`sync.conflicts`",
    reverse=True,
    sage_fields=CONTACT_FIELDS,
)

QUOTE_FIELDS: tuple[SageField, ...] = (
    SageField("accountId", "ACCOUNT_REF", "the customer: the account's Sage code", required=True),
    SageField("id", "CUST_ORDER_NUMBER", "`SSM:<order id>`: the idempotency key Sage keeps"),
    SageField("salesRepId", "TAKEN_BY", "the rep's full name"),
    SageField(
        "lines: productId", "STOCK_CODE", "each line's product: its Sage stock code", required=True
    ),  # fmt: skip
    SageField("lines: quantity", "QTY_ORDER", "each line's quantity (> 0)", required=True),
)

QUOTATIONS = ResourceContract(
    name="quotations",
    title="Quotations",
    ssm_resource="salesorders",
    direction=Direction.SSM_TO_SAGE_TO_SSM,
    sources=("inbox.salesorders",),
    key="the SSM order id (`SSM:<id>` in the Sage quotation's CUST_ORDER_NUMBER), then the Sage "
    "quotation number as extId",
    read_only="created in SSM with products and quantities; read-only once Sage has priced it",
    delete_policy="an SSM delete never reaches Sage; a Sage delete deletes it in SSM (the push)",
    conflict_rule="an SSM sales order in the quote status (`SSM_QUOTE_STATUS`) whose account "
    "has a Sage code (not a prospect, not on hold, not inactive) and whose lines all name a Sage "
    "product with a quantity > 0 is priced by Sage (SDO's invoice calculator: price list, "
    "special price, quantity and customer discounts, VAT) and posted as a sales-order quotation "
    "(SopPost, ORDER_TYPE 9, open); SSM gets Sage's prices, discounts, totals and tax, the "
    "quotation number (extId and reference), the priced status (`SSM_QUOTE_PRICED_STATUS`) and "
    "read-only, within seconds (sensor `ssm_quotes`); from then on the push mirrors Sage's "
    "edits, its conversion into an order (`SSM_QUOTE_ORDERED_STATUS`) and its delete. A bad "
    "quote is not posted: the reason in `sync.dead_letters` and the order's `Z_SageSync`, "
    "tried again when the rep saves the order again",
    reverse=True,
    sage_fields=QUOTE_FIELDS,
)

# The field map's values the push does not send as fields of their own, and why (the page's
# "Left out, and why"). tests/ssm/test_field_map_coverage.py fails when a value of the map is
# neither traced to an SSM field nor listed here, or when a listed field is pushed after all.
_PAYMENTS = (
    "read to compute each invoice's payment status, amount outstanding and paid date "
    "(`derived.invoice_payment_status` → `Z_PaymentStatus`, `Z_Outstanding`, `Z_PaidDate`); "
    "not values of their own"
)
_SALES_LINES = (
    "document lines: SSM's `/sales` holds one total per document and has no lines "
    "(ssm-api-v4.md §6.1); the document's number, date, account, totals in both currencies, "
    "due date, payment status and paid date are sent"
)
_SUPPLIERS = (
    "the supplier side: SSM is a sales CRM with no supplier or purchase resource, and reps do "
    "not sell to suppliers"
)
_ACCOUNTING = (
    "Sage's bookkeeping (nominal ledger accounts, departments): what Sage posts to, of no use "
    "to a rep, and no SSM field means it"
)
LEFT_OUT: tuple[LeftOut, ...] = (
    LeftOut(
        "Sales Ledger (Customer Accounts)",
        "Country",
        "the country's name: SSM names the country itself, `countryId` is matched by its ISO "
        "code (Country Code)",
    ),
    LeftOut(
        "Product Items",
        "Discount Matrix Code",
        "the key of the product's quantity discounts (its stock code): SSM has no discount "
        "rules; Sage applies them when it prices a rep's quote (Quotations)",
    ),
    LeftOut(
        "Product Items",
        "Is Stocked",
        "said by `stock`: null (a dash in SSM) for an item whose stock Sage does not track",
    ),
    LeftOut(
        "Product Items",
        "Location",
        "the bin or warehouse the item is picked from: the warehouse's, not a rep's; SSM "
        "products hold one stock figure for the company",
    ),
    LeftOut(
        "Product Items",
        "Qty Break Level 1",
        "quantity breaks: SSM has no quantity pricing; Sage applies them to a rep's quote",
    ),
    LeftOut(
        "Product Items",
        "Discount Rate Level 1",
        "quantity-break discount: SSM has no quantity pricing; Sage applies it to a rep's quote",
    ),
    LeftOut(
        "Product Items",
        "Unit Decimal Places",
        "the precision of Sage's screens: prices are sent as Sage holds them (4 decimals) and "
        "SSM formats its own",
    ),
    LeftOut("Product Items", "Qty Decimal Places", "as Unit Decimal Places, for quantities"),
    LeftOut("Product Items", "Department", _ACCOUNTING),
    LeftOut("Product Items", "Nominal Code (Sales)", _ACCOUNTING),
    LeftOut("Product Items", "Nominal Code (Purchase)", _ACCOUNTING),
    LeftOut(
        "Product Categories",
        "Parent Category",
        "Sage 50's stock categories are flat (the map's source is N/A): SSM categories get no "
        "parent",
    ),
    LeftOut(
        "Currencies",
        "*",
        "SSM's currencies are the tenant's own value list: an order's currency is matched by ISO "
        "code (`currencyId`); an account's currency code and rate are sent with it "
        "(`Z_Currency`, `Z_CurrencyRate`), an invoice's code with it; names, decimals, Sage ids, "
        "multiplier and rounding are Sage's settings",
    ),
    LeftOut(
        "Stock Levels (by Warehouse)",
        "*",
        "per-warehouse and purchasing figures: an SSM product holds one stock figure, the "
        "company's free stock (`stock`, in stock − allocated); stock on order, reorder level "
        "and last order quantity are purchasing's",
    ),
    LeftOut(
        "Sales Order",
        "*",
        "the order is sent in its own currency, as its lines are (`total`, `Z_NetTotal`, "
        "`Z_TaxTotal`, carriage included); the base-currency totals and carriage, and the "
        "allocation status (fulfilment), have no SSM field",
    ),
    LeftOut(
        "Sales Orders (Line Items)",
        "*",
        "SSM order lines hold product, description, quantity, price, discount, total and "
        "position, in the order's currency; base-currency amounts, delivery, nominal, "
        "department, allocation and last purchase price are Sage's fulfilment and bookkeeping; "
        "account, currency, date and customer reference are the order's (sent with it)",
    ),
    LeftOut("Sales Invoices (Posted)", "*", _SALES_LINES),
    LeftOut("Sales Invoices (Unposted)", "*", _SALES_LINES),
    LeftOut("Sales Credits (Posted)", "*", _SALES_LINES),
    LeftOut("Purchase Ledger (Supplier Accounts)", "*", _SUPPLIERS),
    LeftOut("Purchase Orders", "*", _SUPPLIERS),
    LeftOut("Purchase Invoices (Posted)", "*", _SUPPLIERS),
    LeftOut(
        "Discount Matrix",
        "*",
        "discount groups and quantity breaks: SSM has no discount rules; Sage applies them "
        "when it prices a rep's quote (Quotations), whose lines come back with Sage's prices",
    ),
    LeftOut("Sales Payments (Current Audit Trail)", "*", _PAYMENTS),
    LeftOut("Sales Payments (Audit History)", "*", _PAYMENTS),
    LeftOut("Audit Header", "*", _PAYMENTS),
    LeftOut("Audit Split", "*", _PAYMENTS),
    LeftOut("Audit Usage", "*", _PAYMENTS),
    LeftOut(
        "Price Lists (Customer-Specific Prices)",
        "*",
        "a special price is sent as Sage computes it (`salePrice` in the customer's rate, "
        "`SPECIAL:<account>`); how Sage computes it (type, calc value, base price), the "
        "product's description and the currency (the customer's, `Z_Currency` on the account) "
        "have no field on an SSM product rate, and SSM has no quantity pricing",
    ),
    LeftOut(
        "Price Lists (Product/Named Price Lists)",
        "*",
        "a list's prices are sent as Sage computes them (`salePrice`); how Sage computes them "
        "(type, calc value, base price) and its currency have no field on an SSM product rate",
    ),
    LeftOut(
        "Price List Metadata",
        "*",
        "the type chooses which lists are SSM rates (P); SSM rates have no currency; record "
        "dates and the deleted flag are the extract's change tracking",
    ),
    LeftOut(
        "Price Records (Detailed)",
        "*",
        "read to compute the price lists' selling prices (`derived.price_lists` → `salePrice`)",
    ),
    LeftOut(
        "VAT Rates",
        "*",
        "a product's VAT code and rate are sent with it (`Z_TaxCode`, `Z_TaxRate`), a "
        "customer's default code with it; the VAT table's descriptions, EU flags and country "
        "types are Sage's tax bookkeeping",
    ),
    LeftOut("VAT Countries", "*", "Sage's VAT settings per country: tax bookkeeping"),
)

# Dependency order: a resource comes after every resource it points at.
CONTRACTS: tuple[ResourceContract, ...] = (
    USERS,
    RATES,
    ACCOUNTS,
    CONTACTS,
    PRODUCT_CATEGORIES,
    PRODUCTS,
    PRODUCT_RATES,
    SALES_ORDERS,
    SALES_ORDER_LINES,
    SALES,
    CLIENT_COMPANIES,
    PROSPECTS,
    SSM_CONTACTS,
    QUOTATIONS,
)

PUSHED: tuple[ResourceContract, ...] = tuple(c for c in CONTRACTS if c.built and not c.reverse)
# Written into Sage by the reverse flow (assets/inbox), in the order it runs them.
REVERSE: tuple[ResourceContract, ...] = tuple(c for c in CONTRACTS if c.built and c.reverse)
BY_NAME: dict[str, ResourceContract] = {c.name: c for c in CONTRACTS}


def pushed(name: str) -> ResourceContract:
    contract = BY_NAME.get(name)
    if contract is None or not contract.built:
        known = ", ".join(c.name for c in PUSHED)
        raise KeyError(f"{name!r} is not a pushed resource; pushed resources are: {known}")
    return contract


def _check_order() -> None:
    seen: set[str] = set()
    for contract in PUSHED:
        missing = [p for p in contract.parents if p not in seen]
        if missing:
            raise ValueError(f"{contract.name} comes before its parents {missing}")
        seen.add(contract.name)


_check_order()


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown() -> str:
    """The page docs/sync-contract.md, from the contract alone (no environment)."""
    lines: list[str] = [
        "# Sync contract",
        "",
        "<!-- Generated by `python -m assets.ssm.contract` from assets/ssm/contract.py; "
        "do not edit by hand. -->",
        "",
        "What the connector keeps in Sage Sales Management (SSM) and how. Every record is keyed by",
        "its Sage code as `extId`. The push sends only what changed since SSM last acknowledged it",
        "(ledger `ssm.synced_<resource>`), in the order below, so a record's parents are in SSM",
        "before it; a record whose parent is not yet synced waits (reported as deferred).",
        "",
        "| resource | SSM endpoint | direction | source | status |",
        "|---|---|---|---|---|",
    ]
    for c in CONTRACTS:
        status = "reverse flow (assets/inbox)" if c.reverse else "pushed" if c.built else "planned"
        lines.append(
            f"| [{c.title}](#{c.name.replace('_', '-')}) | `/{c.ssm_resource}` | "
            f"{c.direction.value} | {', '.join(f'`{s}`' for s in c.sources)} | {status} |"
        )
    lines += [
        "",
        "Custom `Z_` field names are the defaults; rename them with `SSM_CUSTOM_FIELDS` (a JSON",
        "object, default name → name in your SSM). Settings (`branch`, `client_status`,",
        "`prospect_status`, `rep_column`, `admin_user`, `delete_adopted`, the prospect marker and",
        "conversion) are documented in the README.",
        "",
        "Deletes: the connector deletes in SSM only the records it created. On a resource's",
        "first push, records SSM already holds under the same key are adopted instead of created",
        "again; a Sage delete leaves an adopted record live in SSM (reported as a skipped",
        "delete) unless `SSM_DELETE_ADOPTED=true`. A record deleted in SSM is found by each",
        "push (records deleted since the previous one), reported, and neither re-created nor",
        "propagated to Sage.",
        "",
        "Several Sage companies in one tenant: each company's records carry its",
        "`SSM_EXT_ID_PREFIX` in front of every Sage key SSM sees (`NORTH-ABS001`; the fields",
        "marked *prefixed* below), so two companies that both have `ABS001` make two SSM",
        "records and never overwrite each other; users and value lists are the tenant's, shared",
        "by all companies, and keep their keys. The reverse flow and the quote flow write into",
        "a company's Sage only the SSM records whose extId carries its prefix (the prefix",
        "stripped), and skip the others as another company's. A rep's new account is claimed",
        "by the company whose `SSM_BRANCH` it is filed under, or, without branches, by the one",
        "company with `SSM_TAKES_NEW_ACCOUNTS=true`; a contact or a quote follows its account.",
        "With shared keys (no prefix: the same customer is the same SSM account in every",
        "company) the resources marked *shared* below are written only by the owning company",
        "(`SSM_SHARED_KEYS_OWNER=true`); a non-owning company never creates, updates or",
        "deletes them, finds them by extId, and attaches its own documents (orders, invoices)",
        "to them; it says so once per run in its push report, and takes no rep's new account.",
        "A changed prefix would re-key every record SSM holds: the push stops with one",
        "sentence unless `SSM_EXT_ID_REKEY=true`, which updates each record to its new extId.",
        "",
        f"Sync status (seed 004: a synchronised record is marked as synchronised): `{SYNCED_AT}`",
        "on the records of the resources whose table lists it (those whose SSM resource takes",
        f"`Z_` fields) is the {SYNCED_AT_MEANING}. Rename it like the other `Z_` fields.",
        "",
    ]
    for c in CONTRACTS:
        lines += [f"## {c.name.replace('_', '-')}", "", f"**{c.title}** — `/{c.ssm_resource}`", ""]
        rules = [
            ("direction", c.direction.value),
            ("key → extId", c.key),
            ("read-only", c.read_only),
            ("deletes", c.delete_policy),
            ("conflicts", c.conflict_rule),
        ]
        if c.parents:
            rules.append(("pushed after", ", ".join(c.parents)))
        if c.shared:
            rules.append(
                (
                    "shared keys",
                    "*shared*: with no prefix, written only by the company with "
                    "`SSM_SHARED_KEYS_OWNER=true`; the others find it by extId",
                )
            )
        if not c.built:
            rules.append(("status", "planned (not built yet)"))
        if c.notes:
            rules.append(("notes", c.notes))
        lines += [f"- **{k}**: {_escape(v)}" for k, v in rules]
        if c.sage_fields:
            lines += ["", "| SSM field | Sage field (SDO) | rule |", "|---|---|---|"]
            for sf in c.sage_fields:
                rule = sf.description + (
                    f"; SSM id of list `{sf.value_list}`" if sf.value_list else ""
                )
                rule += "; required" if sf.required else ""
                lines.append(f"| `{sf.ssm}` | `{sf.sage}` | {_escape(rule)} |")
        if c.fields:
            lines += [
                "",
                "| SSM field | from | owner | sent on | rule |",
                "|---|---|---|---|---|",
            ]
            for f in c.fields:
                rule = f.description
                if f.lookup:
                    rule += f"; matched in SSM list `{f.lookup.name}` by {f.lookup.key}"
                if f.user_ext_id:
                    rule += (
                        "; the extId of the SSM user the rep matched (the rep as Sage names it "
                        "when that user has none; null when no user matches)"
                    )
                elif f.parent:
                    rule += f"; SSM id of the `{f.parent}` record with that extId"
                    rule += (
                        " (null until it is synced)"
                        if f.parent_optional
                        else " (waits until it is synced)"
                    )
                if f.sage_key:
                    rule += "; *prefixed*: carries `SSM_EXT_ID_PREFIX`"
                if f.keep_when_null:
                    rule += "; a null never overwrites SSM"
                if f.create_default:
                    rule += f"; at creation when null: `{f.create_default}`"
                lines.append(
                    f"| `{f.ssm}` | {f.source_text} | {f.owner.value} | {f.when.value} | "
                    f"{_escape(rule)} |"
                )
            if c.synced_at:
                lines.append(
                    f"| `{SYNCED_AT}` | the time of the write | {Owner.CONNECTOR.value} | "
                    f"{When.ALWAYS.value}, when the record changed | last time the connector "
                    "wrote this record (see Sync status above) |"
                )
        lines.append("")
    lines += [
        "## Left out, and why",
        "",
        "Every value of the vendor's field map (`assets/staging/field_map.tsv`) reaches an SSM",
        "field above (traced in docs/lineage.md) or is listed here with the reason; `*` stands",
        "for the section's values not sent above. A test keeps this list and the push in step.",
        "",
        "| field-map section | field | why not sent |",
        "|---|---|---|",
        *(f"| {o.section} | {_escape(o.field)} | {_escape(o.reason)} |" for o in LEFT_OUT),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Write docs/sync-contract.md; with --check, exit 1 when it is stale."""
    args = sys.argv[1:] if argv is None else argv
    return write_or_check(
        DOC_PATH, render_markdown(), "python -m assets.ssm.contract", check="--check" in args
    )


if __name__ == "__main__":
    raise SystemExit(main())
