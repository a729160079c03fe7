-- Named price lists (PRICE_LIST type P). Customer-specific prices (type S) stay in Sage's
-- price records: a list per customer would flood SSM's rate picker.
SELECT
    pricing_reference AS ext_id,
    left(coalesce(nullif(trim(name), ''), pricing_reference), 70) AS description
FROM staging.price_list_metadata
WHERE deleted_at IS NULL AND NOT coalesce(deleted, FALSE) AND type = 'P'
