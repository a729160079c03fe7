-- Articles. The TVA code is named from the rate (TVA20, TVA5,5); stock applies unless "Suivi de
-- stock" says no (absent: it applies to an article with a stock figure).
SELECT
    code_article AS product_reference,
    designation AS description,
    famille AS product_category,
    code_article AS discount_matrix_code,
    coalesce(suivi_stock = 1, stock_reel IS NOT NULL) AS is_stocked,
    tva_code(taux_tva) AS tax_code,
    unit_price(prix_achat_ht) AS last_purchase_price,
    unit_price(prix_vente_ht) AS sales_price,
    2 AS unit_decimal_places,
    2 AS qty_decimal_places,
    code_barre AS barcode,
    quantity(poids) AS unit_weight,
    flag(en_sommeil) AS inactive_flag,
    unite_vente AS unit_of_sale,
    image AS web_image_file,
    deleted_at
FROM sage_fr.articles
