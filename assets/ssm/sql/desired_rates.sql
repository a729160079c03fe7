-- SSM rates: the named price lists (PRICE_LIST type P), and one rate per customer with special
-- prices (PRICE type S) on live products, named after the customer: it holds those prices (and
-- with SSM_SPECIAL_RATES_WITH_LIST=true its price list's others, desired_product_rates.sql), and
-- is the account's rateId (desired_accounts.sql, same predicate). Its key, 'SPECIAL:' || account
-- code, is at least 9 characters: never a price list's PRICING_REF (8 at most), so the two kinds
-- of rate cannot meet. With shared keys only the company that owns the accounts writes these.
SELECT
    pricing_reference AS ext_id,
    left(coalesce(nullif(trim(name), ''), pricing_reference), 70) AS description
FROM staging.price_list_metadata
WHERE deleted_at IS NULL AND NOT coalesce(deleted, FALSE) AND type = 'P'
UNION ALL
SELECT
    'SPECIAL:' || a.account_reference AS ext_id,
    left(
        'Special prices ' || a.account_reference || ': '
        || coalesce(nullif(trim(a.company_name), ''), a.account_reference),
        70
    ) AS description
FROM staging.customer_accounts AS a
WHERE ${customer_rates} AND a.deleted_at IS NULL
  AND EXISTS (
      SELECT 1 FROM derived.price_lists AS s
      JOIN staging.product_items AS p
          ON p.product_reference = s.product_reference AND p.deleted_at IS NULL
      WHERE s.type = 'S' AND s.deleted_at IS NULL AND s.price_list_code = a.account_reference
  )
