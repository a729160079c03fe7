-- Factures the dossier has posted (Comptabilisée): one row per line, with the document's totals.
SELECT * EXCLUDE (posted) FROM (${invoice_lines}) WHERE posted
