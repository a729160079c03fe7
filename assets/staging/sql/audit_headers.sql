-- Audit Header: every transaction of the live audit trail; deleted ones stay, flagged.
SELECT
    h.inv_ref AS invoice_reference,
    h.inv_ref_numeric AS invoice_ref_numeric,
    h.account_ref AS account_reference,
    h.type,
    h.header_number,
    h.date,
    h.due_date,
    money(h.net_amount) AS net_amount,
    money(h.tax_amount) AS tax_amount,
    money(h.gross_amount) AS gross_amount,
    money(h.amount_paid) AS amount_paid,
    money(h.outstanding) AS outstanding,
    money(h.foreign_gross_amount) AS foreign_gross_amount,
    money(h.foreign_outstanding) AS foreign_outstanding,
    yes(h.paid_flag) AS paid_flag,
    coalesce(h.deleted_flag, 0) <> 0 AS deleted,
    h.deleted_at
FROM sage.audit_header AS h
