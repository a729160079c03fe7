-- Order totals = the order's live lines + carriage, in base and order currency. An order with no
-- live line totals its carriage alone.
WITH lines AS (
    SELECT
        order_number,
        sum(line_net_amount_base) AS net_base,
        sum(line_tax_amount_base) AS tax_base,
        sum(line_gross_amount_base) AS gross_base,
        sum(line_net_amount_foreign) AS net_foreign,
        sum(line_tax_amount_foreign) AS tax_foreign,
        sum(line_gross_amount_foreign) AS gross_foreign,
        count(*) AS line_count
    FROM staging.sales_order_lines
    WHERE deleted_at IS NULL
    GROUP BY order_number
)
SELECT
    h.order_number_accounts_id,
    h.order_date,
    h.customer_account,
    h.customer_order_reference,
    CAST(coalesce(l.net_base, 0) + coalesce(h.carriage_net_base, 0) AS DECIMAL(18, 2)) AS base_net_value,
    CAST(coalesce(l.tax_base, 0) + coalesce(h.carriage_tax_base, 0) AS DECIMAL(18, 2)) AS base_tax_value,
    CAST(coalesce(l.gross_base, 0) + coalesce(h.carriage_gross_base, 0) AS DECIMAL(18, 2)) AS base_gross_value,
    CAST(coalesce(l.net_foreign, 0) + coalesce(h.carriage_net_foreign, 0) AS DECIMAL(18, 2)) AS foreign_net_value,
    CAST(coalesce(l.tax_foreign, 0) + coalesce(h.carriage_tax_foreign, 0) AS DECIMAL(18, 2)) AS foreign_tax_value,
    CAST(coalesce(l.gross_foreign, 0) + coalesce(h.carriage_gross_foreign, 0) AS DECIMAL(18, 2)) AS foreign_gross_value,
    h.carriage_net_base,
    h.carriage_tax_base,
    h.carriage_gross_base,
    h.carriage_net_foreign,
    h.carriage_tax_foreign,
    h.carriage_gross_foreign,
    h.currency_code,
    h.allocated_status,
    coalesce(l.line_count, 0) AS line_count,
    h.deleted_at
FROM staging.sales_order_headers AS h
LEFT JOIN lines AS l ON l.order_number = h.order_number_accounts_id
