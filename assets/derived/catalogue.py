"""The derived values, declared once like the staging sections: what each reads, its column
lineage back to `staging`, and its key. SQL in `sql/<name>.sql`; all read `staging` only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from assets.staging.factory import SqlTable, col
from resources.sage.pricing import PricingRules

SL = "staging.stock_levels"
AH, AS, AU = "staging.audit_headers", "staging.audit_splits", "staging.audit_usages"
HIST, CUST = "staging.sales_payments_history", "staging.customer_accounts"
OH, OL = "staging.sales_order_headers", "staging.sales_order_lines"
DM, VR = "staging.discount_matrix", "staging.vat_rates"
CPL, NPL, PR = "staging.customer_price_lists", "staging.named_price_lists", "staging.price_records"
PI, PLM, CUR = "staging.product_items", "staging.price_list_metadata", "staging.currencies"
NOT_STOCKED = "null when Sage does not track the item's stock"

STOCK = SqlTable(
    name="stock",
    description=(
        "Free and physical stock per product. Items whose stock Sage does not track (non-stock, "
        "service, IGNORE_STK_LVL_FLAG) have no stock figure at all: null, shown as a dash in SSM."
    ),
    reads=(SL,),
    key=("product_reference",),
    field_map=("Stock Levels (by Warehouse)",),
    columns=(
        col("product_reference", f"{SL}.product_reference"),
        col("warehouse_code", f"{SL}.warehouse_code"),
        col("is_stocked", f"{SL}.is_stocked"),
        col(
            "physical_stock",
            f"{SL}.quantity_in_stock",
            f"{SL}.is_stocked",
            description=f"Total physical items on hand (quantity in stock); {NOT_STOCKED}",
        ),
        col(
            "free_stock",
            f"{SL}.quantity_in_stock",
            f"{SL}.quantity_allocated",
            f"{SL}.is_stocked",
            description=f"Available to promise: quantity in stock - allocated; {NOT_STOCKED}",
        ),
        col(
            "quantity_allocated",
            f"{SL}.quantity_allocated",
            f"{SL}.is_stocked",
            description=f"Stock reserved against sales orders; {NOT_STOCKED}",
        ),
        col(
            "quantity_on_order",
            f"{SL}.quantity_on_order",
            f"{SL}.is_stocked",
            description=f"Outstanding purchase orders; {NOT_STOCKED}",
        ),
        col("deleted_at", f"{SL}.deleted_at"),
    ),
)

INVOICE_PAYMENT_STATUS = SqlTable(
    name="invoice_payment_status",
    description=(
        "Payment status of every posted sales invoice and credit note (SI/SC) from the audit "
        "trail: paid / part-paid / unpaid, outstanding, paid date and payment due date. "
        "Invoices cleared into the audit history are paid."
    ),
    reads=(AH, AS, AU, HIST, CUST),
    key=("header_number",),
    field_map=("Sales Payments (Current Audit Trail)",),
    columns=(
        col(
            "header_number",
            f"{AH}.header_number",
            f"{HIST}.header_number",
            description="The document's audit trail transaction (live or cleared)",
        ),
        col("source", description="'audit_trail' (live) or 'audit_history' (cleared: paid)"),
        col("invoice_number", f"{AH}.invoice_reference", f"{HIST}.invoice_number"),
        col(
            "invoice_number_numeric",
            f"{AH}.invoice_reference",
            f"{HIST}.invoice_number",
            description="The invoice / credit note number as a number (null when not numeric)",
        ),
        col(
            "account_reference",
            f"{AH}.account_reference",
            f"{HIST}.account_reference",
            description="Customer account",
        ),
        col(
            "type",
            f"{AH}.type",
            f"{HIST}.type",
            description="SI (invoice) or SC (credit note)",
        ),
        col("invoice_or_credit", f"{AH}.type", f"{HIST}.type"),
        col(
            "invoice_date",
            f"{AH}.date",
            f"{HIST}.invoice_date",
            description="The document's date",
        ),
        col(
            "gross_amount",
            f"{AH}.gross_amount",
            f"{HIST}.gross_amount",
            description="The document's gross amount",
        ),
        col(
            "amount_paid",
            f"{AH}.amount_paid",
            f"{HIST}.gross_amount",
            description="Amount paid (all of it once cleared into the history)",
        ),
        col(
            "outstanding_amount",
            f"{AH}.outstanding",
            description="Amount still outstanding (0 once cleared into the history)",
        ),
        col(
            "allocated_amount",
            f"{AU}.amount",
            f"{AU}.split_cross_reference",
            f"{AS}.split_number",
            description="Sum of the live allocations to the document, each counted once",
        ),
        col(
            "status",
            f"{AH}.outstanding",
            f"{AH}.gross_amount",
            description="paid (nothing outstanding), part-paid or unpaid",
        ),
        col(
            "paid_flag",
            f"{AH}.outstanding",
            f"{HIST}.paid_flag",
            description="Whether the document is fully paid",
        ),
        col(
            "last_payment_date",
            f"{AH}.date",
            f"{AU}.split_number",
            f"{HIST}.paid_date",
            description="Date of the latest paying transaction",
        ),
        col(
            "paid_date",
            f"{AH}.date",
            f"{AU}.split_number",
            f"{HIST}.paid_date",
            description="Date of the latest paying transaction, once fully paid; else null",
        ),
        col(
            "payment_due_date",
            f"{AH}.date",
            f"{CUST}.payment_due_days",
            f"{CUST}.payment_due_from",
            description="The invoice date plus the customer's payment terms; null for a credit "
            "note",
        ),
    ),
    notes=(
        "Deleted audit rows (DELETED_FLAG) and soft-deleted rows are ignored: a receipt that was "
        "deleted no longer pays anything.",
        "Each allocation is stored twice in AUDIT_USAGE; only the side whose SPLIT_CROSSREF is the "
        "document's split counts (allocated_amount), so it is counted once.",
        "paid_date / last_payment_date is the date of the latest paying transaction (its audit "
        "header DATE, AUDIT_USAGE.DATE being unreliable); paid_date is set only once fully paid.",
        "payment_due_date: the invoice date plus the customer's terms, N = PAYMENT_DUE_DAYS counted "
        "per PAYMENT_DUE_FROM (reference §2.7; Sage KB 'Set payment terms and due dates'): 0 N "
        "days after the invoice date; 1 N days from the 1st of the following month; 2 N days "
        "before the last day of the following month; 3 day N of the month, or of the following "
        "month when the invoice is dated after it (N past the month's end = its last day); 4 N "
        "days from one month after the invoice date (31 January + 1 month = end of February). "
        "The month-end handling of 3 and 4 is inferred, not confirmed on a real company; it lives "
        "in one CASE of the SQL. Null for credit notes.",
        "A source without an audit trail (Sage 50 FR) writes one audit_headers row per document "
        "and no splits or usages: status, amounts and due date are as above, allocated_amount is "
        "0 and paid_date / last_payment_date are null.",
    ),
)

SALES_ORDER_TOTALS = SqlTable(
    name="sales_order_totals",
    description=(
        "Sales Order totals: base and foreign net, tax and gross = the order's live lines + "
        "carriage, per order (the map's Sales Order section)."
    ),
    reads=(OH, OL),
    key=("order_number_accounts_id",),
    field_map=("Sales Order",),
    columns=(
        col("order_number_accounts_id", f"{OH}.order_number_accounts_id"),
        col("order_date", f"{OH}.order_date"),
        col("customer_account", f"{OH}.customer_account"),
        col("customer_order_reference", f"{OH}.customer_order_reference"),
        col("base_net_value", f"{OL}.line_net_amount_base", f"{OH}.carriage_net_base"),
        col("base_tax_value", f"{OL}.line_tax_amount_base", f"{OH}.carriage_tax_base"),
        col("base_gross_value", f"{OL}.line_gross_amount_base", f"{OH}.carriage_gross_base"),
        col("foreign_net_value", f"{OL}.line_net_amount_foreign", f"{OH}.carriage_net_foreign"),
        col("foreign_tax_value", f"{OL}.line_tax_amount_foreign", f"{OH}.carriage_tax_foreign"),
        col(
            "foreign_gross_value", f"{OL}.line_gross_amount_foreign", f"{OH}.carriage_gross_foreign"
        ),
        col("carriage_net_base", f"{OH}.carriage_net_base"),
        col("carriage_tax_base", f"{OH}.carriage_tax_base"),
        col("carriage_gross_base", f"{OH}.carriage_gross_base"),
        col("carriage_net_foreign", f"{OH}.carriage_net_foreign"),
        col("carriage_tax_foreign", f"{OH}.carriage_tax_foreign"),
        col("carriage_gross_foreign", f"{OH}.carriage_gross_foreign"),
        col("currency_code", f"{OH}.currency_code"),
        col("allocated_status", f"{OH}.allocated_status"),
        col("line_count", f"{OL}.line_number", description="Number of live lines"),
        col("deleted_at", f"{OH}.deleted_at"),
    ),
)

DISCOUNT_MATRIX = SqlTable(
    name="discount_matrix",
    description=(
        "Discount matrix: one row per product and band (A-E) that has at least one quantity break, "
        "named as the company names its bands (COMPANY.STOCK_DISCOUNT_A..E), with the band's "
        "non-empty levels in order as a list of {quantity, discount}; empty levels (no quantity "
        "and no rate) and bands without a level are dropped."
    ),
    reads=(DM,),
    key=("product_reference", "discount_group"),
    columns=(
        col("product_reference", f"{DM}.discount_matrix_product_ref"),
        col("discount_group", f"{DM}.discount_group"),
        col("discount_group_name", f"{DM}.discount_group_name"),
        col("discount_description", f"{DM}.discount_description"),
        col(
            "quantity_breaks",
            *(f"{DM}.quantity_break_{n}" for n in range(1, 11)),
            *(f"{DM}.discount_rate_{n}" for n in range(1, 11)),
            description="The band's non-empty levels in order: the quantity from which the "
            "discount % applies",
        ),
        col("deleted_at", f"{DM}.deleted_at"),
    ),
    notes=(
        "quantity_breaks is LIST(STRUCT(quantity DECIMAL(18,4), discount DECIMAL(9,4))): the "
        "quantity from which the discount % applies, in Sage's level order.",
    ),
)

PRICE_LISTS = SqlTable(
    name="price_lists",
    description=(
        "Selling price per customer (type S, special prices) and per named price list (type P), "
        "in the list's currency (the customer's for S, the price list's for P)."
    ),
    reads=(CPL, NPL, PR, PI, PLM, CUR),
    key=("type", "price_list_code", "product_reference"),
    columns=(
        col(
            "type",
            f"{CPL}.type",
            f"{NPL}.type",
            description="S: a customer's special price; P: a named price list",
        ),
        col(
            "price_list_code",
            f"{CPL}.price_list_code",
            f"{NPL}.price_list_code",
            description="The customer's account code (S) or the price list's code (P)",
        ),
        col(
            "product_reference",
            f"{CPL}.product_reference",
            f"{NPL}.product_reference",
            description="Product the price applies to",
        ),
        col(
            "description",
            f"{CPL}.description",
            f"{NPL}.description",
            description="Product description",
        ),
        col(
            "currency_code",
            f"{CPL}.currency_code",
            f"{NPL}.currency_code",
            description="The list's currency: the customer's (S) or the price list's (P)",
        ),
        col(
            "calculation_method",
            f"{CPL}.calc_method",
            f"{NPL}.calc_method",
            description="Sage's CALC_METHOD: how the price is derived",
        ),
        col(
            "calculation_value",
            f"{CPL}.calc_value",
            f"{NPL}.calc_value",
            description="Percentage or value the calculation uses",
        ),
        col(
            "stored_price",
            f"{CPL}.selling_price",
            f"{NPL}.selling_price",
            description="The price Sage stored when the list was last calculated",
        ),
        col(
            "base_sales_price",
            f"{CPL}.base_sales_price",
            f"{NPL}.base_sales_price",
            description="The product's standard sales price (base currency)",
        ),
        col(
            "selling_price",
            f"{CPL}.selling_price",
            f"{NPL}.selling_price",
            f"{PI}.sales_price",
            f"{PI}.last_purchase_price",
            f"{PLM}.has_static_prices",
            f"{CUR}.exchange_rate",
            f"{CUR}.home_currency",
            description="The selling price as Sage computes it, in the list's currency: stored, "
            "or calculated from the product's prices (see the notes)",
        ),
        col(
            "price_source",
            f"{PLM}.has_static_prices",
            f"{CPL}.calc_method",
            f"{NPL}.calc_method",
            description="'stored' or 'calculated': where selling_price comes from",
        ),
        col(
            "deleted_at",
            f"{CPL}.deleted_at",
            f"{NPL}.deleted_at",
            f"{PLM}.deleted_at",
            description="When the price or its list was deleted in Sage; NULL = live",
        ),
    ),
    notes=(
        "STORED_PRICE is the price Sage stored when the list was last (re)calculated, in the "
        "list's currency, so it is the selling price of static lists (HAS_STATIC_PRICES) and of "
        "Fixed Price rows, as stored.",
        "Other rows are calculated as Sage does (CALC_METHOD 1 standard sales price, 2/3 decrease "
        "sales price by %/value, 4/5 markup cost price by %/value, 6 increase sales price by %), "
        "cost price being the product's LAST_PURCHASE_PRICE. Those product prices are in the base "
        "currency, so a list in another currency converts the result at its CURRENCY.RATE (units "
        "of the currency per base unit): a EUR list at 1.15 sells a 12.00 standard price at "
        "13.80 (CALC_VALUE of methods 3 and 5 is taken to be in the base currency too, like the "
        "price it adjusts: unconfirmed). A currency with no rate gives no price (null), never a "
        "base-currency figure under the list's code.",
        "Sage's ROUNDER_* codes are not documented, so calculated prices are rounded once, to 2 dp "
        "after conversion, not to Sage's rounding rule.",
    ),
)

VAT_RATES = SqlTable(
    name="vat_rates",
    description=(
        "VAT rates classified by country type (Home / EC / Non-EC) and transaction type "
        "(Sales / Purchase): one row per tax code and use."
    ),
    reads=(VR,),
    key=("tax_code", "country_type", "transaction_type"),
    field_map=("VAT Rates",),
    columns=(
        col("tax_code", f"{VR}.tax_code"),
        col("tax_description", f"{VR}.tax_description"),
        col("tax_rate", f"{VR}.tax_rate"),
        col("country_type", f"{VR}.eu_sales_flag", f"{VR}.eu_purchase_flag", f"{VR}.tax_rate"),
        col("transaction_type", f"{VR}.eu_sales_flag", f"{VR}.eu_purchase_flag"),
        col("deleted_at", f"{VR}.deleted_at"),
    ),
    notes=(
        "A code flagged EURO_SALES is an EC sales code, EURO_PURCHASE an EC purchase code; any "
        "other code is a Home code for both sales and purchases, and a zero-rated one also "
        "serves Non-EC trade (exports and imports outside the EC are zero-rated in the UK).",
    ),
)

LIST_PRICE_SOURCES = (
    f"{PR}.calculation_method",
    f"{PR}.calculation_value",
    f"{PR}.stored_price",
    f"{PR}.rounding_method",
    f"{PR}.rounding_direction",
    f"{PR}.rounding_multiple_of",
    f"{PR}.rounding_adjustment",
    f"{PI}.sales_price",
    f"{PI}.last_purchase_price",
    f"{PI}.average_cost_price",
    f"{PLM}.has_static_prices",
    f"{PLM}.currency",
    f"{CUR}.exchange_rate",
    f"{CUR}.home_currency",
)
DISCOUNT_SOURCES = (
    f"{CUST}.discount_type",
    f"{CUST}.overall_discount",
    *(f"{DM}.quantity_break_{n}" for n in range(1, 11)),
    *(f"{DM}.discount_rate_{n}" for n in range(1, 11)),
)
# The line's net (and so its discount amount and VAT): unit price, discount % and quantity.
NET_SOURCES = (*LIST_PRICE_SOURCES, *DISCOUNT_SOURCES, f"{OL}.quantity_ordered")


def pricing_rules_row(rules: PricingRules) -> str:
    """The company's pricing switches as the one-row SELECT the explanation's SQL reads
    (`{filter}` in sql/quote_price_explanation.sql). Every value is a validated setting."""

    def codes(mapping: Mapping[int, str], meaning: str) -> str:
        found = [str(int(code)) for code, m in mapping.items() if m == meaning]
        return f"CAST([{', '.join(found)}] AS INTEGER[])"

    def boolean(value: bool) -> str:
        return "TRUE" if value else "FALSE"

    # The unit d.p. as a scale and its step (2: 100 and 0.01): DuckDB's round() takes
    # constant places only, so the SQL rounds x scale to 0 places and multiplies by the step.
    places = int(rules.unit_decimal_places)
    return (
        f"SELECT {boolean(rules.discount_by_unit_price)} AS discount_by_unit_price, "
        f"{boolean(rules.discounts_on_special_prices)} AS discounts_on_special_prices, "
        f"{boolean(rules.discounts_on_price_list_prices)} AS discounts_on_price_list_prices, "
        f"{boolean(rules.customer_discount_on_all_prices)} AS customer_discount_on_all_prices, "
        f"'{rules.tax_code_from}' AS tax_code_from, '{rules.cost_price}' AS cost_price, "
        f"'{rules.fixed_price_from}' AS fixed_price_from, "
        f"CAST({10**places} AS DECIMAL(7, 0)) AS unit_scale, "
        f"CAST({10.0**-places:.{places}f} AS DECIMAL(7, 6)) AS unit_step, "
        f"{codes(rules.rounder_directions, 'up')} AS rounder_up, "
        f"{codes(rules.rounder_directions, 'nearest')} AS rounder_nearest, "
        f"{codes(rules.rounder_directions, 'down')} AS rounder_down, "
        f"{codes(rules.rounder_methods, 'multiple_of')} AS rounder_multiple_of, "
        f"{codes(rules.rounder_methods, 'decimal_places')} AS rounder_decimal_places"
    )


QUOTE_PRICE_EXPLANATION = SqlTable(
    name="quote_price_explanation",
    description=(
        "Every live line of every Sage quotation whose account and product are known, priced "
        "again by Sage 50 UK's rules (resources/sage/pricing.py says them): which rule fired "
        "(special_price, price_list, sales_price), what it computed, what Sage wrote on the "
        "line, and, for the quotes the quote flow posted, whether they match."
    ),
    reads=(OH, OL, CUST, PI, PR, PLM, CUR, DM, VR),
    key=("order_number", "line_number"),
    columns=(
        col("order_number", f"{OH}.order_number_accounts_id", description="Sage quotation"),
        col("line_number", f"{OL}.line_number", description="Line of the quotation"),
        col("account_reference", f"{OH}.customer_account", description="Customer account"),
        col("stock_code", f"{OL}.product_reference", description="Product"),
        col("quantity", f"{OL}.quantity_ordered", description="Quantity quoted"),
        col(
            "currency_code",
            f"{CUST}.currency_code",
            f"{CUR}.currency_code",
            description="The customer's currency: every amount of the line is in it",
        ),
        col(
            "rule",
            f"{PR}.type",
            f"{PR}.pricing_reference",
            f"{CUST}.price_list",
            f"{PLM}.deleted",
            description="special_price (PRICE type S), price_list (the customer's list) or "
            "sales_price (the product's): the first that applies",
        ),
        col(
            "calc_method",
            f"{PR}.calculation_method",
            description="CALC_METHOD of the PRICE row used (null for the sales price)",
        ),
        col(
            "list_unit_price",
            *LIST_PRICE_SOURCES,
            description="The rule's unit price before discounts, in the customer's currency",
        ),
        col(
            "quantity_discount_percent",
            *DISCOUNT_SOURCES[:1],
            *DISCOUNT_SOURCES[2:],
            description="The discount table A-E break for the quantity (0: none or not applied)",
        ),
        col(
            "customer_discount_percent",
            f"{CUST}.overall_discount",
            description="The customer's own discount %, added to the quantity discount",
        ),
        col(
            "expected_discount_percent",
            *DISCOUNT_SOURCES,
            description="The discount % Sage should put on the line",
        ),
        col(
            "expected_unit_price",
            *LIST_PRICE_SOURCES,
            description="The unit price Sage should write (UNIT_PRICE, undiscounted)",
        ),
        col(
            "expected_discount_amount",
            *NET_SOURCES,
            description="The line's discount Sage should compute",
        ),
        col("expected_net", *NET_SOURCES, description="The line's net Sage should compute (2 dp)"),
        col(
            "tax_code",
            f"{PI}.tax_code",
            f"{CUST}.default_tax_code",
            f"{CUST}.override_tax_code",
            description="The product's tax code, or the customer's when it overrides",
        ),
        col("tax_rate", f"{VR}.tax_rate", description="The tax code's rate %"),
        col(
            "expected_tax",
            *NET_SOURCES,
            f"{VR}.tax_rate",
            description="The line's VAT: net x rate, rounded half up per line",
        ),
        col("sage_unit_price", f"{OL}.unit_price_foreign", description="What Sage wrote"),
        col("sage_discount_percent", f"{OL}.discount_rate", description="What Sage wrote"),
        col(
            "sage_discount_amount",
            f"{OL}.quantity_ordered",
            f"{OL}.unit_price_foreign",
            f"{OL}.line_net_amount_foreign",
            description="Sage's discount: quantity x unit price (2 dp) - Sage's net",
        ),
        col("sage_net", f"{OL}.line_net_amount_foreign", description="What Sage wrote"),
        col("sage_tax", f"{OL}.line_tax_amount_foreign", description="What Sage wrote"),
        col(
            "from_quote_flow",
            f"{OH}.customer_order_reference",
            description="Posted by the quote flow (customer order number 'SSM:<id>')",
        ),
        col(
            "matches",
            description="Sage's unit price, discount %, net and tax all within 0.01 of the "
            "explanation; null when not judged (a quote keyed in Sage, an invoice-value "
            "discount, a missing fact)",
        ),
        col("explanation", description="One sentence: which rule fired and what it computed"),
    ),
    notes=(
        "Only the quote flow's quotations are judged (matches): it marks them in "
        "CUST_ORDER_NUMBER ('SSM:<id>'). One keyed by hand in Sage is explained but not judged: "
        "its prices are whatever was typed.",
        "The company's switches are the SAGE_PRICING_* settings (resources/sage/pricing.py), read "
        "when the code location loads and given to the SQL as a one-row `rules` CTE.",
        "A master changed after the quote was priced (a new sales price, list or discount) makes "
        "its lines differ: the check then reports a change, not a wrong price.",
    ),
)


def quote_price_explanation(rules: PricingRules) -> SqlTable:
    """The explanation's table for these switches (the settings' by default)."""
    return replace(QUOTE_PRICE_EXPLANATION, filter=pricing_rules_row(rules))


DERIVED: tuple[SqlTable, ...] = (
    STOCK,
    INVOICE_PAYMENT_STATUS,
    SALES_ORDER_TOTALS,
    DISCOUNT_MATRIX,
    PRICE_LISTS,
    VAT_RATES,
    quote_price_explanation(PricingRules.from_env()),
)
