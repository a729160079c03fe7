-- Factures the dossier has posted (Comptabilisée): one row per line, with the document's totals.
SELECT * EXCLUDE (posted, becomes) FROM (${invoice_lines})
WHERE becomes = 'invoice' AND posted
