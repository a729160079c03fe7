-- Customer accounts as SSM accounts. The rep column is a setting (SAGE_REP_FIELD).
SELECT
    a.account_reference AS ext_id,
    a.company_name AS name,
    a.address_line_1 AS address1,
    a.address_line_2 AS address2,
    a.address_line_3 AS city,
    a.address_line_4 AS region,
    a.postcode,
    a.country_code,
    a.telephone AS phone,
    a.fax,
    a.email,
    a.website,
    a.vat_registration_number AS vat_number,
    nullif(trim(a.${rep_column}), '') AS sales_rep,
    a.balance,
    a.credit_limit,
    a.on_stop,
    a.last_invoice_date,
    a.last_receipt_date AS last_payment_date,
    a.payment_due_days AS payment_terms_days,
    a.settlement_discount,
    a.currency_code,
    a.price_list,
    a.closed_inactive AS inactive
FROM staging.customer_accounts AS a
WHERE a.deleted_at IS NULL
