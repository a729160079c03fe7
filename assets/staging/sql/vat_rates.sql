-- VAT Rates: one row per tax code (country and transaction types: derived.vat_rates).
SELECT
    t.tax_code,
    t.description AS tax_description,
    percent(t.tax_rate) AS tax_rate,
    flag(t.euro_sales) AS eu_sales_flag,
    flag(t.euro_purchase) AS eu_purchase_flag,
    t.tax_code_id,
    t.deleted_at
FROM sage.tax_code AS t
