-- The factures' and avoirs' lines (becomes: 'invoice' or 'credit'), with the document's totals
-- and whether the dossier posted it (Comptabilisée): posted_sales_invoices.sql,
-- unposted_sales_invoices.sql and posted_sales_credits.sql take their share of them.
SELECT
    number AS invoice_number,
    ligne AS line_number,
    code_article AS product_reference,
    designation AS description,
    unit_price,
    quantity,
    line_net AS line_net_value,
    date_piece AS invoice_date,
    code_client AS account_reference,
    ref_commande AS customer_order_reference,
    unit_price AS unit_price_foreign,
    discount_rate,
    line_net AS line_net_foreign,
    line_gross AS line_gross_foreign,
    currency_code,
    items_net, items_tax, items_gross,
    carriage_net, carriage_tax, carriage_gross,
    total_net, total_tax, total_gross,
    total_net AS total_net_foreign,
    total_tax AS total_tax_foreign,
    total_gross AS total_gross_foreign,
    line_tax AS line_tax_base,
    line_gross AS line_gross_base,
    date_echeance AS payment_due_date,
    line_deleted_at AS deleted_at,
    posted,
    becomes
FROM (${document_lines})
WHERE becomes IN ('invoice', 'credit')
