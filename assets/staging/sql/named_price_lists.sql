-- Price Lists (Product/Named Price Lists): PRICE type P, in the currency of its PRICE_LIST.
SELECT
    p.pricing_ref AS price_list_code,
    p.stock_code AS product_reference,
    unit_price(p.stored_price) AS selling_price,
    st.description,
    CAST(round(p.calc_value, 4) AS DECIMAL(18, 4)) AS calc_value,
    unit_price(st.sales_price) AS base_sales_price,
    p.type,
    cur.code AS currency_code,
    p.calc_method,
    p.deleted_at
FROM sage.price AS p
LEFT JOIN sage.price_list AS pl ON pl.type = p.type AND pl.pricing_ref = p.pricing_ref
LEFT JOIN sage.stock AS st ON st.stock_code = p.stock_code
LEFT JOIN sage.currency AS cur ON cur.number = pl.currency
WHERE p.type = 'P'
