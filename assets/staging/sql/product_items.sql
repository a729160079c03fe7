-- Product Items. Sage has no item-type column over ODBC: an item whose stock level Sage ignores
-- (IGNORE_STK_LVL_FLAG = 1: non-stock and service items) is not stocked.
SELECT
    st.stock_code AS product_reference,
    st.description,
    text_number(st.stock_cat) AS product_category,
    st.stock_code AS discount_matrix_code,
    NOT flag(st.ignore_stk_lvl_flag) AS is_stocked,
    st.tax_code,
    unit_price(st.average_cost_price) AS average_cost_price,
    st.location,
    quantity(st.disc_a_level_1_qty) AS qty_break_level_1,
    percent(st.disc_a_level_1_rate) AS discount_rate_level_1,
    unit_price(st.last_purchase_price) AS last_purchase_price,
    unit_price(st.last_disc_purchase_price) AS last_discounted_purchase_price,
    unit_price(st.sales_price) AS sales_price,
    co.unit_decimal_place AS unit_decimal_places,
    co.qty_decimal_place AS qty_decimal_places,
    st.barcode,
    quantity(st.unit_weight) AS unit_weight,
    st.dept_number AS department,
    st.nominal_code AS nominal_code_sales,
    st.purchase_nominal_code AS nominal_code_purchase,
    flag(st.inactive_flag) AS inactive_flag,
    st.unit_of_sale,
    nullif(trim(st.web_image_file), '') AS web_image_file,
    st.deleted_at
FROM sage.stock AS st
LEFT JOIN (SELECT * FROM sage.company WHERE deleted_at IS NULL LIMIT 1) AS co ON TRUE
