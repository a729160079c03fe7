-- Order lines of live sales orders and of the quotations reps made in SSM (not Sage's own
-- quotations or proformas), for live products and Sage's special codes: a free-text line (S1,
-- S2 special item, S3 service, M message) goes to the SSM product of its code
-- (desired_products.sql) with its own description, price and total, so the lines add up to
-- the order's total. A line of a product since deleted from Sage stays out. SSM quantities are
-- whole numbers.
SELECT
    CAST(l.order_number AS VARCHAR) || '/' || CAST(l.line_number AS VARCHAR) AS ext_id,
    CAST(l.order_number AS VARCHAR) AS order_ext_id,
    l.product_reference AS product_ext_id,
    left(l.product_description, 2000) AS description,
    CAST(round(coalesce(l.quantity_ordered, 0)) AS BIGINT) AS quantity,
    coalesce(l.unit_price_foreign, 0) AS price,
    l.line_net_amount_foreign AS total,
    l.discount_rate AS discount,
    l.line_number AS position
FROM staging.sales_order_lines AS l
JOIN staging.sales_order_headers AS h
    ON h.order_number_accounts_id = l.order_number AND h.deleted_at IS NULL
    AND (h.order_type = 'Sales Order' OR (
        h.order_type = 'Quotation' AND h.customer_order_reference LIKE ${quote_marker}))
JOIN staging.customer_accounts AS a
    ON a.account_reference = h.customer_account AND a.deleted_at IS NULL
LEFT JOIN staging.product_items AS p
    ON p.product_reference = l.product_reference AND p.deleted_at IS NULL
WHERE l.deleted_at IS NULL
    AND (p.product_reference IS NOT NULL OR l.product_reference IN ('S1', 'S2', 'S3', 'M'))
