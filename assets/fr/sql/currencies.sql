-- The dossier's currency (the layout's), and any other a client or document names (its rate
-- is not exported: null).
WITH used AS (
    SELECT ${currency} AS code
    UNION SELECT devise FROM sage_fr.clients WHERE devise IS NOT NULL
    UNION SELECT devise FROM sage_fr.pieces WHERE devise IS NOT NULL
)
SELECT
    code AS currency_code,
    CASE code WHEN 'EUR' THEN 'Euro' ELSE code END AS currency_name,
    2 AS decimal_places,
    CASE WHEN code = ${currency} THEN 1 END AS exchange_rate,
    row_number() OVER (ORDER BY code <> ${currency}, code) AS accounts_id,
    0 AS multiplier,
    code = ${currency} AS home_currency,
    1 AS rounding_method
FROM used
