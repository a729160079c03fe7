-- VAT Countries. "Configured" fields come from the company record: home is the company's
-- country, and the company is VAT registered at home when it has a VAT number.
SELECT
    cc.code AS country_code,
    cc.name AS country_name,
    coalesce(cc.code = co.country_code, FALSE) AS vat_home,
    flag(cc.eu_member) AS ec_member,
    coalesce(cc.code = co.country_code AND nullif(trim(co.vat_reg_number), '') IS NOT NULL, FALSE)
        AS vat_registered,
    cc.deleted_at
FROM sage.country_code AS cc
LEFT JOIN (SELECT * FROM sage.company WHERE deleted_at IS NULL LIMIT 1) AS co ON TRUE
