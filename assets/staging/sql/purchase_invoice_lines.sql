-- Purchase invoices: lines of purchase orders Sage treats as invoiced (posted and unposted share
-- this SELECT; the catalogue supplies the filter on the order header `o`).
SELECT
    it.order_number,
    it.item_number AS line_number,
    it.stock_code AS product_reference,
    it.description,
    unit_price(it.foreign_unit_price) AS unit_price_foreign,
    quantity(it.qty_order) AS quantity_ordered,
    money(it.foreign_net_amount) AS line_net_foreign,
    it.due_date,
    o.account_ref AS account_reference,
    o.del_address_5 AS delivery_postcode_ph_user_1,
    money(it.foreign_gross_amount) AS line_gross_foreign,
    cur.code AS currency_code,
    money(it.net_amount) AS line_net_base,
    money(it.gross_amount) AS line_gross_base,
    it.nominal_code,
    quantity(it.qty_delivered) AS quantity_delivered,
    o.order_date,
    o.supp_order_number AS supplier_order_number,
    percent(it.discount_rate) AS discount_rate,
    unit_price(st.last_disc_purchase_price) AS last_discounted_purchase_price,
    yes(o.posted) AS posted_flag,
    it.dept_number AS department_code,
    least(it.deleted_at, o.deleted_at) AS deleted_at
FROM sage.pop_item AS it
JOIN sage.purchase_order AS o ON o.order_number = it.order_number
LEFT JOIN sage.currency AS cur ON cur.number = o.currency
LEFT JOIN sage.stock AS st ON st.stock_code = it.stock_code
WHERE {filter}
