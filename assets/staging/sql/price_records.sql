-- Price Records (Detailed): every PRICE row, as Sage stores it.
SELECT
    p.price_id,
    p.type,
    p.pricing_ref AS pricing_reference,
    p.stock_code,
    p.calc_method AS calculation_method,
    CAST(round(p.calc_value, 4) AS DECIMAL(18, 4)) AS calculation_value,
    unit_price(p.stored_price) AS stored_price,
    p.rounder_method AS rounding_method,
    p.rounder_direction AS rounding_direction,
    unit_price(p.rounder_multiple_of) AS rounding_multiple_of,
    unit_price(p.rounder_adjustment) AS rounding_adjustment,
    p.record_create_date AS record_created,
    p.record_modify_date AS record_modified,
    flag(p.record_deleted) OR p.deleted_at IS NOT NULL AS deleted,
    p.deleted_at
FROM sage.price AS p
