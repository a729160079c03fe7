-- Sales Ledger (Customer Accounts). Lookups are LEFT JOINs: a missing country or currency never
-- hides a customer. Payment terms fall back to the company's defaults for sales.
SELECT
    sl.account_ref AS account_reference,
    sl.name AS company_name,
    sl.address_1 AS address_line_1,
    sl.address_2 AS address_line_2,
    sl.address_3 AS address_line_3,
    sl.address_4 AS address_line_4,
    sl.address_5 AS postcode,
    cc.name AS country,
    sl.telephone,
    sl.fax,
    sl.e_mail AS email,
    flag(sl.account_on_hold) AS on_stop,
    money(sl.balance) AS balance,
    sl.last_inv_date AS last_invoice_date,
    sl.last_payment_date AS last_receipt_date,
    money(sl.credit_limit) AS credit_limit,
    nullif(trim(sl.pricing_ref), '') AS price_list,
    sl.vat_reg_number AS vat_registration_number,
    percent(sl.settlement_disc_rate) AS settlement_discount,
    sl.settlement_due_days AS settlement_days,
    percent(sl.discount_rate) AS overall_discount,
    sl.def_tax_code AS default_tax_code,
    coalesce(cc.code, nullif(trim(sl.country_code), '')) AS country_code,
    sl.discount_type,
    flag(sl.override_tax_code) AS override_tax_code,
    exchange_rate(cur.rate) AS currency_rate,
    cur.code AS currency_code,
    flag(sl.inactive_flag) AS closed_inactive,
    sl.web_address AS website,
    sl.analysis_1,
    sl.analysis_2,
    sl.analysis_3,
    sl.contact_name,
    coalesce(sl.payment_due_days, co.payment_due_sales) AS payment_due_days,
    coalesce(sl.payment_due_from, co.payment_due_from_sales) AS payment_due_from,
    sl.deleted_at
FROM sage.sales_ledger AS sl
LEFT JOIN sage.country_code AS cc ON cc.code = sl.country_code
LEFT JOIN sage.currency AS cur ON cur.number = sl.currency
LEFT JOIN (SELECT * FROM sage.company WHERE deleted_at IS NULL LIMIT 1) AS co ON TRUE
