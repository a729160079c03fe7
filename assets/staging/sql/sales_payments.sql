-- Sales Payments (Current Audit Trail): the SI and SC splits of the live audit trail. Deleted
-- splits stay, flagged, so the push can see an invoice whose posting was reversed.
SELECT
    s.inv_ref AS invoice_number,
    yes(s.paid_flag) AS paid_flag,
    s.date_entered AS paid_date,
    i.invoice_or_credit,
    s.split_number,
    s.header_number,
    s.account_ref AS account_reference,
    s.type,
    money(s.gross_amount) AS gross_amount,
    money(s.amount_paid) AS amount_paid,
    money(s.outstanding) AS outstanding,
    coalesce(s.deleted_flag, 0) <> 0 AS deleted,
    s.date AS invoice_date,
    s.deleted_at
FROM sage.audit_split AS s
LEFT JOIN sage.invoice AS i ON text_number(i.invoice_number) = s.inv_ref
WHERE s.type IN ('SI', 'SC')
