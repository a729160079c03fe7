-- Contact addresses of live customer accounts. SSM needs a first and a last name: the contact
-- name is split at its first space; a one-word name fills both. ADDRESS_REF is a number in
-- Sage: the key is "<account code>/<address ref>". The contacts of a prospect account are held
-- back (held_contacts.sql), which leaves them out of ssm.desired_contacts without deleting them.
WITH c AS (
    SELECT
        c.*,
        CAST(c.address_ref AS VARCHAR) AS address_key,
        trim(coalesce(nullif(trim(c.contact_name), ''), nullif(trim(c.name), ''),
                      CAST(c.address_ref AS VARCHAR))) AS full_name
    FROM staging.contacts AS c
    WHERE c.deleted_at IS NULL
)
SELECT
    c.account_reference || '/' || c.address_key AS ext_id,
    split_part(c.full_name, ' ', 1) AS first_name,
    coalesce(nullif(trim(substr(c.full_name, length(split_part(c.full_name, ' ', 1)) + 1)), ''),
             c.full_name) AS last_name,
    c.account_reference AS account_ext_id,
    nullif(trim(a.${rep_column}), '') AS sales_rep,
    c.email,
    c.telephone AS phone,
    c.telephone_2 AS mobile,
    c.fax
FROM c
JOIN staging.customer_accounts AS a
    ON a.account_reference = c.account_reference AND a.deleted_at IS NULL
