-- Sales Orders (Line Items). LEFT JOIN to the header so a line whose header is missing from the
-- extract stays visible to the `every_line_has_its_order` check instead of vanishing.
SELECT
    it.order_number,
    it.item_number AS line_number,
    it.stock_code AS product_reference,
    it.description AS product_description,
    unit_price(it.foreign_unit_price) AS unit_price_foreign,
    quantity(it.qty_order) AS quantity_ordered,
    money(it.foreign_net_amount) AS line_net_amount_foreign,
    it.due_date,
    so.account_ref AS account_reference,
    so.del_address_5 AS delivery_postcode_user_1,
    money(it.foreign_gross_amount) AS line_gross_amount_foreign,
    cur.code AS currency_code,
    money(it.net_amount) AS line_net_amount_base,
    money(it.gross_amount) AS line_gross_amount_base,
    it.nominal_code,
    quantity(it.qty_delivered) AS quantity_delivered,
    so.order_date,
    so.cust_order_number AS customer_order_reference,
    percent(it.discount_rate) AS discount_rate,
    unit_price(st.last_disc_purchase_price) AS last_discounted_purchase_price,
    it.dept_number AS department_code,
    so.allocated_status_code AS allocated_status,
    money(it.tax_amount) AS line_tax_amount_base,
    money(it.foreign_tax_amount) AS line_tax_amount_foreign,
    least(it.deleted_at, so.deleted_at) AS deleted_at
FROM sage.sop_item AS it
LEFT JOIN sage.sales_order AS so ON so.order_number = it.order_number
LEFT JOIN sage.currency AS cur ON cur.number = so.currency
LEFT JOIN sage.stock AS st ON st.stock_code = it.stock_code
