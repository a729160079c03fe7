-- Product Categories: Sage's STOCK_CAT list plus any category number a product uses that the
-- list lacks (named from the product's denormalised STOCK_CAT_NAME). Codes become text.
WITH used AS (
    SELECT stock_cat AS number, any_value(stock_cat_name) AS name
    FROM sage.stock
    WHERE stock_cat IS NOT NULL AND deleted_at IS NULL
    GROUP BY stock_cat
)
SELECT
    text_number(coalesce(c.number, u.number)) AS category_code,
    coalesce(nullif(trim(c.name), ''), u.name) AS category_description,
    CAST(NULL AS VARCHAR) AS parent_category,
    c.deleted_at
FROM sage.stock_cat AS c
FULL OUTER JOIN used AS u ON u.number = c.number
