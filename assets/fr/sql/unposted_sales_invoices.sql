-- Factures not posted yet (not Comptabilisée): one row per line, with the document's totals.
SELECT * EXCLUDE (posted) FROM (${invoice_lines}) WHERE NOT posted
