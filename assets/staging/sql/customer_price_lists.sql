-- Price Lists (Customer-Specific Prices): PRICE type S, whose PRICING_REF is the customer's
-- account; the price is in the customer's currency.
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
LEFT JOIN sage.stock AS st ON st.stock_code = p.stock_code
LEFT JOIN sage.sales_ledger AS sl ON sl.account_ref = p.pricing_ref
LEFT JOIN sage.currency AS cur ON cur.number = sl.currency
WHERE p.type = 'S'
