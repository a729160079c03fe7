-- Audit Split: every line of the live audit trail; deleted ones stay, flagged.
SELECT
    s.split_number,
    s.account_ref AS account_reference,
    s.type,
    money(s.outstanding) AS outstanding_amount,
    s.header_number,
    s.inv_ref AS invoice_reference,
    s.date,
    money(s.gross_amount) AS gross_amount,
    money(s.amount_paid) AS amount_paid,
    yes(s.paid_flag) AS paid_flag,
    coalesce(s.deleted_flag, 0) <> 0 AS deleted,
    s.deleted_at
FROM sage.audit_split AS s
