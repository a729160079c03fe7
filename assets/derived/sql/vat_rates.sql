-- Tax codes by country type and transaction type (see the catalogue's note for the rule).
WITH uses(country_type, transaction_type) AS (
    VALUES ('Home', 'Sales'), ('Home', 'Purchase'), ('EC', 'Sales'), ('EC', 'Purchase'),
           ('Non-EC', 'Sales'), ('Non-EC', 'Purchase')
)
SELECT
    v.tax_code,
    v.tax_description,
    v.tax_rate,
    u.country_type,
    u.transaction_type,
    v.deleted_at
FROM staging.vat_rates AS v
JOIN uses AS u ON CASE
    WHEN v.eu_sales_flag OR v.eu_purchase_flag THEN
        u.country_type = 'EC'
        AND ((u.transaction_type = 'Sales' AND v.eu_sales_flag)
             OR (u.transaction_type = 'Purchase' AND v.eu_purchase_flag))
    WHEN u.country_type = 'Home' THEN TRUE
    WHEN u.country_type = 'Non-EC' THEN v.tax_rate = 0
    ELSE FALSE
END
