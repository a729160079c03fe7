-- Products: net sales price, free stock from the derived stock (NULL, a dash in SSM, when Sage
-- does not track the item's stock), not available when inactive, VAT code and rate; cost is
-- the average cost price (the contract says why), the purchase prices and picture file extra.
SELECT
    p.product_reference AS ext_id,
    coalesce(nullif(trim(p.description), ''), p.product_reference) AS model,
    cat.ext_id AS category_ext_id,
    p.sales_price AS price,
    s.free_stock AS stock,
    p.inactive_flag AS not_available,
    p.tax_code,
    v.tax_rate,
    nullif(trim(p.barcode), '') AS barcode,
    p.unit_weight,
    p.average_cost_price AS cost,
    p.last_purchase_price,
    p.last_discounted_purchase_price,
    p.web_image_file AS image_file
FROM staging.product_items AS p
LEFT JOIN derived.stock AS s
    ON s.product_reference = p.product_reference AND s.deleted_at IS NULL
LEFT JOIN (
    SELECT CAST(category_code AS VARCHAR) AS ext_id
    FROM staging.product_categories
    WHERE deleted_at IS NULL
) AS cat ON cat.ext_id = p.product_category
LEFT JOIN staging.vat_rates AS v ON v.tax_code = p.tax_code AND v.deleted_at IS NULL
WHERE p.deleted_at IS NULL
UNION ALL
-- Sage's special product codes (S1, S2 special items, S3 service, M message) are not STOCK
-- records: a free-text order line carries one of them and its own description. Each code used
-- on a live order line is an SSM product of its own, so the line can be sent (SSM requires a
-- product on a line) and an order's lines add up to its total.
SELECT DISTINCT
    l.product_reference AS ext_id,
    CASE l.product_reference
        WHEN 'S1' THEN 'Special item (free text, standard VAT)'
        WHEN 'S2' THEN 'Special item (free text, zero VAT)'
        WHEN 'S3' THEN 'Service item (free text)'
        ELSE 'Message line (free text)'
    END AS model,
    NULL AS category_ext_id,
    NULL AS price,
    NULL AS stock,
    FALSE AS not_available,
    NULL AS tax_code,
    NULL AS tax_rate,
    NULL AS barcode,
    NULL AS unit_weight,
    NULL AS cost,
    NULL AS last_purchase_price,
    NULL AS last_discounted_purchase_price,
    NULL AS image_file
FROM staging.sales_order_lines AS l
WHERE l.deleted_at IS NULL AND l.product_reference IN ('S1', 'S2', 'S3', 'M')
    AND NOT EXISTS (SELECT 1 FROM staging.product_items AS p
                    WHERE p.product_reference = l.product_reference AND p.deleted_at IS NULL)
