-- Currencies. Decimal places, multiplier and rounding method are the map's constants.
SELECT
    cur.code AS currency_code,
    cur.name AS currency_name,
    2 AS decimal_places,
    exchange_rate(cur.rate) AS exchange_rate,
    cur.number AS accounts_id,
    0 AS multiplier,
    flag(cur.base_currency) AS home_currency,
    1 AS rounding_method,
    cur.deleted_at
FROM sage.currency AS cur
