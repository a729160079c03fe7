-- Sales reps as Sage names them (the rep field of the customer ledger), split into SSM's name
-- and lastName. They are matched to existing SSM users; see the contract.
WITH reps AS (
    SELECT DISTINCT trim(${rep_column}) AS rep
    FROM staging.customer_accounts
    WHERE deleted_at IS NULL AND nullif(trim(${rep_column}), '') IS NOT NULL
)
SELECT
    rep AS ext_id,
    split_part(rep, ' ', 1) AS first_name,
    coalesce(nullif(trim(substr(rep, length(split_part(rep, ' ', 1)) + 1)), ''), rep) AS last_name
FROM reps
