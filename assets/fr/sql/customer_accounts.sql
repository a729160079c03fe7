-- Clients, and the prospects not yet converted (a code in the clients file is a client: Sage
-- converted it). Defaults for what Sage 50 FR does not export: the staging README's table.
WITH accounts AS (
    SELECT c.*, FALSE AS prospect FROM sage_fr.clients AS c
    UNION ALL BY NAME
    SELECT p.*, TRUE AS prospect FROM sage_fr.prospects AS p
    WHERE NOT EXISTS (
        SELECT 1 FROM sage_fr.clients AS c WHERE c.code = p.code AND c.deleted_at IS NULL
    )
)
SELECT
    code AS account_reference,
    coalesce(nom, societe) AS company_name,
    adresse_1 AS address_line_1,
    -- Sage 50 UK's third line is the town (SSM's city); a French address has no county line, so
    -- its second and third lines share the second, and its Ville is the town.
    nullif(concat_ws(', ', nullif(trim(adresse_2), ''), nullif(trim(adresse_3), '')), '')
        AS address_line_2,
    ville AS address_line_3,
    code_postal AS postcode,
    pays AS country,
    telephone,
    fax,
    email,
    site_web AS website,
    flag(bloque) AS on_stop,
    nullif(trim(code_tarif), '') AS price_list,
    tva_intracom AS vat_registration_number,
    0 AS settlement_discount,
    percent(coalesce(taux_remise, 0)) AS overall_discount,
    coalesce(code_pays, CASE WHEN fold(pays) IN ('', 'france') THEN 'FR' END) AS country_code,
    0 AS discount_type,
    FALSE AS override_tax_code,
    1 AS currency_rate,
    coalesce(devise, ${currency}) AS currency_code,
    flag(en_sommeil) AS closed_inactive,
    representant AS _rep,
    CASE WHEN prospect THEN ${prospect_marker} END AS _prospect,
    30 AS payment_due_days,
    0 AS payment_due_from,
    deleted_at
FROM accounts
-- a prospect converted and then deleted as a client stays deleted, never a prospect again
QUALIFY row_number() OVER (PARTITION BY code ORDER BY prospect) = 1
