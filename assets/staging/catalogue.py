"""The field map's import sections, declared once: table, Sage sources, column lineage, key.

Column names are the snake_case of the map's "CRM Field Name" (lower case, every run of
non-alphanumerics becomes `_`, trimmed). Columns the map does not list but the push or `derived`
needs are marked "extra" in the comments. Each section's SQL is `sql/<name>.sql`.

Sections are unpartitioned and rebuilt from the whole `sage` tables on every run: DuckDB does it
in milliseconds and the 15-minute path needs no partition bookkeeping. After a backfill of months
of a partitioned `sage` table, the sensor `sync_after_sage_update` starts the sync that rebuilds
them. `document_date` names the column by which a section follows the monthly
`document_months` partitions of its sources; only sections reading a partitioned table have one.
"""

from __future__ import annotations

from dataclasses import replace

from assets.staging.factory import Column, SqlTable, col

SL, PL, ST, CUR, CC = "SALES_LEDGER", "PURCHASE_LEDGER", "STOCK", "CURRENCY", "COUNTRY_CODE"
BANDS = ("A", "B", "C", "D", "E")
LEVELS = range(1, 11)


def _address(table: str, *, postcode_name: str = "postcode") -> tuple[Column, ...]:
    return (
        *(col(f"address_line_{i}", f"{table}.ADDRESS_{i}") for i in range(1, 5)),
        col(postcode_name, f"{table}.ADDRESS_5"),
    )


def _deleted(*tables: str) -> Column:
    return col(
        "deleted_at",
        *(f"{t}.DELETED_AT" for t in tables),
        description="When the connector saw the row deleted in Sage (a line: the earlier of the "
        "line's and its header's); NULL = live",
    )


CUSTOMER_ACCOUNTS = SqlTable(
    name="customer_accounts",
    description="Sales Ledger (Customer Accounts): one row per Sage customer account.",
    field_map=("Sales Ledger (Customer Accounts)",),
    reads=(SL, CC, CUR, "COMPANY"),
    key=("account_reference",),
    columns=(
        col("account_reference", f"{SL}.ACCOUNT_REF"),
        col("company_name", f"{SL}.NAME"),
        *_address(SL),
        col("country", f"{CC}.NAME"),
        col("telephone", f"{SL}.TELEPHONE"),
        col("fax", f"{SL}.FAX"),
        col("email", f"{SL}.E_MAIL"),
        col("on_stop", f"{SL}.ACCOUNT_ON_HOLD"),
        col("balance", f"{SL}.BALANCE"),
        col("last_invoice_date", f"{SL}.LAST_INV_DATE"),
        col("last_receipt_date", f"{SL}.LAST_PAYMENT_DATE"),
        col("credit_limit", f"{SL}.CREDIT_LIMIT"),
        col("price_list", f"{SL}.PRICING_REF"),
        col("vat_registration_number", f"{SL}.VAT_REG_NUMBER"),
        col("settlement_discount", f"{SL}.SETTLEMENT_DISC_RATE"),
        col("settlement_days", f"{SL}.SETTLEMENT_DUE_DAYS"),
        col("overall_discount", f"{SL}.DISCOUNT_RATE"),
        col("default_tax_code", f"{SL}.DEF_TAX_CODE"),
        col("country_code", f"{CC}.CODE", f"{SL}.COUNTRY_CODE"),
        col("discount_type", f"{SL}.DISCOUNT_TYPE"),
        col("override_tax_code", f"{SL}.OVERRIDE_TAX_CODE"),
        col("currency_rate", f"{CUR}.RATE"),
        col("currency_code", f"{CUR}.CODE"),
        col("closed_inactive", f"{SL}.INACTIVE_FLAG"),
        col("website", f"{SL}.WEB_ADDRESS"),
        # extra: the push reads the sales rep from a configurable analysis field
        *(
            col(
                f"analysis_{n}",
                f"{SL}.ANALYSIS_{n}",
                description=f"Sage analysis field {n}; the sales rep is the customer column "
                "SAGE_REP_FIELD names (default analysis_2)",
            )
            for n in (1, 2, 3)
        ),
        col("contact_name", f"{SL}.CONTACT_NAME"),
        # extra: the customer's payment terms, defaulted from the company's (payment due dates)
        col(
            "payment_due_days",
            f"{SL}.PAYMENT_DUE_DAYS",
            "COMPANY.PAYMENT_DUE_SALES",
            description="Payment terms in days: the customer's, else the company's",
        ),
        col(
            "payment_due_from",
            f"{SL}.PAYMENT_DUE_FROM",
            "COMPANY.PAYMENT_DUE_FROM_SALES",
            description="From when the terms count (0-4, see derived.invoice_payment_status): "
            "the customer's, else the company's",
        ),
        _deleted(SL),
    ),
)

SUPPLIER_ACCOUNTS = SqlTable(
    name="supplier_accounts",
    description="Purchase Ledger (Supplier Accounts): one row per Sage supplier account.",
    field_map=("Purchase Ledger (Supplier Accounts)",),
    reads=(PL, CC, CUR),
    key=("account_reference",),
    columns=(
        col("account_reference", f"{PL}.ACCOUNT_REF"),
        col("supplier_name", f"{PL}.NAME"),
        *_address(PL),
        col("country", f"{CC}.NAME"),
        col("telephone", f"{PL}.TELEPHONE"),
        col("fax", f"{PL}.FAX"),
        col("email", f"{PL}.E_MAIL"),
        col("balance", f"{PL}.BALANCE"),
        col("last_invoice_date", f"{PL}.LAST_INV_DATE"),
        col("currency_code", f"{CUR}.CODE"),
        col("closed_inactive", f"{PL}.INACTIVE_FLAG"),
        _deleted(PL),
    ),
)

PRODUCT_ITEMS = SqlTable(
    name="product_items",
    description="Product Items: one row per Sage stock record (stock, non-stock and service items).",
    field_map=("Product Items",),
    reads=(ST, "COMPANY"),
    key=("product_reference",),
    columns=(
        col("product_reference", f"{ST}.STOCK_CODE"),
        col("description", f"{ST}.DESCRIPTION"),
        col("product_category", f"{ST}.STOCK_CAT"),
        col("discount_matrix_code", f"{ST}.STOCK_CODE"),
        col("is_stocked", f"{ST}.IGNORE_STK_LVL_FLAG"),
        col("tax_code", f"{ST}.TAX_CODE"),
        col("average_cost_price", f"{ST}.AVERAGE_COST_PRICE"),
        col("location", f"{ST}.LOCATION"),
        col("qty_break_level_1", f"{ST}.DISC_A_LEVEL_1_QTY"),
        col("discount_rate_level_1", f"{ST}.DISC_A_LEVEL_1_RATE"),
        col("last_purchase_price", f"{ST}.LAST_PURCHASE_PRICE"),
        col("last_discounted_purchase_price", f"{ST}.LAST_DISC_PURCHASE_PRICE"),
        col("sales_price", f"{ST}.SALES_PRICE"),
        col("unit_decimal_places", "COMPANY.UNIT_DECIMAL_PLACE"),
        col("qty_decimal_places", "COMPANY.QTY_DECIMAL_PLACE"),
        col("barcode", f"{ST}.BARCODE"),
        col("unit_weight", f"{ST}.UNIT_WEIGHT"),
        col("department", f"{ST}.DEPT_NUMBER"),
        col("nominal_code_sales", f"{ST}.NOMINAL_CODE"),
        col("nominal_code_purchase", f"{ST}.PURCHASE_NOMINAL_CODE"),
        col("inactive_flag", f"{ST}.INACTIVE_FLAG"),
        col("unit_of_sale", f"{ST}.UNIT_OF_SALE"),  # extra
        col(
            "web_image_file",
            f"{ST}.WEB_IMAGE_FILE",
            description="The product's picture as Sage names it (a file on the Sage machine); "
            "not in the field map (extra)",
        ),
        _deleted(ST),
    ),
    notes=("is_stocked is false for items whose stock level Sage ignores (non-stock, service).",),
)

CURRENCIES = SqlTable(
    name="currencies",
    description="Currencies: one row per Sage currency.",
    field_map=("Currencies",),
    reads=(CUR,),
    key=("accounts_id",),
    columns=(
        col("currency_code", f"{CUR}.CODE"),
        col("currency_name", f"{CUR}.NAME"),
        col("decimal_places"),
        col("exchange_rate", f"{CUR}.RATE"),
        col("accounts_id", f"{CUR}.NUMBER"),
        col("multiplier"),
        col("home_currency", f"{CUR}.BASE_CURRENCY"),
        col("rounding_method"),
        _deleted(CUR),
    ),
    notes=("Decimal Places = 2, Multiplier = 0 and Rounding Method = 1 are the map's constants.",),
)

STOCK_LEVELS = SqlTable(
    name="stock_levels",
    description="Stock Levels (by Warehouse): Sage's quantities per product and location.",
    field_map=("Stock Levels (by Warehouse)",),
    reads=(ST,),
    key=("product_reference",),
    columns=(
        col("product_reference", f"{ST}.STOCK_CODE"),
        col("warehouse_code", f"{ST}.LOCATION"),
        col("quantity_in_stock", f"{ST}.QTY_IN_STOCK"),
        col("quantity_on_order", f"{ST}.QTY_ON_ORDER"),
        col("quantity_allocated", f"{ST}.QTY_ALLOCATED"),
        col("last_order_quantity", f"{ST}.QTY_LAST_ORDER"),
        col("reorder_level", f"{ST}.QTY_REORDER"),
        col(
            "is_stocked",
            f"{ST}.IGNORE_STK_LVL_FLAG",
            description="Whether Sage tracks the item's stock (extra: decides whether stock "
            "applies)",
        ),
        _deleted(ST),
    ),
    notes=(
        "Free Stock and Physical Stock are computed in derived.stock (null where stock does not apply).",
    ),
)

SALES_ORDER_LINES = SqlTable(
    name="sales_order_lines",
    description="Sales Orders (Line Items): one row per SOP_ITEM line, with its order's header fields.",
    field_map=("Sales Orders (Line Items)",),
    reads=("SOP_ITEM", "SALES_ORDER", CUR, ST),
    key=("order_number", "line_number"),
    document_date="order_date",
    columns=(
        col("order_number", "SOP_ITEM.ORDER_NUMBER"),
        col("line_number", "SOP_ITEM.ITEM_NUMBER"),
        col("product_reference", "SOP_ITEM.STOCK_CODE"),
        col("product_description", "SOP_ITEM.DESCRIPTION"),
        col("unit_price_foreign", "SOP_ITEM.FOREIGN_UNIT_PRICE"),
        col("quantity_ordered", "SOP_ITEM.QTY_ORDER"),
        col("line_net_amount_foreign", "SOP_ITEM.FOREIGN_NET_AMOUNT"),
        col("due_date", "SOP_ITEM.DUE_DATE"),
        col("account_reference", "SALES_ORDER.ACCOUNT_REF"),
        col("delivery_postcode_user_1", "SALES_ORDER.DEL_ADDRESS_5"),
        col("line_gross_amount_foreign", "SOP_ITEM.FOREIGN_GROSS_AMOUNT"),
        col("currency_code", f"{CUR}.CODE"),
        col("line_net_amount_base", "SOP_ITEM.NET_AMOUNT"),
        col("line_gross_amount_base", "SOP_ITEM.GROSS_AMOUNT"),
        col("nominal_code", "SOP_ITEM.NOMINAL_CODE"),
        col("quantity_delivered", "SOP_ITEM.QTY_DELIVERED"),
        col("order_date", "SALES_ORDER.ORDER_DATE"),
        col("customer_order_reference", "SALES_ORDER.CUST_ORDER_NUMBER"),
        col("discount_rate", "SOP_ITEM.DISCOUNT_RATE"),
        col("last_discounted_purchase_price", f"{ST}.LAST_DISC_PURCHASE_PRICE"),
        col("department_code", "SOP_ITEM.DEPT_NUMBER"),
        col("allocated_status", "SALES_ORDER.ALLOCATED_STATUS_CODE"),
        # extra: line tax, for the order totals in derived.sales_order_totals
        col("line_tax_amount_base", "SOP_ITEM.TAX_AMOUNT"),
        col("line_tax_amount_foreign", "SOP_ITEM.FOREIGN_TAX_AMOUNT"),
        _deleted("SOP_ITEM", "SALES_ORDER"),
    ),
    notes=(
        "A line whose order header is missing from the extract is kept (header fields null) "
        "so the check `every_line_has_its_order` can report it.",
    ),
)

SALES_ORDER_HEADERS = SqlTable(
    name="sales_order_headers",
    description="Sales Order: one row per SALES_ORDER header with its carriage; totals are in derived.sales_order_totals.",
    field_map=("Sales Order",),
    reads=("SALES_ORDER", CUR),
    key=("order_number_accounts_id",),
    document_date="order_date",
    columns=(
        col("order_number_accounts_id", "SALES_ORDER.ORDER_NUMBER"),
        col("order_date", "SALES_ORDER.ORDER_DATE"),
        col("customer_account", "SALES_ORDER.ACCOUNT_REF"),
        col("customer_order_reference", "SALES_ORDER.CUST_ORDER_NUMBER"),
        col(
            "order_type",
            "SALES_ORDER.ORDER_OR_QUOTE",
            description="The document type: 'Sales Order', 'Quotation' or 'Proforma' (extra: the "
            "push sends sales orders only)",
        ),
        col("order_type_code", "SALES_ORDER.ORDER_TYPE_CODE"),
        col("carriage_net_base", "SALES_ORDER.CARR_NET"),
        col("carriage_tax_base", "SALES_ORDER.CARR_TAX"),
        col("carriage_gross_base", "SALES_ORDER.CARR_GROSS"),
        col("carriage_net_foreign", "SALES_ORDER.FOREIGN_CARR_NET"),
        col("carriage_tax_foreign", "SALES_ORDER.FOREIGN_CARR_TAX"),
        col("carriage_gross_foreign", "SALES_ORDER.FOREIGN_CARR_GROSS"),
        col("currency_code", f"{CUR}.CODE"),
        col("allocated_status", "SALES_ORDER.ALLOCATED_STATUS_CODE"),
        # extra: Sage's own order totals, which the order-total invariant checks against
        col("sage_net_value_base", "SALES_ORDER.INVOICE_NET"),
        col("sage_tax_value_base", "SALES_ORDER.INVOICE_TAX"),
        col("sage_gross_value_base", "SALES_ORDER.INVOICE_GROSS"),
        col("sage_net_value_foreign", "SALES_ORDER.FOREIGN_INVOICE_NET"),
        col("sage_tax_value_foreign", "SALES_ORDER.FOREIGN_INVOICE_TAX"),
        col("sage_gross_value_foreign", "SALES_ORDER.FOREIGN_INVOICE_GROSS"),
        col("despatch_status", "SALES_ORDER.DESPATCH_STATUS_CODE"),  # extra
        _deleted("SALES_ORDER"),
    ),
)

# Header totals carried by every invoice/credit line (extra): the push shows them and the
# invariant `header_totals_equal_lines` checks them against the lines.
_INVOICE_HEADER_TOTALS = (
    col("items_net", "INVOICE.ITEMS_NET"),
    col("items_tax", "INVOICE.ITEMS_TAX"),
    col("items_gross", "INVOICE.ITEMS_GROSS"),
    col("carriage_net", "INVOICE.CARR_NET"),
    col("carriage_tax", "INVOICE.CARR_TAX"),
    col("carriage_gross", "INVOICE.CARR_GROSS"),
    col("total_net", "INVOICE.INVOICE_NET"),
    col("total_tax", "INVOICE.INVOICE_TAX"),
    col("total_gross", "INVOICE.INVOICE_GROSS"),
    col("total_net_foreign", "INVOICE.FOREIGN_INVOICE_NET"),
    col("total_tax_foreign", "INVOICE.FOREIGN_INVOICE_TAX"),
    col("total_gross_foreign", "INVOICE.FOREIGN_INVOICE_GROSS"),
    col("line_tax_base", "INVOICE_ITEM.TAX_AMOUNT"),
    col("line_gross_base", "INVOICE_ITEM.GROSS_AMOUNT"),
    col("payment_due_date", "INVOICE.PAYMENT_DUE_DATE"),
    _deleted("INVOICE_ITEM", "INVOICE"),
)

_SALES_INVOICE_COLUMNS = (
    col("invoice_number", "INVOICE.INVOICE_NUMBER"),
    col("line_number", "INVOICE_ITEM.ITEM_NUMBER"),
    col("product_reference", "INVOICE_ITEM.STOCK_CODE"),
    col("description", "INVOICE_ITEM.DESCRIPTION"),
    col("unit_price", "INVOICE_ITEM.UNIT_PRICE"),
    col("quantity", "INVOICE_ITEM.QUANTITY"),
    col("line_net_value", "INVOICE_ITEM.NET_AMOUNT"),
    col("invoice_date", "INVOICE.INVOICE_DATE"),
    col("account_reference", "INVOICE.ACCOUNT_REF"),
    col("comment_1", "INVOICE_ITEM.COMMENT_1"),
    col("comment_2", "INVOICE_ITEM.COMMENT_2"),
    col("contract_global_details", "INVOICE.GLOBAL_DETAILS"),
    col("order_number", "INVOICE.ORDER_NUMBER"),
    col("customer_order_reference", "INVOICE.CUST_ORDER_NUMBER"),
    col("unit_price_foreign", "INVOICE_ITEM.FOREIGN_UNIT_PRICE"),
    col("discount_rate", "INVOICE_ITEM.DISCOUNT_RATE"),
    col("line_net_foreign", "INVOICE_ITEM.FOREIGN_NET_AMOUNT"),
    col("line_gross_foreign", "INVOICE_ITEM.FOREIGN_GROSS_AMOUNT"),
    col("currency_code", f"{CUR}.CODE"),
    col("delivery_date", "INVOICE_ITEM.DELIVERY_DATE"),
    col("nominal_code", "INVOICE_ITEM.NOMINAL_CODE"),
    col("delivery_postcode_user_1", "INVOICE.DEL_ADDRESS_5"),
    col("department_code", "INVOICE_ITEM.DEPT_NUMBER"),
    *_INVOICE_HEADER_TOTALS,
)

POSTED_SALES_INVOICES = SqlTable(
    name="posted_sales_invoices",
    description="Sales Invoices (Posted): lines of invoices with INVOICE_OR_CREDIT = 'Invoice' and POSTED = 'Y'.",
    field_map=("Sales Invoices (Posted)",),
    reads=("INVOICE", "INVOICE_ITEM", CUR),
    key=("invoice_number", "line_number"),
    document_date="invoice_date",
    columns=_SALES_INVOICE_COLUMNS,
    sql_file="sales_invoice_lines.sql",
    filter="i.invoice_or_credit = 'Invoice' AND yes(i.posted)",
)

UNPOSTED_SALES_INVOICES = SqlTable(
    name="unposted_sales_invoices",
    description="Sales Invoices (Unposted): lines of invoices with INVOICE_OR_CREDIT = 'Invoice' and POSTED null or not 'Y'.",
    field_map=("Sales Invoices (Unposted)", "Sales Invoices (Posted)"),
    reads=("INVOICE", "INVOICE_ITEM", CUR),
    key=("invoice_number", "line_number"),
    document_date="invoice_date",
    columns=_SALES_INVOICE_COLUMNS,
    sql_file="sales_invoice_lines.sql",
    filter="i.invoice_or_credit = 'Invoice' AND NOT yes(i.posted)",
)

# The map names three credit-note columns differently and adds the base net value again.
_CREDIT_NAMES = {
    "invoice_number": "invoice_number_credit_note_no",
    "unit_price": "unit_price_base",
    "invoice_date": "credit_date",
}

POSTED_SALES_CREDITS = SqlTable(
    name="posted_sales_credits",
    description="Sales Credits (Posted): lines of INVOICE rows with INVOICE_OR_CREDIT = 'Credit Note' and POSTED = 'Y'.",
    field_map=("Sales Credits (Posted)",),
    reads=("INVOICE", "INVOICE_ITEM", CUR),
    key=("invoice_number_credit_note_no", "line_number"),
    document_date="credit_date",
    columns=(
        *(replace(c, name=_CREDIT_NAMES.get(c.name, c.name)) for c in _SALES_INVOICE_COLUMNS),
        col("line_net_base", "INVOICE_ITEM.NET_AMOUNT"),
    ),
    filter="i.invoice_or_credit = 'Credit Note' AND yes(i.posted)",
)

_POP_LINE = (
    col("order_number", "POP_ITEM.ORDER_NUMBER"),
    col("line_number", "POP_ITEM.ITEM_NUMBER"),
    col("product_reference", "POP_ITEM.STOCK_CODE"),
    col("description", "POP_ITEM.DESCRIPTION"),
    col("unit_price_foreign", "POP_ITEM.FOREIGN_UNIT_PRICE"),
    col("quantity_ordered", "POP_ITEM.QTY_ORDER"),
)

PURCHASE_ORDERS = SqlTable(
    name="purchase_orders",
    description="Purchase Orders: one row per POP_ITEM line, with its order's header fields.",
    field_map=("Purchase Orders",),
    reads=("POP_ITEM", "PURCHASE_ORDER", CUR, ST),
    key=("order_number", "line_number"),
    columns=(
        *_POP_LINE,
        col("line_net_amount_foreign", "POP_ITEM.FOREIGN_NET_AMOUNT"),
        col("due_date", "POP_ITEM.DUE_DATE"),
        col("account_reference", "PURCHASE_ORDER.ACCOUNT_REF"),
        col("delivery_postcode_ph_user_1", "PURCHASE_ORDER.DEL_ADDRESS_5"),
        col("line_gross_amount_foreign", "POP_ITEM.FOREIGN_GROSS_AMOUNT"),
        col("currency_code", f"{CUR}.CODE"),
        col("line_net_amount_base", "POP_ITEM.NET_AMOUNT"),
        col("line_gross_amount_base", "POP_ITEM.GROSS_AMOUNT"),
        col("nominal_code", "POP_ITEM.NOMINAL_CODE"),
        col("quantity_delivered", "POP_ITEM.QTY_DELIVERED"),
        col("order_date", "PURCHASE_ORDER.ORDER_DATE"),
        col("supplier_order_number", "PURCHASE_ORDER.SUPP_ORDER_NUMBER"),
        col("discount_rate", "POP_ITEM.DISCOUNT_RATE"),
        col("last_discounted_purchase_price", f"{ST}.LAST_DISC_PURCHASE_PRICE"),
        col("department_code", "POP_ITEM.DEPT_NUMBER"),
        col("delivery_date", "PURCHASE_ORDER.DELIVERY_DATE"),
        _deleted("POP_ITEM", "PURCHASE_ORDER"),
    ),
)

_PURCHASE_INVOICE_COLUMNS = (
    *_POP_LINE,
    col("line_net_foreign", "POP_ITEM.FOREIGN_NET_AMOUNT"),
    col("due_date", "POP_ITEM.DUE_DATE"),
    col("account_reference", "PURCHASE_ORDER.ACCOUNT_REF"),
    col("delivery_postcode_ph_user_1", "PURCHASE_ORDER.DEL_ADDRESS_5"),
    col("line_gross_foreign", "POP_ITEM.FOREIGN_GROSS_AMOUNT"),
    col("currency_code", f"{CUR}.CODE"),
    col("line_net_base", "POP_ITEM.NET_AMOUNT"),
    col("line_gross_base", "POP_ITEM.GROSS_AMOUNT"),
    col("nominal_code", "POP_ITEM.NOMINAL_CODE"),
    col("quantity_delivered", "POP_ITEM.QTY_DELIVERED"),
    col("order_date", "PURCHASE_ORDER.ORDER_DATE"),
    col("supplier_order_number", "PURCHASE_ORDER.SUPP_ORDER_NUMBER"),
    col("discount_rate", "POP_ITEM.DISCOUNT_RATE"),
    col("last_discounted_purchase_price", f"{ST}.LAST_DISC_PURCHASE_PRICE"),
    col("posted_flag", "PURCHASE_ORDER.POSTED"),
    col("department_code", "POP_ITEM.DEPT_NUMBER"),
    _deleted("POP_ITEM", "PURCHASE_ORDER"),
)

POSTED_PURCHASE_INVOICES = SqlTable(
    name="posted_purchase_invoices",
    description="Purchase Invoices (Posted): lines of purchase orders fully delivered (DELIVERY_STATUS_CODE = 2) and POSTED = 'Y'.",
    field_map=("Purchase Invoices (Posted)",),
    reads=("POP_ITEM", "PURCHASE_ORDER", CUR, ST),
    key=("order_number", "line_number"),
    columns=_PURCHASE_INVOICE_COLUMNS,
    sql_file="purchase_invoice_lines.sql",
    filter="o.delivery_status_code = 2 AND yes(o.posted)",
)

UNPOSTED_PURCHASE_INVOICES = SqlTable(
    name="unposted_purchase_invoices",
    description="Purchase Invoices (Unposted): as posted, but POSTED null or not 'Y'.",
    field_map=("Purchase Invoices (Posted)",),
    reads=("POP_ITEM", "PURCHASE_ORDER", CUR, ST),
    key=("order_number", "line_number"),
    columns=_PURCHASE_INVOICE_COLUMNS,
    sql_file="purchase_invoice_lines.sql",
    filter="o.delivery_status_code = 2 AND NOT yes(o.posted)",
    notes=(
        "'Identical to Posted Purchase Invoices but POSTED <> 'Y'': the fully-delivered filter "
        "stays; a blank or null POSTED counts as not posted.",
    ),
)

DISCOUNT_MATRIX = SqlTable(
    name="discount_matrix",
    description="Discount Matrix: one row per product per discount band (A-E) with its 10 quantity breaks.",
    field_map=("Discount Matrix",),
    reads=(ST, "COMPANY"),
    key=("discount_matrix_product_ref", "discount_group"),
    columns=(
        col("discount_matrix_product_ref", f"{ST}.STOCK_CODE"),
        col("discount_group"),
        col(
            "discount_group_name",
            *(f"COMPANY.STOCK_DISCOUNT_{b}" for b in BANDS),
            description="The band's name as the company calls it (extra)",
        ),
        col("discount_description", f"{ST}.DESCRIPTION"),
        *(
            col(f"quantity_break_{n}", *(f"{ST}.DISC_{b}_LEVEL_{n}_QTY" for b in BANDS))
            for n in LEVELS
        ),
        *(
            col(f"discount_rate_{n}", *(f"{ST}.DISC_{b}_LEVEL_{n}_RATE" for b in BANDS))
            for n in LEVELS
        ),
        _deleted(ST),
    ),
    notes=(
        "discount_group is the band letter A-E; derived.discount_matrix keeps the bands that have "
        "a level, with their non-empty levels as one list.",
    ),
)

SALES_PAYMENTS = SqlTable(
    name="sales_payments",
    description="Sales Payments (Current Audit Trail): one row per SI/SC split of the live audit trail.",
    field_map=("Sales Payments (Current Audit Trail)",),
    reads=("AUDIT_SPLIT", "INVOICE"),
    key=("split_number",),
    document_date="invoice_date",
    columns=(
        col("invoice_number", "AUDIT_SPLIT.INV_REF"),
        col("paid_flag", "AUDIT_SPLIT.PAID_FLAG"),
        col("paid_date", "AUDIT_SPLIT.DATE_ENTERED"),
        col("invoice_or_credit", "INVOICE.INVOICE_OR_CREDIT"),
        # extra: the split's identity and amounts
        col("split_number", "AUDIT_SPLIT.SPLIT_NUMBER"),
        col("header_number", "AUDIT_SPLIT.HEADER_NUMBER"),
        col("account_reference", "AUDIT_SPLIT.ACCOUNT_REF"),
        col("type", "AUDIT_SPLIT.TYPE"),
        col("gross_amount", "AUDIT_SPLIT.GROSS_AMOUNT"),
        col("amount_paid", "AUDIT_SPLIT.AMOUNT_PAID"),
        col("outstanding", "AUDIT_SPLIT.OUTSTANDING"),
        col("deleted", "AUDIT_SPLIT.DELETED_FLAG"),
        col(
            "invoice_date",
            "AUDIT_SPLIT.DATE",
            description="The SI/SC transaction's date, the month partition of AUDIT_SPLIT (extra)",
        ),
        _deleted("AUDIT_SPLIT"),
    ),
    notes=(
        "The map's Paid Date is the split's DATE_ENTERED; the real paid date (from the paying "
        "transaction) and the Payment Due Date are in derived.invoice_payment_status.",
    ),
)

SALES_PAYMENTS_HISTORY = SqlTable(
    name="sales_payments_history",
    description="Sales Payments (Audit History): SI/SC splits cleared into AUDIT_HISTORY_*, always paid.",
    field_map=("Sales Payments (Audit History)",),
    reads=("AUDIT_HISTORY_HEADER", "AUDIT_HISTORY_SPLIT", "AUDIT_HISTORY_USAGE"),
    key=("line_number",),
    document_date="invoice_date",
    columns=(
        col("invoice_number", "AUDIT_HISTORY_HEADER.INV_REF"),
        col("line_number", "AUDIT_HISTORY_SPLIT.SPLIT_NUMBER"),
        col("paid_date", "AUDIT_HISTORY_USAGE.RECORD_CREATE_DATE"),
        col("paid_flag"),
        # extra
        col("header_number", "AUDIT_HISTORY_SPLIT.HEADER_NUMBER"),
        col("account_reference", "AUDIT_HISTORY_HEADER.ACCOUNT_REF"),
        col("type", "AUDIT_HISTORY_HEADER.TYPE"),
        col("invoice_date", "AUDIT_HISTORY_HEADER.DATE"),
        col("gross_amount", "AUDIT_HISTORY_SPLIT.GROSS_AMOUNT"),
        col("deleted", "AUDIT_HISTORY_SPLIT.DELETED_FLAG", "AUDIT_HISTORY_HEADER.DELETED_FLAG"),
        _deleted("AUDIT_HISTORY_SPLIT", "AUDIT_HISTORY_HEADER"),
    ),
    notes=(
        "paid_date is the latest live allocation (AUDIT_HISTORY_USAGE.RECORD_CREATE_DATE) that "
        "names the split; paid_flag is always true.",
    ),
)

_PRICE_LIST_COLUMNS = (
    col("price_list_code", "PRICE.PRICING_REF"),
    col("product_reference", "PRICE.STOCK_CODE"),
    col("selling_price", "PRICE.STORED_PRICE"),
    col("description", f"{ST}.DESCRIPTION"),
    col("calc_value", "PRICE.CALC_VALUE"),
    col("base_sales_price", f"{ST}.SALES_PRICE"),
    col("type", "PRICE.TYPE"),
)

CUSTOMER_PRICE_LISTS = SqlTable(
    name="customer_price_lists",
    description="Price Lists (Customer-Specific Prices): PRICE rows of type S, one per customer and product.",
    field_map=("Price Lists (Customer-Specific Prices)",),
    reads=("PRICE", ST, SL, CUR),
    key=("price_list_code", "product_reference"),
    columns=(
        *_PRICE_LIST_COLUMNS,
        col("currency_code", f"{CUR}.CODE", f"{SL}.CURRENCY"),
        col("calc_method", "PRICE.CALC_METHOD"),  # extra, for derived.price_lists
        _deleted("PRICE"),
    ),
    notes=(
        "selling_price is STORED_PRICE in currency units, as Sage stores it. The map's '(x100)' is "
        "the old CRM import's integer encoding, which nothing here applies: derived.price_lists "
        "keeps currency units and the push sends named-list prices as SSM's decimal salePrice "
        "(customer special prices are not pushed as SSM rates). Quantity breaks are target-only "
        "and not sourced.",
    ),
)

NAMED_PRICE_LISTS = SqlTable(
    name="named_price_lists",
    description="Price Lists (Product/Named Price Lists): PRICE rows of type P, one per list and product.",
    field_map=("Price Lists (Product/Named Price Lists)",),
    reads=("PRICE", "PRICE_LIST", ST, CUR),
    key=("price_list_code", "product_reference"),
    columns=(
        *_PRICE_LIST_COLUMNS,
        col("currency_code", f"{CUR}.CODE", "PRICE_LIST.CURRENCY"),
        col("calc_method", "PRICE.CALC_METHOD"),  # extra, for derived.price_lists
        _deleted("PRICE"),
    ),
    notes=(
        "selling_price is STORED_PRICE in currency units, never x100 (see customer_price_lists).",
    ),
)

PRICE_LIST_METADATA = SqlTable(
    name="price_list_metadata",
    description="Price List Metadata: one row per PRICE_LIST.",
    field_map=("Price List Metadata",),
    reads=("PRICE_LIST",),
    key=("type", "pricing_reference"),
    columns=(
        col("type", "PRICE_LIST.TYPE"),
        col("pricing_reference", "PRICE_LIST.PRICING_REF"),
        col("name", "PRICE_LIST.NAME"),
        col("currency", "PRICE_LIST.CURRENCY"),
        col("has_static_prices", "PRICE_LIST.HAS_STATIC_PRICES"),
        col("record_created", "PRICE_LIST.RECORD_CREATE_DATE"),
        col("record_modified", "PRICE_LIST.RECORD_MODIFY_DATE"),
        col("deleted", "PRICE_LIST.RECORD_DELETED", "PRICE_LIST.DELETED_AT"),
        _deleted("PRICE_LIST"),
    ),
    notes=(
        "deleted is true when the row is gone from Sage or RECORD_DELETED = 1 (other values are noise).",
    ),
)

PRICE_RECORDS = SqlTable(
    name="price_records",
    description="Price Records (Detailed): one row per PRICE record of any type (S, P, U).",
    field_map=("Price Records (Detailed)",),
    reads=("PRICE",),
    key=("price_id",),
    columns=(
        col("price_id", "PRICE.PRICE_ID"),
        col("type", "PRICE.TYPE"),
        col("pricing_reference", "PRICE.PRICING_REF"),
        col("stock_code", "PRICE.STOCK_CODE"),
        col("calculation_method", "PRICE.CALC_METHOD"),
        col("calculation_value", "PRICE.CALC_VALUE"),
        col("stored_price", "PRICE.STORED_PRICE"),
        col("rounding_method", "PRICE.ROUNDER_METHOD"),
        col("rounding_direction", "PRICE.ROUNDER_DIRECTION"),
        col("rounding_multiple_of", "PRICE.ROUNDER_MULTIPLE_OF"),
        col("rounding_adjustment", "PRICE.ROUNDER_ADJUSTMENT"),
        col("record_created", "PRICE.RECORD_CREATE_DATE"),
        col("record_modified", "PRICE.RECORD_MODIFY_DATE"),
        col("deleted", "PRICE.RECORD_DELETED", "PRICE.DELETED_AT"),
        _deleted("PRICE"),
    ),
)

PRODUCT_CATEGORIES = SqlTable(
    name="product_categories",
    description="Product Categories: every Sage stock category, and any category number products use.",
    field_map=("Product Categories",),
    reads=("STOCK_CAT", ST),
    key=("category_code",),
    columns=(
        col("category_code", "STOCK_CAT.NUMBER", f"{ST}.STOCK_CAT"),
        col("category_description", "STOCK_CAT.NAME", f"{ST}.STOCK_CAT_NAME"),
        col("parent_category"),
        _deleted("STOCK_CAT"),
    ),
    notes=("Sage categories are flat: parent_category is always null.",),
)

VAT_RATES = SqlTable(
    name="vat_rates",
    description="VAT Rates: one row per Sage tax code; country and transaction types are in derived.vat_rates.",
    field_map=("VAT Rates",),
    reads=("TAX_CODE",),
    key=("tax_code",),
    columns=(
        col("tax_code", "TAX_CODE.TAX_CODE"),
        col("tax_description", "TAX_CODE.DESCRIPTION"),
        col("tax_rate", "TAX_CODE.TAX_RATE"),
        col("eu_sales_flag", "TAX_CODE.EURO_SALES"),
        col("eu_purchase_flag", "TAX_CODE.EURO_PURCHASE"),
        col(
            "tax_code_id",
            "TAX_CODE.TAX_CODE_ID",
            description="The code's numeric twin, used on addresses (extra)",
        ),
        _deleted("TAX_CODE"),
    ),
)

VAT_COUNTRIES = SqlTable(
    name="vat_countries",
    description="VAT Countries: one row per Sage country code.",
    field_map=("VAT Countries",),
    reads=(CC, "COMPANY"),
    key=("country_code",),
    columns=(
        col("country_code", f"{CC}.CODE"),
        col("country_name", f"{CC}.NAME"),
        col("vat_home", "COMPANY.COUNTRY_CODE"),
        col("ec_member", f"{CC}.EU_MEMBER"),
        col("vat_registered", "COMPANY.COUNTRY_CODE", "COMPANY.VAT_REG_NUMBER"),
        _deleted(CC),
    ),
    notes=(
        "'Configured' in the map: vat_home is the company's own country; vat_registered is "
        "true for the home country when the company has a VAT number.",
    ),
)

AUDIT_HEADERS = SqlTable(
    name="audit_headers",
    description="Audit Header: one row per AUDIT_HEADER transaction (internal, for payment status).",
    field_map=("Audit Header",),
    reads=("AUDIT_HEADER",),
    key=("header_number",),
    document_date="date",
    columns=(
        col("invoice_reference", "AUDIT_HEADER.INV_REF"),
        col("invoice_ref_numeric", "AUDIT_HEADER.INV_REF_NUMERIC"),
        col("account_reference", "AUDIT_HEADER.ACCOUNT_REF"),
        col("type", "AUDIT_HEADER.TYPE"),
        col("header_number", "AUDIT_HEADER.HEADER_NUMBER"),
        # extra: what payment status needs
        col("date", "AUDIT_HEADER.DATE"),
        col("due_date", "AUDIT_HEADER.DUE_DATE"),
        col("net_amount", "AUDIT_HEADER.NET_AMOUNT"),
        col("tax_amount", "AUDIT_HEADER.TAX_AMOUNT"),
        col("gross_amount", "AUDIT_HEADER.GROSS_AMOUNT"),
        col("amount_paid", "AUDIT_HEADER.AMOUNT_PAID"),
        col("outstanding", "AUDIT_HEADER.OUTSTANDING"),
        col("foreign_gross_amount", "AUDIT_HEADER.FOREIGN_GROSS_AMOUNT"),
        col("foreign_outstanding", "AUDIT_HEADER.FOREIGN_OUTSTANDING"),
        col("paid_flag", "AUDIT_HEADER.PAID_FLAG"),
        col("deleted", "AUDIT_HEADER.DELETED_FLAG"),
        _deleted("AUDIT_HEADER"),
    ),
)

AUDIT_SPLITS = SqlTable(
    name="audit_splits",
    description="Audit Split: one row per AUDIT_SPLIT line (internal, for payment status).",
    field_map=("Audit Split",),
    reads=("AUDIT_SPLIT",),
    key=("split_number",),
    document_date="date",
    columns=(
        col("split_number", "AUDIT_SPLIT.SPLIT_NUMBER"),
        col("account_reference", "AUDIT_SPLIT.ACCOUNT_REF"),
        col("type", "AUDIT_SPLIT.TYPE"),
        col("outstanding_amount", "AUDIT_SPLIT.OUTSTANDING"),
        col("header_number", "AUDIT_SPLIT.HEADER_NUMBER"),
        col("invoice_reference", "AUDIT_SPLIT.INV_REF"),
        # extra
        col("date", "AUDIT_SPLIT.DATE"),
        col("gross_amount", "AUDIT_SPLIT.GROSS_AMOUNT"),
        col("amount_paid", "AUDIT_SPLIT.AMOUNT_PAID"),
        col("paid_flag", "AUDIT_SPLIT.PAID_FLAG"),
        col("deleted", "AUDIT_SPLIT.DELETED_FLAG"),
        _deleted("AUDIT_SPLIT"),
    ),
)

AUDIT_USAGES = SqlTable(
    name="audit_usages",
    description="Audit Usage: one row per AUDIT_USAGE allocation side (each allocation is stored twice).",
    field_map=("Audit Usage",),
    reads=("AUDIT_USAGE", "AUDIT_SPLIT"),
    key=("usage_number",),
    document_date="split_date",
    columns=(
        col("usage_number", "AUDIT_USAGE.USAGE_NUMBER"),
        col("record_create_date", "AUDIT_USAGE.RECORD_CREATE_DATE"),
        col("type", "AUDIT_USAGE.TYPE"),
        col("split_cross_reference", "AUDIT_USAGE.SPLIT_CROSSREF"),
        # extra
        col("split_number", "AUDIT_USAGE.SPLIT_NUMBER"),
        col("date", "AUDIT_USAGE.DATE"),
        col("amount", "AUDIT_USAGE.AMOUNT"),
        col("foreign_amount", "AUDIT_USAGE.FOREIGN_AMOUNT"),
        col("deleted", "AUDIT_USAGE.DELETED_FLAG"),
        col(
            "split_date",
            "AUDIT_SPLIT.DATE",
            description="The date of the usage's split: AUDIT_USAGE follows the month of its "
            "split (SPLIT_NUMBER), not its own unreliable DATE (extra)",
        ),
        _deleted("AUDIT_USAGE"),
    ),
)

CONTACTS = SqlTable(
    name="contacts",
    description="Contacts: the SALES_DEL_ADDR records that are contact addresses (ADDRESS_TYPE = 1).",
    reads=("SALES_DEL_ADDR",),
    key=("account_reference", "address_ref"),
    columns=(
        col("account_reference", "SALES_DEL_ADDR.ACCOUNT_REF"),
        col("address_ref", "SALES_DEL_ADDR.ADDRESS_REF"),
        col("reference", "SALES_DEL_ADDR.REFERENCE"),
        col("contact_name", "SALES_DEL_ADDR.CONTACT_NAME"),
        col("contact_role", "SALES_DEL_ADDR.CONTACT_ROLE"),
        col("description", "SALES_DEL_ADDR.DESCRIPTION"),
        col("name", "SALES_DEL_ADDR.NAME"),
        *_address("SALES_DEL_ADDR"),
        col("country_code", "SALES_DEL_ADDR.COUNTRY_CODE"),
        col("telephone", "SALES_DEL_ADDR.TELEPHONE"),
        col("telephone_2", "SALES_DEL_ADDR.TELEPHONE_2"),
        col("fax", "SALES_DEL_ADDR.FAX"),
        col("email", "SALES_DEL_ADDR.E_MAIL"),
        col("notes", "SALES_DEL_ADDR.NOTES"),
        _deleted("SALES_DEL_ADDR"),
    ),
    notes=(
        "ADDRESS_TYPE 1 = contact address follows SDO's AddressTypes (0 delivery, 1 contact, "
        "2 registered); delivery addresses are not contacts.",
    ),
)

SECTIONS: tuple[SqlTable, ...] = (
    CUSTOMER_ACCOUNTS,
    SUPPLIER_ACCOUNTS,
    PRODUCT_ITEMS,
    CURRENCIES,
    STOCK_LEVELS,
    SALES_ORDER_LINES,
    SALES_ORDER_HEADERS,
    POSTED_SALES_INVOICES,
    UNPOSTED_SALES_INVOICES,
    POSTED_SALES_CREDITS,
    PURCHASE_ORDERS,
    POSTED_PURCHASE_INVOICES,
    UNPOSTED_PURCHASE_INVOICES,
    DISCOUNT_MATRIX,
    SALES_PAYMENTS,
    SALES_PAYMENTS_HISTORY,
    CUSTOMER_PRICE_LISTS,
    NAMED_PRICE_LISTS,
    PRICE_LIST_METADATA,
    PRICE_RECORDS,
    PRODUCT_CATEGORIES,
    VAT_RATES,
    VAT_COUNTRIES,
    AUDIT_HEADERS,
    AUDIT_SPLITS,
    AUDIT_USAGES,
    CONTACTS,
)
