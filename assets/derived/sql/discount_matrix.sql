-- One row per product and band that has at least one quantity break; its non-empty levels
-- (a quantity or a rate), in level order, as one list. A band with no level has no row.
WITH bands AS (
    SELECT
        discount_matrix_product_ref AS product_reference,
        discount_group,
        discount_group_name,
        discount_description,
        list_filter(
            [
                {'quantity': quantity_break_1, 'discount': discount_rate_1},
                {'quantity': quantity_break_2, 'discount': discount_rate_2},
                {'quantity': quantity_break_3, 'discount': discount_rate_3},
                {'quantity': quantity_break_4, 'discount': discount_rate_4},
                {'quantity': quantity_break_5, 'discount': discount_rate_5},
                {'quantity': quantity_break_6, 'discount': discount_rate_6},
                {'quantity': quantity_break_7, 'discount': discount_rate_7},
                {'quantity': quantity_break_8, 'discount': discount_rate_8},
                {'quantity': quantity_break_9, 'discount': discount_rate_9},
                {'quantity': quantity_break_10, 'discount': discount_rate_10}
            ],
            lambda level: coalesce(level.quantity, 0) <> 0 OR coalesce(level.discount, 0) <> 0
        ) AS quantity_breaks,
        deleted_at
    FROM staging.discount_matrix
)
SELECT * FROM bands WHERE len(quantity_breaks) > 0
