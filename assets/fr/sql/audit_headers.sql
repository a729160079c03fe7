-- FR has no audit trail: one row per posted invoice (SI) or credit note (SC), its amount paid
-- and outstanding from "Soldée" (settled: nothing outstanding) and "Reste dû"; when the export
-- carries neither, all of it is outstanding. header_number is the document's number, unique
-- across invoices and credit notes (the layout's number_base).
SELECT
    CAST(number AS VARCHAR) AS invoice_reference,
    number AS invoice_ref_numeric,
    code_client AS account_reference,
    CASE becomes WHEN 'invoice' THEN 'SI' ELSE 'SC' END AS type,
    number AS header_number,
    date_piece AS date,
    date_echeance AS due_date,
    total_net AS net_amount,
    total_tax AS tax_amount,
    total_gross AS gross_amount,
    money(total_gross - outstanding) AS amount_paid,
    outstanding,
    total_gross AS foreign_gross_amount,
    outstanding AS foreign_outstanding,
    outstanding = 0 AS paid_flag,
    FALSE AS deleted,
    deleted_at
FROM (
    SELECT *, money(CASE WHEN flag(soldee) THEN 0 ELSE coalesce(reste_du, total_gross) END)
        AS outstanding
    FROM (${documents})
    WHERE becomes IN ('invoice', 'credit') AND posted
)
