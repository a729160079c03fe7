-- Free stock = in stock - allocated; physical stock = in stock. Stock does not apply to items
-- Sage does not track, so they get null (a dash in SSM), never zero.
SELECT
    product_reference,
    warehouse_code,
    is_stocked,
    CASE WHEN is_stocked THEN quantity_in_stock END AS physical_stock,
    CASE WHEN is_stocked
        THEN CAST(quantity_in_stock - quantity_allocated AS DECIMAL(18, 4))
    END AS free_stock,
    CASE WHEN is_stocked THEN quantity_allocated END AS quantity_allocated,
    CASE WHEN is_stocked THEN quantity_on_order END AS quantity_on_order,
    deleted_at
FROM staging.stock_levels
