-- Sales Credits (Posted): the invoice-line SELECT under the map's credit-note names; the
-- catalogue's filter is the map's (INVOICE_OR_CREDIT = 'Credit Note' and POSTED = 'Y').
SELECT
    * RENAME (
        invoice_number AS invoice_number_credit_note_no,
        unit_price AS unit_price_base,
        invoice_date AS credit_date
    ),
    line_net_value AS line_net_base
FROM ({select:sales_invoice_lines}) AS credit_lines
