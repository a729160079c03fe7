-- Contacts held back from the push, with the reason (read by desired.py into ssm.held_contacts).
-- Contacts of a prospect sync only once it is a customer (seed 004): held rather than left
-- out, so a contact pushed before its account became a prospect keeps its last values in SSM
-- instead of being deleted. The prospect predicate is desired_accounts.sql's.
SELECT
    c.account_reference || '/' || CAST(c.address_ref AS VARCHAR) AS ext_id,
    'account is a prospect' AS reason
FROM staging.contacts AS c
JOIN staging.customer_accounts AS a
    ON a.account_reference = c.account_reference AND a.deleted_at IS NULL
WHERE c.deleted_at IS NULL
    AND ${prospects_in_sage}
    AND coalesce(lower(trim(CAST(a.${prospect_column} AS VARCHAR))) = ${prospect_marker}, false)
    AND NOT (${first_invoice_converts} AND a.last_invoice_date IS NOT NULL)
