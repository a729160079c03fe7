-- Price List Metadata. RECORD_DELETED carries noise (13568 seen), so only 1 counts, or the
-- row having gone from Sage.
SELECT
    pl.type,
    pl.pricing_ref AS pricing_reference,
    pl.name,
    pl.currency,
    flag(pl.has_static_prices) AS has_static_prices,
    pl.record_create_date AS record_created,
    pl.record_modify_date AS record_modified,
    flag(pl.record_deleted) OR pl.deleted_at IS NOT NULL AS deleted,
    pl.deleted_at
FROM sage.price_list AS pl
