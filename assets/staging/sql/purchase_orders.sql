-- Purchase Orders: every POP line with its header (LEFT JOIN: an orphan line stays visible to
-- the `every_line_has_its_order` check).
SELECT
    it.order_number,
    it.item_number AS line_number,
    it.stock_code AS product_reference,
    it.description,
    unit_price(it.foreign_unit_price) AS unit_price_foreign,
    quantity(it.qty_order) AS quantity_ordered,
    money(it.foreign_net_amount) AS line_net_amount_foreign,
    it.due_date,
    po.account_ref AS account_reference,
    po.del_address_5 AS delivery_postcode_ph_user_1,
    money(it.foreign_gross_amount) AS line_gross_amount_foreign,
    cur.code AS currency_code,
    money(it.net_amount) AS line_net_amount_base,
    money(it.gross_amount) AS line_gross_amount_base,
    it.nominal_code,
    quantity(it.qty_delivered) AS quantity_delivered,
    po.order_date,
    po.supp_order_number AS supplier_order_number,
    percent(it.discount_rate) AS discount_rate,
    unit_price(st.last_disc_purchase_price) AS last_discounted_purchase_price,
    it.dept_number AS department_code,
    po.delivery_date,
    least(it.deleted_at, po.deleted_at) AS deleted_at
FROM sage.pop_item AS it
LEFT JOIN sage.purchase_order AS po ON po.order_number = it.order_number
LEFT JOIN sage.currency AS cur ON cur.number = po.currency
LEFT JOIN sage.stock AS st ON st.stock_code = it.stock_code
