-- Stock of each article in its dépôt; none where stock does not apply.
SELECT
    code_article AS product_reference,
    code_depot AS warehouse_code,
    quantity(stock_reel) AS quantity_in_stock,
    quantity(coalesce(stock_reserve, 0)) AS quantity_allocated,
    coalesce(suivi_stock = 1, stock_reel IS NOT NULL) AS is_stocked,
    deleted_at
FROM sage_fr.articles
