"""Business invariants over the staged extract. The blocking ones catch a torn or broken extract
(lines without headers, header totals that disagree with their lines) before anything is pushed."""

from __future__ import annotations

from assets.staging.factory import Invariant

_TOLERANCE = "0.01"

_INVOICE_SECTIONS = {
    "posted_sales_invoices": "invoice_number",
    "unposted_sales_invoices": "invoice_number",
    "posted_sales_credits": "invoice_number_credit_note_no",
}


def _header_totals_equal_lines(section: str, number: str) -> Invariant:
    return Invariant(
        name="header_totals_equal_lines",
        asset=f"staging.{section}",
        description=(
            "Each document's header goods totals (ITEMS_NET/TAX/GROSS) equal the sum of its lines "
            f"within {_TOLERANCE}."
        ),
        offenders=f"""
            SELECT {number}, any_value(items_net) AS items_net, sum(line_net_value) AS lines_net,
                   any_value(items_tax) AS items_tax, sum(line_tax_base) AS lines_tax,
                   any_value(items_gross) AS items_gross, sum(line_gross_base) AS lines_gross
            FROM staging.{section}
            WHERE deleted_at IS NULL
            GROUP BY {number}
            HAVING abs(any_value(items_net) - sum(line_net_value)) > {_TOLERANCE}
                OR abs(any_value(items_tax) - sum(line_tax_base)) > {_TOLERANCE}
                OR abs(any_value(items_gross) - sum(line_gross_base)) > {_TOLERANCE}
            ORDER BY {number}
        """,  # noqa: S608 - section and key names come from this module
    )


INVARIANTS: tuple[Invariant, ...] = (
    Invariant(
        name="every_line_has_its_order",
        asset="staging.sales_order_lines",
        description="Every staged sales order line has its order header.",
        offenders="""
            SELECT l.order_number, l.line_number
            FROM staging.sales_order_lines AS l
            ANTI JOIN staging.sales_order_headers AS h ON h.order_number_accounts_id = l.order_number
            ORDER BY 1, 2
        """,
        reads=("staging.sales_order_headers",),
    ),
    Invariant(
        name="every_line_has_its_order",
        asset="staging.purchase_orders",
        description="Every staged purchase order line has its order header.",
        offenders="""
            SELECT l.order_number, l.line_number
            FROM staging.purchase_orders AS l
            ANTI JOIN sage.purchase_order AS h ON h.order_number = l.order_number
            ORDER BY 1, 2
        """,
        reads=("PURCHASE_ORDER",),
    ),
    Invariant(
        name="every_line_has_its_invoice",
        asset="staging.posted_sales_invoices",
        description=(
            "Every extracted invoice line has its INVOICE header (a line without one cannot be "
            "classified as invoice or credit, posted or not, and would silently drop out)."
        ),
        offenders="""
            SELECT it.invoice_number, it.item_number
            FROM sage.invoice_item AS it
            ANTI JOIN sage.invoice AS i ON i.invoice_number = it.invoice_number
            ORDER BY 1, 2
        """,
        reads=("INVOICE", "INVOICE_ITEM"),
    ),
    *(_header_totals_equal_lines(s, n) for s, n in _INVOICE_SECTIONS.items()),
    Invariant(
        name="every_split_has_its_header",
        asset="staging.audit_splits",
        description="Every audit split belongs to an audit header of the extract.",
        offenders="""
            SELECT s.split_number, s.header_number
            FROM staging.audit_splits AS s
            ANTI JOIN staging.audit_headers AS h ON h.header_number = s.header_number
            ORDER BY 1
        """,
        reads=("staging.audit_headers",),
    ),
)
