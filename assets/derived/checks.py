"""Business invariants over the derived values. Where the figures a record would send cannot be
right (an order's totals, an invoice's payment amounts) that record is held back from the push
with the reason, and the others go on; allocation and stock oddities only warn."""

from __future__ import annotations

from assets.staging.checks import money_figures
from assets.staging.factory import Hold, Invariant

# A payment status's document, as the push keys invoices and credit notes (their number).
_DOCUMENT = "invoice_number_numeric"

INVARIANTS: tuple[Invariant, ...] = (
    Invariant(
        name="order_total_equals_lines_plus_carriage",
        asset="derived.sales_order_totals",
        description=(
            "Each live order's net, tax and gross (base and foreign), computed as lines + carriage, "
            "equal Sage's own order totals within 0.01."
        ),
        offenders="""
            SELECT t.order_number_accounts_id, t.base_gross_value, h.sage_gross_value_base,
                   t.foreign_gross_value, h.sage_gross_value_foreign
            FROM derived.sales_order_totals AS t
            JOIN staging.sales_order_headers AS h
                ON h.order_number_accounts_id = t.order_number_accounts_id
            WHERE t.deleted_at IS NULL AND (
                abs(t.base_net_value - h.sage_net_value_base) > 0.01
                OR abs(t.base_tax_value - h.sage_tax_value_base) > 0.01
                OR abs(t.base_gross_value - h.sage_gross_value_base) > 0.01
                OR abs(t.foreign_net_value - h.sage_net_value_foreign) > 0.01
                OR abs(t.foreign_tax_value - h.sage_tax_value_foreign) > 0.01
                OR abs(t.foreign_gross_value - h.sage_gross_value_foreign) > 0.01
            )
            ORDER BY 1
        """,
        reads=("staging.sales_order_headers",),
        holds=(
            Hold(
                "sales_orders",
                key="order_number_accounts_id",
                reason="order totals differ from its lines plus carriage",
                detail=money_figures(
                    "gross {} vs Sage {}", "base_gross_value, sage_gross_value_base"
                ),
            ),
        ),
    ),
    Invariant(
        name="outstanding_within_gross",
        asset="derived.invoice_payment_status",
        description="No invoice or credit note has more outstanding than its gross amount.",
        offenders="""
            SELECT header_number, invoice_number, gross_amount, outstanding_amount,
                   invoice_number_numeric
            FROM derived.invoice_payment_status
            WHERE abs(outstanding_amount) > abs(gross_amount)
            ORDER BY 1
        """,
        holds=(
            Hold(
                "sales",
                key=_DOCUMENT,
                reason="outstanding exceeds the gross amount",
                detail=money_figures(
                    "outstanding {} of gross {}", "outstanding_amount, gross_amount"
                ),
            ),
        ),
    ),
    Invariant(
        name="paid_plus_outstanding_equals_gross",
        asset="derived.invoice_payment_status",
        description="For every sales invoice, amount paid + outstanding = gross (within 0.01).",
        offenders="""
            SELECT header_number, invoice_number, gross_amount, amount_paid, outstanding_amount,
                   invoice_number_numeric
            FROM derived.invoice_payment_status
            WHERE type = 'SI' AND abs(amount_paid + outstanding_amount - gross_amount) > 0.01
            ORDER BY 1
        """,
        holds=(
            Hold(
                "sales",
                key=_DOCUMENT,
                reason="amount paid plus outstanding differ from the gross amount",
                detail=money_figures(
                    "paid {} + outstanding {} vs gross {}",
                    "amount_paid, outstanding_amount, gross_amount",
                ),
            ),
        ),
    ),
    Invariant(
        name="allocations_match_amount_paid",
        asset="derived.invoice_payment_status",
        description=(
            "The allocations found in AUDIT_USAGE (each counted once) add up to the amount Sage "
            "says was paid. A mismatch means an allocation chain the extract does not hold. "
            "Not judged for a source without an audit trail (no splits at all, Sage 50 FR)."
        ),
        offenders="""
            SELECT header_number, invoice_number, amount_paid, allocated_amount
            FROM derived.invoice_payment_status
            WHERE source = 'audit_trail'
              AND abs(abs(amount_paid) - abs(allocated_amount)) > 0.01
              AND EXISTS (SELECT 1 FROM staging.audit_splits)
            ORDER BY 1
        """,
        reads=("staging.audit_splits",),
    ),
    Invariant(
        name="quote_prices_match_sage",
        asset="derived.quote_price_explanation",
        description=(
            "Every line of a quotation the quote flow posted carries the unit price, discount, "
            "net and VAT that Sage 50 UK's pricing rules give (within 0.01): a line where Sage "
            "answered otherwise is listed with the rule that fired, expected vs Sage. A price "
            "changed since the quote, a company switch set otherwise in Sage than in the "
            "SAGE_PRICING_* settings, or a rule Sage applies differently shows here."
        ),
        offenders="""
            SELECT order_number, line_number, account_reference, stock_code, rule,
                   expected_unit_price, sage_unit_price,
                   expected_discount_percent, sage_discount_percent,
                   expected_net, sage_net, expected_tax, sage_tax, explanation
            FROM derived.quote_price_explanation
            WHERE NOT matches
            ORDER BY order_number, line_number
        """,
    ),
    Invariant(
        name="free_stock_within_in_stock",
        asset="derived.stock",
        description="Where stock is tracked, free stock never exceeds the stock in hand.",
        offenders="""
            SELECT product_reference, physical_stock, free_stock
            FROM derived.stock
            WHERE is_stocked AND free_stock > physical_stock
            ORDER BY 1
        """,
    ),
)
