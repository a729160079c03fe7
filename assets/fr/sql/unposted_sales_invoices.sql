-- Factures not posted yet (not Comptabilisée): one row per line, with the document's totals.
SELECT * EXCLUDE (posted, becomes) FROM (${invoice_lines})
WHERE becomes = 'invoice' AND NOT posted
