-- The prices of each SSM rate (desired_rates.sql) as Sage computes them (derived.price_lists:
-- stored for static lists and fixed prices, calculated from the product otherwise), for live
-- products:
-- - a named price list (type P, live): its prices, in the list's currency;
-- - a customer's rate ('SPECIAL:' || account code, a live customer with special prices): its
--   special prices (type S, in its currency); with SSM_SPECIAL_RATES_WITH_LIST=true also, for
--   its other products, its price list's, as Sage prices a line (resources/sage/pricing.py: a
--   special price, else the price list, else the product's own price, SSM's product `price`).
--   A list price in currency L sells to a customer in currency C at price / rate(L) x rate(C),
--   to 2 decimals; a currency without a rate: no price (null), as in derived.price_lists.
--   Off by default: every list price would repeat once per customer with special prices.
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
    WHERE s.type = 'S' AND ${customer_rates}  -- shared keys: the accounts' owner's to write
),
customers AS (SELECT DISTINCT account_reference, price_list, currency_code FROM special),
-- units of a currency per base unit (CURRENCY.RATE), the base currency 1
currency_rates AS (
    SELECT currency_code, CASE WHEN bool_or(home_currency) THEN 1
                               ELSE nullif(min(exchange_rate), 0) END AS rate
    FROM staging.currencies WHERE deleted_at IS NULL GROUP BY currency_code
),
listed_for_customers AS (
    SELECT
        'SPECIAL:' || c.account_reference AS rate_ext_id,
        l.product_reference,
        CASE
            WHEN l.currency_code IS NOT DISTINCT FROM c.currency_code THEN l.selling_price
            ELSE TRY_CAST(round(
                l.selling_price
                / CASE WHEN l.currency_code IS NULL THEN 1 ELSE lr.rate END
                * CASE WHEN c.currency_code IS NULL THEN 1 ELSE cr.rate END, 2
            ) AS DECIMAL(18, 4))
        END AS selling_price
    FROM customers AS c
    JOIN lists AS l ON l.rate_ext_id = c.price_list
    LEFT JOIN currency_rates AS lr ON lr.currency_code = l.currency_code
    LEFT JOIN currency_rates AS cr ON cr.currency_code = c.currency_code
    WHERE ${special_rates_with_list} AND NOT EXISTS (
        SELECT 1 FROM special AS s
        WHERE s.account_reference = c.account_reference
          AND s.product_reference = l.product_reference
    )
),
rates AS (
    SELECT rate_ext_id, product_reference, selling_price FROM lists
    UNION ALL
    SELECT 'SPECIAL:' || account_reference, product_reference, selling_price FROM special
    UNION ALL
    SELECT rate_ext_id, product_reference, selling_price FROM listed_for_customers
)
SELECT
    rate_ext_id || '|' || product_reference AS ext_id,
    rate_ext_id,
    product_reference AS product_ext_id,
    selling_price AS sale_price
FROM rates
