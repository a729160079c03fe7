-- Selling prices of the named price lists (type P) as Sage computes them (stored for static
-- lists and fixed prices, calculated from the product otherwise), for live products of live
-- lists. Customer-specific prices (type S) are not SSM rates (see desired_rates.sql).
SELECT
    pl.price_list_code || '|' || pl.product_reference AS ext_id,
    pl.price_list_code AS rate_ext_id,
    pl.product_reference AS product_ext_id,
    pl.selling_price AS sale_price
FROM derived.price_lists AS pl
JOIN staging.product_items AS p
    ON p.product_reference = pl.product_reference AND p.deleted_at IS NULL
JOIN staging.price_list_metadata AS m
    ON m.pricing_reference = pl.price_list_code AND m.type = 'P'
   AND m.deleted_at IS NULL AND NOT coalesce(m.deleted, FALSE)
WHERE pl.type = 'P' AND pl.deleted_at IS NULL
