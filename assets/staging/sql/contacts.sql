-- Contacts: only the customer addresses Sage marks as contact addresses (ADDRESS_TYPE 1, SDO's
-- sdoContactAddress); delivery (0) and registered (2) addresses are not contacts.
SELECT
    a.account_ref AS account_reference,
    a.address_ref,
    a.reference,
    a.contact_name,
    a.contact_role,
    a.description,
    a.name,
    a.address_1 AS address_line_1,
    a.address_2 AS address_line_2,
    a.address_3 AS address_line_3,
    a.address_4 AS address_line_4,
    a.address_5 AS postcode,
    a.country_code,
    a.telephone,
    a.telephone_2,
    a.fax,
    a.e_mail AS email,
    a.notes,
    a.deleted_at
FROM sage.sales_del_addr AS a
WHERE a.address_type = 1
