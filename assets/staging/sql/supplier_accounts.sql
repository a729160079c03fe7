-- Purchase Ledger (Supplier Accounts).
SELECT
    pl.account_ref AS account_reference,
    pl.name AS supplier_name,
    pl.address_1 AS address_line_1,
    pl.address_2 AS address_line_2,
    pl.address_3 AS address_line_3,
    pl.address_4 AS address_line_4,
    pl.address_5 AS postcode,
    cc.name AS country,
    pl.telephone,
    pl.fax,
    pl.e_mail AS email,
    money(pl.balance) AS balance,
    pl.last_inv_date AS last_invoice_date,
    cur.code AS currency_code,
    flag(pl.inactive_flag) AS closed_inactive,
    pl.deleted_at
FROM sage.purchase_ledger AS pl
LEFT JOIN sage.country_code AS cc ON cc.code = pl.country_code
LEFT JOIN sage.currency AS cur ON cur.number = pl.currency
