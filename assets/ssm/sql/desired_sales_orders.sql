-- Sales order headers of live customers: documents of type 'Sales Order', and the quotations
-- reps made in SSM (CUST_ORDER_NUMBER `SSM:<id>`, written by the quote flow), so Sage's edits,
-- conversion and delete reach them. Sage's own quotations and proformas are not pushed.
-- Totals are the order's live lines plus carriage (derived order totals) in the order's own
-- currency, the currency SSM shows them in, like the lines' prices; for a base-currency order
-- they equal the base totals.
SELECT
    CAST(h.order_number_accounts_id AS VARCHAR) AS ext_id,
    CAST(h.order_number_accounts_id AS VARCHAR) AS reference,
    h.customer_account AS account_ext_id,
    nullif(trim(a.${rep_column}), '') AS sales_rep,
    t.foreign_gross_value AS total,
    h.currency_code,
    h.order_date,
    -- the quote flow's marker is not a customer's reference: the rep's comment stays
    CASE WHEN h.customer_order_reference LIKE ${quote_marker} THEN NULL
         ELSE h.customer_order_reference END AS customer_reference,
    CASE WHEN coalesce(h.customer_order_reference, '') NOT LIKE ${quote_marker} THEN NULL
         WHEN h.order_type = 'Sales Order' THEN ${quote_ordered_status}
         ELSE ${quote_priced_status} END AS status,
    t.foreign_net_value AS net_total,
    t.foreign_tax_value AS tax_total
FROM staging.sales_order_headers AS h
JOIN derived.sales_order_totals AS t ON t.order_number_accounts_id = h.order_number_accounts_id
JOIN staging.customer_accounts AS a
    ON a.account_reference = h.customer_account AND a.deleted_at IS NULL
WHERE h.deleted_at IS NULL
    AND (h.order_type = 'Sales Order' OR (
        h.order_type = 'Quotation' AND h.customer_order_reference LIKE ${quote_marker}))
