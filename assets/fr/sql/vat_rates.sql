-- TVA: the French rates of the layout and every rate an article or line uses, one code each.
WITH rates AS (
    SELECT CAST(r AS DECIMAL(9, 4)) AS rate FROM (VALUES ${tva_rates}) AS t(r) WHERE r IS NOT NULL
    UNION SELECT CAST(taux_tva AS DECIMAL(9, 4)) FROM sage_fr.articles WHERE taux_tva IS NOT NULL
    UNION SELECT CAST(taux_tva AS DECIMAL(9, 4)) FROM sage_fr.piece_lines WHERE taux_tva IS NOT NULL
)
SELECT
    tva_code(rate) AS tax_code,
    'TVA ' || replace(regexp_replace(CAST(rate AS VARCHAR), '\.?0+$$', ''), '.', ',') || ' %'
        AS tax_description,
    percent(rate) AS tax_rate,
    FALSE AS eu_sales_flag,
    FALSE AS eu_purchase_flag
FROM rates
