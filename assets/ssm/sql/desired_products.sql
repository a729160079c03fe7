-- Products: net sales price, free stock from the derived stock (NULL, a dash in SSM, when Sage
-- does not track the item's stock), not available when inactive, VAT code and rate.
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
    p.unit_weight
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
