-- Sales Payments (Audit History): an invoice cleared from the audit trail was fully paid, so its
-- paid date is the latest allocation that names its split (each allocation is stored twice, once
-- from each side: either side carries the same date).
WITH allocation_dates AS (
    SELECT split, max(record_create_date) AS paid_at
    FROM (
        SELECT split_number AS split, record_create_date FROM sage.audit_history_usage
        WHERE coalesce(deleted_flag, 0) = 0 AND deleted_at IS NULL AND coalesce(amount, 0) <> 0
        UNION ALL
        SELECT split_crossref, record_create_date FROM sage.audit_history_usage
        WHERE coalesce(deleted_flag, 0) = 0 AND deleted_at IS NULL AND coalesce(amount, 0) <> 0
    )
    GROUP BY split
)
SELECT
    h.inv_ref AS invoice_number,
    s.split_number AS line_number,
    CAST(a.paid_at AS DATE) AS paid_date,
    TRUE AS paid_flag,
    s.header_number,
    h.account_ref AS account_reference,
    h.type,
    h.date AS invoice_date,
    money(s.gross_amount) AS gross_amount,
    coalesce(s.deleted_flag, 0) <> 0 OR coalesce(h.deleted_flag, 0) <> 0 AS deleted,
    least(s.deleted_at, h.deleted_at) AS deleted_at
FROM sage.audit_history_split AS s
JOIN sage.audit_history_header AS h ON h.header_number = s.header_number
LEFT JOIN allocation_dates AS a ON a.split = s.split_number
WHERE h.type IN ('SI', 'SC')
