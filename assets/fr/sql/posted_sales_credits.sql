-- Avoirs the dossier has posted (Comptabilisée): one row per line, with the document's totals
-- (positive, as Sage shows a credit note; the push makes them negative). The staging takes
-- columns by name: the invoice lines' columns under the UK credit table's names.
SELECT
    * EXCLUDE (payment_due_date, posted, becomes) RENAME (
        invoice_number AS invoice_number_credit_note_no,
        unit_price AS unit_price_base,
        invoice_date AS credit_date
    ),
    line_net_value AS line_net_base
FROM (${invoice_lines})
WHERE becomes = 'credit' AND posted
