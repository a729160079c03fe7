-- Audit Usage: allocations between splits, both stored sides; deleted ones stay, flagged.
-- split_date is the date of the usage's own split, whose month the extract files it under.
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
    s.date AS split_date,
    u.deleted_at
FROM sage.audit_usage AS u
LEFT JOIN sage.audit_split AS s ON s.split_number = u.split_number
