-- Countries of the clients: France is home (a Sage 50 FR dossier), EU membership as of 2024.
WITH used AS (
    SELECT 'FR' AS code, 'France' AS name
    UNION
    SELECT coalesce(code_pays, CASE WHEN fold(pays) IN ('', 'france') THEN 'FR' END),
           any_value(pays)
    FROM sage_fr.clients GROUP BY 1
)
SELECT
    code AS country_code,
    CASE WHEN code = 'FR' THEN 'France' ELSE name END AS country_name,
    code = 'FR' AS vat_home,
    code IN ('AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU',
             'IE', 'IT', 'LT', 'LU', 'LV', 'MT', 'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK')
        AS ec_member,
    code = 'FR' AS vat_registered
FROM used
WHERE code IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY code ORDER BY name) = 1
