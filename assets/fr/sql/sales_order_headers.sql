-- Bons de commande (Sales Order) and devis (Quotation): their totals are the document's own.
SELECT
    number AS order_number_accounts_id,
    date_piece AS order_date,
    code_client AS customer_account,
    ref_commande AS customer_order_reference,
    CASE becomes WHEN 'order' THEN 'Sales Order' ELSE 'Quotation' END AS order_type,
    carriage_net AS carriage_net_base,
    carriage_tax AS carriage_tax_base,
    carriage_gross AS carriage_gross_base,
    carriage_net AS carriage_net_foreign,
    carriage_tax AS carriage_tax_foreign,
    carriage_gross AS carriage_gross_foreign,
    currency_code,
    0 AS allocated_status,
    total_net AS sage_net_value_base,
    total_tax AS sage_tax_value_base,
    total_gross AS sage_gross_value_base,
    total_net AS sage_net_value_foreign,
    total_tax AS sage_tax_value_foreign,
    total_gross AS sage_gross_value_foreign,
    deleted_at
FROM (${documents})
WHERE becomes IN ('order', 'quote')
