-- Customer accounts as SSM accounts. The rep column is a setting (SAGE_REP_FIELD).
-- A prospect (seeds 001, 004) is a customer carrying the prospect marker (SAGE_PROSPECT_MARKER,
-- compared trimmed and in any case) while prospects are mirrored into Sage (SAGE_PROSPECTS) and
-- Sage has not converted it: with SAGE_PROSPECT_CONVERSION=first_invoice its first invoice
-- converts it even if the marker stays. A prospect is pushed with the prospect status and
-- editable; every other customer is a Client and read-only. Same predicate: held_contacts.sql.
-- A closed/inactive customer's status is SSM_INACTIVE_STATUS (the contract's `instead`, applied
-- when the payload is built, since the status is a setting).
-- The account's rate: its own when it has special prices on live products (the rate
-- desired_rates.sql makes of them, same predicate, which holds its price list's other prices
-- too), else its price list; Z_PriceList keeps the price list either way.
WITH a AS (
    SELECT
        a.*,
        ${prospects_in_sage}
        AND coalesce(lower(trim(CAST(a.${prospect_column} AS VARCHAR))) = ${prospect_marker}, false)
        AND NOT (${first_invoice_converts} AND a.last_invoice_date IS NOT NULL) AS is_prospect,
        EXISTS (
            SELECT 1 FROM derived.price_lists AS s
            JOIN staging.product_items AS p
                ON p.product_reference = s.product_reference AND p.deleted_at IS NULL
            WHERE s.type = 'S' AND s.deleted_at IS NULL AND s.price_list_code = a.account_reference
        ) AS has_special_prices
    FROM staging.customer_accounts AS a
    WHERE a.deleted_at IS NULL
)
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
    a.closed_inactive AS inactive,
    CASE WHEN a.is_prospect THEN ${prospect_status} ELSE ${client_status} END AS status,
    NOT a.is_prospect AS read_only,
    a.settlement_days,
    a.currency_rate,
    a.overall_discount,
    a.discount_type,
    a.default_tax_code,
    a.override_tax_code,
    CASE WHEN a.has_special_prices THEN 'SPECIAL:' || a.account_reference ELSE a.price_list END
        AS rate
FROM a
