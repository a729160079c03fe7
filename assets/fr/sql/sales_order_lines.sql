-- Lines of bons de commande and devis.
SELECT
    number AS order_number,
    ligne AS line_number,
    code_article AS product_reference,
    designation AS product_description,
    unit_price AS unit_price_foreign,
    quantity AS quantity_ordered,
    line_net AS line_net_amount_foreign,
    code_client AS account_reference,
    line_gross AS line_gross_amount_foreign,
    currency_code,
    line_net AS line_net_amount_base,
    line_gross AS line_gross_amount_base,
    date_piece AS order_date,
    ref_commande AS customer_order_reference,
    discount_rate,
    0 AS allocated_status,
    line_tax AS line_tax_amount_base,
    line_tax AS line_tax_amount_foreign,
    line_deleted_at AS deleted_at
FROM (${document_lines})
WHERE becomes IN ('order', 'quote')
