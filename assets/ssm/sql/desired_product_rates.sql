-- The prices of each SSM rate (desired_rates.sql) as Sage computes them (derived.price_lists:
-- stored for static lists and fixed prices, calculated from the product otherwise), for live
-- products:
-- - a named price list (type P, live): its prices;
-- - a customer's rate ('SPECIAL:' || account code, a live customer with special prices): its
--   special prices (type S, in its currency), and for its other products the prices of its
--   price list when that list is in the customer's currency, as Sage prices it (a special price
--   first, then the price list, then the product's own price: SSM's product `price`).
WITH live AS (
    SELECT pl.*
    FROM derived.price_lists AS pl
    JOIN staging.product_items AS p
        ON p.product_reference = pl.product_reference AND p.deleted_at IS NULL
    WHERE pl.deleted_at IS NULL
),
lists AS (
    SELECT l.price_list_code AS rate_ext_id, l.product_reference, l.selling_price, l.currency_code
    FROM live AS l
    JOIN staging.price_list_metadata AS m
        ON m.pricing_reference = l.price_list_code AND m.type = 'P'
       AND m.deleted_at IS NULL AND NOT coalesce(m.deleted, FALSE)
    WHERE l.type = 'P'
),
special AS (
    SELECT a.account_reference, a.price_list, a.currency_code, s.product_reference,
           s.selling_price
    FROM live AS s
    JOIN staging.customer_accounts AS a
        ON a.account_reference = s.price_list_code AND a.deleted_at IS NULL
    WHERE s.type = 'S'
),
rates AS (
    SELECT rate_ext_id, product_reference, selling_price FROM lists
    UNION ALL
    SELECT 'SPECIAL:' || account_reference, product_reference, selling_price FROM special
    UNION ALL
    SELECT DISTINCT 'SPECIAL:' || c.account_reference, l.product_reference, l.selling_price
    FROM special AS c
    JOIN lists AS l
        ON l.rate_ext_id = c.price_list
       -- a list in another currency than the customer's is not its price (unknown: kept)
       AND (l.currency_code IS NULL OR c.currency_code IS NULL
            OR l.currency_code = c.currency_code)
    WHERE NOT EXISTS (
        SELECT 1 FROM special AS s
        WHERE s.account_reference = c.account_reference
          AND s.product_reference = l.product_reference
    )
)
SELECT
    rate_ext_id || '|' || product_reference AS ext_id,
    rate_ext_id,
    product_reference AS product_ext_id,
    selling_price AS sale_price
FROM rates
