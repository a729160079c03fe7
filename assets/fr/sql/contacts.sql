-- Contacts of clients and prospects (the contacts of a prospect are held back from the push
-- until it is converted: ssm/sql/held_contacts.sql). address_ref is a stable number per contact
-- (client code, nom, prénom): a renamed contact is a new one.
SELECT
    code_client AS account_reference,
    CAST(('0x' || left(md5(code_client || '/' || nom || '/' || coalesce(prenom, '')), 7))
         AS INTEGER) AS address_ref,
    trim(coalesce(prenom || ' ', '') || nom) AS contact_name,
    fonction AS contact_role,
    telephone,
    portable AS telephone_2,
    email,
    deleted_at
FROM sage_fr.contacts
