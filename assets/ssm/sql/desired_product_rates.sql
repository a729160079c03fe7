-- Prices of the named price lists, for live products of live lists.
SELECT
    n.price_list_code || '|' || n.product_reference AS ext_id,
    n.price_list_code AS rate_ext_id,
    n.product_reference AS product_ext_id,
    n.selling_price AS sale_price
FROM staging.named_price_lists AS n
JOIN staging.product_items AS p
    ON p.product_reference = n.product_reference AND p.deleted_at IS NULL
JOIN staging.price_list_metadata AS m
    ON m.pricing_reference = n.price_list_code AND m.type = 'P'
   AND m.deleted_at IS NULL AND NOT coalesce(m.deleted, FALSE)
WHERE n.deleted_at IS NULL
