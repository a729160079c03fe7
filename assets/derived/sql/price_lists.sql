-- Selling prices of customer special prices (S) and named price lists (P), in the list's currency
-- (the customer's for S, the PRICE_LIST's for P).
-- STORED_PRICE is what Sage stored at the last (re)calculation, in the list's currency: it is the
-- price of static lists and of Fixed Price rows. Other rows are calculated from the product's
-- prices as Sage's methods say; those are in the base currency, so they are converted at the
-- list currency's CURRENCY.RATE (Sage's "currency per pound": list price = base price x RATE).
WITH prices AS (
    SELECT type, price_list_code, product_reference, description, currency_code, calc_method,
           calc_value, selling_price AS stored_price, base_sales_price, deleted_at
    FROM staging.customer_price_lists
    UNION ALL
    SELECT type, price_list_code, product_reference, description, currency_code, calc_method,
           calc_value, selling_price, base_sales_price, deleted_at
    FROM staging.named_price_lists
),
rates AS (
    SELECT currency_code,
           CASE WHEN bool_or(home_currency) THEN 1 ELSE nullif(min(exchange_rate), 0) END AS rate
    FROM staging.currencies
    WHERE deleted_at IS NULL
    GROUP BY currency_code
),
priced AS (
    SELECT
        p.*,
        coalesce(m.has_static_prices, FALSE) OR coalesce(p.calc_method, 0) = 0
            OR p.calc_method NOT BETWEEN 0 AND 6 AS uses_stored_price,
        pi.sales_price,
        pi.last_purchase_price AS cost_price,
        -- no currency on the customer or list: the base currency; an unknown currency or one
        -- without a rate: no price (null) rather than a base-currency figure under its code
        CASE WHEN p.currency_code IS NULL THEN 1 ELSE r.rate END AS list_rate,
        m.deleted_at AS list_deleted_at
    FROM prices AS p
    LEFT JOIN staging.price_list_metadata AS m
        ON m.type = p.type AND m.pricing_reference = p.price_list_code
    LEFT JOIN staging.product_items AS pi ON pi.product_reference = p.product_reference
    LEFT JOIN rates AS r ON r.currency_code = p.currency_code
)
SELECT
    type,
    price_list_code,
    product_reference,
    description,
    currency_code,
    calc_method AS calculation_method,
    calc_value AS calculation_value,
    stored_price,
    base_sales_price,
    -- TRY_CAST: a calculation beyond DECIMAL(18, 4) (a rate times a price, each within what
    -- the extract lets in) leaves that price NULL instead of failing every price list.
    TRY_CAST(CASE
        WHEN uses_stored_price THEN stored_price
        ELSE round(list_rate * CASE calc_method
            WHEN 1 THEN sales_price
            WHEN 2 THEN sales_price * (1 - calc_value / 100)
            WHEN 3 THEN sales_price - calc_value
            WHEN 4 THEN cost_price * (1 + calc_value / 100)
            WHEN 5 THEN cost_price + calc_value
            WHEN 6 THEN sales_price * (1 + calc_value / 100)
        END, 2)
    END AS DECIMAL(18, 4)) AS selling_price,
    CASE WHEN uses_stored_price THEN 'stored' ELSE 'calculated' END AS price_source,
    least(deleted_at, list_deleted_at) AS deleted_at
FROM priced
