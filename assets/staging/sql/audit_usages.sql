-- Audit Usage: allocations between splits, both stored sides; deleted ones stay, flagged.
SELECT
    u.usage_number,
    u.record_create_date,
    u.type,
    u.split_crossref AS split_cross_reference,
    u.split_number,
    u.date,
    money(u.amount) AS amount,
    money(u.foreign_amount) AS foreign_amount,
    coalesce(u.deleted_flag, 0) <> 0 AS deleted,
    u.deleted_at
FROM sage.audit_usage AS u
