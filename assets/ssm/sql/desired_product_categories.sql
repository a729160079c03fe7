-- Sage stock categories (flat: no parent).
SELECT
    CAST(category_code AS VARCHAR) AS ext_id,
    left(coalesce(nullif(trim(category_description), ''), 'Category ' || category_code), 70)
        AS description
FROM staging.product_categories
WHERE deleted_at IS NULL
