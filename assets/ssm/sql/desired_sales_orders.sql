-- Sales order headers of live customers, with Sage's own order totals (base currency).
SELECT
    CAST(h.order_number_accounts_id AS VARCHAR) AS ext_id,
    CAST(h.order_number_accounts_id AS VARCHAR) AS reference,
    h.customer_account AS account_ext_id,
    nullif(trim(a.${rep_column}), '') AS sales_rep,
    h.sage_gross_value_base AS total,
    h.currency_code,
    h.order_date,
    h.customer_order_reference AS customer_reference,
    h.sage_net_value_base AS net_total,
    h.sage_tax_value_base AS tax_total
FROM staging.sales_order_headers AS h
JOIN staging.customer_accounts AS a
    ON a.account_reference = h.customer_account AND a.deleted_at IS NULL
WHERE h.deleted_at IS NULL
