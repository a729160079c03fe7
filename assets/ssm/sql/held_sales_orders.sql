-- Sales orders held back from the push, with the reason (read by desired.py).
-- A quotation the quote flow posted (CUST_ORDER_NUMBER `SSM:<id>`) is the rep's own SSM order:
-- until the quote job has acknowledged it (SSM carries Sage's number, and the push's ledger
-- pairs that number with the rep's order), an extract that reads it first must not create it a second time in SSM.
-- The quote job runs beside the sync, so this window is real; it closes within seconds.
SELECT
    CAST(h.order_number_accounts_id AS VARCHAR) AS ext_id,
    'quotation posted by the quote flow, not yet acknowledged in SSM (the job ssm_quotes '
        || 'finishes it)' AS reason
FROM staging.sales_order_headers AS h
WHERE h.deleted_at IS NULL
    AND h.order_type = 'Quotation'
    AND h.customer_order_reference LIKE ${quote_marker}
    AND NOT EXISTS (
        SELECT 1 FROM ssm.synced_sales_orders AS l
        WHERE l.ext_id = CAST(h.order_number_accounts_id AS VARCHAR)
            AND l.ssm_id = TRY_CAST(regexp_extract(h.customer_order_reference, '(\d+)$$', 1)
                                    AS BIGINT))
