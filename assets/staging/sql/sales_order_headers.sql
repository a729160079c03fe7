-- Sales Order headers with carriage and Sage's own totals (order totals: derived.sales_order_totals).
SELECT
    so.order_number AS order_number_accounts_id,
    so.order_date,
    so.account_ref AS customer_account,
    so.cust_order_number AS customer_order_reference,
    so.order_or_quote AS order_type,
    so.order_type_code,
    money(so.carr_net) AS carriage_net_base,
    money(so.carr_tax) AS carriage_tax_base,
    money(so.carr_gross) AS carriage_gross_base,
    money(so.foreign_carr_net) AS carriage_net_foreign,
    money(so.foreign_carr_tax) AS carriage_tax_foreign,
    money(so.foreign_carr_gross) AS carriage_gross_foreign,
    cur.code AS currency_code,
    so.allocated_status_code AS allocated_status,
    money(so.invoice_net) AS sage_net_value_base,
    money(so.invoice_tax) AS sage_tax_value_base,
    money(so.invoice_gross) AS sage_gross_value_base,
    money(so.foreign_invoice_net) AS sage_net_value_foreign,
    money(so.foreign_invoice_tax) AS sage_tax_value_foreign,
    money(so.foreign_invoice_gross) AS sage_gross_value_foreign,
    so.despatch_status_code AS despatch_status,
    so.deleted_at
FROM sage.sales_order AS so
LEFT JOIN sage.currency AS cur ON cur.number = so.currency
