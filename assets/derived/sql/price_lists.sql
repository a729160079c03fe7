-- Selling prices of customer special prices (S) and named price lists (P).
-- STORED_PRICE is what Sage stored at the last (re)calculation: it is the price of static lists
-- and of Fixed Price rows; other rows are calculated from the product as Sage's methods say.
WITH prices AS (
    SELECT type, price_list_code, product_reference, description, currency_code, calc_method,
           calc_value, selling_price AS stored_price, base_sales_price, deleted_at
    FROM staging.customer_price_lists
    UNION ALL
    SELECT type, price_list_code, product_reference, description, currency_code, calc_method,
           calc_value, selling_price, base_sales_price, deleted_at
    FROM staging.named_price_lists
),
priced AS (
    SELECT
        p.*,
        coalesce(m.has_static_prices, FALSE) OR coalesce(p.calc_method, 0) = 0
            OR p.calc_method NOT BETWEEN 0 AND 6 AS uses_stored_price,
        pi.sales_price,
        pi.last_purchase_price AS cost_price,
        m.deleted_at AS list_deleted_at
    FROM prices AS p
    LEFT JOIN staging.price_list_metadata AS m
        ON m.type = p.type AND m.pricing_reference = p.price_list_code
    LEFT JOIN staging.product_items AS pi ON pi.product_reference = p.product_reference
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
    CAST(round(CASE
        WHEN uses_stored_price THEN stored_price
        WHEN calc_method = 1 THEN sales_price
        WHEN calc_method = 2 THEN sales_price * (1 - calc_value / 100)
        WHEN calc_method = 3 THEN sales_price - calc_value
        WHEN calc_method = 4 THEN cost_price * (1 + calc_value / 100)
        WHEN calc_method = 5 THEN cost_price + calc_value
        WHEN calc_method = 6 THEN sales_price * (1 + calc_value / 100)
    END, CASE WHEN uses_stored_price THEN 4 ELSE 2 END) AS DECIMAL(18, 4)) AS selling_price,
    CASE WHEN uses_stored_price THEN 'stored' ELSE 'calculated' END AS price_source,
    least(deleted_at, list_deleted_at) AS deleted_at
FROM priced
