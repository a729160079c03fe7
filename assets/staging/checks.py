"""Business invariants over the staged extract: lines without headers, header totals that disagree
with their lines, documents with a part in quarantine, audit splits without their header.

Each guards the documents it is about: an offending document is held back from the push (its
`holds`), with the reason, and every other document goes on, so the checks report (WARN) rather
than block. A torn extract (every line missing) holds back every document: nothing of them is
created, updated or deleted in SSM until the next extract is whole.
"""

from __future__ import annotations

from assets.sage.catalogue import BY_TABLE, number_limit
from assets.sage.warehouse import q, row_key_sql
from assets.staging.catalogue import SECTIONS
from assets.staging.factory import Hold, Invariant, SqlTable

_TOLERANCE = "0.01"

_INVOICE_SECTIONS = {
    "posted_sales_invoices": "invoice_number",
    "unposted_sales_invoices": "invoice_number",
    "posted_sales_credits": "invoice_number_credit_note_no",
}

# The extId of an order line in SSM's desired state, from its order and line numbers.
_ORDER_LINE_KEY = "CAST(order_number AS VARCHAR) || '/' || CAST(line_number AS VARCHAR)"

# What a quarantine entry says, for the reason of a held document.
_QUARANTINE_DETAIL = (
    "upper(replace(table_name, 'sage.', '')) || ' ' || row_key || ' ' || column_name "
    "|| ': ' || reason"
)


def money_figures(template: str, columns: str) -> str:
    """SQL of `template` with the money `columns` (comma-separated) as Sage shows them."""
    shown = ", ".join(f"CAST({c.strip()} AS VARCHAR)" for c in columns.split(","))
    return f"format('{template}', {shown})"


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
        holds=(
            Hold(
                "sales",
                key=number,
                reason="header totals differ from its lines",
                detail=money_figures(
                    "net {} vs lines {}, tax {} vs {}, gross {} vs {}",
                    "items_net, lines_net, items_tax, lines_tax, items_gross, lines_gross",
                ),
            ),
        ),
    )


def _parts_in_quarantine(
    asset: str, header: str, line: str, holds: tuple[Hold, ...], reads: tuple[str, ...]
) -> Invariant:
    """Documents whose header or a line is in quarantine: what the warehouse holds of them is
    not the whole document (a line missing, or an older version of the header)."""
    return Invariant(
        name="no_part_in_quarantine",
        asset=asset,
        description=f"No {header} header or {line} line is in quarantine.rows.",
        offenders=f"""
            SELECT try_cast(split_part(row_key, '/', 1) AS INTEGER) AS document_number,
                   table_name, row_key, column_name, reason
            FROM quarantine.rows
            WHERE table_name IN ('sage.{header.lower()}', 'sage.{line.lower()}')
            ORDER BY 1, 2, 3, 4
        """,  # noqa: S608 - table names come from this module
        reads=reads,
        holds=holds,
    )


_IN_QUARANTINE = "a part of the document is in quarantine"

INVARIANTS: tuple[Invariant, ...] = (
    Invariant(
        name="every_line_has_its_order",
        asset="staging.sales_order_lines",
        description="Every live staged sales order line has its order header.",
        offenders="""
            SELECT l.order_number, l.line_number
            FROM staging.sales_order_lines AS l
            ANTI JOIN staging.sales_order_headers AS h ON h.order_number_accounts_id = l.order_number
            WHERE l.deleted_at IS NULL
            ORDER BY 1, 2
        """,
        reads=("staging.sales_order_headers",),
        holds=(
            Hold(
                "sales_orders",
                key="order_number",
                reason="order lines without their SALES_ORDER header",
                detail="'line ' || line_number",
            ),
            Hold(
                "sales_order_lines",
                key=_ORDER_LINE_KEY,
                reason="line without its SALES_ORDER header",
            ),
        ),
    ),
    Invariant(
        name="every_line_has_its_order",
        asset="staging.purchase_orders",
        description="Every staged purchase order line has its order header (purchase orders "
        "are not pushed: reported only).",
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
            WHERE it.deleted_at IS NULL
            ORDER BY 1, 2
        """,
        reads=("INVOICE", "INVOICE_ITEM"),
        holds=(
            Hold(
                "sales",
                key="invoice_number",
                reason="invoice lines without their INVOICE header",
                detail="'line ' || item_number",
            ),
        ),
    ),
    *(_header_totals_equal_lines(s, n) for s, n in _INVOICE_SECTIONS.items()),
    _parts_in_quarantine(
        "staging.posted_sales_invoices",
        "INVOICE",
        "INVOICE_ITEM",
        holds=(Hold("sales", "document_number", _IN_QUARANTINE, _QUARANTINE_DETAIL),),
        reads=("INVOICE", "INVOICE_ITEM"),
    ),
    _parts_in_quarantine(
        "staging.sales_order_headers",
        "SALES_ORDER",
        "SOP_ITEM",
        holds=(
            Hold("sales_orders", "document_number", _IN_QUARANTINE, _QUARANTINE_DETAIL),
            Hold(
                "sales_order_lines",
                "CASE WHEN table_name = 'sage.sop_item' THEN row_key END",
                "the line is in quarantine",
                "column_name || ': ' || reason",
            ),
        ),
        reads=("SALES_ORDER", "SOP_ITEM"),
    ),
    Invariant(
        name="every_split_has_its_header",
        asset="staging.audit_splits",
        description="Every audit split belongs to an audit header of the extract.",
        offenders="""
            SELECT s.split_number, s.header_number, s.type, s.invoice_reference
            FROM staging.audit_splits AS s
            ANTI JOIN staging.audit_headers AS h ON h.header_number = s.header_number
            ORDER BY 1
        """,
        reads=("staging.audit_headers",),
        holds=(
            Hold(
                "sales",
                key="CASE WHEN type IN ('SI', 'SC') THEN try_cast(invoice_reference AS INTEGER) END",
                reason="its audit trail split has no header: payment status unknown",
                detail="'split ' || split_number",
            ),
        ),
    ),
)


# ------------------------------------------------------------------ numbers staging cannot hold
# The extract quarantines NaN, infinities and magnitudes beyond what staging's DECIMAL columns
# hold (assets/sage/validation.py). Rows that landed before that rule (or from another writer)
# are found here: staging's casts turn such a value into NULL rather than fail the whole table,
# and the record it belongs to is held back instead of reaching SSM with the NULL.

_NOT_A_NUMBER_STAGING_HOLDS = "a Sage number staging cannot hold (NaN, infinite or too large)"
_NUMBER_DETAIL = "sage_table || '.' || column_name || ' = ' || value"


def _first_key_part(*tables: str) -> str:
    names = ", ".join(f"'{t}'" for t in tables)
    return f"CASE WHEN sage_table IN ({names}) THEN split_part(row_key, '/', 1) END"


def _number_hold(resource: str, key: str) -> Hold:
    return Hold(resource, key, _NOT_A_NUMBER_STAGING_HOLDS, _NUMBER_DETAIL)


_INVOICE_NUMBERS = (_number_hold("sales", _first_key_part("INVOICE", "INVOICE_ITEM")),)
# The SSM records a section's Sage rows become, for the sections the push reads.
_NUMBER_HOLDS: dict[str, tuple[Hold, ...]] = {
    "customer_accounts": (_number_hold("accounts", _first_key_part("SALES_LEDGER")),),
    "product_items": (_number_hold("products", _first_key_part("STOCK")),),
    "stock_levels": (_number_hold("products", _first_key_part("STOCK")),),
    "posted_sales_invoices": _INVOICE_NUMBERS,
    "unposted_sales_invoices": _INVOICE_NUMBERS,
    "posted_sales_credits": _INVOICE_NUMBERS,
    "sales_order_headers": (_number_hold("sales_orders", _first_key_part("SALES_ORDER")),),
    "sales_order_lines": (
        _number_hold("sales_orders", _first_key_part("SALES_ORDER", "SOP_ITEM")),
        _number_hold("sales_order_lines", "CASE WHEN sage_table = 'SOP_ITEM' THEN row_key END"),
    ),
}


def _sage_numbers(section: SqlTable) -> dict[str, list[str]]:
    """The Sage DOUBLE columns a section reads, by table."""
    numbers: dict[str, list[str]] = {}
    for source in (s for c in section.columns for s in c.sources):
        table, _, column = source.partition(".")
        spec = BY_TABLE.get(table)
        if spec is None or "." in column:
            continue
        kind = next((c.duckdb_type for c in spec.columns if c.name == column), None)
        if kind == "DOUBLE" and column not in numbers.get(table, []):
            numbers.setdefault(table, []).append(column)
    return numbers


def _unheld_numbers(table: str, columns: list[str]) -> str:
    """SELECT sage_table, row_key, column_name, value of the live rows of `table` whose
    `columns` hold a number staging cannot hold (a first filter on the whole row, then one row
    per bad value)."""
    spec = BY_TABLE[table]
    limits = {c.name: number_limit(c) for c in spec.columns if c.name in columns}
    bad = [f"NOT isfinite(r.{q(c)}) OR abs(r.{q(c)}) > {n}" for c, n in limits.items()]
    values = ", ".join(f"('{c}', r.{q(c)}, {n})" for c, n in limits.items())
    read = ", ".join(q(c) for c in (*spec.key, *limits))
    return f"""
        SELECT '{table}' AS sage_table, {row_key_sql(spec, "r")} AS row_key, v.column_name,
               CAST(v.value AS VARCHAR) AS value
        FROM (SELECT {read} FROM sage.{spec.name} AS r
              WHERE r.deleted_at IS NULL AND ({" OR ".join(bad)})) AS r,
             LATERAL (VALUES {values}) AS v(column_name, value, limit_)
        WHERE NOT isfinite(v.value) OR abs(v.value) > v.limit_"""  # noqa: S608 - catalogue names


def numbers_staging_can_hold(section: SqlTable) -> Invariant | None:
    """The rows of Sage numbers a section reads that its DECIMAL columns cannot hold."""
    numbers = _sage_numbers(section)
    if not numbers:
        return None
    return Invariant(
        name="numbers_staging_can_hold",
        asset=f"staging.{section.name}",
        description="The Sage numbers this section reads are finite and within its DECIMAL "
        "columns (the extract quarantines others; rows loaded before that rule are found here, "
        "their values NULL in staging).",
        offenders="\nUNION ALL\n".join(_unheld_numbers(t, c) for t, c in numbers.items())
        + "\nORDER BY 1, 2, 3",
        holds=_NUMBER_HOLDS.get(section.name, ()),
    )


NUMBER_INVARIANTS: tuple[Invariant, ...] = tuple(
    i for s in SECTIONS if (i := numbers_staging_can_hold(s)) is not None
)
