-- Stock Levels (by Warehouse): Sage 50 keeps one location per product.
SELECT
    st.stock_code AS product_reference,
    st.location AS warehouse_code,
    quantity(st.qty_in_stock) AS quantity_in_stock,
    quantity(st.qty_on_order) AS quantity_on_order,
    quantity(st.qty_allocated) AS quantity_allocated,
    quantity(st.qty_last_order) AS last_order_quantity,
    quantity(st.qty_reorder) AS reorder_level,
    NOT flag(st.ignore_stk_lvl_flag) AS is_stocked,
    st.deleted_at
FROM sage.stock AS st
