-- One row per product, band and level; a level with neither a quantity nor a rate is empty.
WITH levels AS (
    SELECT discount_matrix_product_ref, discount_group, discount_group_name, discount_description,
           1 AS level, quantity_break_1 AS quantity_break, discount_rate_1 AS discount_rate, deleted_at
    FROM staging.discount_matrix
    UNION ALL
    SELECT discount_matrix_product_ref, discount_group, discount_group_name, discount_description,
           2 AS level, quantity_break_2 AS quantity_break, discount_rate_2 AS discount_rate, deleted_at
    FROM staging.discount_matrix
    UNION ALL
    SELECT discount_matrix_product_ref, discount_group, discount_group_name, discount_description,
           3 AS level, quantity_break_3 AS quantity_break, discount_rate_3 AS discount_rate, deleted_at
    FROM staging.discount_matrix
    UNION ALL
    SELECT discount_matrix_product_ref, discount_group, discount_group_name, discount_description,
           4 AS level, quantity_break_4 AS quantity_break, discount_rate_4 AS discount_rate, deleted_at
    FROM staging.discount_matrix
    UNION ALL
    SELECT discount_matrix_product_ref, discount_group, discount_group_name, discount_description,
           5 AS level, quantity_break_5 AS quantity_break, discount_rate_5 AS discount_rate, deleted_at
    FROM staging.discount_matrix
    UNION ALL
    SELECT discount_matrix_product_ref, discount_group, discount_group_name, discount_description,
           6 AS level, quantity_break_6 AS quantity_break, discount_rate_6 AS discount_rate, deleted_at
    FROM staging.discount_matrix
    UNION ALL
    SELECT discount_matrix_product_ref, discount_group, discount_group_name, discount_description,
           7 AS level, quantity_break_7 AS quantity_break, discount_rate_7 AS discount_rate, deleted_at
    FROM staging.discount_matrix
    UNION ALL
    SELECT discount_matrix_product_ref, discount_group, discount_group_name, discount_description,
           8 AS level, quantity_break_8 AS quantity_break, discount_rate_8 AS discount_rate, deleted_at
    FROM staging.discount_matrix
    UNION ALL
    SELECT discount_matrix_product_ref, discount_group, discount_group_name, discount_description,
           9 AS level, quantity_break_9 AS quantity_break, discount_rate_9 AS discount_rate, deleted_at
    FROM staging.discount_matrix
    UNION ALL
    SELECT discount_matrix_product_ref, discount_group, discount_group_name, discount_description,
           10 AS level, quantity_break_10 AS quantity_break, discount_rate_10 AS discount_rate, deleted_at
    FROM staging.discount_matrix
)
SELECT
    discount_matrix_product_ref AS product_reference,
    discount_group,
    discount_group_name,
    discount_description,
    level,
    quantity_break,
    discount_rate,
    deleted_at
FROM levels
WHERE coalesce(quantity_break, 0) <> 0 OR coalesce(discount_rate, 0) <> 0
